// kerasrt::hdf5 — a read-only, bounds-checked reader of the HDF5 subset that Keras files use.
//
// Why our own reader and not libhdf5: ../shared/docs/hdf5-reader.md (robustness on hostile files,
// no global lock, 5-10x faster metadata walk). Which structures occur in Keras files:
// ../shared/docs/keras-format.md §5.
//
// Model of use: open a File (a memory mapping or a caller's byte span), walk Groups by name,
// read Attributes, and get Dataset bytes either as a zero-copy view into the mapping (contiguous,
// unfiltered data) or decoded into a caller's buffer (everything else, with dtype conversion).
//
// Safety contract: every offset, length, count and recursion depth read from the file is checked
// against the file size and fixed limits before use. Malformed input throws kerasrt::Error with
// ErrorCode::InvalidFile (or Unsupported for legal HDF5 features outside the subset), and the
// message names the object path and the byte offset of the bad structure. No input can crash,
// hang, or make the reader allocate much more than the file size.
//
// Threading: a File and all handles derived from it are immutable after construction; any number
// of threads may use them concurrently. There is no global state and no lock.
//
// Lifetime: handles (Group, Dataset, Attribute) and views keep the underlying bytes alive through a
// shared pointer, so a view stays valid as long as any handle from that File exists.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kerasrt/error.h"

namespace kerasrt::hdf5 {

struct FileImpl;  // parsed superblock + the byte span; private to the reader

// ---------------------------------------------------------------------------------------------
// Types and shapes

enum class TypeClass : uint8_t {
  Integer,   // fixed-point, signed or unsigned, any size 1..8 and either byte order
  Float,     // IEEE 754 binary16/32/64, either byte order
  String,    // fixed-length or variable-length (global heap) string
  Enum,      // an enum over an integer base; h5py stores numpy bool as enum {FALSE=0, TRUE=1}
  Opaque,    // raw bytes with a tag (numpy void); readable as raw bytes only
  Compound,  // recognised so that listings work; element data readable as raw bytes only
  Array,     // recognised; raw bytes only
  Other,     // bitfield, reference, time, vlen sequence: recognised, raw bytes only
};

enum class StringPad : uint8_t { NullTerm, NullPad, SpacePad };

struct Datatype {
  TypeClass cls = TypeClass::Other;
  uint32_t size = 0;        // bytes per element as stored (16 for a vlen string reference)
  bool big_endian = false;  // Integer, Float, Enum base
  bool is_signed = false;   // Integer, Enum base
  bool vlen = false;        // String: stored in the global heap
  StringPad pad = StringPad::NullTerm;
  bool utf8 = false;       // String charset
  std::string opaque_tag;  // Opaque
  // Enum: the integer base type and the members in stored order.
  std::shared_ptr<const Datatype> base;
  std::vector<std::pair<std::string, int64_t>> enum_members;

  // True for an enum with exactly the members FALSE=0 and TRUE=1 (h5py's bool).
  bool is_bool() const;
  // The numpy name of the element type: "float16", "float32", "float64", "int8".."int64",
  // "uint8".."uint64", "bool", "string", or for the rest "opaque", "enum", "compound", "array",
  // "other".
  std::string numpy_name() const;
};

enum class SpaceKind : uint8_t { Scalar, Simple, Null };

struct Dataspace {
  SpaceKind kind = SpaceKind::Scalar;
  std::vector<uint64_t> dims;  // empty for Scalar and Null
  // 1 for Scalar, 0 for Null, the product of dims for Simple (checked against overflow when read).
  uint64_t num_elements() const;
};

// ---------------------------------------------------------------------------------------------
// Attributes

class Attribute {
 public:
  const std::string& name() const { return name_; }
  const Datatype& dtype() const { return dtype_; }
  const Dataspace& space() const { return space_; }

  // All elements as strings (fixed or vlen), in C order. NullTerm/NullPad strings lose everything
  // from the first NUL; SpacePad strings lose trailing spaces. Throws if the type is not String.
  std::vector<std::string> read_strings() const;
  // The single string of a scalar or one-element string attribute.
  std::string read_string() const;
  // All elements of an Integer, Float or Enum attribute converted to double / int64.
  std::vector<double> read_doubles() const;
  std::vector<int64_t> read_ints() const;
  // The stored element bytes (for vlen strings: the 16-byte heap references).
  std::span<const std::byte> raw() const { return raw_; }

 private:
  friend struct FileImpl;
  friend struct HandleAccess;  // builds attributes (object_header.h)
  std::shared_ptr<const FileImpl> file_;
  std::string name_;
  std::string owner_path_;  // for error messages
  Datatype dtype_;
  Dataspace space_;
  std::span<const std::byte> raw_;
  // When the data had to be assembled (huge heap objects): shared so that copies of the attribute
  // keep raw_ valid.
  std::shared_ptr<const std::vector<std::byte>> owned_raw_;
};

// ---------------------------------------------------------------------------------------------
// Objects

enum class ObjectKind : uint8_t { Group, Dataset, NamedDatatype };

enum class LinkKind : uint8_t { Hard, Soft, External };

struct Link {
  std::string name;
  LinkKind kind = LinkKind::Hard;
  uint64_t address = 0;     // Hard: object header address (relative to the base address)
  std::string soft_target;  // Soft: the path; External: "file:path"
};

class Group;
class Dataset;

// Common part of a group or dataset: an object header with its attributes.
class Object {
 public:
  ObjectKind kind() const { return kind_; }
  // Absolute path from the root ("/" for the root, "/model_weights/dense").
  const std::string& path() const { return path_; }
  uint64_t address() const { return address_; }

