#include "base/npy.h"

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

#include "base/mapped_file.h"
#include "kerasrt/error.h"

namespace kerasrt {
namespace {

constexpr unsigned char kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kMaxDims = 64;  // NumPy's NPY_MAXDIMS

[[noreturn]] void fail(ErrorCode code, const std::string& what, const std::string& msg) {
  throw Error(code, what + ": .npy: " + msg);
}

// Quotes a piece of the header for an error message: printable ASCII only, bounded length.
std::string excerpt(std::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (s.size() > 40) out += "...";
  return out + "'";
}

enum class Kind { Float, Signed, Unsigned, Bool };

struct Dtype {
  Kind kind = Kind::Float;
  size_t size = 4;
  bool big_endian = false;
};

struct Header {
  Dtype dtype;
  bool fortran = false;
  std::vector<int64_t> shape;
};

// A parser for the one Python literal NumPy writes: a dict with the keys 'descr' (a string),
// 'fortran_order' (True/False) and 'shape' (a tuple of non-negative ints).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : s_(text), what_(what) {}

  Header parse() {
    Header h;
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_space();
    expect('{');
    skip_space();
    while (peek() != '}') {
      std::string key = parse_string();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (have_descr) bad("duplicate key 'descr'");
        have_descr = true;
        if (peek() != '\'' && peek() != '"') {
          unsupported("descr is not a plain dtype string (structured dtypes are not supported)");
        }
        h.dtype = parse_descr(parse_string());
      } else if (key == "fortran_order") {
        if (have_fortran) bad("duplicate key 'fortran_order'");
        have_fortran = true;
        h.fortran = parse_bool();
      } else if (key == "shape") {
        if (have_shape) bad("duplicate key 'shape'");
        have_shape = true;
        h.shape = parse_shape();
      } else {
        bad("unexpected key " + excerpt(key) + " in the header");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        bad("expected ',' or '}' at header offset " + std::to_string(pos_));
      }
    }
    ++pos_;
    skip_space();
    if (pos_ != s_.size())
      bad("unexpected text after the header dict: " + excerpt(s_.substr(pos_)));
    if (!have_descr || !have_fortran || !have_shape) {
      bad("the header lacks one of the keys 'descr', 'fortran_order', 'shape'");
    }
    return h;
  }

 private:
  char peek() const {
    if (pos_ >= s_.size()) bad("the header ends early");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) {
      bad(std::string("expected '") + c + "' at header offset " + std::to_string(pos_) +
          ", found " + excerpt(s_.substr(pos_, 1)));
    }
    ++pos_;
  }
  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  std::string parse_string() {
    char q = peek();
    if (q != '\'' && q != '"')
      bad("expected a quoted string at header offset " + std::to_string(pos_));
    ++pos_;
    size_t start = pos_;
    while (peek() != q) {
      if (s_[pos_] == '\\') unsupported("escape sequences in header strings");
      ++pos_;
    }
    std::string out(s_.substr(start, pos_ - start));
    ++pos_;
    return out;
  }
  bool parse_bool() {
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("fortran_order is not True or False: " + excerpt(s_.substr(pos_)));
  }
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    skip_space();
    while (peek() != ')') {
      if (peek() < '0' || peek() > '9') {
        bad("a shape dimension is not a non-negative integer: " + excerpt(s_.substr(pos_)));
      }
      int64_t v = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
        int d = s_[pos_] - '0';
        if (v > (std::numeric_limits<int64_t>::max() - d) / 10) {
          bad("a shape dimension does not fit in 64 bits");
        }
        v = v * 10 + d;
        ++pos_;
      }
      if (pos_ < s_.size() && (s_[pos_] == 'L' || s_[pos_] == 'l')) ++pos_;  // Python 2 long
      if (shape.size() == kMaxDims) bad("more than 64 dimensions");
      shape.push_back(v);
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        bad("expected ',' or ')' in the shape at header offset " + std::to_string(pos_));
      }
    }
    ++pos_;
    return shape;
  }
  Dtype parse_descr(const std::string& d) {
    Dtype t;
    std::string_view v = d;
    char order = '=';
    if (!v.empty() && (v[0] == '<' || v[0] == '>' || v[0] == '|' || v[0] == '=')) {
      order = v[0];
      v.remove_prefix(1);
    }
    if (v.size() != 2 || v[1] < '1' || v[1] > '8') {
      unsupported("dtype " + excerpt(d) + " (supported: float16/32/64, int8..64, uint8..64, bool)");
    }
    t.size = static_cast<size_t>(v[1] - '0');
    switch (v[0]) {
      case 'f':
        t.kind = Kind::Float;
        break;
      case 'i':
        t.kind = Kind::Signed;
        break;
      case 'u':
        t.kind = Kind::Unsigned;
        break;
      case 'b':
        t.kind = Kind::Bool;
        break;
      default:
        unsupported("dtype " + excerpt(d) +
                    " (supported: float16/32/64, int8..64, uint8..64, bool)");
    }
    bool ok_size = t.kind == Kind::Float ? (t.size == 2 || t.size == 4 || t.size == 8)
                   : t.kind == Kind::Bool
                       ? t.size == 1
                       : (t.size == 1 || t.size == 2 || t.size == 4 || t.size == 8);
    if (!ok_size) unsupported("dtype " + excerpt(d));
    if (order == '|' && t.size != 1) bad("dtype " + excerpt(d) + " has no byte order");
    t.big_endian = order == '>' || (order == '=' && std::endian::native == std::endian::big);
    return t;
  }
  [[noreturn]] void bad(const std::string& msg) const { fail(ErrorCode::InvalidFile, what_, msg); }
  [[noreturn]] void unsupported(const std::string& msg) const {
    fail(ErrorCode::Unsupported, what_, msg);
  }

  std::string_view s_;
  const std::string& what_;
  size_t pos_ = 0;
};

