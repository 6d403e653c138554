// Version 2 B-trees (HDF5 File Format Specification v3, section III.A.2): header "BTHD", internal
// nodes "BTIN", leaf nodes "BTLF". We only iterate records in key order and hand each record's
// raw bytes to the caller, who knows the record type (1-4 huge heap objects, 5 link name hashes,
// 8 attribute name hashes, 10/11 chunks, ...).
//
// The on-disk layout of nodes depends on values derived from the header that are not stored
// (H5B2hdr.c H5B2__hdr_init): the maximum record count of a leaf and of an internal node at each
// depth, and from those the byte widths of the "number of records" fields in child pointers.
// Getting these widths wrong silently misparses every internal node, so they are computed here
// exactly as libhdf5 does.
#include <string>
#include <vector>

#include "hdf5/internal.h"
#include "hdf5/storage_util.h"

namespace kerasrt::hdf5 {
namespace {

using storage::limit_enc_size;

// Signature + version + type + checksum: H5B2_METADATA_PREFIX_SIZE.
constexpr uint64_t kPrefixSize = 4 + 1 + 1 + 4;
// Signature + version + type: bytes before the first record of a node.
constexpr uint64_t kNodeHeadSize = 4 + 1 + 1;

struct LevelInfo {
  uint64_t max_nrec = 0;           // most records a node at this depth can hold
  uint64_t cum_max_nrec = 0;       // most records in the subtree of a node at this depth
  unsigned cum_max_nrec_size = 0;  // bytes of the "total records" field describing such a subtree
};

struct Tree {
  const FileImpl* file;
  std::string_view path;
  uint64_t header_address;
  uint8_t type;
  uint32_t node_size;
  uint16_t record_size;
  uint16_t depth;
  unsigned max_nrec_size;         // bytes of the "number of records" field of every child pointer
  std::vector<LevelInfo> levels;  // index = depth of the node (0 = leaf)
  uint64_t records_left;          // budget: records the header says exist
  uint64_t nodes_left;            // budget: nodes we are willing to visit
  const std::function<bool(ByteReader&)>* visit;

  // Size of one child pointer inside an internal node at depth d (H5B2_INT_POINTER_SIZE).
  uint64_t pointer_size(unsigned d) const {
    return uint64_t(file->sizeof_offsets) + max_nrec_size + levels[d - 1].cum_max_nrec_size;
  }

  [[noreturn]] void bad(uint64_t offset, std::string_view what) const {
    fail(*file, offset, path, std::string("v2 B-tree: ") + std::string(what));
  }

  // Checks the signature, version, type and checksum of a node image of `len` bytes whose last 4
  // bytes are the checksum (H5B2cache.c: the checksum follows the used part, not the node end).
  void check_node(std::span<const std::byte> image, uint64_t addr, const char (&sig)[5]) const {
    ByteReader r(*file, image, addr, path);
    r.expect_signature(sig, sig[2] == 'I' ? "v2 B-tree internal node" : "v2 B-tree leaf node");
    if (uint8_t v = r.u8(); v != 0) bad(addr + 4, "unknown node version " + std::to_string(v));
    if (uint8_t t = r.u8(); t != type) {
      bad(addr + 5,
          "node type " + std::to_string(t) + " differs from header type " + std::to_string(type));
    }
    const size_t body = image.size() - 4;
    uint32_t stored = static_cast<uint32_t>(storage::load_le(image.subspan(body, 4)));
    if (lookup3(image.first(body)) != stored) bad(addr, "node checksum mismatch");
  }

  // Visits node at `addr` with `nrec` records at depth `d`. Returns false when the caller stopped.
  bool walk(uint64_t addr, uint64_t nrec, unsigned d) {
    if (nodes_left == 0) bad(addr, "more nodes than records (cycle or corrupt tree)");
    --nodes_left;
    if (nrec > levels[d].max_nrec) {
      bad(addr, "node claims " + std::to_string(nrec) + " records, at most " +
                    std::to_string(levels[d].max_nrec) + " fit");
    }
    if (d == 0) {
      uint64_t len = kNodeHeadSize + nrec * record_size + 4;  // bounded by node_size
      auto image = file->range(addr, len, path, "v2 B-tree leaf node");
      check_node(image, addr, "BTLF");
      for (uint64_t i = 0; i < nrec; ++i) {
        if (!emit(image, addr, kNodeHeadSize + i * record_size)) return false;
      }
      return true;
    }
    const uint64_t psize = pointer_size(d);
    uint64_t len = kNodeHeadSize + nrec * record_size + (nrec + 1) * psize + 4;
    auto image = file->range(addr, len, path, "v2 B-tree internal node");
    check_node(image, addr, "BTIN");
    const uint64_t ptr_base = kNodeHeadSize + nrec * record_size;
    for (uint64_t i = 0; i <= nrec; ++i) {
      uint64_t off = ptr_base + i * psize;
      ByteReader p(*file, image.subspan(off, psize), addr + off, path);
      uint64_t child = p.address();
      uint64_t child_nrec = p.uint_n(max_nrec_size);
      uint64_t child_total = child_nrec;
      if (d > 1) child_total = p.uint_n(levels[d - 1].cum_max_nrec_size);
      if (child == kUndefinedAddress) bad(addr + off, "undefined child node address");
      if (child_total < child_nrec) bad(addr + off, "child subtree smaller than the child node");
      if (child_nrec == 0) bad(addr + off, "empty child node");
      if (!walk(child, child_nrec, d - 1)) return false;
      if (i < nrec && !emit(image, addr, kNodeHeadSize + i * record_size)) return false;
    }
    return true;
  }

