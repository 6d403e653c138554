// kerasrt h5ls: lists every object of an HDF5 file through kerasrt's own reader.
//
// The --json form is the reader's differential-test surface: tools/h5cases/dump.py prints the
// same JSON from h5py, and tests/h5diff compares the two as parsed values. The format is therefore
// defined precisely here, and dump.py must follow every rule:
//
// * One JSON array; one element per listed path. The root "/" comes first, then a depth-first
//   walk that visits a group's links in byte-wise name order. Every path is listed: an object
//   reachable through several hard links appears once per path. A hard link back to a group that
//   is already on the current path (a cycle) is listed but not descended into.
// * Group:   {"path", "kind": "group", "attrs", "attr_types"}
//   Dataset: {"path", "kind": "dataset", "dtype", "type", "shape", "layout", "filtered",
//             "sha256", "attrs", "attr_types"}
//   Named datatype: {"path", "kind": "datatype", "attrs", "attr_types"}
//   Soft / external link: {"path", "kind": "softlink" | "externallink", "target"}; an external
//   target is "FILE:PATH".
// * "dtype" is numpy's name ("float32", "int64", "bool", "string", or the reader's numpy_name()).
//   "type" spells the stored type exactly: "<f4" / ">i8" / "<u1" (byte order, i/u/f, size),
//   "enum(<i1)" (enums, bool included), "str:fixed:N:PAD:CSET" or "str:vlen:PAD:CSET" with PAD
//   nullterm|nullpad|spacepad and CSET ascii|utf8, "opaque:N", "compound:N", "array:N", "other".
// * "shape": a list of dims, [] for a scalar dataspace, null for a null dataspace.
// * "attrs" maps each attribute name to its value; "attr_types" maps it to
//   {"dtype", "type", "shape"} with the same spellings.
// * Values: numbers as JSON numbers (integers exact; floats in shortest round-trip form, always
//   with a '.' or exponent so they parse as floats; NaN and infinities as the strings "NaN",
//   "Infinity", "-Infinity"); bools as true/false; strings as JSON strings; opaque elements as
//   hex strings; compound, array and other types as null. A scalar dataspace gives the bare
//   value, a simple one nested lists (numpy's tolist()), a null dataspace null.
// * Strings are what h5py returns, as bytes. Fixed-length: NULLPAD = the stored bytes minus
//   trailing NULs (numpy's S dtype); NULLTERM = the bytes before the first NUL; SPACEPAD = the
//   stored bytes minus trailing spaces, then minus trailing NULs (HDF5 converts the file's pad
//   type to h5py's NULLPAD memory type, numpy trims). Variable-length: the bytes up to the first
//   NUL (HDF5's C-string conversion).
// * Every byte string (names, paths, values, targets) is decoded as UTF-8; a byte that is not part
//   of a valid UTF-8 sequence becomes the lone surrogate U+DC80+byte, written \udcXX (Python's
//   "surrogateescape"), so any bytes round-trip and both sides agree on the parsed string.
// * "sha256": hex digest of the dataset's elements in C order and stored type, little-endian
//   (big-endian integers, floats and enums are byte-swapped first). Strings: each element's bytes
//   (as defined above) followed by one NUL byte. Opaque: the raw bytes. Compound, array, other:
//   null. A dataset whose num_elements * type size (16 per vlen string) exceeds --max-data-bytes
//   (default 1 GiB) gets null instead of being read.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_writer.h"
#include "base/sha256.h"
#include "cli/cli.h"
#include "hdf5/hdf5.h"
#include "kerasrt/error.h"

