// The .krt container: kerasrt's own packed model file (`kerasrt convert`), mapped and used in
// place. This layer knows only the container: a fixed header, named sections, checksums. What
// the sections mean is the business of the stages above (src/keras/krt_model.cpp: the Keras
// config and the weight arrays; src/runtime/krt.cpp: packed weights and the plan's shapes).
//
// Layout (all integers little-endian):
//   header (64 bytes)  magic "KERASRT\0", u32 format version, u32 section count,
//                      u64 offset of the section table, u32 CRC-32 of the section table,
//                      u8[32] zero, u32 CRC-32 of bytes 0..59
//   sections           each at a 4096-byte aligned offset (so that arrays in them can be mapped
//                      and used in place with any alignment a kernel wants)
//   section table      per section: char[24] name (NUL padded), u64 offset, u64 size,
//                      u32 CRC-32 of the section, u32 zero
// Every offset and size is checked against the file before use. Section checksums are verified
// by the caller, per section or per range (verify_crc), so that opening does not read the
// weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/mapped_file.h"

namespace kerasrt::krt {

inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSectionAlignment = 4096;

// True when `bytes` starts with the .krt magic.
bool looks_like_krt(std::span<const std::byte> bytes);

// CRC-32 (the zlib polynomial), as stored in the file.
uint32_t crc32(std::span<const std::byte> bytes);

class File {
 public:
  // Checks the header, its checksum and the section table. Throws Error(InvalidFile) naming the
  // problem, Error(Unsupported) for another format version.
  explicit File(std::shared_ptr<const MappedFile> mapped);

  const std::string& path() const { return mapped_->path(); }
  bool has(std::string_view name) const;
  // The section's bytes, its checksum verified. Throws Error(InvalidFile) when it is missing or
  // its checksum does not match.
  std::span<const std::byte> section(std::string_view name) const;
  // The section's bytes without reading them (the caller verifies ranges with verify_crc).
  std::span<const std::byte> section_unverified(std::string_view name) const;
  // Bytes [offset, offset + size) of a section, bounds-checked; `what` names them in errors.
  std::span<const std::byte> range(std::string_view section, uint64_t offset, uint64_t size,
                                   const std::string& what) const;
  // Throws Error(InvalidFile) naming `what` when crc32(bytes) != crc.
  void verify_crc(std::span<const std::byte> bytes, uint32_t crc, const std::string& what) const;
  std::shared_ptr<const MappedFile> mapping() const { return mapped_; }

 private:
  struct Section {
    std::string name;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint32_t crc = 0;
  };
  const Section& find(std::string_view name) const;

  std::shared_ptr<const MappedFile> mapped_;
  std::vector<Section> sections_;
};

// Writes a .krt: sections are appended in order, then the table and the header. The file appears
// under its name only when finish() succeeds (written to "<path>.tmp", then renamed).
class Writer {
 public:
  explicit Writer(std::string path);
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Starts a section; following append() calls add to it.
  void begin_section(std::string name);
  // Appends bytes to the current section, first padding it with zeros to `alignment` (relative
  // to the section start). Returns the offset of the bytes within the section.
  uint64_t append(std::span<const std::byte> bytes, size_t alignment = 1);
  void finish();

 private:
  void end_section();
  void write(const void* data, size_t n);

  std::string path_;
  std::string tmp_path_;
  int fd_ = -1;
  uint64_t pos_ = 0;
  bool open_section_ = false;
  uint32_t running_crc_ = 0;
  struct Entry {
    std::string name;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint32_t crc = 0;
  };
  std::vector<Entry> entries_;
};

}  // namespace kerasrt::krt
