// Global heap collections (§III.E): where variable-length strings live.
//
// Collection: "GCOL", version 1, reserved 3, collection size L (header included); then objects:
// heap object index u16, reference count u16, reserved 4, object size L, data padded to 8 bytes.
// Index 0 is the free space and ends the walk. Every object must lie inside the collection, and a
// vlen reference's length must not exceed its object's size (libhdf5 crashed on exactly these:
// hdf5-reader.md §4.2).
#include <algorithm>

#include "hdf5/object_header.h"

namespace kerasrt::hdf5 {

const GlobalHeapReader::Collection& GlobalHeapReader::load(uint64_t collection) {
  if (auto it = loaded_.find(collection); it != loaded_.end()) return it->second;
  const FileImpl& f = file_;
  const unsigned L = f.sizeof_lengths;
  const uint64_t header_size = 8 + L;
  ByteReader h(f, f.range(collection, header_size, path_, "global heap collection"), collection,
               path_);
  h.expect_signature("GCOL", "global heap collection");
  uint8_t version = h.u8();
  if (version != 1) {
    fail(f, collection + 4, path_, "bad global heap version " + std::to_string(version));
  }
  h.skip(3);
  uint64_t size = h.length();
  if (size < header_size) fail(f, collection + 8, path_, "global heap collection too small");
  Collection c;
  c.data = f.range(collection, size, path_, "global heap collection");
  // Collections of a sound file never overlap, so indexing more bytes than the file holds means
  // a hostile file is making us walk the same bytes again and again.
  indexed_bytes_ += size;
  if (indexed_bytes_ > f.bytes.size()) {
    fail(f, collection, path_, "global heap collections overlap (indexed more than the file)");
  }
  ByteReader r(f, c.data, collection, path_);
  r.skip(header_size);
  const uint64_t object_header = 8 + L;
  bool sorted = true;
  while (r.remaining() >= object_header) {
    uint64_t at = r.offset();
    uint16_t index = r.u16();
    r.skip(6);  // reference count, reserved
    uint64_t osize = r.length();
    if (index == 0) break;  // free space: the rest of the collection
    uint64_t offset = r.position();
    if (osize > r.remaining()) fail(f, at, path_, "global heap object runs past its collection");
    // Data is padded to a multiple of 8; the padding may be cut at the collection's end.
    uint64_t padded = (osize + 7) & ~uint64_t{7};
    r.skip(std::min<uint64_t>(padded, r.remaining()));
    if (!c.entries.empty() && c.entries.back().index >= index) sorted = false;
    c.entries.push_back({index, offset, osize});
  }
  if (!sorted) {
    std::stable_sort(c.entries.begin(), c.entries.end(),
                     [](const Entry& a, const Entry& b) { return a.index < b.index; });
  }
  return loaded_.emplace(collection, std::move(c)).first->second;
}

std::span<const std::byte> GlobalHeapReader::object(uint64_t collection, uint32_t index,
                                                    uint64_t length) {
  if (collection != current_address_ || current_ == nullptr) {
    current_ = &load(collection);
    current_address_ = collection;
  }
  const auto& entries = current_->entries;
  auto it = std::lower_bound(entries.begin(), entries.end(), index,
                             [](const Entry& e, uint32_t i) { return e.index < i; });
  if (it == entries.end() || it->index != index) {
    fail(file_, collection, path_, "global heap collection has no object " + std::to_string(index));
  }
  if (length > it->size) {
    fail(file_, collection + it->offset, path_,
         "variable-length data of " + std::to_string(length) + " bytes exceeds its heap object (" +
             std::to_string(it->size) + " bytes)");
  }
  return current_->data.subspan(static_cast<size_t>(it->offset), static_cast<size_t>(length));
}

}  // namespace kerasrt::hdf5