namespace kerasrt::cli {
namespace {

using hdf5::Dataspace;
using hdf5::Datatype;
using hdf5::TypeClass;

// Bounds for hostile files: link graphs can be deep or (through hard links) exponentially wide.
constexpr size_t kMaxWalkDepth = 256;
constexpr uint64_t kMaxEntries = 10'000'000;
// Contiguous datasets up to this size are also read through read_raw() and compared with the
// zero-copy view, so both reader paths are exercised by every listing.
constexpr uint64_t kCrossCheckBytes = 1 << 20;
// Attribute values are printed element by element. Elements of size 0 (or types whose values are
// not read) are not bounded by the attribute's stored bytes, so their count is capped to keep a
// damaged dataspace from producing endless output.
constexpr uint64_t kMaxPrintedElements = 1 << 24;

struct Options {
  std::string file;
  bool json = false;
  uint64_t max_data_bytes = uint64_t{1} << 30;
};

Options parse_args(const Args& args) {
  Options o;
  bool have_file = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--json") {
      o.json = true;
    } else if (a == "--max-data-bytes") {
      if (i + 1 >= args.size()) throw UsageError("--max-data-bytes needs N");
      std::string_view v = args[++i];
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), o.max_data_bytes);
      if (ec != std::errc() || p != v.data() + v.size()) {
        throw UsageError("bad --max-data-bytes value '" + std::string(v) + "'");
      }
    } else if (a.size() > 1 && a[0] == '-') {
      throw UsageError("unknown option '" + std::string(a) + "'");
    } else if (!have_file) {
      o.file = std::string(a);
      have_file = true;
    } else {
      throw UsageError("more than one FILE given");
    }
  }
  if (!have_file) throw UsageError("no FILE given");
  return o;
}

// ---------------------------------------------------------------------------------------------
// JSON text: cli/json_writer.h; hex digests here.

void append_hex(std::string& out, std::span<const std::byte> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::byte b : bytes) {
    out += kHex[std::to_integer<unsigned>(b) >> 4];
    out += kHex[std::to_integer<unsigned>(b) & 15];
  }
  out += '"';
}

// ---------------------------------------------------------------------------------------------
// Types

const char* pad_name(hdf5::StringPad pad) {
  switch (pad) {
    case hdf5::StringPad::NullTerm:
      return "nullterm";
    case hdf5::StringPad::NullPad:
      return "nullpad";
    case hdf5::StringPad::SpacePad:
      return "spacepad";
  }
  return "?";
}

std::string type_string(const Datatype& t, int depth = 0) {
  switch (t.cls) {
    case TypeClass::Integer:
      return std::string(t.big_endian ? ">" : "<") + (t.is_signed ? "i" : "u") +
             std::to_string(t.size);
    case TypeClass::Float:
      return std::string(t.big_endian ? ">" : "<") + "f" + std::to_string(t.size);
    case TypeClass::Enum:
      if (t.base && depth < 4) return "enum(" + type_string(*t.base, depth + 1) + ")";
      return "enum(?)";
    case TypeClass::String:
      return std::string("str:") + (t.vlen ? "vlen" : "fixed:" + std::to_string(t.size)) + ":" +
             pad_name(t.pad) + ":" + (t.utf8 ? "utf8" : "ascii");
    case TypeClass::Opaque:
      return "opaque:" + std::to_string(t.size);
    case TypeClass::Compound:
      return "compound:" + std::to_string(t.size);
    case TypeClass::Array:
      return "array:" + std::to_string(t.size);
    case TypeClass::Other:
      return "other";
  }
  return "other";
}

// Byte order of the numbers in an Integer, Float or Enum element.
bool stored_big_endian(const Datatype& t) {
  if (t.cls == TypeClass::Enum) return t.base ? t.base->big_endian : t.big_endian;
  return t.big_endian;
}

uint64_t element_bytes(const Datatype& t) {
  return t.cls == TypeClass::String && t.vlen ? 16 : t.size;
}

// Fixed-length string element as h5py returns it (see the format rules above).
std::string_view trim_fixed(std::span<const std::byte> element, hdf5::StringPad pad) {
  std::string_view s(reinterpret_cast<const char*>(element.data()), element.size());
  if (pad == hdf5::StringPad::NullTerm) return s.substr(0, s.find('\0'));
  if (pad == hdf5::StringPad::SpacePad) {
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  }
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  return s;
}