uint64_t load_uint(const unsigned char* p, size_t n, bool big) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    size_t k = big ? i : n - 1 - i;
    v = (v << 8) | p[k];
  }
  return v;
}

float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: value = mant * 2^-24, exactly representable in float
      float f = std::ldexp(static_cast<float>(mant), -24);
      return sign ? -f : f;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

float convert(const unsigned char* p, const Dtype& t) {
  uint64_t u = load_uint(p, t.size, t.big_endian);
  switch (t.kind) {
    case Kind::Bool:
      return u != 0 ? 1.0f : 0.0f;
    case Kind::Unsigned:
      return static_cast<float>(u);
    case Kind::Signed: {
      int64_t v;
      if (t.size == 8) {
        v = std::bit_cast<int64_t>(u);
      } else {
        uint64_t sign_bit = uint64_t{1} << (8 * t.size - 1);
        v = (u & sign_bit) ? static_cast<int64_t>(u) - static_cast<int64_t>(sign_bit << 1)
                           : static_cast<int64_t>(u);
      }
      return static_cast<float>(v);
    }
    case Kind::Float:
      if (t.size == 2) return half_to_float(static_cast<uint16_t>(u));
      if (t.size == 4) return std::bit_cast<float>(static_cast<uint32_t>(u));
      return static_cast<float>(std::bit_cast<double>(u));
  }
  return 0.0f;
}

}  // namespace

