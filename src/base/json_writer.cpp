#include "base/json_writer.h"

#include <charconv>
#include <cmath>

namespace kerasrt {

namespace {

// Length of the valid UTF-8 sequence starting at s[i] (Unicode table 3-7, which is what Python's
// strict decoder accepts), or 0 if none starts there.
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> int {
    return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1;
  };
  auto cont = [](int c, int lo = 0x80, int hi = 0xbf) { return c >= lo && c <= hi; };
  int c0 = at(0);
  if (c0 < 0x80) return 1;
  if (c0 >= 0xc2 && c0 <= 0xdf) return cont(at(1)) ? 2 : 0;
  if (c0 >= 0xe0 && c0 <= 0xef) {
    int lo = c0 == 0xe0 ? 0xa0 : 0x80;
    int hi = c0 == 0xed ? 0x9f : 0xbf;
    return cont(at(1), lo, hi) && cont(at(2)) ? 3 : 0;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    int lo = c0 == 0xf0 ? 0x90 : 0x80;
    int hi = c0 == 0xf4 ? 0x8f : 0xbf;
    return cont(at(1), lo, hi) && cont(at(2)) && cont(at(3)) ? 4 : 0;
  }
  return 0;
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        // Invalid byte: surrogateescape, U+DC80..U+DCFF.
        out += "\\udc";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "\"NaN\"";
    return;
  }
  if (std::isinf(v)) {
    out += v > 0 ? "\"Infinity\"" : "\"-Infinity\"";
    return;
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 64 bytes always suffice for a double
  std::string_view text(buf, static_cast<size_t>(end - buf));
  out += text;
  // "1" would parse back as an integer; keep the float type visible.
  if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

void append_uint(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

}  // namespace kerasrt
