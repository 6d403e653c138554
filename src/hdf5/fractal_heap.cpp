// Fractal heaps (HDF5 File Format Specification v3, section III.G): the object store behind dense
// link and attribute storage. An object is named by a heap ID whose first byte says whether it is
//   managed  - stored in a direct block found through the doubling table of indirect blocks,
//   tiny     - stored inside the ID itself,
//   huge     - stored on its own in the file, found through a v2 B-tree (record type 1) or, when
//              the ID is long enough, by the address and length inside the ID.
//
// Block layouts and the derived sizes (offset/length widths, rows per block) follow libhdf5's
// H5HFcache.c, H5HFdtable.c, H5HFhdr.c, H5HFman.c, H5HFtiny.c and H5HFhuge.c.
//
// Direct block checksums are not verified: the checksum covers the whole block (up to the maximum
// direct block size, 64 KiB and more), so checking it on every object access would cost a hash of
// the block per link or attribute read and dominate the metadata walk. Every read is still
// bounds-checked against the block and the file, so a corrupt block yields an error or wrong
// bytes that the caller's own parsing rejects, never an out-of-bounds access. Headers and indirect
// blocks (small, read once per lookup) are verified.
#include <algorithm>
#include <string>

#include "hdf5/internal.h"
#include "hdf5/storage_util.h"

