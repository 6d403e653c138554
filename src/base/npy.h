// NumPy .npy files: read any numeric array as float32, write float32 arrays.
//
// The reader faces user files: every length and count in the header is checked against the
// bytes actually present before anything is read or allocated, and every malformed, truncated or
// unsupported file raises kerasrt::Error (InvalidFile, Unsupported or ResourceExhausted), never
// undefined behaviour.
//
// Supported: format versions 1.0, 2.0 and 3.0; C order; dtypes float16/32/64, int8/16/32/64,
// uint8/16/32/64 and bool, little- or big-endian. Values are converted to float32 (integers
// beyond 2^24 round to the nearest float). Not supported (Error): Fortran order, structured,
// complex, string, datetime and object dtypes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace kerasrt {

struct NpyArray {
  std::vector<int64_t> shape;  // empty for a 0-d (scalar) array
  std::vector<float> data;     // C order, shape_numel(shape) values
};

// Parses the bytes of a whole .npy file. `what` names the source in error messages (a path).
// Trailing bytes after the array data are an error (InvalidFile).
NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& what = "<npy>");

// Reads and parses `path`. Error(Io) when it cannot be read.
NpyArray read_npy(const std::string& path);

// The bytes of a .npy version 1.0 file holding `data` as little-endian float32 ('<f4'), C order.
// Throws Error(InvalidArgument) when a dim is negative or the element count does not match.
std::vector<std::byte> encode_npy(std::span<const float> data, std::span<const int64_t> shape);

// Writes encode_npy(data, shape) to `path` (created or truncated). Error(Io) on failure.
void write_npy(const std::string& path, std::span<const float> data,
               std::span<const int64_t> shape);

}  // namespace kerasrt
