#ifndef CWFUZZ_CFUZZDRIVER_H
#define CWFUZZ_CFUZZDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry for programs that keep their own `main` (compiler-rt FuzzerDriver.cpp):
/// parses libFuzzer's flags from argv and fuzzes `callback` until done. Only linked, and only
/// called, in a `-sanitize=fuzzer` build (`CWFUZZ_LIBFUZZER`).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
