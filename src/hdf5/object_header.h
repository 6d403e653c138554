// Parsed object headers and the decoders of the messages inside them, shared by file.cpp,
// object_header.cpp, datatype.cpp, group.cpp and global_heap.cpp. Private to src/hdf5/.
//
// Spec references are to the HDF5 File Format Specification version 3.0: §III.A.1 v1 B-trees,
// §III.D local heaps, §III.E global heaps, §IV.A object headers, §IV.A.2.x header messages.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hdf5/hdf5.h"
#include "hdf5/internal.h"

namespace kerasrt::hdf5 {

// Header message types (§IV.A.2).
enum MessageType : uint16_t {
  kMsgNil = 0x00,
  kMsgDataspace = 0x01,
  kMsgLinkInfo = 0x02,
  kMsgDatatype = 0x03,
  kMsgFillValueOld = 0x04,
  kMsgFillValue = 0x05,
  kMsgExternalFiles = 0x07,
  kMsgLayout = 0x08,
  kMsgFilterPipeline = 0x0B,
  kMsgAttribute = 0x0C,
  kMsgContinuation = 0x10,
  kMsgSymbolTable = 0x11,
  kMsgAttributeInfo = 0x15,
};

// Header message flag bits (§IV.A.1.a/b).
inline constexpr uint8_t kMsgFlagShared = 0x02;
inline constexpr uint8_t kMsgFlagFailIfUnknown = 0x80;

// One message's body, a view into the mapping, with its file address for error messages.
struct MessageRef {
  std::span<const std::byte> data;
  uint64_t address = 0;
};

// A record of the dense-link name index (v2 B-tree type 5, §III.A.2): name hash + heap ID.
struct DenseLinkRef {
  uint32_t hash = 0;
  uint8_t id_size = 0;
  std::array<std::byte, 8> id{};
};

// Everything the reader needs from one object header, decoded once per handle and then shared
// read-only between copies of the handle (and between threads).
struct ObjectHeader {
  uint64_t address = 0;
  ObjectKind kind = ObjectKind::Group;

  // Groups: the old style (symbol table message 0x11) ...
  bool symbol_table = false;
  uint64_t st_btree = kUndefinedAddress;
  uint64_t st_heap = kUndefinedAddress;
  // ... or the new style: link messages (0x06) and/or dense storage from the link info (0x02).
  std::vector<MessageRef> link_messages;
  uint64_t link_heap = kUndefinedAddress;
  uint64_t link_name_btree = kUndefinedAddress;
  std::vector<DenseLinkRef> dense_links;  // sorted by hash; built when the header is parsed

  // Attributes: compact messages (0x0C) and dense storage from the attribute info (0x15).
  std::vector<MessageRef> attribute_messages;
  uint64_t attr_heap = kUndefinedAddress;
  uint64_t attr_name_btree = kUndefinedAddress;

