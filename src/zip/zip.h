// A read-only, bounds-checked zip reader for Keras 3 `.keras` archives (keras-format.md §2.3).
// Members stored without compression are zero-copy views into the mapping (the usual case:
// Python's zipfile stores by default); deflated members are inflated into an owned buffer whose
// size is the member's declared size, bounded by a limit relative to the archive size.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/mapped_file.h"

namespace kerasrt::zip {

struct Member {
  std::string name;
  uint16_t method = 0;  // 0 stored, 8 deflate
  uint64_t compressed_size = 0;
  uint64_t size = 0;  // uncompressed
  uint64_t local_header_offset = 0;
};

class Archive {
 public:
  // Throws Error(InvalidFile) when `file` is not a well-formed zip (no end-of-central-directory
  // record, entries out of bounds, ...).
  explicit Archive(std::shared_ptr<const MappedFile> file);

  const std::vector<Member>& members() const { return members_; }
  const Member* find(const std::string& name) const;

  // The member's bytes: a view into the mapping for stored members; for deflated ones the bytes
  // are inflated into `storage` and the returned span points there. Throws Error(InvalidFile) on
  // a bad local header, bad data or a size mismatch, Error(Unsupported) for other methods.
  std::span<const std::byte> read(const Member& member, std::vector<std::byte>& storage) const;

  const std::string& path() const { return file_->path(); }
  const std::shared_ptr<const MappedFile>& file() const { return file_; }

 private:
  std::shared_ptr<const MappedFile> file_;
  std::vector<Member> members_;
};

// True when `bytes` starts with a zip local-file-header signature.
bool looks_like_zip(std::span<const std::byte> bytes);

}  // namespace kerasrt::zip