  // Attributes in name order (what h5py's attrs.keys() gives by default).
  std::vector<Attribute> attributes() const;
  // The named attribute, or nullopt.
  std::optional<Attribute> attribute(std::string_view name) const;
  bool has_attribute(std::string_view name) const { return attribute(name).has_value(); }

 protected:
  friend struct FileImpl;
  friend struct HandleAccess;  // builds handles (object_header.h)
  std::shared_ptr<const FileImpl> file_;
  std::shared_ptr<const struct ObjectHeader> header_;  // parsed messages, private to the reader
  ObjectKind kind_ = ObjectKind::Group;
  std::string path_;
  uint64_t address_ = 0;
};

class Group : public Object {
 public:
  // Links in name order (byte-wise), as h5py lists them.
  std::vector<Link> links() const;
  std::vector<std::string> child_names() const;
  bool contains(std::string_view name) const;
  // Follows one hard link, or a '/'-separated relative path of them. Soft and external links are
  // refused with Error(Unsupported) (Keras 3 refuses them too). Throws Error(InvalidFile) when the
  // name is missing (message names the group path and the missing name).
  Object open(std::string_view relative_path) const;
  Group open_group(std::string_view relative_path) const;      // throws if not a group
  Dataset open_dataset(std::string_view relative_path) const;  // throws if not a dataset
  // nullopt instead of an exception when a name is missing.
  std::optional<Object> try_open(std::string_view relative_path) const;
};

enum class LayoutClass : uint8_t { Compact, Contiguous, Chunked, Virtual };

class Dataset : public Object {
 public:
  const Datatype& dtype() const;
  const Dataspace& space() const;
  LayoutClass layout() const;
  bool filtered() const;  // any filter in the pipeline (deflate, shuffle, fletcher32, ...)
  uint64_t num_elements() const { return space().num_elements(); }
  // num_elements() * dtype().size.
  uint64_t stored_bytes() const;

  // Zero-copy view of the element bytes when the data is contiguous (or compact) and unfiltered;
  // nullopt otherwise. An empty dataset, or one never written (undefined address) whose fill value
  // is zero, gives an empty span; a never-written one with a non-zero fill value gives nullopt
  // (read_raw / read_float32 return the fill value). h5py never aligns data: the view may have any
  // alignment.
  std::optional<std::span<const std::byte>> contiguous_bytes() const;

  // The element bytes in their stored type, C order, for any layout and filter pipeline.
  // out.size() must equal stored_bytes(). Unwritten chunks and never-written contiguous data read
  // as the dataset's fill value (fill value message; zero when it has none).
  void read_raw(std::span<std::byte> out) const;
  std::vector<std::byte> read_raw() const;

  // Elements converted to float32 from float16/32/64 (either byte order), integers and bools.
  // out.size() must equal num_elements().
  void read_float32(std::span<float> out) const;
  std::vector<float> read_float32() const;

  // String datasets (fixed or vlen), with the same trimming as Attribute::read_strings().
  std::vector<std::string> read_strings() const;
};

// ---------------------------------------------------------------------------------------------
// Files

struct OpenOptions {
  // Bounds that keep hostile files from exhausting resources; the defaults accept every real file.
  uint32_t max_depth = 64;                  // nesting of groups, B-tree levels, continuation chains
  uint64_t max_decoded_bytes = 1ull << 34;  // largest single dataset decode (16 GiB)
};

class File {
 public:
  // Maps the file read-only. Throws Error(Io) if it cannot be opened, Error(InvalidFile) if it is
  // not HDF5 or its superblock is damaged. Finds the superblock after a user block (at 0, 512,
  // 1024, 2048, ...).
  static File open(const std::string& path, const OpenOptions& options = {});

  // Reads from caller memory; `keep_alive` (may be null) is held as long as any handle lives.
  // `display_name` is used in error messages (e.g. "model.keras:model.weights.h5"). Addresses in
  // the file are relative to bytes.data(), which is what a member stored in a zip needs.
  static File from_bytes(std::span<const std::byte> bytes, std::shared_ptr<const void> keep_alive,
                         std::string display_name, const OpenOptions& options = {});

  Group root() const;
  // The whole span the file reads from (for callers that want to relate views to the mapping).
  std::span<const std::byte> bytes() const;
  const std::string& name() const;
  uint8_t superblock_version() const;

 private:
  std::shared_ptr<const FileImpl> impl_;
};

}  // namespace kerasrt::hdf5
