// Internal interfaces of the HDF5 reader, shared by its translation units. Not for use outside
// src/hdf5/.
//
// Files:
//   file.cpp          superblock, FileImpl, File/Group/Object/Attribute API, path walking
//   object_header.cpp object headers v1/v2, continuation blocks, message decoding
//   datatype.cpp      datatype + dataspace messages, conversion to float32, string decoding
//   group.cpp         symbol-table groups (v1 B-tree + local heap), link messages, dense links
//   global_heap.cpp   global heap collections (vlen strings)
//   fractal_heap.cpp  fractal heap (managed direct/indirect blocks, huge and tiny objects)
//   btree2.cpp        v2 B-tree record iteration (types 1, 5, 8, 10, 11 ...)
//   chunked.cpp       chunked layout: v1 B-tree chunk index and the v4 index types
//   filters.cpp       filter pipeline: deflate, shuffle, fletcher32 (and lzf)
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "hdf5/hdf5.h"

namespace kerasrt::hdf5 {

inline constexpr uint64_t kUndefinedAddress = ~0ull;

// Throws Error(InvalidFile) with a message "<file>: <path>: at byte <offset>: <what>".
[[noreturn]] void fail(const FileImpl& file, uint64_t offset, std::string_view path,
                       std::string_view what);
// Same with ErrorCode::Unsupported: legal HDF5 that this reader does not implement.
[[noreturn]] void fail_unsupported(const FileImpl& file, uint64_t offset, std::string_view path,
                                   std::string_view what);

struct FileImpl {
  std::span<const std::byte> bytes;  // the whole file (or zip member)
  std::shared_ptr<const void> keep_alive;
  std::string name;  // for messages
  OpenOptions options;
  uint8_t superblock_version = 0;
  uint8_t sizeof_offsets = 8;  // "O" in the spec
  uint8_t sizeof_lengths = 8;  // "L" in the spec
  uint64_t base_address = 0;   // absolute byte offset that file addresses are relative to
  uint64_t root_address = 0;   // root group object header (relative address)
  // Superblock v0/v1 only: the root symbol-table entry's cached B-tree/heap (may be undefined).
  uint64_t root_btree = kUndefinedAddress;
  uint64_t root_heap = kUndefinedAddress;

  // Bytes [addr, addr+len) of the file, with addr relative to base_address. Throws (via fail) when
  // the range leaves the file or addr is undefined. `what` names the structure for the message.
  std::span<const std::byte> range(uint64_t addr, uint64_t len, std::string_view path,
                                   std::string_view what) const;
  // All bytes from addr to the end of the file (for structures whose size is found while parsing).
  std::span<const std::byte> tail(uint64_t addr, std::string_view path,
                                  std::string_view what) const;
};

// Bounds-checked little-endian cursor over a span that lies inside the file. Every read checks the
// remaining length and throws through fail() with the absolute file offset of the failing read.
class ByteReader {
 public:
  ByteReader(const FileImpl& file, std::span<const std::byte> data, uint64_t file_offset,
             std::string_view path)
      : file_(&file), data_(data), origin_(file_offset), path_(path) {}

  uint64_t offset() const { return origin_ + pos_; }  // absolute address of the next byte
  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }
  std::string_view path() const { return path_; }
  const FileImpl& file() const { return *file_; }