void check_count(size_t got, uint64_t want, std::string_view what, std::string_view path) {
  if (got != want) {
    throw Error(ErrorCode::Internal, std::string(path) + ": reader returned " +
                                         std::to_string(got) + " " + std::string(what) + " for " +
                                         std::to_string(want) + " elements");
  }
}

// ---------------------------------------------------------------------------------------------
// Attribute values

// Element values already rendered as JSON texts, then nested per the dataspace.
void append_nested(std::string& out, const std::vector<std::string>& items,
                   const Dataspace& space) {
  if (space.kind == hdf5::SpaceKind::Null) {
    out += "null";
    return;
  }
  if (space.kind == hdf5::SpaceKind::Scalar) {
    out += items.empty() ? "null" : items[0];
    return;
  }
  const auto& dims = space.dims;
  if (items.size() != space.num_elements()) {
    throw Error(ErrorCode::Internal, "attribute value count " + std::to_string(items.size()) +
                                         " does not match its dataspace");
  }
  size_t next = 0;
  // Iterative over dims, recursion depth = rank (bounded by the reader: rank <= 32).
  auto rec = [&](auto&& self, size_t level) -> void {
    out += '[';
    for (uint64_t i = 0; i < dims[level]; ++i) {
      if (i) out += ',';
      if (level + 1 == dims.size()) {
        out += items[next++];
      } else {
        self(self, level + 1);
      }
    }
    out += ']';
  };
  if (dims.empty()) {
    out += "[]";
  } else {
    rec(rec, 0);
  }
}

uint64_t load_uint(std::span<const std::byte> p, bool big_endian) {
  uint64_t v = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    size_t k = big_endian ? i : p.size() - 1 - i;
    v = (v << 8) | std::to_integer<uint64_t>(p[k]);
  }
  return v;
}

std::vector<std::string> attribute_items(const hdf5::Attribute& a, std::string_view path) {
  const Datatype& t = a.dtype();
  const uint64_t n = a.space().num_elements();
  if (n > kMaxPrintedElements) {
    throw Error(ErrorCode::ResourceExhausted,
                std::string(path) + ": " + std::to_string(n) + " elements, more than h5ls prints");
  }
  std::vector<std::string> items;
  items.reserve(static_cast<size_t>(std::min<uint64_t>(n, 1 << 20)));
  std::string s;
  switch (t.cls) {
    case TypeClass::Integer: {
      if (t.size == 8 && !t.is_signed) {
        // read_ints() cannot hold values >= 2^63; decode the stored bytes.
        auto raw = a.raw();
        check_count(raw.size() / 8, n, "uint64 values", path);
        for (uint64_t i = 0; i < n; ++i) {
          s.clear();
          append_uint(s, load_uint(raw.subspan(i * 8, 8), t.big_endian));
          items.push_back(s);
        }
      } else {
        auto v = a.read_ints();
        check_count(v.size(), n, "integers", path);
        for (int64_t x : v) {
          s.clear();
          append_int(s, x);
          items.push_back(s);
        }
      }
      break;
    }
    case TypeClass::Float: {
      auto v = a.read_doubles();
      check_count(v.size(), n, "floats", path);
      for (double x : v) {
        s.clear();
        append_double(s, x);
        items.push_back(s);
      }
      break;
    }
    case TypeClass::Enum: {
      auto v = a.read_ints();
      check_count(v.size(), n, "enum values", path);
      for (int64_t x : v) {
        s.clear();
        if (t.is_bool()) {
          s = x != 0 ? "true" : "false";
        } else {
          append_int(s, x);
        }
        items.push_back(s);
      }
      break;
    }
    case TypeClass::String: {
      if (t.vlen) {
        auto v = a.read_strings();
        check_count(v.size(), n, "strings", path);
        for (const auto& x : v) {
          s.clear();
          append_json_string(s, x.substr(0, x.find('\0')));
          items.push_back(s);
        }
      } else {
        auto raw = a.raw();
        if (t.size == 0) {
          items.assign(static_cast<size_t>(n), "\"\"");
          break;
        }
        check_count(raw.size() / t.size, n, "fixed strings", path);
        for (uint64_t i = 0; i < n; ++i) {
          s.clear();
          append_json_string(s, trim_fixed(raw.subspan(i * t.size, t.size), t.pad));
          items.push_back(s);
        }
      }
      break;
    }
    case TypeClass::Opaque: {
      auto raw = a.raw();
      if (t.size == 0) {
        items.assign(static_cast<size_t>(n), "\"\"");
        break;
      }
      check_count(raw.size() / t.size, n, "opaque elements", path);
      for (uint64_t i = 0; i < n; ++i) {
        s.clear();
        append_hex(s, raw.subspan(i * t.size, t.size));
        items.push_back(s);
      }
      break;
    }
    default:
      items.assign(static_cast<size_t>(n), "null");
      return items;
  }
  return items;
}

