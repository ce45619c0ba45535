#ifndef PROCMGR_CFUZZERDRIVER_H
#define PROCMGR_CFUZZERDRIVER_H

#include <stddef.h>
#include <stdint.h>

/// libFuzzer's entry point for programs that have their own `main` (libFuzzer 13 and later,
/// part of the toolchain's libclang_rt.fuzzer). A SwiftPM executable target always gets a
/// Swift `main`, so libFuzzer's own `main` is never linked; the harnesses call this instead.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
