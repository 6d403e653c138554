// Chunked raw data (HDF5 File Format Specification v3: IV.A.2.i data layout message, III.A.1
// v1 B-trees, III.A.2 v2 B-trees, VII fixed and extensible arrays) and its chunk indexes:
//   layout v1-v3: v1 B-tree, node type 1 (H5Dbtree.c)
//   layout v4:    1 single chunk (H5Dsingle.c), 2 implicit (H5Dnone.c), 3 fixed array
//                 (H5Dfarray.c, H5FA*.c), 4 extensible array (H5Dearray.c, H5EA*.c),
//                 5 v2 B-tree with record types 10/11 (H5Dbtree2.c)
//
// Every chunk found is checked against the dataset's chunk grid, decoded (filters.cpp) to exactly
// the chunk's byte size and copied into the C-order output; edge chunks are clipped to the
// dataspace. Chunks that were never written read as the dataset's fill value (zero by default).
//
// Work is bounded: the number of chunk entries visited is capped at a small multiple of the
// dataset's chunk count, so cyclic or DAG-shaped indexes cannot make us loop or redo work without
// end, and every structure is read through FileImpl::range / ByteReader.
#include <algorithm>
#include <string>
#include <unordered_map>
#include <vector>

#include "hdf5/internal.h"
#include "hdf5/storage_util.h"

namespace kerasrt::hdf5 {
namespace {

using storage::log2_floor;

class ChunkReader {
 public:
  ChunkReader(const FileImpl& file, const LayoutInfo& layout,
              const std::vector<FilterInfo>& filters, const Dataspace& space, uint32_t element_size,
              const FillInfo& fill, std::span<std::byte> out, std::string_view path)
      : file_(file),
        layout_(layout),
        filters_(filters),
        elsize_(element_size),
        fill_(fill),
        out_(out),
        path_(path),
        dims_(space.dims) {}

  void run();

 private:
  [[noreturn]] void bad(uint64_t at, const std::string& what) const {
    fail(file_, at, path_, what);
  }
  [[noreturn]] void unsupported(uint64_t at, const std::string& what) const {
    fail_unsupported(file_, at, path_, what);
  }

  void setup_geometry();
  void read_index();
  // Linear index of a chunk over the maximum chunk grid (H5VM_array_offset_pre with
  // layout->max_down_chunks), used by the implicit and fixed-array indexes.
  uint64_t max_linear_index(std::span<const uint64_t> scaled) const;
  // Calls f(scaled) for every chunk of the current grid, in C order.
  template <typename F>
  void for_each_grid_chunk(F&& f);
  void process(std::span<const uint64_t> scaled, uint64_t address, uint64_t stored_size,
               uint32_t filter_mask);
  void copy_chunk(std::span<const std::byte> data, std::span<const uint64_t> scaled);

  // A decoded v1 B-tree node: entries + 1 keys of rank + 1 scaled offsets each, and the children.
  struct V1Node {
    int level = 0;
    std::vector<uint64_t> scaled;
    std::vector<uint32_t> nbytes, mask;
    std::vector<uint64_t> child;
  };
  const V1Node& v1_node(uint64_t address, int expected_level);
  void v1_btree();
  void single_chunk();
  void implicit();
  void fixed_array();
  void extensible_array();
  void btree2();