  bool emit(std::span<const std::byte> image, uint64_t addr, uint64_t off) {
    if (records_left == 0) bad(addr + off, "more records than the header's total (cycle?)");
    --records_left;
    ByteReader rec(*file, image.subspan(off, record_size), addr + off, path);
    return (*visit)(rec);
  }
};

}  // namespace

void btree2_for_each(const FileImpl& file, uint64_t header_address, uint8_t expected_type,
                     std::string_view path, const std::function<bool(ByteReader& record)>& visit) {
  const uint64_t O = file.sizeof_offsets, L = file.sizeof_lengths;
  // Header: signature, version, type, node size (4), record size (2), depth (2), split %, merge %,
  // root address (O), root record count (2), total records (L), checksum (4).
  const uint64_t header_size = kPrefixSize + 4 + 2 + 2 + 1 + 1 + O + 2 + L;
  auto image = file.range(header_address, header_size, path, "v2 B-tree header");
  ByteReader r(file, image, header_address, path);
  r.expect_signature("BTHD", "v2 B-tree header");
  if (uint8_t v = r.u8(); v != 0) {
    fail(file, header_address + 4, path, "v2 B-tree header: unknown version " + std::to_string(v));
  }
  Tree t{};
  t.file = &file;
  t.path = path;
  t.header_address = header_address;
  t.visit = &visit;
  t.type = r.u8();
  if (t.type != expected_type) {
    fail(file, header_address + 5, path,
         "v2 B-tree of type " + std::to_string(t.type) + " where type " +
             std::to_string(expected_type) + " was expected");
  }
  t.node_size = r.u32();
  t.record_size = r.u16();
  t.depth = r.u16();
  r.skip(2);  // split and merge percentages only matter to writers
  const uint64_t root = r.address();
  const uint64_t root_nrec = r.u16();
  const uint64_t total = r.length();
  const uint32_t stored = r.u32();
  if (lookup3(image.first(image.size() - 4)) != stored) {
    fail(file, header_address, path, "v2 B-tree header checksum mismatch");
  }
  if (t.record_size == 0) fail(file, header_address + 10, path, "v2 B-tree record size is 0");
  if (t.node_size <= kPrefixSize || (t.node_size - kPrefixSize) / t.record_size == 0) {
    fail(file, header_address + 6, path,
         "v2 B-tree node size " + std::to_string(t.node_size) + " cannot hold one record");
  }
  if (t.depth > file.options.max_depth) {
    fail(file, header_address + 12, path,
         "v2 B-tree depth " + std::to_string(t.depth) + " exceeds the limit of " +
             std::to_string(file.options.max_depth));
  }
  if (root == kUndefinedAddress || total == 0) return;  // empty tree
  // Each record occupies record_size bytes of some node in the file, so a real tree can never
  // claim more records than that; this also bounds the work a cyclic (DAG-shaped) tree can cause.
  if (total > file.bytes.size() / t.record_size) {
    fail(file, header_address, path,
         "v2 B-tree claims " + std::to_string(total) + " records, more than the file can hold");
  }

  // Derived node geometry (H5B2__hdr_init).
  t.levels.resize(size_t(t.depth) + 1);
  t.levels[0].max_nrec = (t.node_size - kPrefixSize) / t.record_size;
  t.levels[0].cum_max_nrec = t.levels[0].max_nrec;
  t.levels[0].cum_max_nrec_size = 0;
  t.max_nrec_size = limit_enc_size(t.levels[0].max_nrec);
  for (unsigned d = 1; d <= t.depth; ++d) {
    const uint64_t psize = t.pointer_size(d);
    if (t.node_size < kPrefixSize + psize ||
        (t.node_size - (kPrefixSize + psize)) / (t.record_size + psize) == 0) {
      fail(file, header_address + 6, path,
           "v2 B-tree node size " + std::to_string(t.node_size) +
               " cannot hold an internal node at depth " + std::to_string(d));
    }
    LevelInfo& li = t.levels[d];
    li.max_nrec = (t.node_size - (kPrefixSize + psize)) / (t.record_size + psize);
    // Saturating: a real tree never gets near 2^64 records, and a saturated value only widens the
    // field to 8 bytes, which the node size check below then rejects if it does not fit.
    li.cum_max_nrec = storage::add_sat(
        storage::mul_sat(li.max_nrec + 1, t.levels[d - 1].cum_max_nrec), li.max_nrec);
    li.cum_max_nrec_size = limit_enc_size(li.cum_max_nrec);
  }
  if (root_nrec == 0 && t.depth > 0) {
    fail(file, header_address, path, "v2 B-tree root internal node has no records");
  }
  t.records_left = total;
  t.nodes_left = total + 1;  // every node but an empty root holds at least one record
  t.walk(root, root_nrec, t.depth);
}

}  // namespace kerasrt::hdf5
