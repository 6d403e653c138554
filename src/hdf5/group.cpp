// Group members: old-style symbol tables (v1 B-tree type 0 + local heap + SNOD nodes: §III.A.1,
// §III.B, §III.C, §III.D) and new-style links (link messages §IV.A.2.g, dense storage through the
// link info's fractal heap and v2 B-tree type 5).
//
// Listing visits everything; lookups by name descend the B-tree (symbol tables) or binary-search
// the hash index built with the header (dense links), so opening each of N children costs
// O(log N), not O(N).
#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "hdf5/object_header.h"

namespace kerasrt::hdf5 {

namespace {

// ---------------------------------------------------------------------------------------------
// Local heap (§III.D): "HEAP", version 0, reserved 3, data segment size L, free list offset L,
// data segment address O. Names are NUL-terminated strings at offsets into the data segment.

struct LocalHeap {
  std::span<const std::byte> data;
  uint64_t address = 0;
};

LocalHeap read_local_heap(const FileImpl& f, uint64_t address, std::string_view path) {
  const uint64_t n = 8 + 2 * uint64_t{f.sizeof_lengths} + f.sizeof_offsets;
  ByteReader r(f, f.range(address, n, path, "local heap"), address, path);
  r.expect_signature("HEAP", "local heap");
  uint8_t version = r.u8();
  if (version != 0) fail(f, address + 4, path, "bad local heap version " + std::to_string(version));
  r.skip(3);
  uint64_t size = r.length();
  r.length();
  uint64_t data = r.address();
  LocalHeap h;
  h.address = data;
  h.data = f.range(data, size, path, "local heap data segment");
  return h;
}

std::string_view heap_string(const FileImpl& f, const LocalHeap& h, uint64_t offset,
                             std::string_view path) {
  if (offset >= h.data.size()) {
    fail(f, h.address, path, "name offset " + std::to_string(offset) + " outside the local heap");
  }
  const char* p = reinterpret_cast<const char*>(h.data.data()) + offset;
  size_t max = h.data.size() - static_cast<size_t>(offset);
  size_t len = strnlen(p, max);
  if (len == max) fail(f, h.address + offset, path, "unterminated name in the local heap");
  return {p, len};
}

// ---------------------------------------------------------------------------------------------
// v1 B-tree nodes of type 0 (§III.A.1): "TREE", type u8, level u8, entries used u16, left and
// right sibling O, then key 0, child 0, key 1, ..., child n-1, key n. Keys are local heap offsets
// of names; child i holds the names in (key i, key i+1]. Level 0 children are SNODs.

struct TreeNode {
  unsigned level = 0;
  unsigned entries = 0;
  ByteReader body;  // positioned at key 0
  uint64_t address = 0;
};

TreeNode read_tree_node(const FileImpl& f, uint64_t address, std::string_view path) {
  const unsigned O = f.sizeof_offsets, L = f.sizeof_lengths;
  ByteReader r(f, f.range(address, 8 + 2 * O, path, "group B-tree node"), address, path);
  r.expect_signature("TREE", "group B-tree node");
  uint8_t type = r.u8();
  if (type != 0)
    fail(f, address + 4, path, "B-tree node of type " + std::to_string(type) + " in a group");
  TreeNode n{r.u8(), r.u16(), ByteReader(f, {}, 0, path), address};
  const uint64_t body = uint64_t{n.entries} * (L + O) + L;
  n.body = ByteReader(f, f.range(address + 8 + 2 * O, body, path, "group B-tree node"),
                      address + 8 + 2 * O, path);
  return n;
}

// Key i and child i of a node (direct access, so that lookups can binary-search).
uint64_t node_key(const FileImpl& f, TreeNode& n, unsigned i) {
  n.body.seek(size_t{i} * (f.sizeof_lengths + f.sizeof_offsets));
  return n.body.length();
}
uint64_t node_child(const FileImpl& f, TreeNode& n, unsigned i) {
  n.body.seek(size_t{i} * (f.sizeof_lengths + f.sizeof_offsets) + f.sizeof_lengths);
  return n.body.address();
}

// Symbol node (§III.B): "SNOD", version 1, reserved, symbol count u16, entries. Entry (§III.C):
// link name offset L, object header address O, cache type u32, reserved u32, scratch 16 bytes
// (cache type 2 = soft link: scratch begins with the heap offset of the link value).
struct SymbolNode {
  unsigned count = 0;
  ByteReader entries;
  uint64_t entry_size = 0;
};

SymbolNode read_symbol_node(const FileImpl& f, uint64_t address, std::string_view path) {
  ByteReader r(f, f.range(address, 8, path, "symbol table node"), address, path);
  r.expect_signature("SNOD", "symbol table node");
  uint8_t version = r.u8();
  if (version != 1) fail(f, address + 4, path, "bad symbol table node version");
  r.skip(1);
  SymbolNode s{r.u16(), ByteReader(f, {}, 0, path), 0};
  s.entry_size = uint64_t{f.sizeof_lengths} + f.sizeof_offsets + 24;
  s.entries = ByteReader(f, f.range(address + 8, s.count * s.entry_size, path, "symbol table node"),
                         address + 8, path);
  return s;
}

Link read_entry(const FileImpl& f, const LocalHeap& heap, SymbolNode& s, unsigned i,
                std::string_view path) {
  s.entries.seek(static_cast<size_t>(i * s.entry_size));
  Link l;
  l.name = std::string(heap_string(f, heap, s.entries.length(), path));
  l.address = s.entries.address();
  uint32_t cache = s.entries.u32();
  s.entries.skip(4);
  if (cache == 2) {
    l.kind = LinkKind::Soft;
    l.soft_target = std::string(heap_string(f, heap, s.entries.u32(), path));
    l.address = kUndefinedAddress;
  }
  return l;
}

std::string_view entry_name(const FileImpl& f, const LocalHeap& heap, SymbolNode& s, unsigned i,
                            std::string_view path) {
  s.entries.seek(static_cast<size_t>(i * s.entry_size));
  return heap_string(f, heap, s.entries.length(), path);
}

// Remembers visited node addresses: a B-tree whose children repeat (a DAG or a loop through
// siblings) would otherwise be walked exponentially often.
class Visited {
 public:
  bool insert(uint64_t a) {
    if (set_.empty() && small_.size() < 32) {
      if (std::find(small_.begin(), small_.end(), a) != small_.end()) return false;
      small_.push_back(a);
      return true;
    }
    if (set_.empty()) set_.insert(small_.begin(), small_.end());
    return set_.insert(a).second;
  }