  const FileImpl& file_;
  const LayoutInfo& layout_;
  const std::vector<FilterInfo>& filters_;
  uint32_t elsize_;
  const FillInfo& fill_;
  uint64_t written_ = 0;  // chunks copied into the output
  std::span<std::byte> out_;
  std::string_view path_;
  std::vector<uint64_t> dims_;
  size_t rank_ = 0;
  std::vector<uint64_t> chunk_;        // chunk dims, elements
  std::vector<uint64_t> nchunks_;      // current chunk grid
  std::vector<uint64_t> max_nchunks_;  // chunk grid of the maximum extent (kUnlimitedDim: none)
  uint64_t chunk_bytes_ = 0;
  uint64_t total_chunks_ = 0;
  uint64_t budget_ = 0;  // chunk entries and index nodes we accept to visit
  std::vector<std::byte> scratch_;
  std::unordered_map<uint64_t, V1Node> v1_nodes_;  // nodes decoded so far, by address
  uint64_t v1_budget_ = 0;                         // keys we accept to decode
  // copy_chunk's strides (bytes) and per-chunk coordinates.
  std::vector<uint64_t> cstride_, ostride_, start_, extent_, idx_;
};

void ChunkReader::setup_geometry() {
  rank_ = dims_.size();
  if (rank_ == 0) bad(layout_.address, "chunked layout on a dataspace without dimensions");
  if (layout_.chunk_dims.size() != rank_) {
    bad(layout_.address, "chunk rank " + std::to_string(layout_.chunk_dims.size()) +
                             " differs from the dataspace rank " + std::to_string(rank_));
  }
  if (layout_.chunk_element_size != 0 && layout_.chunk_element_size != elsize_) {
    bad(layout_.address, "chunk element size " + std::to_string(layout_.chunk_element_size) +
                             " differs from the datatype size " + std::to_string(elsize_));
  }
  if (elsize_ == 0) bad(layout_.address, "chunked dataset with a zero-size datatype");
  chunk_ = layout_.chunk_dims;
  uint64_t bytes = elsize_;
  for (size_t d = 0; d < rank_; ++d) {
    if (chunk_[d] == 0) bad(layout_.address, "chunk dimension " + std::to_string(d) + " is 0");
    auto m = storage::mul(bytes, chunk_[d]);
    if (!m || *m > file_.options.max_decoded_bytes) {
      fail(file_, layout_.address, path_, "chunk size exceeds the decode limit");
    }
    bytes = *m;
  }
  chunk_bytes_ = bytes;

  std::vector<uint64_t> max_dims = layout_.max_dims;
  if (max_dims.empty()) max_dims = dims_;
  if (max_dims.size() != rank_) bad(layout_.address, "maximum dims differ in rank from the dims");
  nchunks_.resize(rank_);
  max_nchunks_.resize(rank_);
  total_chunks_ = 1;
  for (size_t d = 0; d < rank_; ++d) {
    nchunks_[d] = dims_[d] / chunk_[d] + (dims_[d] % chunk_[d] != 0);
    total_chunks_ = storage::mul_sat(total_chunks_, nchunks_[d]);
    if (max_dims[d] == kUnlimitedDim) {
      max_nchunks_[d] = kUnlimitedDim;
    } else {
      if (max_dims[d] < dims_[d]) bad(layout_.address, "maximum dim smaller than the current dim");
      max_nchunks_[d] = max_dims[d] / chunk_[d] + (max_dims[d] % chunk_[d] != 0);
    }
  }
  cstride_.assign(rank_, 0);
  ostride_.assign(rank_, 0);
  start_.assign(rank_, 0);
  extent_.assign(rank_, 0);
  idx_.assign(rank_, 0);
  uint64_t cs = elsize_, os = elsize_;
  for (size_t d = rank_; d-- > 0;) {
    cstride_[d] = cs;
    ostride_[d] = os;
    cs *= chunk_[d];                      // <= chunk_bytes_
    os = storage::mul_sat(os, dims_[d]);  // <= output size, checked in run()
  }
  // Real indexes hold about one entry per chunk and fewer nodes than entries; twice that plus
  // some slack for chunks left beyond a shrunk extent is a generous but finite budget.
  budget_ = storage::add_sat(storage::mul_sat(total_chunks_, 2), 1024);
}

uint64_t ChunkReader::max_linear_index(std::span<const uint64_t> scaled) const {
  uint64_t idx = 0, down = 1;
  for (size_t d = rank_; d-- > 0;) {
    auto term = storage::mul(scaled[d], down);
    auto sum = term ? storage::add(idx, *term) : std::nullopt;
    if (!sum) bad(layout_.address, "chunk index overflows");
    idx = *sum;
    if (d > 0) {
      if (max_nchunks_[d] == kUnlimitedDim) {
        bad(layout_.address, "unlimited dimension in a chunk index that needs fixed dims");
      }
      auto m = storage::mul(down, max_nchunks_[d]);
      if (!m) bad(layout_.address, "chunk grid too large");
      down = *m;
    }
  }
  return idx;
}

template <typename F>
void ChunkReader::for_each_grid_chunk(F&& f) {
  if (total_chunks_ == 0) return;
  std::vector<uint64_t> scaled(rank_, 0);
  for (;;) {
    f(std::span<const uint64_t>(scaled));
    size_t d = rank_;
    while (d-- > 0) {
      if (++scaled[d] < nchunks_[d]) break;
      scaled[d] = 0;
      if (d == 0) return;
    }
  }
}

void ChunkReader::process(std::span<const uint64_t> scaled, uint64_t address, uint64_t stored_size,
                          uint32_t filter_mask) {
  if (budget_ == 0) {
    bad(address, "chunk index lists more chunks than the dataset has (cycle or corrupt index)");
  }
  --budget_;
  if (address == kUndefinedAddress) return;  // never written: stays zero
  bool partial = false;
  for (size_t d = 0; d < rank_; ++d) {
    if (scaled[d] >= nchunks_[d]) return;  // beyond the current extent (dataset was shrunk)
    if ((scaled[d] + 1) * chunk_[d] > dims_[d]) partial = true;
  }
  // Layout v4 flag bit 0: partial edge chunks were written without filters.
  const bool filtered = !filters_.empty() && !(partial && (layout_.flags & 0x01));
  ++written_;
  if (!filtered) {
    copy_chunk(file_.range(address, chunk_bytes_, path_, "chunk"), scaled);
    return;
  }
  if (stored_size == 0) bad(address, "filtered chunk with a stored size of 0");
  auto stored = file_.range(address, stored_size, path_, "chunk");
  apply_filters_reverse(file_, filters_, filter_mask, stored, chunk_bytes_, elsize_, scratch_,
                        address, path_);
  copy_chunk(scratch_, scaled);
}

void ChunkReader::copy_chunk(std::span<const std::byte> data, std::span<const uint64_t> scaled) {
  // All offsets are bounded by the chunk size and the output size, which were checked; the
  // per-chunk vectors are members so that datasets of many small chunks do not allocate per chunk.
  for (size_t d = 0; d < rank_; ++d) {
    start_[d] = scaled[d] * chunk_[d];
    extent_[d] = std::min(chunk_[d], dims_[d] - start_[d]);
    idx_[d] = 0;
  }
  const uint64_t run = extent_[rank_ - 1] * elsize_;
  for (;;) {
    uint64_t src = 0, dst = 0;
    for (size_t d = 0; d < rank_; ++d) {
      src += idx_[d] * cstride_[d];
      dst += (start_[d] + idx_[d]) * ostride_[d];
    }
    std::memcpy(out_.data() + dst, data.data() + src, run);
    // Advance over all dims but the last (which is the contiguous run).
    size_t d = rank_ - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      if (++idx_[d] < extent_[d]) break;
      idx_[d] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// v1 B-tree, node type 1 (III.A.1): "TREE", type, level, entries used, left and right siblings,
// then key 0, child 0, ..., key n. A chunk key is chunk size (u32), filter mask (u32) and
// rank + 1 offsets (u64, in elements; the last one is for the element-size dimension).
//
// Chunks are found the way libhdf5 finds them, not by walking the leaves: for every chunk of the
// grid, H5B_find binary-searches each node with H5D__btree_cmp3 and the leaf entry must pass
// H5D__btree_found. A key that was damaged (an offset outside the dataspace, a non-zero trailing
// offset, keys out of order) then makes the same chunks absent (fill value) as in libhdf5,
// instead of placing data where libhdf5 would not. As in H5D__btree_decode_key, every offset of
// every key of a node that is visited must be a multiple of its chunk dimension (the trailing one
// of the element size), else the read fails.
const ChunkReader::V1Node& ChunkReader::v1_node(uint64_t address, int expected_level) {
  if (auto it = v1_nodes_.find(address); it != v1_nodes_.end()) {
    if (expected_level >= 0 && it->second.level != expected_level) {
      bad(address + 5, "chunk B-tree node at level " + std::to_string(it->second.level) +
                           ", expected " + std::to_string(expected_level));
    }
    return it->second;
  }
  const uint64_t O = file_.sizeof_offsets;
  const uint64_t head_size = 4 + 1 + 1 + 2 + 2 * O;
  auto head = file_.range(address, head_size, path_, "chunk B-tree node");
  ByteReader h(file_, head, address, path_);
  h.expect_signature("TREE", "chunk B-tree node");
  if (uint8_t type = h.u8(); type != 1) {
    bad(address + 4, "B-tree node of type " + std::to_string(type) + " in a chunk index");
  }
  V1Node node;
  node.level = h.u8();
  const uint64_t entries = h.u16();
  if (expected_level >= 0 && node.level != expected_level) {
    bad(address + 5, "chunk B-tree node at level " + std::to_string(node.level) + ", expected " +
                         std::to_string(expected_level));
  }
  // Decoded keys are kept for the whole read; their number is bounded like the chunk entries.
  if (entries + 1 > v1_budget_) {
    bad(address, "chunk B-tree has more entries than the dataset has chunks");
  }
  v1_budget_ -= entries + 1;
  const size_t ndims = rank_ + 1;
  const uint64_t key_size = 8 + 8 * uint64_t(ndims);
  const uint64_t size = head_size + entries * (key_size + O) + key_size;
  auto image = file_.range(address, size, path_, "chunk B-tree node");
  ByteReader r(file_, image, address, path_);
  r.seek(static_cast<size_t>(head_size));
  node.scaled.resize((entries + 1) * ndims);
  node.nbytes.resize(entries + 1);
  node.mask.resize(entries + 1);
  node.child.resize(entries);
  for (uint64_t i = 0; i <= entries; ++i) {
    const uint64_t key_at = r.offset();
    node.nbytes[i] = r.u32();
    node.mask[i] = r.u32();
    for (size_t d = 0; d < ndims; ++d) {
      const uint64_t dim = d < rank_ ? chunk_[d] : elsize_;
      const uint64_t off = r.u64();
      if (off % dim != 0) bad(key_at, "chunk offset not on a chunk boundary");
      node.scaled[i * ndims + d] = off / dim;
    }
    if (i < entries) node.child[i] = r.address();
  }
  return v1_nodes_.emplace(address, std::move(node)).first->second;
}

void ChunkReader::v1_btree() {
  // Real trees hold one key per chunk plus one per node (about 1/32 more): twice the chunk count
  // plus slack bounds the memory of the decoded nodes.
  v1_budget_ = storage::add_sat(storage::mul_sat(total_chunks_, 2), 1024);
  const size_t ndims = rank_ + 1;
  std::vector<uint64_t> want(ndims, 0);  // the chunk's scaled offset, 0 in the trailing dim
  // H5D__btree_cmp3: <0 if `want` sorts before the left key, >0 if at or after the right key.
  auto cmp3 = [&](const uint64_t* lt, const uint64_t* rt) -> int {
    if (ndims == 2) {  // libhdf5's special case for 1-D datasets
      if (want[0] > rt[0]) return 1;
      if (want[0] == rt[0] && want[1] >= rt[1]) return 1;
      if (want[0] < lt[0]) return -1;
      return 0;
    }
    auto lex = [&](const uint64_t* k) {  // H5VM_vector_cmp_u
      for (size_t d = 0; d < ndims; ++d) {
        if (want[d] != k[d]) return want[d] < k[d] ? -1 : 1;
      }
      return 0;
    };
    if (lex(rt) >= 0) return 1;
    if (lex(lt) < 0) return -1;
    return 0;
  };
  for_each_grid_chunk([&](std::span<const uint64_t> scaled) {
    std::copy(scaled.begin(), scaled.end(), want.begin());
    uint64_t address = layout_.address;
    int level = -1;
    for (unsigned depth = 0;; ++depth) {
      if (depth > file_.options.max_depth) bad(address, "chunk B-tree nested too deeply");
      const V1Node& node = v1_node(address, level);
      // H5B_find: binary search for the child whose key range holds the chunk.
      uint64_t lt = 0, rt = node.child.size(), idx = 0;
      int cmp = 1;
      while (lt < rt && cmp != 0) {
        idx = (lt + rt) / 2;
        cmp = cmp3(&node.scaled[idx * ndims], &node.scaled[(idx + 1) * ndims]);
        if (cmp < 0) {
          rt = idx;
        } else {
          lt = idx + 1;
        }
      }
      if (cmp != 0) return process(scaled, kUndefinedAddress, 0, 0);  // not in the tree
      const uint64_t child = node.child[idx];
      if (node.level > 0) {
        if (child == kUndefinedAddress) bad(address, "undefined child in a chunk B-tree");
        address = child;
        level = node.level - 1;
        continue;
      }
      // H5D__btree_found: is this really the requested chunk? (unsigned, wrapping as in C)
      const uint64_t* key = &node.scaled[idx * ndims];
      for (size_t d = 0; d < ndims; ++d) {
        if (want[d] >= key[d] + 1) return process(scaled, kUndefinedAddress, 0, 0);
      }
      return process(scaled, child, node.nbytes[idx], node.mask[idx]);
    }
  });
}

void ChunkReader::single_chunk() {
  uint64_t size = layout_.single_chunk_filtered_size;
  uint32_t mask = layout_.single_chunk_filter_mask;
  if (!filters_.empty() && size == 0 && !layout_.index_params.empty()) {
    // Layout v4 single-chunk index parameters: filtered chunk size (L), filter mask (u32).
    ByteReader p(file_, layout_.index_params, layout_.address, path_);
    size = p.length();
    mask = p.u32();
  }
  std::vector<uint64_t> scaled(rank_, 0);
  process(scaled, layout_.address, size, mask);
}

void ChunkReader::implicit() {
  // H5Dnone.c: chunks are stored back to back in max-grid order; filters are not allowed.
  if (!filters_.empty()) unsupported(layout_.address, "implicit chunk index with filters");
  for_each_grid_chunk([&](std::span<const uint64_t> scaled) {
    auto off = storage::mul(max_linear_index(scaled), chunk_bytes_);
    auto addr = off ? storage::add(layout_.address, *off) : std::nullopt;
    if (!addr) bad(layout_.address, "implicit chunk address overflows");
    process(scaled, *addr, chunk_bytes_, 0);
  });
}

// Element of a fixed/extensible array chunk index (H5Dfarray.c / H5Dearray.c): chunk address,
// and for filtered datasets the stored size (variable width) and filter mask.
struct ArrayElement {
  uint64_t address = kUndefinedAddress;
  uint64_t size = 0;
  uint32_t mask = 0;
};

ArrayElement decode_element(const FileImpl& file, std::span<const std::byte> raw, uint64_t at,
                            std::string_view path, bool filtered) {
  ByteReader r(file, raw, at, path);
  ArrayElement e;
  e.address = r.address();
  if (filtered) {
    e.size = r.uint_n(static_cast<unsigned>(raw.size() - file.sizeof_offsets - 4));
    e.mask = r.u32();
  }
  return e;
}

// Checks the element size of a chunk-index array against the pipeline (H5D_FARRAY_FILT_* /
// H5D_EARRAY_FILT_*: the chunk size field is 1..8 bytes wide).
void check_element_size(const FileImpl& file, uint64_t at, std::string_view path, uint8_t client,
                        bool filtered, unsigned elsize) {
  const unsigned O = file.sizeof_offsets;
  if (client != (filtered ? 1 : 0)) {
    fail(file, at, path,
         "chunk index array of client type " + std::to_string(client) +
             (filtered ? " for a filtered dataset" : " for an unfiltered dataset"));
  }
  const bool ok = filtered ? (elsize >= O + 1 + 4 && elsize <= O + 8 + 4) : elsize == O;
  if (!ok) fail(file, at, path, "chunk index array element size " + std::to_string(elsize));
}

// Verifies a lookup3 checksum stored in the last 4 bytes of `image`.
void check_sum(const FileImpl& file, std::span<const std::byte> image, uint64_t at,
               std::string_view path, std::string_view what) {
  const size_t body = image.size() - 4;
  const uint32_t stored = static_cast<uint32_t>(storage::load_le(image.subspan(body, 4)));
  if (lookup3(image.first(body)) != stored) {
    fail(file, at, path, std::string(what) + " checksum mismatch");
  }
}

void ChunkReader::fixed_array() {
  const uint64_t O = file_.sizeof_offsets, L = file_.sizeof_lengths;
  const bool filtered = !filters_.empty();
  const uint64_t hdr_addr = layout_.address;
  // Header (H5FAcache.c): "FAHD", version, client ID, element size, page bits, element count (L),
  // data block address (O), checksum.
  auto himg = file_.range(hdr_addr, 4 + 1 + 1 + 1 + 1 + L + O + 4, path_, "fixed array header");
  ByteReader h(file_, himg, hdr_addr, path_);
  h.expect_signature("FAHD", "fixed array header");
  if (uint8_t v = h.u8(); v != 0) bad(hdr_addr + 4, "fixed array version " + std::to_string(v));
  const uint8_t client = h.u8();
  const unsigned esize = h.u8();
  const unsigned page_bits = h.u8();
  const uint64_t nelmts = h.length();
  const uint64_t dblk = h.address();
  check_sum(file_, himg, hdr_addr, path_, "fixed array header");
  check_element_size(file_, hdr_addr + 5, path_, client, filtered, esize);
  if (page_bits >= 32) bad(hdr_addr + 7, "fixed array page size of 2^" + std::to_string(page_bits));

  // HDF5 sizes the array to the maximum chunk grid.
  uint64_t expected = 1;
  for (size_t d = 0; d < rank_; ++d) {
    if (max_nchunks_[d] == kUnlimitedDim) bad(hdr_addr, "fixed array index with unlimited dims");
    expected = storage::mul_sat(expected, max_nchunks_[d]);
  }
  if (nelmts != expected) {
    if (layout_.max_dims.empty()) {
      unsupported(hdr_addr, "fixed array of " + std::to_string(nelmts) + " chunks for a grid of " +
                                std::to_string(expected) + " (needs the dataspace's maximum dims)");
    }
    bad(hdr_addr, "fixed array holds " + std::to_string(nelmts) + " chunks, the dataset has " +
                      std::to_string(expected));
  }
  if (dblk == kUndefinedAddress) return;  // nothing written

  // Data block (H5FAcache.c): "FADB", version, client ID, header address, [page-init bitmap],
  // then either the elements and a checksum, or (paged) a checksum and the pages, each page being
  // its elements followed by a checksum.
  const uint64_t page_nelmts = uint64_t{1} << page_bits;
  const bool paged = nelmts > page_nelmts;
  const uint64_t npages = paged ? nelmts / page_nelmts + (nelmts % page_nelmts != 0) : 0;
  const uint64_t bitmap_size = paged ? (npages + 7) / 8 : 0;
  const uint64_t prefix = 4 + 1 + 1 + O + bitmap_size;  // without the checksum
  std::span<const std::byte> dimg;
  if (paged) {
    dimg = file_.range(dblk, prefix + 4, path_, "fixed array data block");
  } else {
    auto body = storage::mul(nelmts, esize);
    if (!body) bad(dblk, "fixed array data block too large");
    dimg = file_.range(dblk, prefix + *body + 4, path_, "fixed array data block");
  }
  ByteReader r(file_, dimg, dblk, path_);
  r.expect_signature("FADB", "fixed array data block");
  if (uint8_t v = r.u8(); v != 0)
    bad(dblk + 4, "fixed array data block version " + std::to_string(v));
  if (r.u8() != client) bad(dblk + 5, "fixed array data block of another client type");
  if (r.address() != hdr_addr) bad(dblk + 6, "fixed array data block of another array");
  check_sum(file_, dimg, dblk, path_, "fixed array data block");
  const auto bitmap = dimg.subspan(4 + 1 + 1 + O, bitmap_size);

  const uint64_t page_size = page_nelmts * esize + 4;
  uint64_t verified_page = ~0ull;  // chunks come in grid order, so pages are visited in order
  for_each_grid_chunk([&](std::span<const uint64_t> scaled) {
    const uint64_t idx = max_linear_index(scaled);
    if (idx >= nelmts) bad(hdr_addr, "chunk index beyond the fixed array");
    std::span<const std::byte> raw;
    uint64_t raw_at = 0;
    if (!paged) {
      raw_at = dblk + prefix + idx * esize;
      raw = dimg.subspan(prefix + idx * esize, esize);
    } else {
      const uint64_t page = idx / page_nelmts;
      if ((static_cast<uint8_t>(bitmap[page / 8]) & (0x80u >> (page % 8))) == 0) {
        process(scaled, kUndefinedAddress, 0, 0);  // page never initialised: no chunks
        return;
      }
      const uint64_t in_page =
          (page + 1 == npages && nelmts % page_nelmts != 0) ? nelmts % page_nelmts : page_nelmts;
      auto pstart = storage::add(dblk + prefix + 4, storage::mul_sat(page, page_size));
      if (!pstart) bad(dblk, "fixed array page address overflows");
      auto pimg = file_.range(*pstart, in_page * esize + 4, path_, "fixed array data block page");
      if (verified_page != page) {
        check_sum(file_, pimg, *pstart, path_, "fixed array data block page");
        verified_page = page;
      }
      const uint64_t k = idx % page_nelmts;
      raw_at = *pstart + k * esize;
      raw = pimg.subspan(k * esize, esize);
    }
    ArrayElement e = decode_element(file_, raw, raw_at, path_, filtered);
    process(scaled, e.address, filtered ? e.size : chunk_bytes_, e.mask);
  });
}

void ChunkReader::extensible_array() {
  const uint64_t O = file_.sizeof_offsets, L = file_.sizeof_lengths;
  const bool filtered = !filters_.empty();
  const uint64_t hdr_addr = layout_.address;
  // Header (H5EAcache.c): "EAHD", version, client ID, element size, max element bits, index block
  // elements, data block min elements, super block min data block pointers, page bits, six
  // statistics (L), index block address (O), checksum.
  auto himg =
      file_.range(hdr_addr, 4 + 1 + 1 + 6 + 6 * L + O + 4, path_, "extensible array header");
  ByteReader h(file_, himg, hdr_addr, path_);
  h.expect_signature("EAHD", "extensible array header");
  if (uint8_t v = h.u8(); v != 0)
    bad(hdr_addr + 4, "extensible array version " + std::to_string(v));
  const uint8_t client = h.u8();
  const unsigned esize = h.u8();
  const unsigned max_bits = h.u8();
  const uint64_t iblk_elmts = h.u8();
  const uint64_t min_elmts = h.u8();
  const uint64_t min_ptrs = h.u8();
  const unsigned page_bits = h.u8();
  h.skip(4 * L);  // super/data block counts and sizes
  const uint64_t max_idx_set = h.length();
  h.length();  // elements realised
  const uint64_t iblk = h.address();
  check_sum(file_, himg, hdr_addr, path_, "extensible array header");
  check_element_size(file_, hdr_addr + 5, path_, client, filtered, esize);
  // Geometry checks (a bad max_bits makes libhdf5 allocate gigabytes: H5EA__hdr_init).
  if (max_bits == 0 || max_bits > 64 || !storage::is_power_of_two(min_elmts) ||
      log2_floor(min_elmts) > max_bits || !storage::is_power_of_two(min_ptrs) || page_bits >= 32) {
    bad(hdr_addr + 7, "extensible array parameters are not valid");
  }
  if (iblk == kUndefinedAddress || max_idx_set == 0) return;  // nothing written

  // Super block table (H5EA__hdr_init): super block u holds 2^(u/2) data blocks of
  // 2^((u+1)/2) * min_elmts elements.
  const unsigned nsblks = 1 + max_bits - log2_floor(min_elmts);
  struct SblkInfo {
    uint64_t ndblks, dblk_nelmts, start_idx, start_dblk;
  };
  std::vector<SblkInfo> info(nsblks);
  uint64_t start_idx = 0, start_dblk = 0;
  for (unsigned u = 0; u < nsblks; ++u) {
    info[u].ndblks = uint64_t{1} << (u / 2);
    info[u].dblk_nelmts = (uint64_t{1} << ((u + 1) / 2)) * min_elmts;  // <= 2^32 * 128
    info[u].start_idx = start_idx;
    info[u].start_dblk = start_dblk;
    start_idx = storage::add_sat(start_idx, storage::mul_sat(info[u].ndblks, info[u].dblk_nelmts));
    start_dblk = storage::add_sat(start_dblk, info[u].ndblks);
  }
  const unsigned arr_off_size = (max_bits + 7) / 8;
  const uint64_t page_nelmts = uint64_t{1} << page_bits;

  // Index block (H5EAcache.c): "EAIB", version, client ID, header address, elements, data block
  // addresses, super block addresses, checksum.
  const unsigned iblk_nsblks = 2 * log2_floor(min_ptrs);  // H5EA_SBLK_FIRST_IDX
  if (iblk_nsblks > nsblks) bad(hdr_addr, "extensible array has fewer super blocks than needed");
  const uint64_t ndblk_addrs = 2 * (min_ptrs - 1);
  const uint64_t nsblk_addrs = nsblks - iblk_nsblks;
  const uint64_t ib_head = 4 + 1 + 1 + O;
  const uint64_t ib_size = ib_head + iblk_elmts * esize + (ndblk_addrs + nsblk_addrs) * O + 4;
  auto iimg = file_.range(iblk, ib_size, path_, "extensible array index block");
  {
    ByteReader r(file_, iimg, iblk, path_);
    r.expect_signature("EAIB", "extensible array index block");
    if (uint8_t v = r.u8(); v != 0) bad(iblk + 4, "extensible array index block version");
    if (r.u8() != client) bad(iblk + 5, "extensible array index block of another client type");
    if (r.address() != hdr_addr) bad(iblk + 6, "extensible array index block of another array");
    check_sum(file_, iimg, iblk, path_, "extensible array index block");
  }
  auto addr_at = [&](std::span<const std::byte> img, uint64_t img_addr, uint64_t off) {
    ByteReader a(file_, img.subspan(off, O), img_addr + off, path_);
    return a.address();
  };
  const uint64_t ib_dblk_base = ib_head + iblk_elmts * esize;
  const uint64_t ib_sblk_base = ib_dblk_base + ndblk_addrs * O;

  // Data blocks (H5EAcache.c): "EADB", version, client ID, header address, block offset, then
  // the elements and a checksum (unpaged) or a checksum and pages of elements + checksum.
  const uint64_t db_prefix = 4 + 1 + 1 + O + arr_off_size;  // without the checksum
  // Last super block, data block and page whose checksum was verified: chunks are visited in
  // index order, so each block is hashed once instead of once per chunk.
  uint64_t verified_block = kUndefinedAddress, verified_sblock = kUndefinedAddress,
           verified_page = kUndefinedAddress;
  auto check_dblock_head = [&](std::span<const std::byte> img, uint64_t addr) {
    ByteReader r(file_, img, addr, path_);
    r.expect_signature("EADB", "extensible array data block");
    if (uint8_t v = r.u8(); v != 0) bad(addr + 4, "extensible array data block version");
    if (r.u8() != client) bad(addr + 5, "extensible array data block of another client type");
    if (r.address() != hdr_addr) bad(addr + 6, "extensible array data block of another array");
  };
  // Element `k` of an unpaged data block of `nelmts` elements at `addr`.
  auto dblock_element = [&](uint64_t addr, uint64_t nelmts, uint64_t k) {
    auto img =
        file_.range(addr, db_prefix + nelmts * esize + 4, path_, "extensible array data block");
    if (verified_block != addr) {
      check_dblock_head(img, addr);
      check_sum(file_, img, addr, path_, "extensible array data block");
      verified_block = addr;
    }
    return decode_element(file_, img.subspan(db_prefix + k * esize, esize),
                          addr + db_prefix + k * esize, path_, filtered);
  };

  // H5EA__lookup_elmt, read-only.
  auto lookup = [&](uint64_t idx) -> ArrayElement {
    if (idx >= max_idx_set) return {};
    if (idx < iblk_elmts) {
      return decode_element(file_, iimg.subspan(ib_head + idx * esize, esize),
                            iblk + ib_head + idx * esize, path_, filtered);
    }
    const uint64_t e = idx - iblk_elmts;
    const unsigned sblk = log2_floor(e / min_elmts + 1);  // H5EA__dblock_sblk_idx
    if (sblk >= nsblks) bad(hdr_addr, "chunk index beyond the extensible array");
    const SblkInfo& si = info[sblk];
    uint64_t in_sblk = e - si.start_idx;
    if (sblk < iblk_nsblks) {
      const uint64_t dblk_idx = si.start_dblk + in_sblk / si.dblk_nelmts;
      if (dblk_idx >= ndblk_addrs) bad(iblk, "extensible array data block index out of range");
      const uint64_t addr = addr_at(iimg, iblk, ib_dblk_base + dblk_idx * O);
      if (addr == kUndefinedAddress) return {};
      if (si.dblk_nelmts > page_nelmts) {
        unsupported(addr, "paged extensible array data block referenced by the index block");
      }
      return dblock_element(addr, si.dblk_nelmts, in_sblk % si.dblk_nelmts);
    }
    // Super block (H5EAcache.c): "EASB", version, client ID, header address, block offset,
    // page-init bitmaps, data block addresses, checksum.
    const uint64_t saddr = addr_at(iimg, iblk, ib_sblk_base + (sblk - iblk_nsblks) * O);
    if (saddr == kUndefinedAddress) return {};
    const uint64_t npages = si.dblk_nelmts > page_nelmts ? si.dblk_nelmts / page_nelmts : 0;
    const uint64_t init_size = npages ? (npages + 7) / 8 : 0;
    const uint64_t sb_head = 4 + 1 + 1 + O + arr_off_size;
    auto sb_size = storage::add(sb_head + 4, storage::mul_sat(si.ndblks, init_size + O));
    if (!sb_size) bad(saddr, "extensible array super block too large");
    auto simg = file_.range(saddr, *sb_size, path_, "extensible array super block");
    if (verified_sblock != saddr) {
      ByteReader r(file_, simg, saddr, path_);
      r.expect_signature("EASB", "extensible array super block");
      if (uint8_t v = r.u8(); v != 0) bad(saddr + 4, "extensible array super block version");
      if (r.u8() != client) bad(saddr + 5, "extensible array super block of another client type");
      if (r.address() != hdr_addr) bad(saddr + 6, "extensible array super block of another array");
      check_sum(file_, simg, saddr, path_, "extensible array super block");
      verified_sblock = saddr;
    }
    const uint64_t dblk_idx = in_sblk / si.dblk_nelmts;
    if (dblk_idx >= si.ndblks) bad(saddr, "extensible array data block index out of range");
    const uint64_t daddr = addr_at(simg, saddr, sb_head + si.ndblks * init_size + dblk_idx * O);
    if (daddr == kUndefinedAddress) return {};
    in_sblk %= si.dblk_nelmts;
    if (npages == 0) return dblock_element(daddr, si.dblk_nelmts, in_sblk);
    const uint64_t page = in_sblk / page_nelmts;
    const uint64_t bit = dblk_idx * npages + page;  // H5VM_bit_get: most significant bit first
    if ((static_cast<uint8_t>(simg[sb_head + bit / 8]) & (0x80u >> (bit % 8))) == 0) return {};
    const uint64_t page_size = page_nelmts * esize + 4;
    auto pstart = storage::add(daddr + db_prefix + 4, storage::mul_sat(page, page_size));
    if (!pstart) bad(daddr, "extensible array page address overflows");
    auto pimg = file_.range(*pstart, page_size, path_, "extensible array data block page");
    if (verified_page != *pstart) {
      check_sum(file_, pimg, *pstart, path_, "extensible array data block page");
      verified_page = *pstart;
    }
    const uint64_t k = in_sblk % page_nelmts;
    return decode_element(file_, pimg.subspan(k * esize, esize), *pstart + k * esize, path_,
                          filtered);
  };

  // Which dimension is unlimited, and the "swizzled" max-grid strides that number chunks with the
  // unlimited dimension slowest (H5D__earray_idx_resize, H5VM_swizzle_coords).
  size_t unlim = 0;
  if (!layout_.max_dims.empty()) {
    size_t count = 0;
    for (size_t d = 0; d < rank_; ++d) {
      if (max_nchunks_[d] == kUnlimitedDim) {
        unlim = d;
        ++count;
      }
    }
    if (count != 1) bad(hdr_addr, "extensible array index needs exactly one unlimited dimension");
  }
  std::vector<size_t> perm;  // swizzled position -> dataset dimension
  perm.push_back(unlim);
  for (size_t d = 0; d < rank_; ++d) {
    if (d != unlim) perm.push_back(d);
  }
  std::vector<uint64_t> down(rank_, 1);
  for (size_t i = rank_ - 1; i > 0; --i) {
    if (i + 1 < rank_) {
      auto m = storage::mul(down[i + 1], max_nchunks_[perm[i + 1]]);
      if (!m) bad(hdr_addr, "chunk grid too large");
      down[i] = *m;
    }
  }
  if (rank_ > 1) {
    auto m = storage::mul(down[1], max_nchunks_[perm[1]]);
    if (!m) bad(hdr_addr, "chunk grid too large");
    down[0] = *m;
  }
  for_each_grid_chunk([&](std::span<const uint64_t> scaled) {
    uint64_t idx = 0;
    for (size_t i = 0; i < rank_; ++i) {
      auto term = storage::mul(scaled[perm[i]], down[i]);
      auto sum = term ? storage::add(idx, *term) : std::nullopt;
      if (!sum) bad(hdr_addr, "chunk index overflows");
      idx = *sum;
    }
    ArrayElement el = lookup(idx);
    process(scaled, el.address, filtered ? el.size : chunk_bytes_, el.mask);
  });
}

void ChunkReader::btree2() {
  // Record type 10 (unfiltered): address, rank scaled offsets (u64). Type 11 (filtered): address,
  // stored size (1..8 bytes, width implied by the record size), filter mask, scaled offsets.
  const bool filtered = !filters_.empty();
  const uint64_t O = file_.sizeof_offsets;
  std::vector<uint64_t> scaled(rank_), prev(rank_);
  bool first = true;
  btree2_for_each(file_, layout_.address, filtered ? 11 : 10, path_, [&](ByteReader& rec) {
    const uint64_t size = rec.remaining();
    const uint64_t fixed = O + 8 * uint64_t(rank_) + (filtered ? 4 : 0);
    if (size < fixed + (filtered ? 1 : 0) || size > fixed + (filtered ? 8 : 0)) {
      rec.error("chunk B-tree record of " + std::to_string(size) + " bytes for rank " +
                std::to_string(rank_));
    }
    const uint64_t addr = rec.address();
    uint64_t stored = chunk_bytes_;
    uint32_t mask = 0;
    if (filtered) {
      stored = rec.uint_n(static_cast<unsigned>(size - fixed));
      mask = rec.u32();
    }
    const uint64_t at = rec.offset();
    for (size_t d = 0; d < rank_; ++d) scaled[d] = rec.u64();
    // Records are sorted by their scaled offsets (H5D__bt2_compare, H5VM_vector_cmp_u) and
    // libhdf5 finds chunks by searching on them: a record out of order would be placed where
    // libhdf5 cannot find it, so it is refused (each chunk is then also copied at most once).
    if (!first &&
        !std::lexicographical_compare(prev.begin(), prev.end(), scaled.begin(), scaled.end())) {
      bad(at, "chunk B-tree records are not in increasing chunk order");
    }
    first = false;
    prev = scaled;
    process(scaled, addr, stored, mask);
    return true;
  });
}

void ChunkReader::run() {
  setup_geometry();
  uint64_t want = elsize_;
  for (uint64_t d : dims_) want = storage::mul_sat(want, d);
  if (want != out_.size()) {
    fail(file_, layout_.address, path_,
         "output buffer of " + std::to_string(out_.size()) + " bytes for " + std::to_string(want) +
             " bytes of data");
  }
  if (out_.empty()) return;  // (memset of a null pointer is undefined even for 0 bytes)
  // Never-written chunks read as the fill value (H5D__chunk_lock); usually all are overwritten.
  if (fill_.error.empty()) fill_elements(file_, fill_, out_, path_);
  read_index();
  if (written_ < total_chunks_ && !fill_.error.empty()) fill_elements(file_, fill_, out_, path_);
}

void ChunkReader::read_index() {
  if (total_chunks_ == 0 || layout_.address == kUndefinedAddress) return;
  if (layout_.version < 4) {
    v1_btree();
    return;
  }
  switch (layout_.index_type) {
    case 1:
      single_chunk();
      break;
    case 2:
      implicit();
      break;
    case 3:
      fixed_array();
      break;
    case 4:
      extensible_array();
      break;
    case 5:
      btree2();
      break;
    default:
      bad(layout_.address, "unknown chunk index type " + std::to_string(layout_.index_type));
  }
}

}  // namespace

void read_chunked(const FileImpl& file, const LayoutInfo& layout,
                  const std::vector<FilterInfo>& filters, const Dataspace& space,
                  uint32_t element_size, const FillInfo& fill, std::span<std::byte> out,
                  std::string_view path) {
  ChunkReader(file, layout, filters, space, element_size, fill, out, path).run();
}

void fill_elements(const FileImpl& file, const FillInfo& fill, std::span<std::byte> out,
                   std::string_view path) {
  if (!fill.error.empty()) fail(file, fill.at, path, fill.error);
  if (out.empty()) return;
  if (fill.value.empty()) {
    std::memset(out.data(), 0, out.size());
    return;
  }
  if (out.size() % fill.value.size() != 0) {
    fail(file, fill.at, path, "fill value size does not divide the data size");
  }
  // Copy one element, then double the filled prefix (few memcpy calls for large outputs).
  std::memcpy(out.data(), fill.value.data(), fill.value.size());
  size_t done = fill.value.size();
  while (done < out.size()) {
    const size_t n = std::min(done, out.size() - done);
    std::memcpy(out.data() + done, out.data(), n);
    done += n;
  }
}

}  // namespace kerasrt::hdf5
