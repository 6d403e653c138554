// Fuzz target hdf5_filters: one chunk through the filter pipeline (apply_filters_reverse).
//
// Input: [u8 nfilters (low 2 bits)]
//        per filter: [u8 id selector][u8 flags (bit 0: optional)][u8 ncd (<= 8)][ncd x u32 LE]
//        [u32 LE filter mask][u32 LE expected size (low 20 bits)][u8 element size]
//        [chunk bytes]
// Id selectors: 0 deflate, 1 shuffle, 2 fletcher32, 3 lzf, 4 szip, 5 nbit, 6 scaleoffset,
// 7 an unregistered id. make_seeds.py writes seeds from real h5py chunks.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "fuzz_entries.h"
#include "hdf5/internal.h"

namespace {

class Input {
 public:
  Input(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool u8(uint8_t& v) {
    if (pos_ + 1 > n_) return false;
    v = d_[pos_++];
    return true;
  }
  bool u32(uint32_t& v) {
    if (pos_ + 4 > n_) return false;
    v = uint32_t(d_[pos_]) | uint32_t(d_[pos_ + 1]) << 8 | uint32_t(d_[pos_ + 2]) << 16 |
        uint32_t(d_[pos_ + 3]) << 24;
    pos_ += 4;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;
};

constexpr uint16_t kFilterIds[8] = {1, 2, 3, 32000, 4, 5, 6, 257};

}  // namespace

int kerasrt_fuzz_hdf5_filters(const uint8_t* data, size_t size) {
  using namespace kerasrt::hdf5;
  Input in(data, size);
  uint8_t nfilters = 0;
  if (!in.u8(nfilters)) return 0;
  std::vector<FilterInfo> filters;
  for (int i = 0; i < (nfilters & 3); ++i) {
    uint8_t sel = 0, flags = 0, ncd = 0;
    if (!in.u8(sel) || !in.u8(flags) || !in.u8(ncd)) return 0;
    FilterInfo f;
    f.id = kFilterIds[sel & 7];
    f.optional = flags & 1;
    for (int k = 0; k < (ncd & 7); ++k) {
      uint32_t v = 0;
      if (!in.u32(v)) return 0;
      f.client_data.push_back(v);
    }
    filters.push_back(std::move(f));
  }
  uint32_t mask = 0, expected = 0;
  uint8_t element_size = 0;
  if (!in.u32(mask) || !in.u32(expected) || !in.u8(element_size)) return 0;
  expected &= 0xfffff;

  // The chunk in its own exact-size allocation, so that ASan sees reads past its end. The
  // "file" the filters see is this chunk.
  size_t n = size - in.pos();
  std::unique_ptr<std::byte[]> chunk(new std::byte[n > 0 ? n : 1]);
  if (n > 0) std::memcpy(chunk.get(), data + in.pos(), n);
  std::span<const std::byte> input(chunk.get(), n);

  FileImpl file;
  file.bytes = input;
  file.name = "fuzz-chunk";
  std::vector<std::byte> out;
  try {
    apply_filters_reverse(file, filters, mask, input, expected, element_size, out, 0, "/chunk");
    if (out.size() != expected) {
      std::fprintf(stderr, "fuzz: apply_filters_reverse returned %zu bytes, expected %u\n",
                   out.size(), expected);
      std::abort();
    }
  } catch (const kerasrt::Error&) {
  }
  return 0;
}