  void skip(uint64_t n) {
    need(n);
    pos_ += static_cast<size_t>(n);
  }
  void seek(size_t pos) {
    if (pos > data_.size()) fail(*file_, origin_ + pos, path_, "seek past end of structure");
    pos_ = pos;
  }
  uint8_t u8() {
    need(1);
    return static_cast<uint8_t>(data_[pos_++]);
  }
  uint16_t u16() { return static_cast<uint16_t>(uint_n(2)); }
  uint32_t u32() { return static_cast<uint32_t>(uint_n(4)); }
  uint64_t u64() { return uint_n(8); }
  // Little-endian unsigned of n bytes (1..8): used for "size of offsets/lengths" fields.
  uint64_t uint_n(unsigned n) {
    need(n);
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i)
      v |= uint64_t(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += n;
    return v;
  }
  // An address of sizeof_offsets bytes; all bits set (for that width) becomes kUndefinedAddress.
  uint64_t address() {
    unsigned n = file_->sizeof_offsets;
    uint64_t v = uint_n(n);
    if (n < 8 && v == (uint64_t{1} << (8 * n)) - 1) return kUndefinedAddress;
    return v;
  }
  uint64_t length() { return uint_n(file_->sizeof_lengths); }
  std::span<const std::byte> bytes(uint64_t n) {
    need(n);
    auto s = data_.subspan(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }
  // Checks a 4-byte signature ("TREE", "OHDR", ...).
  void expect_signature(const char (&sig)[5], std::string_view what) {
    auto s = bytes(4);
    if (std::memcmp(s.data(), sig, 4) != 0) {
      fail(*file_, offset() - 4, path_,
           std::string("bad signature for ") + std::string(what) + " (expected \"" + sig + "\")");
    }
  }
  [[noreturn]] void error(std::string_view what) const { fail(*file_, offset(), path_, what); }

 private:
  void need(uint64_t n) const {
    if (n > data_.size() - pos_) {
      fail(*file_, offset(), path_, "structure runs past its end (truncated or corrupt)");
    }
  }
  const FileImpl* file_;
  std::span<const std::byte> data_;
  uint64_t origin_;
  size_t pos_ = 0;
  std::string_view path_;
};

// Jenkins lookup3 hashlittle(), used by v2 structures' checksums and link-name hashes.
uint32_t lookup3(std::span<const std::byte> data, uint32_t initval = 0);

// ---------------------------------------------------------------------------------------------
// v2 B-tree (btree2.cpp). Calls `visit` for every record in key order, with a reader positioned at
// the record's bytes (exactly record_size long). Checks the header's type against expected_type,
// node signatures, checksums, depth (<= options.max_depth) and record counts against node sizes.
// `visit` returns false to stop early.
void btree2_for_each(const FileImpl& file, uint64_t header_address, uint8_t expected_type,
                     std::string_view path, const std::function<bool(ByteReader& record)>& visit);

// ---------------------------------------------------------------------------------------------
// Fractal heap (fractal_heap.cpp): the object store behind dense links and dense attributes.
class FractalHeap {
 public:
  FractalHeap(const FileImpl& file, uint64_t header_address, std::string_view path);
  // The object named by a heap ID as found in a v2 B-tree record (managed, tiny or huge). Managed
  // and tiny objects are views into the file; filtered or huge objects may be copied into
  // `scratch`, and the returned span then points into it.
  std::span<const std::byte> object(std::span<const std::byte> heap_id,
                                    std::vector<std::byte>& scratch) const;
  uint16_t heap_id_length() const { return heap_id_length_; }

 private:
  const FileImpl* file_;
  std::string path_;
  uint64_t header_address_ = 0;
  uint16_t heap_id_length_ = 0;
  uint16_t io_filter_size_ = 0;
  uint32_t max_managed_size_ = 0;
  uint64_t huge_btree_address_ = kUndefinedAddress;
  uint16_t table_width_ = 0;
  uint64_t starting_block_size_ = 0;
  uint64_t max_direct_block_size_ = 0;
  uint16_t max_heap_size_bits_ = 0;
  uint16_t root_rows_ = 0;
  uint64_t root_block_address_ = kUndefinedAddress;
  bool checksum_direct_blocks_ = false;
  uint64_t filtered_root_size_ = 0;
  // Derived from the header as libhdf5 does (H5HF__hdr_finish_init, H5HF__dtable_init), not stored.
  uint8_t heap_off_size_ = 0;     // bytes of a heap offset (managed IDs, block headers)
  uint8_t heap_len_size_ = 0;     // bytes of a managed object's length in an ID
  unsigned first_row_bits_ = 0;   // log2(starting block size * table width)
  unsigned max_direct_rows_ = 0;  // rows of direct blocks in any indirect block
  unsigned max_root_rows_ = 0;    // rows the root indirect block may have
  bool huge_ids_direct_ = false;  // huge object IDs hold address + length themselves
  uint8_t huge_id_size_ = 0;      // bytes of an indirect huge object ID

