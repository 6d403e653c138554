#include "keras/json.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kerasrt/error.h"

namespace kerasrt::keras {

class JsonBuilder {
 public:
  static Json build(simdjson::dom::element e, int depth) {
    if (depth > 512) throw Error(ErrorCode::InvalidModel, "JSON nested too deeply");
    Json j;
    switch (e.type()) {
      case simdjson::dom::element_type::ARRAY: {
        j.type_ = Json::Type::Array;
        simdjson::dom::array array;
        if (e.get(array) != simdjson::SUCCESS) break;
        auto& items = j.payload_.emplace<std::vector<Json>>();
        items.reserve(array.size());
        for (simdjson::dom::element child : array) items.push_back(build(child, depth + 1));
        break;
      }
      case simdjson::dom::element_type::OBJECT: {
        j.type_ = Json::Type::Object;
        simdjson::dom::object object;
        if (e.get(object) != simdjson::SUCCESS) break;
        auto& members = j.payload_.emplace<Json::Members>();
        members.reserve(object.size());
        for (simdjson::dom::key_value_pair kv : object) {
          members.emplace_back(std::string(kv.key), build(kv.value, depth + 1));
        }
        break;
      }
      case simdjson::dom::element_type::INT64: {
        int64_t v = 0;
        if (e.get(v) != simdjson::SUCCESS) break;
        j.type_ = Json::Type::Number;
        j.number_ = static_cast<double>(v);
        break;
      }
      case simdjson::dom::element_type::UINT64: {
        uint64_t v = 0;
        if (e.get(v) != simdjson::SUCCESS) break;
        j.type_ = Json::Type::Number;
        j.number_ = static_cast<double>(v);
        break;
      }
      case simdjson::dom::element_type::DOUBLE: {
        double v = 0;
        if (e.get(v) != simdjson::SUCCESS) break;
        j.type_ = Json::Type::Number;
        j.number_ = v;
        break;
      }
      case simdjson::dom::element_type::STRING: {
        std::string_view v;
        if (e.get(v) != simdjson::SUCCESS) break;
        j = decode_string(v);
        break;
      }
      case simdjson::dom::element_type::BOOL: {
        bool v = false;
        if (e.get(v) != simdjson::SUCCESS) break;
        j.type_ = Json::Type::Bool;
        j.bool_ = v;
        break;
      }
      case simdjson::dom::element_type::NULL_VALUE:
        break;
    }
    return j;
  }

  // Non-finite numbers were rewritten to these marker strings before parsing (see below).
  static Json decode_string(std::string_view s) {
    Json j;
    if (s == kNanMarker || s == kInfMarker || s == kNegInfMarker) {
      j.type_ = Json::Type::Number;
      j.number_ = s == kNanMarker   ? std::numeric_limits<double>::quiet_NaN()
                  : s == kInfMarker ? std::numeric_limits<double>::infinity()
                                    : -std::numeric_limits<double>::infinity();
      return j;
    }
    j.type_ = Json::Type::String;
    j.payload_ = std::string(s);
    return j;
  }

  static constexpr std::string_view kNanMarker = "\x01kerasrt:NaN";
  static constexpr std::string_view kInfMarker = "\x01kerasrt:Infinity";
  static constexpr std::string_view kNegInfMarker = "\x01kerasrt:-Infinity";
};

namespace {

// Python's json.dumps writes NaN, Infinity and -Infinity as bare tokens, which strict JSON
// parsers reject. Replace such tokens outside strings by marker strings that the builder turns
// back into numbers. Only called when the strict parse failed.
std::string rewrite_non_finite(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 64);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      out += c;
      continue;
    }
    auto starts = [&](std::string_view token) { return text.substr(i, token.size()) == token; };
    if (starts("NaN")) {
      out += "\"\\u0001kerasrt:NaN\"";
      i += 2;
    } else if (starts("-Infinity")) {
      out += "\"\\u0001kerasrt:-Infinity\"";
      i += 8;
    } else if (starts("Infinity")) {
      out += "\"\\u0001kerasrt:Infinity\"";
      i += 7;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Json Json::parse(std::string_view text, const std::string& context) {
  // One parser per thread: its buffers are allocated once, not per document (a .krt load parses
  // two, and fresh memory costs page faults).
  // Sized for a few MB up front: a smaller document then does not make it grow and re-fault for
  // the next one (pages never written cost nothing).
  thread_local simdjson::dom::parser parser;
  if (parser.capacity() < std::max<size_t>(text.size(), size_t{4} << 20) &&
      parser.allocate(std::max<size_t>(text.size(), size_t{4} << 20)) != simdjson::SUCCESS) {
    throw Error(ErrorCode::ResourceExhausted, context + ": no memory to parse the JSON");
  }
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  auto error = parser.parse(padded).get(root);
  if (error) {
    simdjson::padded_string rewritten(rewrite_non_finite(text));
    auto error2 = parser.parse(rewritten).get(root);
    if (error2) {
      throw Error(ErrorCode::InvalidModel,
                  context + ": invalid JSON: " + simdjson::error_message(error));
    }
    return JsonBuilder::build(root, 0);
  }
  return JsonBuilder::build(root, 0);
}

bool Json::is_integer() const {
  return type_ == Type::Number && std::isfinite(number_) && std::floor(number_) == number_;
}

const std::string& Json::as_string() const {
  static const std::string kEmpty;
  const auto* s = std::get_if<std::string>(&payload_);
  return s ? *s : kEmpty;
}

const std::vector<Json>& Json::items() const {
  static const std::vector<Json> kEmpty;
  const auto* a = std::get_if<std::vector<Json>>(&payload_);
  return a ? *a : kEmpty;
}

const Json::Members& Json::members() const {
  static const Members kEmpty;
  const auto* m = std::get_if<Members>(&payload_);
  return m ? *m : kEmpty;
}

const Json* Json::find(std::string_view key) const {
  if (type_ != Type::Object) return nullptr;
  for (const auto& [k, v] : members()) {
    if (k == key) return &v;
  }
  return nullptr;
}

Json Json::make_string(std::string s) {
  Json j;
  j.type_ = Type::String;
  j.payload_ = std::move(s);
  return j;
}

namespace {
void dump_to(const Json& j, std::string& out, size_t max_chars) {
  if (out.size() > max_chars) return;
  switch (j.type()) {
    case Json::Type::Null:
      out += "null";
      break;
    case Json::Type::Bool:
      out += j.as_bool() ? "true" : "false";
      break;
    case Json::Type::Number: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.10g", j.as_number());
      out += buf;
      break;
    }
    case Json::Type::String:
      out += "\"" + j.as_string() + "\"";
      break;
    case Json::Type::Array:
      out += "[";
      for (size_t i = 0; i < j.items().size(); ++i) {
        if (i) out += ", ";
        dump_to(j.items()[i], out, max_chars);
      }
      out += "]";
      break;
    case Json::Type::Object:
      out += "{";
      for (size_t i = 0; i < j.members().size(); ++i) {
        if (i) out += ", ";
        out += "\"" + j.members()[i].first + "\": ";
        dump_to(j.members()[i].second, out, max_chars);
      }
      out += "}";
      break;
  }
}
}  // namespace

std::string Json::dump(size_t max_chars) const {
  std::string out;
  dump_to(*this, out, max_chars);
  if (out.size() > max_chars) out = out.substr(0, max_chars) + "...";
  return out;
}

}  // namespace kerasrt::keras
