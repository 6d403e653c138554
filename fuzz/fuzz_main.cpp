// libFuzzer entry point; KERASRT_FUZZ_ENTRY names the entry function (set per target by CMake).
#include "fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return KERASRT_FUZZ_ENTRY(data, size);
}