void append_shape(std::string& out, const Dataspace& space) {
  if (space.kind == hdf5::SpaceKind::Null) {
    out += "null";
    return;
  }
  out += '[';
  for (size_t i = 0; i < space.dims.size(); ++i) {
    if (i) out += ',';
    append_uint(out, space.dims[i]);
  }
  out += ']';
}

std::string shape_text(const Dataspace& space) {
  if (space.kind == hdf5::SpaceKind::Null) return "null";
  if (space.kind == hdf5::SpaceKind::Scalar) return "scalar";
  std::string s = "(";
  for (size_t i = 0; i < space.dims.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(space.dims[i]);
  }
  if (space.dims.size() == 1) s += ',';
  return s + ")";
}

// ---------------------------------------------------------------------------------------------
// Dataset hashing

// Feeds elements to the hash in little-endian order.
void hash_numbers(Sha256& h, std::span<const std::byte> data, uint32_t size, bool big_endian) {
  if (!big_endian || size <= 1) {
    h.update(data);
    return;
  }
  std::vector<std::byte> buf(std::min<size_t>(data.size(), 1 << 16) / size * size + size);
  size_t filled = 0;
  for (size_t off = 0; off + size <= data.size(); off += size) {
    std::reverse_copy(data.begin() + off, data.begin() + off + size, buf.begin() + filled);
    filled += size;
    if (filled + size > buf.size()) {
      h.update(std::span<const std::byte>(buf).first(filled));
      filled = 0;
    }
  }
  h.update(std::span<const std::byte>(buf).first(filled));
}

// Element bytes in stored type: the zero-copy view when the reader offers one (Keras's fast
// path), read_raw() otherwise; small views are cross-checked against read_raw().
std::span<const std::byte> dataset_bytes(const hdf5::Dataset& ds, std::vector<std::byte>& storage) {
  auto view = ds.contiguous_bytes();
  // A never-written dataset has no storage: the view is empty and read_raw() gives fill values.
  if (view && !(view->empty() && ds.stored_bytes() != 0)) {
    if (view->size() != ds.stored_bytes()) {
      throw Error(ErrorCode::Internal, ds.path() + ": contiguous_bytes() gave " +
                                           std::to_string(view->size()) + " bytes, expected " +
                                           std::to_string(ds.stored_bytes()));
    }
    if (view->size() <= kCrossCheckBytes) {
      storage = ds.read_raw();
      if (storage.size() != view->size() ||
          !std::equal(storage.begin(), storage.end(), view->begin())) {
        throw Error(ErrorCode::Internal,
                    ds.path() + ": read_raw() and contiguous_bytes() disagree");
      }
    }
    return *view;
  }
  storage.resize(static_cast<size_t>(ds.stored_bytes()));
  ds.read_raw(storage);
  return storage;
}

