// Entry functions of the fuzz targets. Each takes one input and returns 0; it catches
// kerasrt::Error (the reader's documented way to refuse input) and nothing else, so any other
// exception, sanitizer report, crash, hang or huge allocation is a finding.
//
// The same functions run under libFuzzer (fuzz_main.cpp, -DKERASRT_FUZZ=ON with clang) and in the
// normal builds as CTest replays of fuzz/corpus/ and fuzz/regressions/ (tests/fuzz_regressions/).
#pragma once

#include <cstddef>
#include <cstdint>

// Whole file: File::from_bytes, then a walk of every link, attribute and dataset.
int kerasrt_fuzz_hdf5_file(const uint8_t* data, size_t size);
// [u8 template][region]: a valid h5py file whose bytes from one structure's offset on are
// replaced by the region, with v2 checksums recomputed, then the same walk.
int kerasrt_fuzz_hdf5_region(const uint8_t* data, size_t size);
// A filter pipeline from the first bytes, then apply_filters_reverse over the rest.
int kerasrt_fuzz_hdf5_filters(const uint8_t* data, size_t size);
// [u8 mode][a .krt file, or its sections]: Model::load with the checksums made right, then one
// predict call on small models (fuzz_krt.cpp).
int kerasrt_fuzz_krt(const uint8_t* data, size_t size);