  // Datasets (and the datatype of a named datatype).
  Datatype dtype;
  Dataspace space;
  LayoutInfo layout;
  std::vector<FilterInfo> filters;
  bool external_storage = false;  // External Data Files message: raw data outside this file
  // What never-written data reads as (fill value messages §IV.A.2.e/f): `fill` holds one element
  // (dtype.size bytes), or is empty for zeros. A message that cannot be used is not an error until
  // a read needs the fill value (libhdf5 never looks at it for fully written data); then
  // `fill_error` says why, at byte `fill_at`.
  std::vector<std::byte> fill;
  std::string fill_error;
  uint64_t fill_at = 0;
};

// Parses the object header at `address` (relative to the base) with all its continuation chunks.
std::shared_ptr<const ObjectHeader> parse_object_header(const FileImpl& file, uint64_t address,
                                                        std::string_view path);

// Datatype (§IV.A.2.d) and dataspace (§IV.A.2.b) messages. The reader is left after the parsed
// bytes (for a datatype: after its properties when they were fully decoded).
Datatype parse_datatype(ByteReader& r, unsigned depth = 0);
// `max_dims`, when given, receives the maximum dims (kUnlimitedDim for H5S_UNLIMITED; empty when
// the message stores none).
Dataspace parse_dataspace(ByteReader& r, std::vector<uint64_t>* max_dims = nullptr);

// num_elements * element_size, failing (at `offset`) on overflow.
uint64_t checked_bytes(const FileImpl& file, const Dataspace& space, uint32_t element_size,
                       uint64_t offset, std::string_view path);

// Decoding of element bytes (stored type, C order). `what` names the owner for messages.
std::vector<std::string> decode_strings(const FileImpl& file, const Datatype& type,
                                        std::span<const std::byte> raw, uint64_t count,
                                        std::string_view path);
std::vector<double> decode_doubles(const FileImpl& file, const Datatype& type,
                                   std::span<const std::byte> raw, uint64_t count,
                                   std::string_view path);
std::vector<int64_t> decode_ints(const FileImpl& file, const Datatype& type,
                                 std::span<const std::byte> raw, uint64_t count,
                                 std::string_view path);
// Converts to float32 (Float, Integer, bool Enum); throws Unsupported for other classes.
void convert_to_float32(const FileImpl& file, const Datatype& type, std::span<const std::byte> raw,
                        std::span<float> out, std::string_view path);

// Global heap (§III.E): resolves the 16-byte (4 + O + 4) vlen references of one read. Collections
// are indexed on first use and the index is kept only for the life of this object (one call).
class GlobalHeapReader {
 public:
  GlobalHeapReader(const FileImpl& file, std::string_view path) : file_(file), path_(path) {}
  // The bytes of the object `index` in the collection at `collection`, exactly `length` long
  // (checked against the stored object size).
  std::span<const std::byte> object(uint64_t collection, uint32_t index, uint64_t length);

 private:
  struct Entry {
    uint32_t index;
    uint64_t offset;  // of the object's data inside the collection
    uint64_t size;
  };
  struct Collection {
    std::span<const std::byte> data;
    std::vector<Entry> entries;  // sorted by index
  };
  const Collection& load(uint64_t collection);
  const FileImpl& file_;
  std::string_view path_;
  std::map<uint64_t, Collection> loaded_;
  uint64_t current_address_ = kUndefinedAddress;
  const Collection* current_ = nullptr;
  uint64_t indexed_bytes_ = 0;  // work budget: real collections do not overlap
};

// Groups (group.cpp).
std::vector<Link> list_links(const FileImpl& file, const ObjectHeader& header,
                             std::string_view path);
std::optional<Link> find_link(const FileImpl& file, const ObjectHeader& header,
                              std::string_view name, std::string_view path);
// Fills header.dense_links from the v2 B-tree type 5 of the link info message.
void index_dense_links(const FileImpl& file, ObjectHeader& header, std::string_view path);

// Object paths: "/" + name for the root's children, parent + "/" + name below.
std::string child_path(std::string_view parent, std::string_view name);

// Builds handles; the one friend of Object and Attribute besides FileImpl (hdf5.h).
struct HandleAccess {
  static Object make_object(const std::shared_ptr<const FileImpl>& file, uint64_t address,
                            std::string path);
  static const ObjectHeader& header(const Object& o) { return *o.header_; }
  static const std::shared_ptr<const FileImpl>& file(const Object& o) { return o.file_; }
  // Decodes an attribute message body. When `owned` is set, `data` lies inside it and the
  // attribute keeps it alive (huge or filtered heap objects).
  static Attribute make_attribute(const std::shared_ptr<const FileImpl>& file,
                                  std::span<const std::byte> data, uint64_t address,
                                  const std::string& owner_path,
                                  std::shared_ptr<const std::vector<std::byte>> owned);
};

// Only the name of an attribute message (cheap; used by lookups by name).
std::string_view attribute_message_name(const FileImpl& file, std::span<const std::byte> data,
                                        uint64_t address, std::string_view path);

// Attributes of an object (object_header.cpp): all of them (unsorted), or the one named `name`.
std::vector<Attribute> read_attributes(const std::shared_ptr<const FileImpl>& file,
                                       const ObjectHeader& header, const std::string& path);
std::optional<Attribute> find_attribute(const std::shared_ptr<const FileImpl>& file,
                                        const ObjectHeader& header, std::string_view name,
                                        const std::string& path);

// Throws Error(code) with the "<file>: <path>: <what>" message used where no byte offset applies.
[[noreturn]] void fail_code(const FileImpl& file, ErrorCode code, std::string_view path,
                            std::string_view what);

}  // namespace kerasrt::hdf5
