#include "kerasrt/error.h"

namespace kerasrt {

const char* error_code_name(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::InvalidFile:
      return "invalid file";
    case ErrorCode::Unsupported:
      return "unsupported";
    case ErrorCode::InvalidModel:
      return "invalid model";
    case ErrorCode::InvalidArgument:
      return "invalid argument";
    case ErrorCode::Io:
      return "I/O error";
    case ErrorCode::ResourceExhausted:
      return "resource exhausted";
    case ErrorCode::Internal:
      return "internal error";
  }
  return "unknown error";
}

}  // namespace kerasrt
