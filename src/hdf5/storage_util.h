// Small arithmetic helpers shared by the storage translation units (btree2.cpp, fractal_heap.cpp,
// chunked.cpp, filters.cpp). Every size derived from file contents goes through these so that an
// overflow becomes an error instead of a wrapped, plausible-looking value.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <span>

namespace kerasrt::hdf5::storage {

// a * b, or nullopt on overflow.
inline std::optional<uint64_t> mul(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a + b, or nullopt on overflow.
inline std::optional<uint64_t> add(uint64_t a, uint64_t b) {
  uint64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// a * b saturated at UINT64_MAX (for limits that only need to be "at least this big").
inline uint64_t mul_sat(uint64_t a, uint64_t b) {
  return mul(a, b).value_or(~0ull);
}
inline uint64_t add_sat(uint64_t a, uint64_t b) {
  return add(a, b).value_or(~0ull);
}

// floor(log2(v)) for v > 0 (H5VM_log2_gen); 0 for v == 0.
inline unsigned log2_floor(uint64_t v) {
  return v == 0 ? 0 : 63u - unsigned(std::countl_zero(v));
}

inline bool is_power_of_two(uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// Bytes needed to encode v (H5VM_limit_enc_size): (log2(v) / 8) + 1.
inline unsigned limit_enc_size(uint64_t v) {
  return log2_floor(v) / 8 + 1;
}

// Little-endian unsigned of n bytes (n <= 8) from a span the caller has sized.
inline uint64_t load_le(std::span<const std::byte> s) {
  uint64_t v = 0;
  for (size_t i = 0; i < s.size() && i < 8; ++i)
    v |= uint64_t(static_cast<uint8_t>(s[i])) << (8 * i);
  return v;
}

}  // namespace kerasrt::hdf5::storage