// The "sha256" member's value: a quoted hex digest or null.
std::string dataset_hash(const hdf5::Dataset& ds, const Options& opt) {
  const Datatype& t = ds.dtype();
  const uint64_t n = ds.num_elements();
  // Overflow-safe n * element size > limit.
  const uint64_t esize = element_bytes(t);
  if (n > opt.max_data_bytes / std::max<uint64_t>(esize, 1)) return "null";
  Sha256 h;
  std::vector<std::byte> storage;
  static constexpr std::byte kNul[1] = {std::byte{0}};
  switch (t.cls) {
    case TypeClass::Integer:
    case TypeClass::Float:
    case TypeClass::Enum:
      hash_numbers(h, dataset_bytes(ds, storage), t.size, stored_big_endian(t));
      break;
    case TypeClass::Opaque:
      h.update(dataset_bytes(ds, storage));
      break;
    case TypeClass::String:
      if (t.vlen) {
        auto v = ds.read_strings();
        check_count(v.size(), n, "strings", ds.path());
        for (const auto& x : v) {
          h.update(std::string_view(x).substr(0, x.find('\0')));
          h.update(kNul);
        }
      } else {
        auto data = dataset_bytes(ds, storage);
        for (uint64_t i = 0; t.size != 0 && i < n; ++i) {
          h.update(trim_fixed(data.subspan(i * t.size, t.size), t.pad));
          h.update(kNul);
        }
        if (t.size == 0) {
          for (uint64_t i = 0; i < n; ++i) h.update(kNul);
        }
      }
      break;
    default:
      return "null";
  }
  return "\"" + h.finish() + "\"";
}

