// Jenkins lookup3 hashlittle(): the checksum of every v2 structure (spec §II "Checksums" refers to
// Bob Jenkins' lookup3.c) and the name hash of dense links and attributes. This is the byte-wise
// variant, which gives the same result as the aligned one on little-endian machines and needs no
// alignment.
#include <cstddef>
#include <cstdint>
#include <span>

#include "hdf5/internal.h"

namespace kerasrt::hdf5 {
namespace {

inline uint32_t rot(uint32_t x, int k) {
  return (x << k) | (x >> (32 - k));
}

inline uint32_t load32(const std::byte* p) {
  return uint32_t(static_cast<uint8_t>(p[0])) | uint32_t(static_cast<uint8_t>(p[1])) << 8 |
         uint32_t(static_cast<uint8_t>(p[2])) << 16 | uint32_t(static_cast<uint8_t>(p[3])) << 24;
}

inline void mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c;
  a ^= rot(c, 4);
  c += b;
  b -= a;
  b ^= rot(a, 6);
  a += c;
  c -= b;
  c ^= rot(b, 8);
  b += a;
  a -= c;
  a ^= rot(c, 16);
  c += b;
  b -= a;
  b ^= rot(a, 19);
  a += c;
  c -= b;
  c ^= rot(b, 4);
  b += a;
}

inline void final_mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b;
  c -= rot(b, 14);
  a ^= c;
  a -= rot(c, 11);
  b ^= a;
  b -= rot(a, 25);
  c ^= b;
  c -= rot(b, 16);
  a ^= c;
  a -= rot(c, 4);
  b ^= a;
  b -= rot(a, 14);
  c ^= b;
  c -= rot(b, 24);
}

}  // namespace

uint32_t lookup3(std::span<const std::byte> data, uint32_t initval) {
  size_t length = data.size();
  const std::byte* k = data.data();
  uint32_t a = 0xdeadbeef + static_cast<uint32_t>(length) + initval;
  uint32_t b = a;
  uint32_t c = a;
  while (length > 12) {
    a += load32(k);
    b += load32(k + 4);
    c += load32(k + 8);
    mix(a, b, c);
    length -= 12;
    k += 12;
  }
  if (length == 0) return c;
  // The last 1..12 bytes, zero-padded (the switch with fall-through in lookup3.c).
  std::byte tail[12] = {};
  for (size_t i = 0; i < length; ++i) tail[i] = k[i];
  a += load32(tail);
  b += load32(tail + 4);
  c += load32(tail + 8);
  final_mix(a, b, c);
  return c;
}

}  // namespace kerasrt::hdf5
