// Object headers v1 and v2 with continuation chunks (§IV.A.1), and the messages that describe
// storage: layout (§IV.A.2.i), filter pipeline (§IV.A.2.l), attributes (§IV.A.2.m) and attribute
// info (§IV.A.2.u).
#include "hdf5/object_header.h"

#include <algorithm>
#include <cstring>

namespace kerasrt::hdf5 {

namespace {

// A chunk of messages still to read: address of its first message byte and the byte count.
struct Chunk {
  uint64_t address;
  uint64_t length;
};

// Chunk bookkeeping: cycle detection (a continuation pointing back at a chunk already read) and a
// work budget (overlapping chunks at different addresses could otherwise repeat work).
struct ChunkQueue {
  std::vector<Chunk> pending;
  std::vector<uint64_t> seen;
  uint64_t total = 0;
  unsigned count = 0;
};

constexpr unsigned kMaxChunks = 1u << 16;

// Raw messages collected from all chunks, decoded once the whole header is known.
struct Collected {
  std::vector<MessageRef> dataspace, datatype, layout, pipeline, link_info, symbol_table,
      attribute_info, fill_value, fill_value_old;
  std::optional<Datatype> committed_datatype;  // a shared datatype message, resolved
  bool external = false;
};

// A datatype message shared with a committed (named) datatype (§IV.A.2.p "Shared Message"):
// version 1: type u8, 6 reserved bytes, address; version 2: type u8, address; version 3: type u8
// (2 = committed, in another object header), address. Follows the address to the named
// datatype's own header. Nesting is bounded so that a header sharing its own type cannot loop.
Datatype resolve_committed_datatype(const FileImpl& f, std::span<const std::byte> data, uint64_t at,
                                    std::string_view path) {
  thread_local int depth = 0;
  if (depth >= 4) fail(f, at, path, "committed datatypes refer to each other in a loop");
  ByteReader r(f, data, at, path);
  uint8_t version = r.u8();
  uint8_t type = r.u8();
  if (version == 1) {
    r.skip(6);
  } else if (version == 3) {
    if (type != 2) {
      fail_unsupported(f, at, path, "datatype shared through the shared-message heap");
    }
  } else if (version != 2) {
    fail(f, at, path, "shared message version " + std::to_string(version));
  }
  uint64_t address = r.address();
  ++depth;
  struct Leave {
    ~Leave() { --depth; }
  } leave;
  auto named = parse_object_header(f, address, path);
  if (named->kind != ObjectKind::NamedDatatype) {
    fail(f, at, path, "shared datatype message points to an object that is not a datatype");
  }
  return named->dtype;
}

void add_continuation(const FileImpl& f, ChunkQueue& q, ByteReader& r, std::string_view path,
                      uint64_t at) {
  uint64_t addr = r.address();
  uint64_t len = r.length();
  if (std::find(q.seen.begin(), q.seen.end(), addr) != q.seen.end()) {
    fail(f, at, path, "object header continuation loops back to a chunk already read");
  }
  if (++q.count > kMaxChunks) fail(f, at, path, "too many object header continuation chunks");
  q.seen.push_back(addr);
  q.pending.push_back({addr, len});
}

void collect(const FileImpl& f, ObjectHeader& h, Collected& c, ChunkQueue& q, uint8_t type,
             uint8_t flags, std::span<const std::byte> data, uint64_t at, std::string_view path) {
  if ((flags & kMsgFlagShared) && type != kMsgContinuation) {
    // Shared messages live in another object header or the SOHM heap (§IV.A.2.p); h5py files
    // only produce them for committed datatypes (a dataset made with dtype=f["named"]).
    if (type == kMsgDatatype) {
      if (!c.committed_datatype)
        c.committed_datatype = resolve_committed_datatype(f, data, at, path);
      return;
    }
    fail_unsupported(f, at, path,
                     "shared object header message (type " + std::to_string(type) + ")");
  }
  switch (type) {
    case kMsgDataspace:
      c.dataspace.push_back({data, at});
      break;
    case kMsgDatatype:
      c.datatype.push_back({data, at});
      break;
    case kMsgLayout:
      c.layout.push_back({data, at});
      break;
    case kMsgFillValue:
      c.fill_value.push_back({data, at});
      break;
    case kMsgFillValueOld:
      c.fill_value_old.push_back({data, at});
      break;
    case kMsgFilterPipeline:
      c.pipeline.push_back({data, at});
      break;
    case kMsgLinkInfo:
      c.link_info.push_back({data, at});
      break;
    case kMsgSymbolTable:
      c.symbol_table.push_back({data, at});
      break;
    case kMsgAttributeInfo:
      c.attribute_info.push_back({data, at});
      break;
    case kMsgAttribute:
      h.attribute_messages.push_back({data, at});
      break;
    case 0x06:
      h.link_messages.push_back({data, at});
      break;
    case kMsgExternalFiles:
      c.external = true;
      break;
    case kMsgContinuation: {
      ByteReader r(f, data, at, path);
      add_continuation(f, q, r, path, at);
      break;
    }
    default:
      // NIL, fill value, group info, modification time, B-tree K, reference count, comment, ...:
      // nothing a reader needs. Unknown types are skipped unless marked "fail if unknown".
      if (type > 0x18 && (flags & kMsgFlagFailIfUnknown)) {
        fail_unsupported(f, at, path,
                         "unknown object header message type " + std::to_string(type) +
                             " marked 'fail if unknown'");
      }
      break;
  }
}

// Fill value of a dataset, as H5D__open_oid picks it: the new message (0x05) if present, else the
// old one (0x04), else zeros. Decoding follows H5O__fill_new_decode / H5O__fill_old_decode:
//   0x05 v1, v2: space allocation time, fill write time, "defined" byte; then size (u32) and value
//                when defined;
//   0x05 v3:     flags (bits 0-1 allocation time, 2-3 write time, 4 undefined, 5 has value); then
//                size (u32) and value when bit 5 is set;
//   0x04:        size (u32), value.
// Fill write time 1 (H5D_FILL_TIME_NEVER) leaves never-written chunks zero (H5D__chunk_lock). A
// fill value whose size is not the element size is kept as an error for the reads that need it.
void parse_fill_value(const Collected& c, ObjectHeader& h) {
  const bool is_new = !c.fill_value.empty();
  if (!is_new && c.fill_value_old.empty()) return;
  const MessageRef& m = is_new ? c.fill_value.front() : c.fill_value_old.front();
  h.fill_at = m.address;
  auto bad = [&](std::string what) { h.fill_error = std::move(what); };
  const auto& d = m.data;
  size_t pos = 0;
  auto u8 = [&](uint8_t& v) {
    if (pos >= d.size()) return false;
    v = static_cast<uint8_t>(d[pos++]);
    return true;
  };
  bool has_value = true;
  unsigned fill_time = 2;  // H5D_FILL_TIME_IFSET
  if (is_new) {
    uint8_t version = 0;
    if (!u8(version)) return bad("truncated fill value message");
    if (version < 1 || version > 3) {
      return bad("fill value message version " + std::to_string(version));
    }
    if (version < 3) {
      uint8_t alloc = 0, time = 0, defined = 0;
      if (!u8(alloc) || !u8(time) || !u8(defined)) return bad("truncated fill value message");
      fill_time = time;
      has_value = defined != 0;
    } else {
      uint8_t flags = 0;
      if (!u8(flags)) return bad("truncated fill value message");
      if (flags & ~0x3Fu) return bad("unknown fill value message flags");
      fill_time = (flags >> 2) & 3;
      has_value = (flags & 0x10) == 0 && (flags & 0x20) != 0;
    }
  }
  if (!has_value) return;  // no value: zeros
  if (d.size() - pos < 4) return bad("truncated fill value message");
  uint32_t size = 0;
  for (int i = 3; i >= 0; --i) size = (size << 8) | static_cast<uint8_t>(d[pos + i]);
  pos += 4;
  if (size == 0) return;
  if (size > d.size() - pos) return bad("fill value runs past its message");
  if (size != h.dtype.size) {
    return bad("fill value of " + std::to_string(size) + " bytes for elements of " +
               std::to_string(h.dtype.size));
  }
  if (fill_time == 1) return;  // H5D_FILL_TIME_NEVER
  auto value = d.subspan(pos, size);
  if (std::all_of(value.begin(), value.end(), [](std::byte b) { return b == std::byte{0}; })) {
    return;
  }
  h.fill.assign(value.begin(), value.end());
}

void read_v1(const FileImpl& f, ObjectHeader& h, Collected& c, std::string_view path) {
  // Prefix (§IV.A.1.a): version, reserved, message count u16, reference count u32, chunk size
  // u32, then padding to 16 bytes; messages start at address + 16.
  ByteReader r(f, f.range(h.address, 16, path, "object header"), h.address, path);
  uint8_t version = r.u8();
  if (version != 1)
    fail(f, h.address, path, "bad object header version " + std::to_string(version));
  r.skip(1);
  r.u16();
  r.u32();
  uint32_t size = r.u32();
  ChunkQueue q;
  q.seen.push_back(h.address);
  q.pending.push_back({h.address + 16, size});
  const uint64_t budget = f.bytes.size();
  for (size_t i = 0; i < q.pending.size(); ++i) {
    Chunk ch = q.pending[i];
    q.total += ch.length;
    if (q.total > budget) fail(f, ch.address, path, "object header chunks exceed the file size");
    ByteReader m(f, f.range(ch.address, ch.length, path, "object header chunk"), ch.address, path);
    // Messages (§IV.A.1.a): type u16, size u16, flags u8, reserved 3, data (size bytes).
    while (m.remaining() >= 8) {
      uint64_t at = m.offset();
      uint16_t type = m.u16();
      uint16_t msize = m.u16();
      uint8_t flags = m.u8();
      m.skip(3);
      auto data = m.bytes(msize);
      if (type > 0xFF) {
        if (flags & kMsgFlagFailIfUnknown) {
          fail_unsupported(f, at, path, "unknown message type " + std::to_string(type));
        }
        continue;
      }
      collect(f, h, c, q, static_cast<uint8_t>(type), flags, data, at + 8, path);
    }
  }
}

void verify_checksum(const FileImpl& f, std::span<const std::byte> block, uint64_t address,
                     std::string_view path, std::string_view what) {
  size_t n = block.size() - 4;
  ByteReader r(f, block.subspan(n), address + n, path);
  if (lookup3(block.first(n)) != r.u32()) {
    fail(f, address + n, path, std::string(what) + " checksum mismatch");
  }
}

void read_v2_messages(const FileImpl& f, ObjectHeader& h, Collected& c, ChunkQueue& q,
                      ByteReader& m, bool creation_order, std::string_view path) {
  // Messages (§IV.A.1.b): type u8, size u16, flags u8, [creation order u16], data. A tail shorter
  // than a message header is a gap.
  const size_t header_size = creation_order ? 6 : 4;
  while (m.remaining() >= header_size) {
    uint64_t at = m.offset();
    uint8_t type = m.u8();
    uint16_t msize = m.u16();
    uint8_t flags = m.u8();
    if (creation_order) m.skip(2);
    auto data = m.bytes(msize);
    collect(f, h, c, q, type, flags, data, at + header_size, path);
  }
}

void read_v2(const FileImpl& f, ObjectHeader& h, Collected& c, std::string_view path) {
  // Prefix (§IV.A.1.b): "OHDR", version 2, flags, [4 times u32], [max compact u16, min dense
  // u16], chunk 0 size (1 << (flags & 3) bytes), messages, checksum.
  ByteReader r(f, f.tail(h.address, path, "object header"), h.address, path);
  r.expect_signature("OHDR", "object header");
  uint8_t version = r.u8();
  if (version != 2)
    fail(f, h.address + 4, path, "bad object header version " + std::to_string(version));
  uint8_t flags = r.u8();
  if (flags & 0xC0) fail(f, h.address + 5, path, "unknown object header flags");
  if (flags & 0x20) r.skip(16);
  if (flags & 0x10) r.skip(4);
  uint64_t size0 = r.uint_n(1u << (flags & 3));
  const bool creation_order = flags & 0x04;
  size_t prefix = r.position();
  if (size0 > r.remaining() || r.remaining() - size0 < 4) {
    fail(f, h.address, path, "object header chunk runs past the end of the file");
  }
  auto block = f.range(h.address, prefix + size0 + 4, path, "object header");
  verify_checksum(f, block, h.address, path, "object header");
  ChunkQueue q;
  q.seen.push_back(h.address);
  q.total = block.size();
  ByteReader m(f, block.subspan(prefix, size0), h.address + prefix, path);
  read_v2_messages(f, h, c, q, m, creation_order, path);
  const uint64_t budget = f.bytes.size();
  for (size_t i = 0; i < q.pending.size(); ++i) {
    Chunk ch = q.pending[i];
    q.total += ch.length;
    if (q.total > budget) fail(f, ch.address, path, "object header chunks exceed the file size");
    // Continuation chunk: "OCHK", messages, checksum; the length covers all of it.
    if (ch.length < 8) fail(f, ch.address, path, "object header continuation chunk too small");
    auto cb = f.range(ch.address, ch.length, path, "object header continuation chunk");
    ByteReader sig(f, cb, ch.address, path);
    sig.expect_signature("OCHK", "object header continuation chunk");
    verify_checksum(f, cb, ch.address, path, "object header continuation chunk");
    ByteReader cm(f, cb.subspan(4, cb.size() - 8), ch.address + 4, path);
    read_v2_messages(f, h, c, q, cm, creation_order, path);
  }
}

// Layout message (§IV.A.2.i), versions 1-5.
void parse_layout(const FileImpl& f, ObjectHeader& h, const MessageRef& msg,
                  std::string_view path) {
  LayoutInfo& l = h.layout;
  ByteReader r(f, msg.data, msg.address, path);
  l.version = r.u8();
  // Version 5 (HDF5 2.0, written for libver 'latest') has the wire format of version 4; only the
  // chunk indexes differ (filtered chunk sizes take sizeof_lengths bytes), which chunked.cpp
  // reads from l.version.
  if (l.version < 1 || l.version > 5) {
    fail_unsupported(f, msg.address, path, "layout message version " + std::to_string(l.version));
  }
  auto set_chunk_dims = [&](std::vector<uint64_t> dims) {
    // The last dimension is the element size (it is one more than the dataspace rank).
    if (dims.size() < 2) fail(f, msg.address, path, "chunked layout with fewer than 2 dimensions");
    for (uint64_t d : dims) {
      if (d == 0) fail(f, msg.address, path, "chunk dimension of size 0");
    }
    if (dims.back() > 0xFFFFFFFFu) fail(f, msg.address, path, "chunk element size too large");
    l.chunk_element_size = static_cast<uint32_t>(dims.back());
    dims.pop_back();
    l.chunk_dims = std::move(dims);
  };
  if (l.version < 3) {
    unsigned ndims = r.u8();
    uint8_t cls = r.u8();
    r.skip(5);
    if (ndims == 0 || ndims > 33) fail(f, msg.address, path, "layout dimensionality out of range");
    if (cls == 1 || cls == 2) l.address = r.address();
    std::vector<uint64_t> dims(ndims);
    for (auto& d : dims) d = r.u32();
    if (cls == 0) {
      l.cls = LayoutClass::Compact;
      l.compact = r.bytes(r.u32());
    } else if (cls == 1) {
      l.cls = LayoutClass::Contiguous;
      // The size is not stored in these versions; it follows from the dataspace.
      l.size = checked_bytes(f, h.space, h.dtype.size, msg.address, path);
    } else if (cls == 2) {
      l.cls = LayoutClass::Chunked;
      l.index_type = 0;
      set_chunk_dims(std::move(dims));
    } else {
      fail(f, msg.address, path, "bad layout class " + std::to_string(cls));
    }
    return;
  }
  uint8_t cls = r.u8();
  switch (cls) {
    case 0:
      l.cls = LayoutClass::Compact;
      l.compact = r.bytes(r.u16());
      return;
    case 1:
      l.cls = LayoutClass::Contiguous;
      l.address = r.address();
      l.size = r.length();
      return;
    case 2: {
      l.cls = LayoutClass::Chunked;
      if (l.version == 3) {
        unsigned ndims = r.u8();
        if (ndims > 33) fail(f, msg.address, path, "layout dimensionality out of range");
        l.address = r.address();
        std::vector<uint64_t> dims(ndims);
        for (auto& d : dims) d = r.u32();
        l.index_type = 0;
        set_chunk_dims(std::move(dims));
        return;
      }
      l.flags = r.u8();
      if (l.flags & ~0x03) fail(f, msg.address, path, "bad chunked layout flags");
      unsigned ndims = r.u8();
      if (ndims > 33) fail(f, msg.address, path, "layout dimensionality out of range");
      unsigned enc = r.u8();
      if (enc == 0 || enc > 8) fail(f, msg.address, path, "bad encoded chunk dimension size");
      std::vector<uint64_t> dims(ndims);
      for (auto& d : dims) d = r.uint_n(enc);
      set_chunk_dims(std::move(dims));
      l.index_type = r.u8();
      size_t params_start = r.position();
      switch (l.index_type) {
        case 1:  // single chunk
          if (l.flags & 0x02) {
            l.single_chunk_filtered_size = r.length();
            l.single_chunk_filter_mask = r.u32();
          }
          break;
        case 2:
          break;  // implicit
        case 3:
          r.skip(1);
          break;  // fixed array: page bits
        case 4:
          r.skip(5);
          break;  // extensible array: 5 creation parameters
        case 5:
          r.skip(6);
          break;  // v2 B-tree: node size u32, split %, merge %
        default:
          fail(f, msg.address, path, "bad chunk index type " + std::to_string(l.index_type));
      }
      auto params = msg.data.subspan(params_start, r.position() - params_start);
      l.index_params.assign(params.begin(), params.end());
      l.address = r.address();
      return;
    }
    case 3:
      l.cls = LayoutClass::Virtual;
      return;
    default:
      fail(f, msg.address, path, "bad layout class " + std::to_string(cls));
  }
}

// Filter pipeline message (§IV.A.2.l), versions 1 and 2.
void parse_pipeline(const FileImpl& f, ObjectHeader& h, const MessageRef& msg,
                    std::string_view path) {
  ByteReader r(f, msg.data, msg.address, path);
  uint8_t version = r.u8();
  if (version != 1 && version != 2) {
    fail_unsupported(f, msg.address, path, "filter pipeline version " + std::to_string(version));
  }
  unsigned n = r.u8();
  if (n > 32) fail(f, msg.address, path, "more than 32 filters");
  if (version == 1) r.skip(6);
  for (unsigned i = 0; i < n; ++i) {
    FilterInfo fi;
    fi.id = r.u16();
    unsigned name_len = (version == 1 || fi.id >= 256) ? r.u16() : 0;
    uint16_t flags = r.u16();
    fi.optional = flags & 1;
    unsigned nvalues = r.u16();
    if (name_len > 0) {
      // v1 pads the name to a multiple of 8; the length includes the padding.
      auto name = r.bytes(name_len);
      const char* p = reinterpret_cast<const char*>(name.data());
      fi.name.assign(p, strnlen(p, name.size()));
    }
    fi.client_data.reserve(nvalues);
    for (unsigned v = 0; v < nvalues; ++v) fi.client_data.push_back(r.u32());
    if (version == 1 && (nvalues & 1)) r.skip(4);
    h.filters.push_back(std::move(fi));
  }
}

}  // namespace

uint64_t checked_bytes(const FileImpl& f, const Dataspace& space, uint32_t element_size,
                       uint64_t offset, std::string_view path) {
  uint64_t n = space.num_elements();
  if (element_size != 0 && n > ~0ull / element_size) {
    fail(f, offset, path, "data size overflows 64 bits");
  }
  return n * element_size;
}

std::shared_ptr<const ObjectHeader> parse_object_header(const FileImpl& f, uint64_t address,
                                                        std::string_view path) {
  auto h = std::make_shared<ObjectHeader>();
  h->address = address;
  Collected c;
  auto head = f.tail(address, path, "object header");
  if (head.size() >= 4 && std::memcmp(head.data(), "OHDR", 4) == 0) {
    read_v2(f, *h, c, path);
  } else {
    read_v1(f, *h, c, path);
  }
  h->external_storage = c.external;

  // Group structure.
  if (!c.symbol_table.empty()) {
    const auto& m = c.symbol_table.front();
    ByteReader r(f, m.data, m.address, path);
    h->symbol_table = true;
    h->st_btree = r.address();
    h->st_heap = r.address();
  }
  if (!c.link_info.empty()) {
    // Link info (§IV.A.2.c): version 0, flags, [max creation index u64], fractal heap address,
    // name index B-tree address, [creation order index address].
    const auto& m = c.link_info.front();
    ByteReader r(f, m.data, m.address, path);
    if (r.u8() != 0) fail_unsupported(f, m.address, path, "link info message version");
    uint8_t flags = r.u8();
    if (flags & 1) r.skip(8);
    h->link_heap = r.address();
    h->link_name_btree = r.address();
  }
  if (!c.attribute_info.empty()) {
    // Attribute info (§IV.A.2.u): version 0, flags, [max creation index u16], fractal heap
    // address, name index B-tree address, [creation order index address].
    const auto& m = c.attribute_info.front();
    ByteReader r(f, m.data, m.address, path);
    if (r.u8() != 0) fail_unsupported(f, m.address, path, "attribute info message version");
    uint8_t flags = r.u8();
    if (flags & 1) r.skip(2);
    h->attr_heap = r.address();
    h->attr_name_btree = r.address();
  }

  // What kind of object: a layout makes a dataset; a datatype alone a named datatype.
  if (!c.layout.empty()) {
    h->kind = ObjectKind::Dataset;
    std::vector<uint64_t> max_dims;
    if ((c.datatype.empty() && !c.committed_datatype) || c.dataspace.empty()) {
      fail(f, address, path, "dataset header without datatype or dataspace message");
    }
    if (!c.datatype.empty()) {
      ByteReader r(f, c.datatype.front().data, c.datatype.front().address, path);
      h->dtype = parse_datatype(r);
    } else {
      h->dtype = *c.committed_datatype;
    }
    {
      ByteReader r(f, c.dataspace.front().data, c.dataspace.front().address, path);
      h->space = parse_dataspace(r, &max_dims);
    }
    const auto& lm = c.layout.front();
    parse_layout(f, *h, lm, path);
    if (h->layout.cls == LayoutClass::Chunked) h->layout.max_dims = std::move(max_dims);
    if (!c.pipeline.empty()) parse_pipeline(f, *h, c.pipeline.front(), path);
    parse_fill_value(c, *h);
    // Storage must agree with the dataspace, so that no later read or allocation trusts a size
    // the file cannot back.
    uint64_t bytes = checked_bytes(f, h->space, h->dtype.size, lm.address, path);
    const LayoutInfo& l = h->layout;
    switch (l.cls) {
      case LayoutClass::Compact:
        if (l.compact.size() != bytes) {
          fail(f, lm.address, path,
               "compact data has " + std::to_string(l.compact.size()) +
                   " bytes, the dataspace needs " + std::to_string(bytes));
        }
        break;
      case LayoutClass::Contiguous:
        if (bytes > f.bytes.size()) {
          fail(f, lm.address, path,
               "declared data size " + std::to_string(bytes) + " exceeds the file size");
        }
        if (l.size != bytes) {
          fail(f, lm.address, path,
               "contiguous storage has " + std::to_string(l.size) + " bytes, the dataspace needs " +
                   std::to_string(bytes));
        }
        if (l.address != kUndefinedAddress && bytes > 0 && !c.external) {
          f.range(l.address, bytes, path, "contiguous data");
        }
        break;
      case LayoutClass::Chunked:
        if (h->space.kind != SpaceKind::Simple || l.chunk_dims.size() != h->space.dims.size()) {
          fail(f, lm.address, path, "chunk rank does not match the dataspace rank");
        }
        if (l.chunk_element_size != h->dtype.size) {
          fail(f, lm.address, path, "chunk element size does not match the datatype size");
        }
        break;
      case LayoutClass::Virtual:
        break;
    }
  } else if (!c.datatype.empty() && c.symbol_table.empty() && c.link_info.empty()) {
    h->kind = ObjectKind::NamedDatatype;
    ByteReader r(f, c.datatype.front().data, c.datatype.front().address, path);
    h->dtype = parse_datatype(r);
  } else {
    h->kind = ObjectKind::Group;
    if (h->link_heap != kUndefinedAddress) index_dense_links(f, *h, path);
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// Attributes

namespace {

struct AttributeFields {
  uint8_t version = 0;
  std::string_view name;
  std::span<const std::byte> dtype, space;
};

// Attribute message (§IV.A.2.m): v1 pads name, datatype and dataspace to 8 bytes; v2 adds flags
// (bits 0/1: datatype/dataspace shared) and drops the padding; v3 adds the name charset.
AttributeFields read_attribute_fields(const FileImpl& f, ByteReader& r, uint64_t address,
                                      std::string_view path) {
  AttributeFields a;
  a.version = r.u8();
  if (a.version < 1 || a.version > 3) {
    fail_unsupported(f, address, path, "attribute message version " + std::to_string(a.version));
  }
  uint8_t flags = r.u8();
  if (a.version >= 2 && (flags & 0x03)) {
    fail_unsupported(f, address, path, "attribute with a shared datatype or dataspace");
  }
  uint16_t name_size = r.u16();
  uint16_t dtype_size = r.u16();
  uint16_t space_size = r.u16();
  if (a.version == 3) r.u8();  // charset: ASCII or UTF-8, the bytes are the same to us
  auto pad = [&](uint64_t n) { return a.version == 1 ? (n + 7) & ~uint64_t{7} : n; };
  auto name = r.bytes(pad(name_size));
  const char* p = reinterpret_cast<const char*>(name.data());
  // The size counts the terminator; H5O__attr_decode copies name_size - 1 bytes with strndup, so
  // the name ends at the first NUL or before the last byte, whatever that byte holds.
  const size_t name_len = name_size > 0 ? name_size - 1u : 0;
  a.name = std::string_view(p, strnlen(p, std::min<size_t>(name_len, name.size())));
  a.dtype = r.bytes(pad(dtype_size)).first(dtype_size);
  a.space = r.bytes(pad(space_size)).first(space_size);
  return a;
}

bool dense_shared(uint8_t flags) {
  return flags & kMsgFlagShared;
}

}  // namespace

std::string_view attribute_message_name(const FileImpl& f, std::span<const std::byte> data,
                                        uint64_t address, std::string_view path) {
  ByteReader r(f, data, address, path);
  return read_attribute_fields(f, r, address, path).name;
}

Attribute HandleAccess::make_attribute(const std::shared_ptr<const FileImpl>& file,
                                       std::span<const std::byte> data, uint64_t address,
                                       const std::string& owner_path,
                                       std::shared_ptr<const std::vector<std::byte>> owned) {
  const FileImpl& f = *file;
  ByteReader r(f, data, address, owner_path);
  AttributeFields fields = read_attribute_fields(f, r, address, owner_path);
  Attribute a;
  a.file_ = file;
  a.name_ = std::string(fields.name);
  a.owner_path_ = owner_path;
  {
    ByteReader tr(f, fields.dtype, address, owner_path);
    a.dtype_ = parse_datatype(tr);
  }
  {
    ByteReader sr(f, fields.space, address, owner_path);
    a.space_ = parse_dataspace(sr);
  }
  uint64_t n = checked_bytes(f, a.space_, a.dtype_.size, address, owner_path);
  // The data is whatever follows, exactly num_elements * size bytes (v1 messages may carry
  // padding after it). r.bytes() fails when the message is too short.
  a.raw_ = r.bytes(n);
  a.owned_raw_ = std::move(owned);
  return a;
}

namespace {

// Visits every dense attribute (v2 B-tree type 8 record: heap ID 8, message flags u8, creation
// order u32, name hash u32; §III.A.2). `visit` gets the hash and the heap object, returns false to
// stop. Records come in hash order, so a lookup can stop early.
template <class Visit>
void for_each_dense_attribute(const std::shared_ptr<const FileImpl>& file, const ObjectHeader& h,
                              const std::string& path, Visit&& visit) {
  if (h.attr_heap == kUndefinedAddress || h.attr_name_btree == kUndefinedAddress) return;
  const FileImpl& f = *file;
  FractalHeap heap(f, h.attr_heap, path);
  btree2_for_each(f, h.attr_name_btree, 8, path, [&](ByteReader& rec) {
    uint64_t at = rec.offset();
    auto id = rec.bytes(8);
    uint8_t flags = rec.u8();
    rec.u32();
    uint32_t hash = rec.u32();
    if (dense_shared(flags)) {
      fail_unsupported(f, at, path, "shared attribute message in dense storage");
    }
    return visit(hash, heap, id, at);
  });
}

Attribute attribute_from_heap(const std::shared_ptr<const FileImpl>& file, const FractalHeap& heap,
                              std::span<const std::byte> id, uint64_t at, const std::string& path) {
  auto scratch = std::make_shared<std::vector<std::byte>>();
  auto obj = heap.object(id, *scratch);
  bool in_scratch = !scratch->empty() && obj.data() >= scratch->data() &&
                    obj.data() < scratch->data() + scratch->size();
  return HandleAccess::make_attribute(file, obj, at, path,
                                      in_scratch ? std::move(scratch) : nullptr);
}

}  // namespace

std::vector<Attribute> read_attributes(const std::shared_ptr<const FileImpl>& file,
                                       const ObjectHeader& h, const std::string& path) {
  std::vector<Attribute> out;
  out.reserve(h.attribute_messages.size());
  for (const auto& m : h.attribute_messages) {
    out.push_back(HandleAccess::make_attribute(file, m.data, m.address, path, nullptr));
  }
  for_each_dense_attribute(
      file, h, path,
      [&](uint32_t, const FractalHeap& heap, std::span<const std::byte> id, uint64_t at) {
        out.push_back(attribute_from_heap(file, heap, id, at, path));
        return true;
      });
  return out;
}

std::optional<Attribute> find_attribute(const std::shared_ptr<const FileImpl>& file,
                                        const ObjectHeader& h, std::string_view name,
                                        const std::string& path) {
  const FileImpl& f = *file;
  for (const auto& m : h.attribute_messages) {
    if (attribute_message_name(f, m.data, m.address, path) == name) {
      return HandleAccess::make_attribute(file, m.data, m.address, path, nullptr);
    }
  }
  std::optional<Attribute> found;
  if (h.attr_heap == kUndefinedAddress) return found;
  const uint32_t want = lookup3(std::as_bytes(std::span(name.data(), name.size())));
  for_each_dense_attribute(
      file, h, path,
      [&](uint32_t hash, const FractalHeap& heap, std::span<const std::byte> id, uint64_t at) {
        if (hash < want) return true;
        if (hash > want) return false;
        Attribute a = attribute_from_heap(file, heap, id, at, path);
        if (a.name() != name) return true;
        found = std::move(a);
        return false;
      });
  return found;
}

}  // namespace kerasrt::hdf5
