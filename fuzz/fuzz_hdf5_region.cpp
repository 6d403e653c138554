// Fuzz target hdf5_region: reach deep structures quickly.
//
// Input: [u8 template][region bytes]. A template is a valid h5py-made file (embedded, from
// hdf5_region_templates.inc, written by make_seeds.py) plus the offset of one of its structures
// (a v1 object header, TREE, SNOD, HEAP, GCOL, OHDR, FRHP, BTHD, ...). The region overwrites the
// template from that offset on; the rest of the file stays valid. The harness then recomputes what
// a blind mutation can never get right: the superblock's end-of-file address and the Jenkins
// lookup3 checksums of v2 structures (superblock v2/3, OHDR and its OCHK continuation chunks,
// BTHD and its BTIN/BTLF nodes down to depth 1, FRHP and a checksummed root FHDB), so mutations
// reach the parsing code behind the checksum checks. Then the whole-file walk runs.
#include <algorithm>
#include <cstring>
#include <memory>
#include <span>

#include "fuzz_entries.h"
#include "fuzz_walk.h"
#include "hdf5/internal.h"

namespace {

struct RegionTemplate {
  const unsigned char* data;
  size_t size;
  size_t cut;
  const char* name;
};

#include "hdf5_region_templates.inc"

constexpr size_t kNumTemplates = sizeof(kTemplates) / sizeof(kTemplates[0]);

class Fixer {
 public:
  explicit Fixer(std::span<std::byte> f) : f_(f) {}

  uint64_t rd(size_t at, unsigned n) const {
    uint64_t v = 0;
    if (at > f_.size() || n > f_.size() - at) return ~0ull;
    for (unsigned i = 0; i < n; ++i) v |= uint64_t(static_cast<uint8_t>(f_[at + i])) << (8 * i);
    return v;
  }
  void wr(size_t at, uint64_t v, unsigned n) {
    if (at > f_.size() || n > f_.size() - at) return;
    for (unsigned i = 0; i < n; ++i) f_[at + i] = static_cast<std::byte>(v >> (8 * i));
  }
  bool sig(uint64_t at, const char* s) const {
    return at <= f_.size() && f_.size() - at >= 4 && std::memcmp(f_.data() + at, s, 4) == 0;
  }
  // Writes lookup3 of [start, start+len) at start+len.
  void checksum(uint64_t start, uint64_t len) {
    if (start > f_.size() || len > f_.size() - start || f_.size() - start - len < 4) return;
    uint32_t c =
        kerasrt::hdf5::lookup3(f_.subspan(static_cast<size_t>(start), static_cast<size_t>(len)));
    wr(static_cast<size_t>(start + len), c, 4);
  }

  void run() {
    if (f_.size() < 48) return;
    uint8_t version = static_cast<uint8_t>(f_[8]);
    if (version == 0) {
      if (rd(13, 1) != 8 || rd(14, 1) != 8) return;
      wr(40, f_.size(), 8);
    } else if (version == 2 || version == 3) {
      if (rd(9, 1) != 8 || rd(10, 1) != 8) return;
      wr(28, f_.size(), 8);
      checksum(0, 44);
    } else {
      return;
    }
    for (size_t p = 0; p + 4 <= f_.size(); ++p) {
      if (f_[p] == std::byte{'O'} && sig(p, "OHDR")) {
        ohdr(p);
      } else if (f_[p] == std::byte{'B'} && sig(p, "BTHD")) {
        bthd(p);
      } else if (f_[p] == std::byte{'F'} && sig(p, "FRHP")) {
        frhp(p);
      }
    }
  }

 private:
  // v2 object header messages in [pos, end): fixes the OCHK chunks that continuation messages
  // point to.
  void messages(uint64_t pos, uint64_t end, uint8_t flags, int depth) {
    unsigned hdr = (flags & 0x04) ? 6 : 4;
    while (pos + hdr <= end && end <= f_.size()) {
      uint64_t type = rd(pos, 1), size = rd(pos + 1, 2);
      pos += hdr;
      if (type == 0x10 && size >= 16 && depth < 8) {
        uint64_t addr = rd(pos, 8), len = rd(pos + 8, 8);
        if (len >= 8 && sig(addr, "OCHK") && addr + len <= f_.size()) {
          messages(addr + 4, addr + len - 4, flags, depth + 1);
          checksum(addr, len - 4);
        }
      }
      pos += size;
    }
  }

