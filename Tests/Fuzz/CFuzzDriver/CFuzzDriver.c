// The declaration in include/CFuzzDriver.h is the whole target; SwiftPM needs one source file.
#include "CFuzzDriver.h"
