// Reverse of the filter pipeline for one chunk (HDF5 File Format Specification v3, IV.A.2.l, and
// libhdf5's H5Z.c): the filters listed in the pipeline message were applied in order when
// writing, so reading undoes them last-to-first. A set bit i in the chunk's filter mask means
// filter i was skipped for this chunk (an optional filter that failed, e.g. lzf on incompressible
// data).
//
// Implemented: deflate (1, H5Zdeflate.c, through libdeflate), shuffle (2, H5Zshuffle.c),
// fletcher32 (3, H5Zfletcher32.c + H5checksum.c) and lzf (32000, h5py's lzf_filter.c with
// liblzf's lzf_d.c). Every decoder writes into a buffer of the exact size the stage must produce,
// so a hostile stream cannot make us allocate or write more than the chunk size.
#include <libdeflate.h>

#include <memory>
#include <optional>
#include <string>

#include "hdf5/internal.h"
#include "hdf5/storage_util.h"

namespace kerasrt::hdf5 {
namespace {

constexpr uint16_t kDeflate = 1;
constexpr uint16_t kShuffle = 2;
constexpr uint16_t kFletcher32 = 3;
constexpr uint16_t kLzf = 32000;

std::string filter_label(const FilterInfo& f) {
  std::string name = f.name;
  if (name.empty()) {
    switch (f.id) {
      case 1:
        name = "deflate";
        break;
      case 2:
        name = "shuffle";
        break;
      case 3:
        name = "fletcher32";
        break;
      case 4:
        name = "szip";
        break;
      case 5:
        name = "nbit";
        break;
      case 6:
        name = "scaleoffset";
        break;
      case 307:
        name = "bzip2";
        break;
      case 32000:
        name = "lzf";
        break;
      case 32001:
        name = "blosc";
        break;
      case 32004:
        name = "lz4";
        break;
      case 32008:
        name = "bitshuffle";
        break;
      case 32015:
        name = "zstd";
        break;
      default:
        name = "unnamed";
        break;
    }
  }
  return "filter " + std::to_string(f.id) + " (" + name + ")";
}

// H5_checksum_fletcher32 (H5checksum.c): 16-bit words taken big-endian, sums folded every 360
// words, an odd trailing byte counts as the high byte of a last word.
uint32_t fletcher32(std::span<const std::byte> data) {
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  size_t len = data.size() / 2;
  uint32_t sum1 = 0, sum2 = 0;
  while (len) {
    size_t tlen = len > 360 ? 360 : len;
    len -= tlen;
    do {
      sum1 += (uint32_t(p[0]) << 8) | uint32_t(p[1]);
      p += 2;
      sum2 += sum1;
    } while (--tlen);
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  if (data.size() % 2) {
    sum1 += uint32_t(*p) << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

// liblzf's lzf_decompress (lzf_d.c) with every read and write bounds-checked. Returns the number of
// bytes produced, or nullopt for a corrupt stream or one that would not fit `out`.
std::optional<size_t> lzf_decompress(std::span<const std::byte> in, std::span<std::byte> out) {
  const auto* ip = reinterpret_cast<const uint8_t*>(in.data());
  const size_t in_len = in.size();
  size_t i = 0, o = 0;
  while (i < in_len) {
    unsigned ctrl = ip[i++];
    if (ctrl < (1u << 5)) {  // literal run of ctrl + 1 bytes
      size_t len = size_t(ctrl) + 1;
      if (len > out.size() - o || len > in_len - i) return std::nullopt;
      std::memcpy(out.data() + o, ip + i, len);
      o += len;
      i += len;
    } else {  // back reference: length (ctrl >> 5) + 2, distance from the low bits + next byte
      size_t len = ctrl >> 5;
      size_t back = size_t(ctrl & 0x1f) << 8;
      if (i >= in_len) return std::nullopt;
      if (len == 7) {
        len += ip[i++];
        if (i >= in_len) return std::nullopt;
      }
      back += ip[i++];
      len += 2;
      if (back + 1 > o || len > out.size() - o) return std::nullopt;
      size_t ref = o - back - 1;
      for (size_t k = 0; k < len; ++k) out[o + k] = out[ref + k];  // may overlap by design
      o += len;
    }
  }
  return o;
}

struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};

// One decompressor per thread: libdeflate decompressors are not shareable, and allocating one per
// chunk would dominate small chunks.
libdeflate_decompressor* thread_decompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> d(
      libdeflate_alloc_decompressor());
  if (!d) throw Error(ErrorCode::ResourceExhausted, "cannot allocate a deflate decompressor");
  return d.get();
}

}  // namespace

void apply_filters_reverse(const FileImpl& file, const std::vector<FilterInfo>& filters,
                           uint32_t filter_mask, std::span<const std::byte> input,
                           uint64_t expected_size, uint32_t element_size,
                           std::vector<std::byte>& out, uint64_t chunk_address,
                           std::string_view path) {
  const size_t n = filters.size();
  if (n > 32) fail(file, chunk_address, path, "filter pipeline with more than 32 filters");
  auto active = [&](size_t i) { return (filter_mask & (uint32_t{1} << i)) == 0; };

  // size_in[i]: bytes that entered filter i when writing, hence what undoing it must produce.
  // Known from the chunk size as long as no compressor precedes filter i in the pipeline.
  std::vector<std::optional<uint64_t>> size_in(n + 1);
  size_in[0] = expected_size;
  for (size_t i = 0; i < n; ++i) {
    std::optional<uint64_t> s = size_in[i];
    if (s && active(i)) {
      switch (filters[i].id) {
        case kShuffle:
          break;
        case kFletcher32:
          s = storage::add(*s, 4);
          break;
        default:
          s.reset();
          break;  // compressors: the stored size is whatever they produced
      }
    }
    size_in[i + 1] = s;
  }

  std::vector<std::byte> a, b;
  std::span<const std::byte> cur = input;
  std::vector<std::byte>* next = &a;
  for (size_t k = n; k-- > 0;) {
    if (!active(k)) continue;
    const FilterInfo& f = filters[k];
    // Shuffle and fletcher32 derive their output size from their input; compressors need the
    // size to decode to, which is unknown only when another compressor ran before them.
    const bool sized_by_input = f.id == kShuffle || f.id == kFletcher32;
    if (!size_in[k] && !sized_by_input) {
      fail_unsupported(file, chunk_address, path,
                       filter_label(f) +
                           " follows a compressor in the pipeline; the size it "
                           "decodes to cannot be bounded");
    }
    uint64_t target = cur.size();
    if (size_in[k]) {
      target = *size_in[k];
    } else if (f.id == kFletcher32) {
      if (cur.size() < 4) fail(file, chunk_address, path, "fletcher32 chunk shorter than 4 bytes");
      target = cur.size() - 4;
    }
    if (target > SIZE_MAX) fail(file, chunk_address, path, "chunk too large for this platform");
    switch (f.id) {
      case kDeflate: {
        next->resize(static_cast<size_t>(target));
        size_t actual = 0;
        auto res = libdeflate_zlib_decompress(thread_decompressor(), cur.data(), cur.size(),
                                              next->data(), next->size(), &actual);
        if (res == LIBDEFLATE_INSUFFICIENT_SPACE) {
          fail(file, chunk_address, path,
               "deflate stream decodes to more than the chunk's " + std::to_string(target) +
                   " bytes");
        }
        if (res != LIBDEFLATE_SUCCESS) fail(file, chunk_address, path, "corrupt deflate stream");
        if (actual != target) {
          fail(file, chunk_address, path,
               "deflate stream decodes to " + std::to_string(actual) + " bytes, expected " +
                   std::to_string(target));
        }
        break;
      }
      case kLzf: {
        next->resize(static_cast<size_t>(target));
        auto produced = lzf_decompress(cur, *next);
        if (!produced) fail(file, chunk_address, path, "corrupt or oversized lzf stream");
        if (*produced != target) {
          fail(file, chunk_address, path,
               "lzf stream decodes to " + std::to_string(*produced) + " bytes, expected " +
                   std::to_string(target));
        }
        break;
      }
      case kShuffle: {
        if (cur.size() != target) {
          fail(file, chunk_address, path,
               "shuffled chunk of " + std::to_string(cur.size()) + " bytes, expected " +
                   std::to_string(target));
        }
        // H5Zshuffle.c: the client data holds the element size (set when the dataset was made).
        uint64_t width = element_size;
        if (!f.client_data.empty() && f.client_data[0] != 0) width = f.client_data[0];
        next->resize(cur.size());
        const size_t count = width ? cur.size() / width : 0;
        if (width <= 1 || count <= 1) {
          // (memcpy with null pointers is undefined even for 0 bytes: an empty chunk has none)
          if (!cur.empty()) std::memcpy(next->data(), cur.data(), cur.size());
        } else {
          const std::byte* src = cur.data();
          std::byte* dst = next->data();
          for (size_t byte = 0; byte < width; ++byte) {
            const std::byte* s = src + byte * count;
            for (size_t e = 0; e < count; ++e) dst[e * width + byte] = s[e];
          }
          const size_t done = count * width;  // bytes beyond whole elements were not shuffled
          std::memcpy(dst + done, src + done, cur.size() - done);
        }
        break;
      }
      case kFletcher32: {
        if (cur.size() < 4 || cur.size() - 4 != target) {
          fail(file, chunk_address, path,
               "fletcher32 chunk of " + std::to_string(cur.size()) + " bytes, expected " +
                   std::to_string(target + 4));
        }
        auto body = cur.first(cur.size() - 4);
        const uint32_t stored = static_cast<uint32_t>(storage::load_le(cur.last(4)));
        const uint32_t sum = fletcher32(body);
        // H5Zfletcher32.c also accepts the byte-swapped-halves value written before HDF5 1.6.3.
        const uint32_t reversed = ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
        if (stored != sum && stored != reversed) {
          fail(file, chunk_address, path, "fletcher32 checksum mismatch (corrupt chunk)");
        }
        next->assign(body.begin(), body.end());
        break;
      }
      default:
        fail_unsupported(file, chunk_address, path, filter_label(f) + " is not supported");
    }
    cur = *next;
    next = (next == &a) ? &b : &a;
  }
  if (cur.size() != expected_size) {
    fail(file, chunk_address, path,
         "chunk decodes to " + std::to_string(cur.size()) + " bytes, expected " +
             std::to_string(expected_size));
  }
  if (cur.data() == input.data()) {
    out.assign(cur.begin(), cur.end());  // nothing applied: copy the stored bytes
  } else {
    // cur is a or b; hand its storage over instead of copying.
    std::vector<std::byte>& last = (cur.data() == a.data()) ? a : b;
    out.swap(last);
  }
}

}  // namespace kerasrt::hdf5