NpyArray parse_npy(std::span<const std::byte> bytes, const std::string& what) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  if (n < 10 || std::memcmp(p, kMagic, sizeof kMagic) != 0) {
    fail(ErrorCode::InvalidFile, what,
         n < 10 ? "file too short (" + std::to_string(n) + " bytes) for a .npy header"
                : "missing the \\x93NUMPY magic");
  }
  const unsigned major = p[6], minor = p[7];
  size_t len_size;
  if (major == 1 && minor == 0) {
    len_size = 2;
  } else if ((major == 2 || major == 3) && minor == 0) {
    len_size = 4;
  } else {
    fail(ErrorCode::Unsupported, what,
         "format version " + std::to_string(major) + "." + std::to_string(minor) +
             " (supported: 1.0, 2.0, 3.0)");
  }
  const size_t prefix = 8 + len_size;
  if (n < prefix) fail(ErrorCode::InvalidFile, what, "truncated in the header length");
  const uint64_t header_len = load_uint(p + 8, len_size, false);
  if (header_len > n - prefix) {
    fail(ErrorCode::InvalidFile, what,
         "header length " + std::to_string(header_len) + " runs past the end of the file (" +
             std::to_string(n) + " bytes)");
  }
  std::string_view text(reinterpret_cast<const char*>(p + prefix), static_cast<size_t>(header_len));
  if (text.find('\0') != std::string_view::npos) {
    fail(ErrorCode::InvalidFile, what, "NUL byte in the header");
  }
  Header h = HeaderParser(text, what).parse();
  if (h.fortran) {
    fail(ErrorCode::Unsupported, what,
         "Fortran-order arrays are not supported; save a C-order array "
         "(numpy.ascontiguousarray) instead");
  }
  // Element count with overflow checks, then the byte count against what the file holds.
  uint64_t count = 1;
  bool zero = false;
  for (int64_t d : h.shape) {
    if (d == 0) zero = true;
  }
  if (zero) {
    count = 0;
  } else {
    for (int64_t d : h.shape) {
      if (count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
        fail(ErrorCode::InvalidFile, what, "the shape's element count overflows");
      }
      count *= static_cast<uint64_t>(d);
    }
  }
  const size_t data_offset = prefix + static_cast<size_t>(header_len);
  const uint64_t avail = n - data_offset;
  if (count > avail / h.dtype.size) {
    fail(ErrorCode::InvalidFile, what,
         "truncated: the shape needs " + std::to_string(count) + " elements of " +
             std::to_string(h.dtype.size) + " bytes, " + std::to_string(avail) +
             " bytes follow the header");
  }
  const uint64_t nbytes = count * h.dtype.size;
  if (nbytes != avail) {
    fail(ErrorCode::InvalidFile, what,
         std::to_string(avail - nbytes) + " unexpected bytes after the array data");
  }
  if (count > std::numeric_limits<size_t>::max() / sizeof(float)) {
    fail(ErrorCode::ResourceExhausted, what, "array too large");
  }
  NpyArray out;
  out.shape = std::move(h.shape);
  out.data.resize(static_cast<size_t>(count));
  const unsigned char* q = p + data_offset;
  for (size_t i = 0; i < out.data.size(); ++i, q += h.dtype.size) out.data[i] = convert(q, h.dtype);
  return out;
}

NpyArray read_npy(const std::string& path) {
  auto file = MappedFile::open(path);
  return parse_npy(file->bytes(), path);
}

std::vector<std::byte> encode_npy(std::span<const float> data, std::span<const int64_t> shape) {
  uint64_t count = 1;
  std::string dims;
  for (int64_t d : shape) {
    if (d < 0) throw Error(ErrorCode::InvalidArgument, "encode_npy: negative dimension");
    if (d != 0 && count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d)) {
      throw Error(ErrorCode::InvalidArgument, "encode_npy: element count overflows");
    }
    count *= static_cast<uint64_t>(d);
    dims += std::to_string(d) + ", ";
  }
  if (shape.size() > 1)
    dims.erase(dims.size() - 2);  // "(2, 3)"; one dim keeps "(5,)"
  else if (shape.size() == 1)
    dims.erase(dims.size() - 1);
  if (count != data.size()) {
    throw Error(ErrorCode::InvalidArgument, "encode_npy: " + std::to_string(data.size()) +
                                                " values for a shape of " + std::to_string(count) +
                                                " elements");
  }
  if (shape.size() > kMaxDims) throw Error(ErrorCode::InvalidArgument, "encode_npy: > 64 dims");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  // NumPy pads with spaces and a final newline so that the data starts at a multiple of 64.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::vector<std::byte> out(10 + header.size() + data.size() * 4);
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  std::memcpy(o, kMagic, sizeof kMagic);
  o[6] = 1;
  o[7] = 0;
  o[8] = static_cast<unsigned char>(header.size() & 0xff);
  o[9] = static_cast<unsigned char>(header.size() >> 8);
  std::memcpy(o + 10, header.data(), header.size());
  o += 10 + header.size();
  for (float f : data) {
    uint32_t u = std::bit_cast<uint32_t>(f);
    for (int k = 0; k < 4; ++k) *o++ = static_cast<unsigned char>(u >> (8 * k));
  }
  return out;
}

void write_npy(const std::string& path, std::span<const float> data,
               std::span<const int64_t> shape) {
  std::vector<std::byte> bytes = encode_npy(data, shape);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f) throw Error(ErrorCode::Io, path + ": cannot create: " + std::strerror(errno));
  if (std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
    throw Error(ErrorCode::Io, path + ": write failed: " + std::strerror(errno));
  }
  if (std::fclose(f.release()) != 0) {
    throw Error(ErrorCode::Io, path + ": write failed: " + std::strerror(errno));
  }
}

}  // namespace kerasrt
