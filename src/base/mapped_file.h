// A read-only view of a whole file's bytes, memory-mapped, shared by everything that reads it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace kerasrt {

class MappedFile {
 public:
  // Maps `path` read-only. Throws Error(Io) when the file cannot be opened or is a directory.
  // An empty file maps to an empty span.
  static std::shared_ptr<const MappedFile> open(const std::string& path);

  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  std::string path_;
};

}  // namespace kerasrt