const char* layout_name(hdf5::LayoutClass l) {
  switch (l) {
    case hdf5::LayoutClass::Compact:
      return "compact";
    case hdf5::LayoutClass::Contiguous:
      return "contiguous";
    case hdf5::LayoutClass::Chunked:
      return "chunked";
    case hdf5::LayoutClass::Virtual:
      return "virtual";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// The walk

class Lister {
 public:
  explicit Lister(const Options& opt) : opt_(opt) {}

  void run(const hdf5::File& file) {
    if (opt_.json) out_ += "[\n";
    hdf5::Group root = file.root();
    visit_group(root, "/", "/", 0);
    if (opt_.json) out_ += "\n]\n";
  }

  const std::string& output() const { return out_; }

 private:
  void begin_entry(const std::string& path, const char* kind) {
    if (++entries_ > kMaxEntries) {
      throw Error(ErrorCode::ResourceExhausted,
                  "more than " + std::to_string(kMaxEntries) + " paths (hard-link fan-out)");
    }
    if (entries_ > 1) out_ += ",\n";
    out_ += "{\"path\":";
    append_json_string(out_, path);
    out_ += ",\"kind\":\"";
    out_ += kind;
    out_ += '"';
  }

  void append_attrs_json(const hdf5::Object& obj) {
    auto attrs = obj.attributes();
    std::string types;
    out_ += ",\"attrs\":{";
    for (size_t i = 0; i < attrs.size(); ++i) {
      const auto& a = attrs[i];
      if (i) {
        out_ += ',';
        types += ',';
      }
      append_json_string(out_, a.name());
      out_ += ':';
      append_nested(out_, attribute_items(a, obj.path() + " attribute " + a.name()), a.space());
      append_json_string(types, a.name());
      types += ":{\"dtype\":";
      append_json_string(types, a.dtype().numpy_name());
      types += ",\"type\":";
      append_json_string(types, type_string(a.dtype()));
      types += ",\"shape\":";
      append_shape(types, a.space());
      types += '}';
    }
    out_ += "},\"attr_types\":{";
    out_ += types;
    out_ += '}';
  }

  // Text form: one line per path, indented by depth.
  void text_line(std::string_view name, size_t depth, const std::string& rest) {
    out_.append(2 * depth, ' ');
    // Names are file contents: keep the terminal safe and the line single.
    for (char ch : name) {
      auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c == 0x7f) {
        char esc[8];
        std::snprintf(esc, sizeof esc, "\\x%02x", c);
        out_ += esc;
      } else {
        out_ += ch;
      }
    }
    out_ += "  ";
    out_ += rest;
    out_ += '\n';
  }

  static std::string attr_count(size_t n) {
    return std::to_string(n) + (n == 1 ? " attr" : " attrs");
  }

  void visit_object(const hdf5::Object& obj, const std::string& path, std::string_view name,
                    size_t depth, const hdf5::Group* parent, std::string_view link_name) {
    switch (obj.kind()) {
      case hdf5::ObjectKind::Group: {
        hdf5::Group g = parent->open_group(link_name);
        visit_group(g, path, name, depth);
        break;
      }
      case hdf5::ObjectKind::Dataset: {
        hdf5::Dataset ds = parent->open_dataset(link_name);
        visit_dataset(ds, path, name, depth);
        break;
      }
      case hdf5::ObjectKind::NamedDatatype:
        if (opt_.json) {
          begin_entry(path, "datatype");
          append_attrs_json(obj);
          out_ += '}';
        } else {
          text_line(name, depth, "datatype  " + attr_count(obj.attributes().size()));
        }
        break;
    }
  }

  void visit_dataset(const hdf5::Dataset& ds, const std::string& path, std::string_view name,
                     size_t depth) {
    const Datatype& t = ds.dtype();
    if (!opt_.json) {
      text_line(name, depth,
                "dataset  " + t.numpy_name() + " " + shape_text(ds.space()) + "  " +
                    layout_name(ds.layout()) + (ds.filtered() ? "+filters" : "") + "  " +
                    attr_count(ds.attributes().size()));
      return;
    }
    begin_entry(path, "dataset");
    out_ += ",\"dtype\":";
    append_json_string(out_, t.numpy_name());
    out_ += ",\"type\":";
    append_json_string(out_, type_string(t));
    out_ += ",\"shape\":";
    append_shape(out_, ds.space());
    out_ += ",\"layout\":\"";
    out_ += layout_name(ds.layout());
    out_ += "\",\"filtered\":";
    out_ += ds.filtered() ? "true" : "false";
    out_ += ",\"sha256\":";
    out_ += dataset_hash(ds, opt_);
    append_attrs_json(ds);
    out_ += '}';
  }

  void visit_group(const hdf5::Group& g, const std::string& path, std::string_view name,
                   size_t depth) {
    if (depth > kMaxWalkDepth) {
      throw Error(ErrorCode::ResourceExhausted,
                  path + ": groups nested deeper than " + std::to_string(kMaxWalkDepth));
    }
    if (opt_.json) {
      begin_entry(path, "group");
      append_attrs_json(g);
      out_ += '}';
    } else {
      text_line(name, depth, "group  " + attr_count(g.attributes().size()));
    }
    // A hard link to an ancestor would make the walk endless: list it, do not enter it.
    if (std::find(ancestors_.begin(), ancestors_.end(), g.address()) != ancestors_.end()) return;
    ancestors_.push_back(g.address());
    for (const hdf5::Link& link : g.links()) {
      std::string child_path = path == "/" ? "/" + link.name : path + "/" + link.name;
      switch (link.kind) {
        case hdf5::LinkKind::Hard: {
          hdf5::Object child = g.open(link.name);
          visit_object(child, child_path, link.name, depth + 1, &g, link.name);
          break;
        }
        case hdf5::LinkKind::Soft:
        case hdf5::LinkKind::External: {
          const char* kind = link.kind == hdf5::LinkKind::Soft ? "softlink" : "externallink";
          if (opt_.json) {
            begin_entry(child_path, kind);
            out_ += ",\"target\":";
            append_json_string(out_, link.soft_target);
            out_ += '}';
          } else {
            text_line(link.name, depth + 1, std::string(kind) + " -> " + link.soft_target);
          }
          break;
        }
      }
    }
    ancestors_.pop_back();
  }

  const Options& opt_;
  std::string out_;
  uint64_t entries_ = 0;
  std::vector<uint64_t> ancestors_;
};

}  // namespace

int h5ls_main(const Args& args) {
  Options opt = parse_args(args);
  hdf5::File file = hdf5::File::open(opt.file);
  Lister lister(opt);
  lister.run(file);
  // Printed only after the whole walk succeeded: a listing is either complete or an error.
  const std::string& out = lister.output();
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size()) {
    throw Error(ErrorCode::Io, "writing to stdout failed");
  }
  return 0;
}

}  // namespace kerasrt::cli
