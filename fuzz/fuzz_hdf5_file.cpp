// Fuzz target hdf5_file: the input is a whole HDF5 file.
#include <span>

#include "fuzz_entries.h"
#include "fuzz_walk.h"

int kerasrt_fuzz_hdf5_file(const uint8_t* data, size_t size) {
  kerasrt::fuzz::walk_hdf5_bytes(std::as_bytes(std::span(data, size)), "fuzz.h5");
  return 0;
}
