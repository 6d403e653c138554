// kerasrt::Error: the one exception type the library throws.
//
// Every failure a user can cause (a bad file, an unsupported layer, a wrong input) surfaces as an
// Error carrying a category and a message that names the context first (file, HDF5 path, layer)
// and then what was expected and what was found. Front ends (CLI, C API, Python, server) catch it
// at their boundary; nothing inside the library aborts on file contents.
#pragma once

#include <stdexcept>
#include <string>

namespace kerasrt {

enum class ErrorCode {
  InvalidFile,        // malformed or truncated container (HDF5, zip, .krt)
  Unsupported,        // a layer, dialect, dtype or option kerasrt does not implement
  InvalidModel,       // the model's config and weights disagree
  InvalidArgument,    // bad input from the caller (shapes, names, options)
  Io,                 // the operating system refused (missing file, permissions)
  ResourceExhausted,  // a limit was hit (sizes beyond sane bounds, memory)
  Internal,           // a bug in kerasrt
};

const char* error_code_name(ErrorCode code) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace kerasrt