namespace kerasrt::hdf5 {
namespace {

using storage::log2_floor;

constexpr uint8_t kIdTypeMask = 0x30;
constexpr uint8_t kIdManaged = 0x00;
constexpr uint8_t kIdHuge = 0x10;
constexpr uint8_t kIdTiny = 0x20;
constexpr uint8_t kIdVersionMask = 0xC0;

}  // namespace

FractalHeap::FractalHeap(const FileImpl& file, uint64_t header_address, std::string_view path)
    : file_(&file), path_(path), header_address_(header_address) {
  const uint64_t O = file.sizeof_offsets, L = file.sizeof_lengths;
  auto bad = [&](uint64_t at, const std::string& what) -> void {
    fail(file, at, path_, "fractal heap header: " + what);
  };
  // Fixed part (H5HF_HEADER_SIZE): prefix, ID length, filter length, flags, max managed size,
  // next huge ID (L), huge B-tree (O), free space (L), free-space manager (O), 8 statistics (L),
  // table width, starting block size (L), max direct block size (L), max heap bits, starting root
  // rows, root block address (O), current root rows; then optional filter info and the checksum.
  const uint64_t fixed = 4 + 1 + 2 + 2 + 1 + 4 + L + O + L + O + 8 * L + 2 + L + L + 2 + 2 + O + 2;
  auto head = file.range(header_address, fixed, path_, "fractal heap header");
  ByteReader r(file, head, header_address, path_);
  r.expect_signature("FRHP", "fractal heap header");
  if (uint8_t v = r.u8(); v != 0) bad(header_address + 4, "unknown version " + std::to_string(v));
  heap_id_length_ = r.u16();
  io_filter_size_ = r.u16();
  const uint8_t flags = r.u8();
  checksum_direct_blocks_ = (flags & 0x02) != 0;
  max_managed_size_ = r.u32();
  r.length();  // next huge object ID: only writers need it
  huge_btree_address_ = r.address();
  r.length();     // free space in managed blocks
  r.address();    // free-space manager
  r.skip(8 * L);  // statistics
  const uint64_t width_at = r.offset();
  table_width_ = r.u16();
  starting_block_size_ = r.length();
  max_direct_block_size_ = r.length();
  max_heap_size_bits_ = r.u16();
  r.u16();  // starting rows of the root indirect block: only writers need it
  root_block_address_ = r.address();
  root_rows_ = r.u16();
  uint64_t total = fixed;
  if (io_filter_size_ > 0) total = fixed + L + 4 + io_filter_size_;
  auto whole = file.range(header_address, total + 4, path_, "fractal heap header");
  if (io_filter_size_ > 0) {
    ByteReader f(file, whole.subspan(fixed), header_address + fixed, path_);
    filtered_root_size_ = f.length();
  }
  const uint32_t stored = static_cast<uint32_t>(storage::load_le(whole.subspan(total, 4)));
  if (lookup3(whole.first(total)) != stored) bad(header_address, "checksum mismatch");

  // Doubling-table geometry (H5HF__dtable_init). libhdf5 only creates power-of-two widths and
  // block sizes; anything else would make the row arithmetic below meaningless.
  if (heap_id_length_ < 2) bad(header_address + 5, "heap ID length below 2");
  if (!storage::is_power_of_two(table_width_)) {
    bad(width_at, "table width " + std::to_string(table_width_) + " is not a power of two");
  }
  if (!storage::is_power_of_two(starting_block_size_) ||
      !storage::is_power_of_two(max_direct_block_size_) ||
      max_direct_block_size_ < starting_block_size_) {
    bad(width_at + 2, "starting/maximum direct block sizes " +
                          std::to_string(starting_block_size_) + "/" +
                          std::to_string(max_direct_block_size_) + " are not valid");
  }
  const unsigned start_bits = log2_floor(starting_block_size_);
  first_row_bits_ = start_bits + log2_floor(table_width_);
  if (max_heap_size_bits_ > 64 || max_heap_size_bits_ < first_row_bits_ || first_row_bits_ > 63) {
    bad(width_at + 2 + 2 * L,
        "maximum heap size of " + std::to_string(max_heap_size_bits_) + " bits is not valid");
  }
  max_root_rows_ = max_heap_size_bits_ - first_row_bits_ + 1;
  max_direct_rows_ = log2_floor(max_direct_block_size_) - start_bits + 2;
  if (root_rows_ > max_root_rows_) {
    bad(width_at, "root indirect block has " + std::to_string(root_rows_) + " rows, at most " +
                      std::to_string(max_root_rows_) + " are possible");
  }
  heap_off_size_ = static_cast<uint8_t>((max_heap_size_bits_ + 7) / 8);
  const unsigned max_dir_blk_off_size = (log2_floor(max_direct_block_size_) + 7) / 8;
  heap_len_size_ = static_cast<uint8_t>(
      std::min(max_dir_blk_off_size, storage::limit_enc_size(max_managed_size_)));

  // Huge objects (H5HF__huge_init).
  const unsigned id_payload = heap_id_length_ - 1u;
  if (io_filter_size_ > 0) {
    huge_ids_direct_ = id_payload >= O + L + 4 + L;
  } else {
    huge_ids_direct_ = id_payload >= O + L;
  }
  if (!huge_ids_direct_) huge_id_size_ = static_cast<uint8_t>(std::min(id_payload, 8u));
}

uint64_t FractalHeap::row_block_size(unsigned row) const {
  // Rows 0 and 1 hold blocks of the starting size, then each row doubles (H5HF__dtable_init).
  return row == 0 ? starting_block_size_ : starting_block_size_ << (row - 1);
}

uint64_t FractalHeap::row_block_offset(unsigned row) const {
  const uint64_t first_row_span = starting_block_size_ * table_width_;
  return row == 0 ? 0 : first_row_span << (row - 1);
}

std::span<const std::byte> FractalHeap::object(std::span<const std::byte> heap_id,
                                               std::vector<std::byte>& scratch) const {
  const FileImpl& file = *file_;
  if (heap_id.empty()) fail(file, header_address_, path_, "empty fractal heap ID");
  const uint8_t flags = static_cast<uint8_t>(heap_id[0]);
  if ((flags & kIdVersionMask) != 0) {
    fail(file, header_address_, path_,
         "fractal heap ID version " + std::to_string(flags >> 6) + " is not known");
  }
  switch (flags & kIdTypeMask) {
    case kIdManaged: {
      if (heap_id.size() < 1u + heap_off_size_ + heap_len_size_) {
        fail(file, header_address_, path_, "managed fractal heap ID too short");
      }
      const uint64_t offset = storage::load_le(heap_id.subspan(1, heap_off_size_));
      const uint64_t length = storage::load_le(heap_id.subspan(1 + heap_off_size_, heap_len_size_));
      return managed_object(offset, length);
    }
    case kIdTiny: {
      // H5HF__tiny_init: the length needs a second byte only when the ID has room for objects
      // longer than 16 bytes (and exactly 17 payload bytes still use the short form).
      const bool extended = heap_id_length_ - 1u > 17;
      size_t pos = 1;
      uint64_t length = (flags & 0x0F);
      if (extended) {
        if (heap_id.size() < 2)
          fail(file, header_address_, path_, "tiny fractal heap ID too short");
        length = (length << 8) | static_cast<uint8_t>(heap_id[1]);
        pos = 2;
      }
      length += 1;
      if (pos + length > heap_id.size()) {
        fail(file, header_address_, path_,
             "tiny fractal heap object of " + std::to_string(length) + " bytes overruns its ID");
      }
      // Copied: the ID may live in the caller's temporary buffer.
      auto src = heap_id.subspan(pos, length);
      scratch.assign(src.begin(), src.end());
      return scratch;
    }
    case kIdHuge:
      return huge_object(heap_id);
    default:
      fail(file, header_address_, path_, "fractal heap ID of reserved type");
  }
}

std::span<const std::byte> FractalHeap::managed_object(uint64_t offset, uint64_t length) const {
  const FileImpl& file = *file_;
  const uint64_t O = file.sizeof_offsets;
  if (io_filter_size_ > 0) {
    fail_unsupported(file, header_address_, path_,
                     "fractal heap with I/O filters (compressed heap blocks) is not supported");
  }
  if (length == 0 || length > max_managed_size_) {
    fail(file, header_address_, path_,
         "managed fractal heap object of " + std::to_string(length) + " bytes (maximum " +
             std::to_string(max_managed_size_) + ")");
  }
  if (max_heap_size_bits_ < 64 && (offset >> max_heap_size_bits_) != 0) {
    fail(file, header_address_, path_,
         "fractal heap offset " + std::to_string(offset) + " beyond the heap's address space");
  }
  if (root_block_address_ == kUndefinedAddress) {
    fail(file, header_address_, path_, "fractal heap object requested from an empty heap");
  }

  // Find the direct block that holds `offset` (H5HF__man_dblock_locate).
  uint64_t block_addr = root_block_address_;
  uint64_t block_size = starting_block_size_;
  uint64_t block_off = 0;  // heap-space offset of the block found
  if (root_rows_ > 0) {
    uint64_t iblock_addr = root_block_address_;
    unsigned nrows = root_rows_;
    uint64_t iblock_off = 0;
    for (uint32_t level = 0;; ++level) {
      if (level > file.options.max_depth) {
        fail(file, iblock_addr, path_, "fractal heap indirect blocks nested too deeply");
      }
      const unsigned dir_rows = std::min(nrows, max_direct_rows_);
      const uint64_t entries = uint64_t(nrows) * table_width_;
      const uint64_t head = 4 + 1 + O + heap_off_size_;
      const uint64_t size = head + entries * O + 4;  // nrows <= 64, width <= 65535: no overflow
      auto image = file.range(iblock_addr, size, path_, "fractal heap indirect block");
      ByteReader r(file, image, iblock_addr, path_);
      r.expect_signature("FHIB", "fractal heap indirect block");
      if (uint8_t v = r.u8(); v != 0) {
        fail(file, iblock_addr + 4, path_,
             "fractal heap indirect block version " + std::to_string(v));
      }
      if (r.address() != header_address_) {
        fail(file, iblock_addr + 5, path_, "fractal heap indirect block belongs to another heap");
      }
      if (r.uint_n(heap_off_size_) != iblock_off) {
        fail(file, iblock_addr + 5 + O, path_, "fractal heap indirect block has a wrong offset");
      }
      const uint32_t stored = static_cast<uint32_t>(storage::load_le(image.subspan(size - 4, 4)));
      if (lookup3(image.first(size - 4)) != stored) {
        fail(file, iblock_addr, path_, "fractal heap indirect block checksum mismatch");
      }
      // Row and column of the offset inside this block (H5HF__dtable_lookup).
      const uint64_t rel = offset - iblock_off;
      unsigned row = 0;
      uint64_t col = 0;
      if (rel < starting_block_size_ * table_width_) {
        col = rel / starting_block_size_;
      } else {
        const unsigned high_bit = log2_floor(rel);
        row = high_bit - first_row_bits_ + 1;
        if (row >= nrows) {
          fail(file, iblock_addr, path_,
               "fractal heap offset " + std::to_string(offset) + " lies outside the heap's blocks");
        }
        col = (rel - (uint64_t{1} << high_bit)) / row_block_size(row);
      }
      const uint64_t entry = uint64_t(row) * table_width_ + col;
      ByteReader e(file, image.subspan(head + entry * O, O), iblock_addr + head + entry * O, path_);
      const uint64_t child = e.address();
      if (child == kUndefinedAddress) {
        fail(file, iblock_addr, path_,
             "fractal heap offset " + std::to_string(offset) + " lies in an unallocated block");
      }
      const uint64_t child_off = iblock_off + row_block_offset(row) + col * row_block_size(row);
      if (row < dir_rows) {
        block_addr = child;
        block_size = row_block_size(row);
        block_off = child_off;
        break;
      }
      // A child indirect block covers one entry of this row; its row count follows from its size
      // and is always smaller than ours, so the descent terminates.
      const unsigned child_rows = log2_floor(row_block_size(row)) - first_row_bits_ + 1;
      if (child_rows >= nrows) {
        fail(file, iblock_addr, path_, "fractal heap child indirect block not smaller than parent");
      }
      iblock_addr = child;
      nrows = child_rows;
      iblock_off = child_off;
    }
  }

  // Direct block: signature, version, heap header address, block offset, [checksum], data.
  const uint64_t overhead = 4 + 1 + O + heap_off_size_ + (checksum_direct_blocks_ ? 4 : 0);
  auto head = file.range(block_addr, overhead, path_, "fractal heap direct block");
  ByteReader r(file, head, block_addr, path_);
  r.expect_signature("FHDB", "fractal heap direct block");
  if (uint8_t v = r.u8(); v != 0) {
    fail(file, block_addr + 4, path_, "fractal heap direct block version " + std::to_string(v));
  }
  if (r.address() != header_address_) {
    fail(file, block_addr + 5, path_, "fractal heap direct block belongs to another heap");
  }
  if (r.uint_n(heap_off_size_) != block_off) {
    fail(file, block_addr + 5 + O, path_, "fractal heap direct block has a wrong offset");
  }
  const uint64_t in_block = offset - block_off;
  if (in_block < overhead || in_block > block_size || length > block_size - in_block) {
    fail(file, block_addr, path_,
         "fractal heap object [" + std::to_string(offset) + ", +" + std::to_string(length) +
             ") does not fit its direct block");
  }
  return file.range(block_addr + in_block, length, path_, "fractal heap object");
}

std::span<const std::byte> FractalHeap::huge_object(std::span<const std::byte> heap_id) const {
  const FileImpl& file = *file_;
  const uint64_t O = file.sizeof_offsets, L = file.sizeof_lengths;
  if (io_filter_size_ > 0) {
    fail_unsupported(file, header_address_, path_,
                     "huge object in a fractal heap with I/O filters is not supported");
  }
  if (huge_ids_direct_) {
    if (heap_id.size() < 1 + O + L) fail(file, header_address_, path_, "huge heap ID too short");
    ByteReader r(file, heap_id.subspan(1, O + L), header_address_, path_);
    const uint64_t addr = r.address();
    const uint64_t len = r.length();
    return file.range(addr, len, path_, "fractal heap huge object");
  }
  if (heap_id.size() < 1u + huge_id_size_) {
    fail(file, header_address_, path_, "huge heap ID too short");
  }
  const uint64_t id = storage::load_le(heap_id.subspan(1, huge_id_size_));
  if (huge_btree_address_ == kUndefinedAddress) {
    fail(file, header_address_, path_, "huge heap object without a huge-object B-tree");
  }
  // Type 1 records (H5HFbtree2.c, indirect non-filtered): address (O), length (L), ID (L).
  uint64_t found_addr = kUndefinedAddress, found_len = 0;
  bool found = false;
  btree2_for_each(file, huge_btree_address_, 1, path_, [&](ByteReader& rec) {
    const uint64_t a = rec.address();
    const uint64_t n = rec.length();
    const uint64_t rid = rec.length();
    if (rid == id) {
      found_addr = a;
      found_len = n;
      found = true;
      return false;
    }
    return true;
  });
  if (!found) {
    fail(file, huge_btree_address_, path_,
         "huge heap object " + std::to_string(id) + " not found in the huge-object B-tree");
  }
  return file.range(found_addr, found_len, path_, "fractal heap huge object");
}

}  // namespace kerasrt::hdf5
