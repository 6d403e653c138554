// A small owned JSON tree for Keras configs, parsed with simdjson.
//
// Keras writes configs with Python's json.dumps, so bare NaN / Infinity / -Infinity tokens occur
// (keras-format.md §3.1); they are accepted and become numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace kerasrt::keras {

class Json {
 public:
  enum class Type : uint8_t { Null, Bool, Number, String, Array, Object };

  // Parses text; throws Error(InvalidModel) naming `context` (e.g. "model.h5: model_config").
  static Json parse(std::string_view text, const std::string& context);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::Null; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_number() const { return type_ == Type::Number; }
  bool is_string() const { return type_ == Type::String; }
  bool is_array() const { return type_ == Type::Array; }
  bool is_object() const { return type_ == Type::Object; }

  bool as_bool() const { return bool_; }
  double as_number() const { return number_; }
  bool is_integer() const;  // a number with an integral value
  const std::string& as_string() const;
  const std::vector<Json>& items() const;  // array elements
  const std::vector<std::pair<std::string, Json>>& members() const;
  size_t size() const { return is_array() ? items().size() : members().size(); }
  const Json& operator[](size_t i) const { return items()[i]; }

  // Object member or nullptr.
  const Json* find(std::string_view key) const;
  // A short rendering for error messages (truncated).
  std::string dump(size_t max_chars = 200) const;

  static Json make_null() { return Json(); }
  static Json make_string(std::string s);

 private:
  friend class JsonBuilder;
  using Members = std::vector<std::pair<std::string, Json>>;
  Type type_ = Type::Null;
  bool bool_ = false;
  double number_ = 0;
  // The string, array or object: one of them per node keeps nodes small (configs have tens of
  // thousands of values, and fresh memory costs page faults at load).
  std::variant<std::monostate, std::string, std::vector<Json>, Members> payload_;
};

}  // namespace kerasrt::keras
