// Appending JSON text: the one JSON writer (the CLI's h5ls, info and bench; the .krt index).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kerasrt {

// A JSON string literal. Valid UTF-8 passes through; an invalid byte b becomes \udcXX (Python's
// surrogateescape), so that the output is always valid JSON and comparable with Python's.
void append_json_string(std::string& out, std::string_view s);
// Shortest round-trip form; a float always shows a '.' or exponent; NaN and infinities become
// the strings "NaN", "Infinity", "-Infinity".
void append_double(std::string& out, double v);
void append_int(std::string& out, int64_t v);
void append_uint(std::string& out, uint64_t v);

}  // namespace kerasrt