 private:
  std::vector<uint64_t> small_;
  std::unordered_set<uint64_t> set_;
};

void list_tree(const FileImpl& f, const LocalHeap& heap, uint64_t address, int expected_level,
               unsigned depth, Visited& visited, std::vector<Link>& out, std::string_view path) {
  if (depth > f.options.max_depth) fail(f, address, path, "group B-tree deeper than max_depth");
  if (!visited.insert(address)) fail(f, address, path, "group B-tree visits a node twice");
  TreeNode n = read_tree_node(f, address, path);
  if (expected_level >= 0 && n.level != static_cast<unsigned>(expected_level)) {
    fail(f, address, path, "group B-tree node has the wrong level");
  }
  for (unsigned i = 0; i < n.entries; ++i) {
    uint64_t child = node_child(f, n, i);
    if (n.level > 0) {
      list_tree(f, heap, child, static_cast<int>(n.level) - 1, depth + 1, visited, out, path);
      continue;
    }
    if (!visited.insert(child)) fail(f, child, path, "group B-tree visits a symbol node twice");
    SymbolNode s = read_symbol_node(f, child, path);
    for (unsigned e = 0; e < s.count; ++e) out.push_back(read_entry(f, heap, s, e, path));
  }
}

std::optional<Link> find_in_tree(const FileImpl& f, uint64_t btree, uint64_t heap_address,
                                 std::string_view name, std::string_view path) {
  LocalHeap heap = read_local_heap(f, heap_address, path);
  uint64_t address = btree;
  int expected_level = -1;
  for (unsigned depth = 0;; ++depth) {
    if (depth > f.options.max_depth) fail(f, address, path, "group B-tree deeper than max_depth");
    TreeNode n = read_tree_node(f, address, path);
    if (expected_level >= 0 && n.level != static_cast<unsigned>(expected_level)) {
      fail(f, address, path, "group B-tree node has the wrong level");
    }
    // The child whose key range (key i, key i+1] holds the name, as libhdf5's H5B_find does.
    unsigned lo = 0, hi = n.entries;
    int cmp = 1;
    unsigned idx = 0;
    while (lo < hi && cmp != 0) {
      idx = (lo + hi) / 2;
      if (name <= heap_string(f, heap, node_key(f, n, idx), path)) {
        cmp = -1;
        hi = idx;
      } else if (name > heap_string(f, heap, node_key(f, n, idx + 1), path)) {
        cmp = 1;
        lo = idx + 1;
      } else {
        cmp = 0;
      }
    }
    if (cmp != 0) return std::nullopt;
    uint64_t child = node_child(f, n, idx);
    if (n.level > 0) {
      address = child;
      expected_level = static_cast<int>(n.level) - 1;
      continue;
    }
    SymbolNode s = read_symbol_node(f, child, path);
    unsigned l = 0, h = s.count;
    while (l < h) {
      unsigned m = (l + h) / 2;
      std::string_view en = entry_name(f, heap, s, m, path);
      if (en == name) return read_entry(f, heap, s, m, path);
      if (name < en) {
        h = m;
      } else {
        l = m + 1;
      }
    }
    return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// Link message (§IV.A.2.g): version 1, flags (bits 0-1 size of the name length field, bit 2
// creation order present, bit 3 link type present, bit 4 charset present), [type u8],
// [creation order u64], [charset u8], name length, name, then per type: hard = address O;
// soft = length u16 + path; external (64) = length u16 + (flags u8, file NUL, path NUL).

Link decode_link(const FileImpl& f, std::span<const std::byte> data, uint64_t address,
                 std::string_view path) {
  ByteReader r(f, data, address, path);
  uint8_t version = r.u8();
  if (version != 1) fail(f, address, path, "bad link message version " + std::to_string(version));
  uint8_t flags = r.u8();
  if (flags & 0xE0) fail(f, address + 1, path, "unknown link message flags");
  uint8_t type = (flags & 0x08) ? r.u8() : 0;
  if (flags & 0x04) r.skip(8);
  if (flags & 0x10) r.u8();
  uint64_t name_len = r.uint_n(1u << (flags & 3));
  if (name_len == 0) fail(f, address, path, "link with an empty name");
  auto name = r.bytes(name_len);
  Link l;
  l.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
  if (type == 0) {
    l.address = r.address();
    if (l.address == kUndefinedAddress) fail(f, address, path, "hard link with undefined address");
    return l;
  }
  l.address = kUndefinedAddress;
  auto value = r.bytes(r.u16());
  const char* p = reinterpret_cast<const char*>(value.data());
  if (type == 1) {
    l.kind = LinkKind::Soft;
    l.soft_target.assign(p, value.size());
  } else if (type == 64) {
    l.kind = LinkKind::External;
    // Skip the version/flags byte; file name and object path are NUL-terminated.
    std::string_view v(p, value.size());
    if (!v.empty()) v.remove_prefix(1);
    std::string_view file = v.substr(0, v.find('\0'));
    std::string_view obj = file.size() < v.size() ? v.substr(file.size() + 1) : std::string_view();
    obj = obj.substr(0, obj.find('\0'));
    l.soft_target = std::string(file) + ":" + std::string(obj);
  } else {
    l.kind = LinkKind::External;  // user-defined link types: listed, never followed
    l.soft_target = "<user-defined link type " + std::to_string(type) + ">";
  }
  return l;
}

Link dense_link(const FileImpl& f, const FractalHeap& heap, const DenseLinkRef& ref,
                uint64_t heap_address, std::vector<std::byte>& scratch, std::string_view path) {
  auto obj = heap.object(std::span(ref.id.data(), ref.id_size), scratch);
  return decode_link(f, obj, heap_address, path);
}

}  // namespace

void index_dense_links(const FileImpl& f, ObjectHeader& h, std::string_view path) {
  if (h.link_name_btree == kUndefinedAddress) return;
  // v2 B-tree type 5 record (§III.A.2): name hash u32, heap ID (7 bytes).
  btree2_for_each(f, h.link_name_btree, 5, path, [&](ByteReader& rec) {
    DenseLinkRef ref;
    ref.hash = rec.u32();
    if (rec.remaining() == 0 || rec.remaining() > ref.id.size()) {
      rec.error("bad heap ID size in a link name index record");
    }
    ref.id_size = static_cast<uint8_t>(rec.remaining());
    auto id = rec.bytes(ref.id_size);
    std::copy(id.begin(), id.end(), ref.id.begin());
    h.dense_links.push_back(ref);
    return true;
  });
  if (!std::is_sorted(
          h.dense_links.begin(), h.dense_links.end(),
          [](const DenseLinkRef& a, const DenseLinkRef& b) { return a.hash < b.hash; })) {
    std::stable_sort(h.dense_links.begin(), h.dense_links.end(),
                     [](const DenseLinkRef& a, const DenseLinkRef& b) { return a.hash < b.hash; });
  }
}

std::vector<Link> list_links(const FileImpl& f, const ObjectHeader& h, std::string_view path) {
  std::vector<Link> out;
  if (h.symbol_table) {
    LocalHeap heap = read_local_heap(f, h.st_heap, path);
    Visited visited;
    list_tree(f, heap, h.st_btree, -1, 0, visited, out, path);
  }
  for (const auto& m : h.link_messages) out.push_back(decode_link(f, m.data, m.address, path));
  if (!h.dense_links.empty()) {
    FractalHeap heap(f, h.link_heap, path);
    std::vector<std::byte> scratch;
    out.reserve(out.size() + h.dense_links.size());
    for (const auto& ref : h.dense_links) {
      out.push_back(dense_link(f, heap, ref, h.link_heap, scratch, path));
    }
  }
  return out;
}

std::optional<Link> find_link(const FileImpl& f, const ObjectHeader& h, std::string_view name,
                              std::string_view path) {
  if (h.symbol_table) {
    if (auto l = find_in_tree(f, h.st_btree, h.st_heap, name, path)) return l;
  }
  for (const auto& m : h.link_messages) {
    Link l = decode_link(f, m.data, m.address, path);
    if (l.name == name) return l;
  }
  if (!h.dense_links.empty()) {
    const uint32_t want = lookup3(std::as_bytes(std::span(name.data(), name.size())));
    auto it = std::lower_bound(h.dense_links.begin(), h.dense_links.end(), want,
                               [](const DenseLinkRef& r, uint32_t v) { return r.hash < v; });
    if (it != h.dense_links.end() && it->hash == want) {
      FractalHeap heap(f, h.link_heap, path);
      std::vector<std::byte> scratch;
      for (; it != h.dense_links.end() && it->hash == want; ++it) {
        Link l = dense_link(f, heap, *it, h.link_heap, scratch, path);
        if (l.name == name) return l;
      }
    }
  }
  return std::nullopt;
}

}  // namespace kerasrt::hdf5