  void ohdr(uint64_t p) {
    if (rd(p + 4, 1) != 2) return;
    uint8_t flags = static_cast<uint8_t>(rd(p + 5, 1));
    uint64_t q = p + 6;
    if (flags & 0x20) q += 16;
    if (flags & 0x10) q += 4;
    unsigned w = 1u << (flags & 3);
    uint64_t chunk0 = rd(q, w);
    q += w;
    if (chunk0 > f_.size() || q + chunk0 + 4 > f_.size()) return;
    messages(q, q + chunk0, flags, 0);
    checksum(p, q + chunk0 - p);
  }

  static unsigned enc_size(uint64_t max) {  // bytes needed for a count up to max
    unsigned n = 1;
    while (max > 0xff) max >>= 8, ++n;
    return n;
  }

  void bthd(uint64_t p) {
    uint64_t node_size = rd(p + 6, 4), rsize = rd(p + 10, 2), depth = rd(p + 12, 2);
    uint64_t root = rd(p + 16, 8), nrec = rd(p + 24, 2);
    checksum(p, 34);
    if (rsize == 0 || node_size < 10 || node_size > f_.size()) return;
    if (depth == 0 && sig(root, "BTLF")) {
      checksum(root, 6 + nrec * rsize);
    } else if (depth == 1 && sig(root, "BTIN")) {
      unsigned w = enc_size((node_size - 10) / rsize);
      uint64_t child = root + 6 + nrec * rsize;
      for (uint64_t i = 0; i <= nrec && child + 8 + w <= f_.size(); ++i, child += 8 + w) {
        uint64_t addr = rd(child, 8), n = rd(child + 8, w);
        if (sig(addr, "BTLF")) checksum(addr, 6 + n * rsize);
      }
      checksum(root, 6 + nrec * rsize + (nrec + 1) * (8 + w));
    }
  }

  void frhp(uint64_t p) {
    if (rd(p + 4, 1) != 0) return;
    uint64_t filter_len = rd(p + 7, 2), flags = rd(p + 9, 1);
    uint64_t start_block = rd(p + 112, 8), max_bits = rd(p + 128, 2);
    uint64_t root = rd(p + 132, 8), rows = rd(p + 140, 2);
    checksum(p, filter_len ? 142 + 12 + filter_len : 142);
    if ((flags & 2) && rows == 0 && filter_len == 0 && sig(root, "FHDB") &&
        start_block <= f_.size() && root + start_block <= f_.size()) {
      uint64_t at = root + 4 + 1 + 8 + (max_bits + 7) / 8;
      if (at + 4 > root + start_block) return;
      wr(static_cast<size_t>(at), 0, 4);
      uint32_t c = kerasrt::hdf5::lookup3(
          f_.subspan(static_cast<size_t>(root), static_cast<size_t>(start_block)));
      wr(static_cast<size_t>(at), c, 4);
    }
  }

  std::span<std::byte> f_;
};

}  // namespace

int kerasrt_fuzz_hdf5_region(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const RegionTemplate& t = kTemplates[data[0] % kNumTemplates];
  size_t region = size - 1;
  size_t total = std::max(t.size, t.cut + region);
  // An allocation of exactly the file size, so that ASan sees any read past the end.
  std::unique_ptr<std::byte[]> file(new std::byte[total]);
  std::memcpy(file.get(), t.data, t.size);
  if (region > 0) std::memcpy(file.get() + t.cut, data + 1, region);
  std::span<std::byte> bytes(file.get(), total);
  Fixer(bytes).run();
  kerasrt::fuzz::walk_hdf5_bytes(bytes, t.name);
  return 0;
}
