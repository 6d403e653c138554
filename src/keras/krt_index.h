// Reading the JSON index of a .krt file, shared by its Keras part (keras/krt_weights.cpp) and its
// runtime part (runtime/krt.cpp): kerasrt wrote the index, so every problem found in it is a
// damaged file (Error(InvalidFile)), named, with what to do.
#pragma once

#include <string>
#include <string_view>

#include "keras/json.h"
#include "krt/krt_file.h"

namespace kerasrt::keras {

[[noreturn]] void krt_bad_index(const krt::File& file, const std::string& what);
// j[key], which must exist and have `type`.
const Json& krt_member(const krt::File& file, const Json& j, std::string_view key, Json::Type type);

}  // namespace kerasrt::keras
