// SHA-256 (FIPS 180-4), incremental. Used to fingerprint dataset contents in listings (kerasrt
// h5ls) and caches; small and dependency-free so that the base library needs no crypto package.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kerasrt {

class Sha256 {
 public:
  Sha256() { reset(); }

  void reset();
  void update(std::span<const std::byte> data);
  void update(std::string_view text) {
    update(std::as_bytes(std::span<const char>(text.data(), text.size())));
  }
  // The digest of everything passed to update() since construction or reset(), as 64 lowercase
  // hex digits. Resets the state, so the object can hash the next message.
  std::string finish();
  // Same, as the 32 raw digest bytes.
  std::array<uint8_t, 32> finish_bytes();

 private:
  void compress(const uint8_t* block);

  std::array<uint32_t, 8> state_{};
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// One-shot helper: hex digest of `data`.
std::string sha256_hex(std::span<const std::byte> data);

}  // namespace kerasrt
