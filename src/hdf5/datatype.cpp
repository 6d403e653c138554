// Datatype (§IV.A.2.d) and dataspace (§IV.A.2.b) messages, and the conversions of element bytes
// to strings, doubles, int64 and float32.
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "hdf5/object_header.h"

namespace kerasrt::hdf5 {

// ---------------------------------------------------------------------------------------------
// Public helpers

bool Datatype::is_bool() const {
  if (cls != TypeClass::Enum || enum_members.size() != 2) return false;
  const auto& a = enum_members[0];
  const auto& b = enum_members[1];
  return (a.first == "FALSE" && a.second == 0 && b.first == "TRUE" && b.second == 1) ||
         (a.first == "TRUE" && a.second == 1 && b.first == "FALSE" && b.second == 0);
}

std::string Datatype::numpy_name() const {
  switch (cls) {
    case TypeClass::Float:
      return size == 2 ? "float16" : size == 4 ? "float32" : "float64";
    case TypeClass::Integer:
      if (size == 1 || size == 2 || size == 4 || size == 8) {
        return std::string(is_signed ? "int" : "uint") + std::to_string(size * 8);
      }
      return "other";
    case TypeClass::String:
      return "string";
    case TypeClass::Enum:
      return is_bool() ? "bool" : "enum";
    case TypeClass::Opaque:
      return "opaque";
    case TypeClass::Compound:
      return "compound";
    case TypeClass::Array:
      return "array";
    case TypeClass::Other:
      break;
  }
  return "other";
}

uint64_t Dataspace::num_elements() const {
  switch (kind) {
    case SpaceKind::Scalar:
      return 1;
    case SpaceKind::Null:
      return 0;
    case SpaceKind::Simple:
      break;
  }
  uint64_t n = 1;
  for (uint64_t d : dims) {
    if (d == 0) return 0;
  }
  for (uint64_t d : dims) {
    // parse_dataspace() rejected products that overflow; saturate for hand-made values.
    if (n > ~0ull / d) return ~0ull;
    n *= d;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Parsing

namespace {

std::string read_cstring(ByteReader& r, bool pad8) {
  // NUL-terminated; v1/v2 enum member names are padded to a multiple of 8 (with the NUL).
  size_t start = r.position();
  std::string s;
  for (;;) {
    char c = static_cast<char>(r.u8());
    if (c == '\0') break;
    s.push_back(c);
  }
  if (pad8) {
    size_t used = r.position() - start;
    r.skip(((used + 7) & ~size_t{7}) - used);
  }
  return s;
}

int64_t load_int(const std::byte* p, unsigned size, bool big_endian, bool is_signed) {
  uint64_t v = 0;
  for (unsigned i = 0; i < size; ++i) {
    unsigned b = big_endian ? size - 1 - i : i;
    v |= uint64_t(static_cast<uint8_t>(p[b])) << (8 * i);
  }
  if (is_signed && size < 8 && (v >> (8 * size - 1)) & 1) v |= ~0ull << (8 * size);
  return static_cast<int64_t>(v);
}

void check_ieee(ByteReader& r, uint64_t at, uint32_t size, uint32_t bits, bool& big_endian) {
  // Float properties: bit offset u16, precision u16, exponent location u8, exponent size u8,
  // mantissa location u8, mantissa size u8, exponent bias u32. Class bits: 0 and 6 byte order
  // (both set = VAX), 4-5 mantissa normalisation (2 = implied leading 1), 8-15 sign location.
  uint16_t offset = r.u16();
  uint16_t precision = r.u16();
  uint8_t exp_loc = r.u8(), exp_size = r.u8(), man_loc = r.u8(), man_size = r.u8();
  uint32_t bias = r.u32();
  big_endian = bits & 1;
  bool vax = (bits & 0x40) != 0;
  unsigned norm = (bits >> 4) & 3;
  unsigned sign = (bits >> 8) & 0xFF;
  struct Ieee {
    uint32_t size, sign, exp_loc, exp_size, man_size, bias;
  };
  static constexpr Ieee kIeee[] = {
      {2, 15, 10, 5, 10, 15}, {4, 31, 23, 8, 23, 127}, {8, 63, 52, 11, 52, 1023}};
  for (const Ieee& t : kIeee) {
    if (t.size == size && !vax && norm == 2 && sign == t.sign && offset == 0 &&
        precision == size * 8 && exp_loc == t.exp_loc && exp_size == t.exp_size && man_loc == 0 &&
        man_size == t.man_size && bias == t.bias) {
      return;
    }
  }
  fail_unsupported(r.file(), at, r.path(),
                   "floating-point type is not IEEE binary16/32/64 (size " + std::to_string(size) +
                       ", exponent " + std::to_string(exp_loc) + "/" + std::to_string(exp_size) +
                       ", mantissa " + std::to_string(man_loc) + "/" + std::to_string(man_size) +
                       ", bias " + std::to_string(bias) + ")");
}

}  // namespace

Datatype parse_datatype(ByteReader& r, unsigned depth) {
  const FileImpl& f = r.file();
  uint64_t at = r.offset();
  if (depth > f.options.max_depth) fail(f, at, r.path(), "datatype nested too deeply");
  uint8_t cv = r.u8();
  unsigned cls = cv & 0x0F;
  unsigned version = cv >> 4;
  if (version < 1 || version > 5) {
    fail_unsupported(f, at, r.path(), "datatype version " + std::to_string(version));
  }
  uint32_t bits = r.u8() | uint32_t(r.u8()) << 8 | uint32_t(r.u8()) << 16;
  Datatype t;
  t.size = r.u32();
  if (t.size == 0) fail(f, at, r.path(), "datatype of size 0");
  switch (cls) {
    case 0: {  // fixed-point: bit 0 byte order, bit 3 signed; offset u16, precision u16
      t.big_endian = bits & 1;
      t.is_signed = bits & 8;
      uint16_t offset = r.u16();
      uint16_t precision = r.u16();
      // Integers that do not fill their bytes (or are wider than 8) are listed but not converted.
      t.cls = (t.size <= 8 && offset == 0 && precision == t.size * 8) ? TypeClass::Integer
                                                                      : TypeClass::Other;
      break;
    }
    case 1:
      t.cls = TypeClass::Float;
      check_ieee(r, at, t.size, bits, t.big_endian);
      break;
    case 3: {  // string: bits 0-3 padding, 4-7 charset
      t.cls = TypeClass::String;
      unsigned pad = bits & 0x0F;
      unsigned cs = (bits >> 4) & 0x0F;
      if (pad > 2 || cs > 1) fail(f, at, r.path(), "bad string padding or character set");
      t.pad = static_cast<StringPad>(pad);
      t.utf8 = cs == 1;
      break;
    }
    case 5: {  // opaque: bits 0-7 tag length; NUL-padded ASCII tag
      t.cls = TypeClass::Opaque;
      auto tag = r.bytes(bits & 0xFF);
      const char* p = reinterpret_cast<const char*>(tag.data());
      t.opaque_tag.assign(p, strnlen(p, tag.size()));
      break;
    }
    case 6:
      t.cls = TypeClass::Compound;
      break;
    case 8: {  // enum: bits 0-15 member count; base type, names, values
      t.cls = TypeClass::Enum;
      unsigned n = bits & 0xFFFF;
      auto base = std::make_shared<Datatype>(parse_datatype(r, depth + 1));
      if (base->cls != TypeClass::Integer) {
        fail_unsupported(f, at, r.path(), "enum whose base is not an integer type");
      }
      if (base->size != t.size) fail(f, at, r.path(), "enum size differs from its base type");
      t.big_endian = base->big_endian;
      t.is_signed = base->is_signed;
      std::vector<std::string> names;
      for (unsigned i = 0; i < n; ++i) names.push_back(read_cstring(r, version < 3));
      auto values = r.bytes(uint64_t{n} * base->size);
      t.enum_members.reserve(n);
      for (unsigned i = 0; i < n; ++i) {
        t.enum_members.emplace_back(std::move(names[i]),
                                    load_int(values.data() + size_t{i} * base->size, base->size,
                                             base->big_endian, base->is_signed));
      }
      t.base = std::move(base);
      break;
    }
    case 9: {  // variable-length: bits 0-3 kind (1 string), 4-7 padding, 8-11 charset
      if ((bits & 0x0F) == 1) {
        t.cls = TypeClass::String;
        t.vlen = true;
        unsigned pad = (bits >> 4) & 0x0F;
        unsigned cs = (bits >> 8) & 0x0F;
        if (pad > 2 || cs > 1) fail(f, at, r.path(), "bad string padding or character set");
        t.pad = static_cast<StringPad>(pad);
        t.utf8 = cs == 1;
        // Stored element: length u32, global heap collection address O, object index u32.
        if (t.size != 8u + f.sizeof_offsets) {
          fail(f, at, r.path(), "variable-length string of size " + std::to_string(t.size));
        }
      } else {
        t.cls = TypeClass::Other;  // vlen sequence
      }
      break;
    }
    case 10:
      t.cls = TypeClass::Array;
      break;
    case 2:   // time
    case 4:   // bitfield
    case 7:   // reference
    case 11:  // complex (HDF5 2.0)
      t.cls = TypeClass::Other;
      break;
    default:
      fail(f, at, r.path(), "unknown datatype class " + std::to_string(cls));
  }
  return t;
}

Dataspace parse_dataspace(ByteReader& r, std::vector<uint64_t>* max_dims) {
  // v1: version, rank, flags, reserved 5, dims (L each), [max dims]; rank 0 is scalar.
  // v2: version, rank, flags, type (0 scalar, 1 simple, 2 null), dims, [max dims].
  const FileImpl& f = r.file();
  uint64_t at = r.offset();
  uint8_t version = r.u8();
  unsigned rank = r.u8();
  uint8_t flags = r.u8();  // bit 0: max dims present
  Dataspace s;
  if (version == 1) {
    r.skip(5);
    s.kind = rank == 0 ? SpaceKind::Scalar : SpaceKind::Simple;
  } else if (version == 2) {
    uint8_t type = r.u8();
    if (type > 2) fail(f, at, r.path(), "bad dataspace type " + std::to_string(type));
    s.kind = type == 0 ? SpaceKind::Scalar : type == 1 ? SpaceKind::Simple : SpaceKind::Null;
    if (s.kind != SpaceKind::Simple && rank != 0) {
      fail(f, at, r.path(), "scalar or null dataspace with dimensions");
    }
    if (s.kind == SpaceKind::Simple && rank == 0) s.kind = SpaceKind::Scalar;
  } else {
    fail_unsupported(f, at, r.path(), "dataspace version " + std::to_string(version));
  }
  if (rank > 32) fail(f, at, r.path(), "dataspace rank " + std::to_string(rank) + " exceeds 32");
  s.dims.resize(rank);
  bool zero = false;
  for (auto& d : s.dims) {
    d = r.length();
    zero |= d == 0;
  }
  if (max_dims != nullptr && (flags & 1)) {
    const unsigned L = f.sizeof_lengths;
    const uint64_t unlimited = L == 8 ? ~0ull : (uint64_t{1} << (8 * L)) - 1;
    max_dims->resize(rank);
    for (auto& d : *max_dims) {
      d = r.length();
      if (d == unlimited) d = kUnlimitedDim;
    }
  }
  if (!zero) {
    uint64_t n = 1;
    for (uint64_t d : s.dims) {
      if (n > ~0ull / d) fail(f, at, r.path(), "dataspace element count overflows 64 bits");
      n *= d;
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Conversions

namespace {

void check_raw(const FileImpl& f, const Datatype& t, std::span<const std::byte> raw, uint64_t count,
               std::string_view path) {
  if (count > raw.size() / t.size || raw.size() != count * t.size) {
    fail_code(f, ErrorCode::Internal, path, "element bytes do not match the element count");
  }
}

float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F;
  uint32_t man = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / NaN
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalise.
    int e = -1;
    do {
      ++e;
      man <<= 1;
    } while ((man & 0x400) == 0);
    bits = sign | uint32_t(112 - e) << 23 | ((man & 0x3FF) << 13);
  }
  return std::bit_cast<float>(bits);
}

double load_float(const std::byte* p, const Datatype& t) {
  uint64_t v = static_cast<uint64_t>(load_int(p, t.size, t.big_endian, false));
  switch (t.size) {
    case 2:
      return half_to_float(static_cast<uint16_t>(v));
    case 4:
      return std::bit_cast<float>(static_cast<uint32_t>(v));
    default:
      return std::bit_cast<double>(v);
  }
}

bool numeric(const Datatype& t) {
  return t.cls == TypeClass::Integer || t.cls == TypeClass::Float ||
         (t.cls == TypeClass::Enum && t.base && t.base->cls == TypeClass::Integer);
}

void require_numeric(const FileImpl& f, const Datatype& t, std::string_view path,
                     std::string_view to) {
  if (!numeric(t)) {
    fail_code(f, ErrorCode::InvalidArgument, path,
              "cannot read " + t.numpy_name() + " values as " + std::string(to));
  }
}

std::string trim(std::string_view s, StringPad pad) {
  if (pad == StringPad::SpacePad) {
    size_t n = s.size();
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0')) --n;
    return std::string(s.substr(0, n));
  }
  size_t nul = s.find('\0');
  return std::string(nul == std::string_view::npos ? s : s.substr(0, nul));
}

}  // namespace

std::vector<std::string> decode_strings(const FileImpl& f, const Datatype& t,
                                        std::span<const std::byte> raw, uint64_t count,
                                        std::string_view path) {
  check_raw(f, t, raw, count, path);
  std::vector<std::string> out;
  out.reserve(static_cast<size_t>(count));
  if (!t.vlen) {
    for (uint64_t i = 0; i < count; ++i) {
      auto e = raw.subspan(static_cast<size_t>(i * t.size), t.size);
      out.push_back(trim({reinterpret_cast<const char*>(e.data()), e.size()}, t.pad));
    }
    return out;
  }
  GlobalHeapReader heap(f, path);
  for (uint64_t i = 0; i < count; ++i) {
    ByteReader r(f, raw.subspan(static_cast<size_t>(i * t.size), t.size), kUndefinedAddress, path);
    uint32_t length = r.u32();
    uint64_t collection = r.address();
    uint32_t index = r.u32();
    if (length == 0) {
      out.emplace_back();
      continue;
    }
    auto s = heap.object(collection, index, length);
    out.push_back(trim({reinterpret_cast<const char*>(s.data()), s.size()}, t.pad));
  }
  return out;
}

std::vector<double> decode_doubles(const FileImpl& f, const Datatype& t,
                                   std::span<const std::byte> raw, uint64_t count,
                                   std::string_view path) {
  require_numeric(f, t, path, "doubles");
  check_raw(f, t, raw, count, path);
  std::vector<double> out(static_cast<size_t>(count));
  for (size_t i = 0; i < out.size(); ++i) {
    const std::byte* p = raw.data() + i * t.size;
    if (t.cls == TypeClass::Float) {
      out[i] = load_float(p, t);
    } else if (t.is_signed) {
      out[i] = static_cast<double>(load_int(p, t.size, t.big_endian, true));
    } else {
      out[i] = static_cast<double>(static_cast<uint64_t>(load_int(p, t.size, t.big_endian, false)));
    }
  }
  return out;
}

std::vector<int64_t> decode_ints(const FileImpl& f, const Datatype& t,
                                 std::span<const std::byte> raw, uint64_t count,
                                 std::string_view path) {
  require_numeric(f, t, path, "integers");
  check_raw(f, t, raw, count, path);
  std::vector<int64_t> out(static_cast<size_t>(count));
  for (size_t i = 0; i < out.size(); ++i) {
    const std::byte* p = raw.data() + i * t.size;
    if (t.cls == TypeClass::Float) {
      double d = load_float(p, t);
      // Only exact, in-range values convert; anything else is a caller asking the wrong question.
      if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::trunc(d)) {
        fail_code(f, ErrorCode::InvalidArgument, path,
                  "floating-point value " + std::to_string(d) + " is not an int64");
      }
      out[i] = static_cast<int64_t>(d);
    } else {
      int64_t v = load_int(p, t.size, t.big_endian, t.is_signed);
      if (!t.is_signed && t.size == 8 && v < 0) {
        fail_code(
            f, ErrorCode::InvalidArgument, path,
            "unsigned value " + std::to_string(static_cast<uint64_t>(v)) + " does not fit int64");
      }
      out[i] = v;
    }
  }
  return out;
}

void convert_to_float32(const FileImpl& f, const Datatype& t, std::span<const std::byte> raw,
                        std::span<float> out, std::string_view path) {
  if (!(t.cls == TypeClass::Float || t.cls == TypeClass::Integer ||
        (t.cls == TypeClass::Enum && t.is_bool()))) {
    fail_code(f, ErrorCode::Unsupported, path, "cannot convert " + t.numpy_name() + " to float32");
  }
  check_raw(f, t, raw, out.size(), path);
  const std::byte* p = raw.data();
  const size_t n = out.size();
  if (n == 0) return;  // (memcpy of null pointers is undefined even for 0 bytes)
  if (t.cls == TypeClass::Float) {
    if (t.size == 4 && t.big_endian == (std::endian::native == std::endian::big)) {
      std::memcpy(out.data(), p, n * 4);  // the common case: already float32 little-endian
      return;
    }
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<float>(load_float(p + i * t.size, t));
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    int64_t v = load_int(p + i * t.size, t.size, t.big_endian, t.is_signed);
    out[i] = t.is_signed ? static_cast<float>(v) : static_cast<float>(static_cast<uint64_t>(v));
  }
}

}  // namespace kerasrt::hdf5
