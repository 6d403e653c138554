// The walk shared by the whole-file and region fuzz targets.
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace kerasrt::fuzz {

// Opens `bytes` with File::from_bytes and visits everything reachable: every link of every group
// (recursively, with a depth and visit budget), every attribute (read as strings, doubles and ints
// as its type allows), every dataset (contiguous_bytes(), read_raw() when stored_bytes() is small,
// read_float32() for numeric types, read_strings() for strings). Catches kerasrt::Error per object
// so one bad object does not hide the rest. Aborts when a result breaks the API contract (a view
// outside the file, a size that disagrees with stored_bytes()).
void walk_hdf5_bytes(std::span<const std::byte> bytes, const std::string& name);

}  // namespace kerasrt::fuzz
