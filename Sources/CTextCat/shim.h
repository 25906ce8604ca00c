// libexttextcat (Debian: libexttextcat-dev, fingerprints in libexttextcat-data under
// /usr/share/libexttextcat/): N-gram language guessing, as LibreOffice uses it.
#ifndef CLUSTERWIRE_CTEXTCAT_SHIM_H
#define CLUSTERWIRE_CTEXTCAT_SHIM_H
#include <textcat.h>
#endif