  uint64_t row_block_size(unsigned row) const;
  uint64_t row_block_offset(unsigned row) const;
  std::span<const std::byte> managed_object(uint64_t offset, uint64_t length) const;
  std::span<const std::byte> huge_object(std::span<const std::byte> heap_id) const;
};

// ---------------------------------------------------------------------------------------------
// Raw data storage (chunked.cpp, filters.cpp).

struct FilterInfo {
  uint16_t id = 0;  // 1 deflate, 2 shuffle, 3 fletcher32, 32000 lzf, ...
  bool optional = false;
  std::string name;
  std::vector<uint32_t> client_data;
};

struct LayoutInfo {
  LayoutClass cls = LayoutClass::Contiguous;
  uint8_t version = 3;
  uint64_t address = kUndefinedAddress;  // contiguous data, or the chunk index
  uint64_t size = 0;                     // contiguous: bytes
  std::span<const std::byte> compact;    // compact: the data inside the header
  // Chunked: chunk dims in elements (the rank of the dataspace; the trailing element-size dim of
  // the message is removed and stored in chunk_element_size).
  std::vector<uint64_t> chunk_dims;
  uint32_t chunk_element_size = 0;
  // Layout v4 chunk index: 0 = v1 B-tree (versions < 4), 1 single chunk, 2 implicit,
  // 3 fixed array, 4 extensible array, 5 v2 B-tree.
  uint8_t index_type = 0;
  uint8_t flags = 0;                        // v4 flags
  uint64_t single_chunk_filtered_size = 0;  // v4 single chunk with filters
  uint32_t single_chunk_filter_mask = 0;
  std::vector<std::byte> index_params;  // raw v4 index parameters (fixed/extensible array, btree2)
  // The dataspace's maximum dims (kUnlimitedDim for H5S_UNLIMITED), from the dataspace message.
  // The implicit, fixed-array and extensible-array indexes number chunks over the maximum extent,
  // so they need it when maxshape differs from shape. Empty means "same as the current dims"
  // (and, for an extensible array, dim 0 unlimited), which is what h5py writes by default.
  std::vector<uint64_t> max_dims;
};

inline constexpr uint64_t kUnlimitedDim = ~0ull;

// What never-written data reads as: `value` is one element (element_size bytes) or empty for
// zeros; a non-empty `error` means the dataset's fill value message is unusable, and a read that
// needs it fails with that message at byte `at`.
struct FillInfo {
  std::span<const std::byte> value;
  std::string_view error;
  uint64_t at = kUndefinedAddress;
};

// Fills `out` with copies of fill.value (zeros when it is empty); fails if fill.error is set.
void fill_elements(const FileImpl& file, const FillInfo& fill, std::span<std::byte> out,
                   std::string_view path);

// Decodes a whole chunked dataset into `out` (stored element type, C order, exactly
// num_elements * element_size bytes). Missing chunks read as the fill value. Each chunk's decoded
// size is checked against the chunk dims before it is copied.
void read_chunked(const FileImpl& file, const LayoutInfo& layout,
                  const std::vector<FilterInfo>& filters, const Dataspace& space,
                  uint32_t element_size, const FillInfo& fill, std::span<std::byte> out,
                  std::string_view path);

// Undoes the filter pipeline for one chunk (filters applied in reverse order; a bit set in
// filter_mask skips that filter). `expected_size` is the chunk's decoded size; the result must be
// exactly that long. Output is written to `out` (resized).
void apply_filters_reverse(const FileImpl& file, const std::vector<FilterInfo>& filters,
                           uint32_t filter_mask, std::span<const std::byte> input,
                           uint64_t expected_size, uint32_t element_size,
                           std::vector<std::byte>& out, uint64_t chunk_address,
                           std::string_view path);

}  // namespace kerasrt::hdf5
