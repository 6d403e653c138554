#include "krt/krt_file.h"

#include <fcntl.h>
#include <libdeflate.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kerasrt/error.h"

namespace kerasrt::krt {

namespace {

constexpr char kMagic[8] = {'K', 'E', 'R', 'A', 'S', 'R', 'T', '\0'};
constexpr size_t kHeaderBytes = 64;
constexpr size_t kNameBytes = 24;
constexpr size_t kEntryBytes = kNameBytes + 8 + 8 + 4 + 4;
constexpr uint32_t kMaxSections = 64;

uint64_t read_u64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
uint32_t read_u32(const std::byte* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}
void put_u64(std::byte* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}
void put_u32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

[[noreturn]] void corrupt(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::InvalidFile,
              path + ": corrupt .krt file: " + what + " (convert the model again)");
}

}  // namespace

bool looks_like_krt(std::span<const std::byte> bytes) {
  return bytes.size() >= sizeof(kMagic) && std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) == 0;
}

uint32_t crc32(std::span<const std::byte> bytes) {
  return libdeflate_crc32(0, bytes.data(), bytes.size());
}

File::File(std::shared_ptr<const MappedFile> mapped) : mapped_(std::move(mapped)) {
  const std::span<const std::byte> b = mapped_->bytes();
  const std::string& p = mapped_->path();
  if (!looks_like_krt(b)) corrupt(p, "no .krt magic");
  if (b.size() < kHeaderBytes) corrupt(p, "the file ends inside the header");
  if (crc32(b.first(60)) != read_u32(b.data() + 60)) corrupt(p, "header checksum mismatch");
  const uint32_t version = read_u32(b.data() + 8);
  if (version != kFormatVersion) {
    throw Error(ErrorCode::Unsupported, p + ": .krt format version " + std::to_string(version) +
                                            ", this kerasrt reads version " +
                                            std::to_string(kFormatVersion) +
                                            " (convert the model again with this kerasrt)");
  }
  const uint32_t count = read_u32(b.data() + 12);
  const uint64_t table = read_u64(b.data() + 16);
  if (count > kMaxSections) corrupt(p, std::to_string(count) + " sections");
  if (table < kHeaderBytes || table > b.size() || (b.size() - table) / kEntryBytes < count) {
    corrupt(p, "the section table lies outside the file");
  }
  // The table is checksummed too: a damaged offset, size or checksum of a section that is not
  // verified at load ("weights") would otherwise go unnoticed.
  if (crc32(b.subspan(table, count * kEntryBytes)) != read_u32(b.data() + 24)) {
    corrupt(p, "section table checksum mismatch");
  }
  for (uint32_t i = 0; i < count; ++i) {
    const std::byte* e = b.data() + table + i * kEntryBytes;
    Section s;
    const char* name = reinterpret_cast<const char*>(e);
    s.name.assign(name, strnlen(name, kNameBytes));
    s.offset = read_u64(e + kNameBytes);
    s.size = read_u64(e + kNameBytes + 8);
    s.crc = read_u32(e + kNameBytes + 16);
    if (s.offset < kHeaderBytes || s.offset > table || s.size > table - s.offset) {
      corrupt(p, "section '" + s.name + "' lies outside the file");
    }
    // Arrays in a section are used in place at their alignment within it.
    if (s.offset % kSectionAlignment != 0) corrupt(p, "section '" + s.name + "' misaligned");
    sections_.push_back(std::move(s));
  }
}

const File::Section& File::find(std::string_view name) const {
  for (const Section& s : sections_) {
    if (s.name == name) return s;
  }
  corrupt(path(), "no section '" + std::string(name) + "'");
}

bool File::has(std::string_view name) const {
  for (const Section& s : sections_) {
    if (s.name == name) return true;
  }
  return false;
}

std::span<const std::byte> File::section_unverified(std::string_view name) const {
  const Section& s = find(name);
  return mapped_->bytes().subspan(s.offset, s.size);
}

std::span<const std::byte> File::section(std::string_view name) const {
  const Section& s = find(name);
  std::span<const std::byte> bytes = mapped_->bytes().subspan(s.offset, s.size);
  verify_crc(bytes, s.crc, "section '" + s.name + "'");
  return bytes;
}

std::span<const std::byte> File::range(std::string_view section, uint64_t offset, uint64_t size,
                                       const std::string& what) const {
  std::span<const std::byte> s = section_unverified(section);
  if (offset > s.size() || size > s.size() - offset) {
    corrupt(path(), what + " lies outside section '" + std::string(section) + "'");
  }
  return s.subspan(offset, size);
}

void File::verify_crc(std::span<const std::byte> bytes, uint32_t crc,
                      const std::string& what) const {
  if (crc32(bytes) != crc) corrupt(path(), what + ": checksum mismatch");
}

Writer::Writer(std::string path) : path_(std::move(path)), tmp_path_(path_ + ".tmp") {
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(ErrorCode::Io, tmp_path_ + ": cannot create: " + std::strerror(errno));
  }
  std::byte header[kHeaderBytes] = {};
  write(header, sizeof(header));  // rewritten by finish()
}

Writer::~Writer() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

void Writer::write(const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) throw Error(ErrorCode::Io, tmp_path_ + ": write failed: " + std::strerror(errno));
    p += w;
    n -= static_cast<size_t>(w);
    pos_ += static_cast<uint64_t>(w);
  }
}

void Writer::begin_section(std::string name) {
  if (name.size() >= kNameBytes) throw Error(ErrorCode::Internal, "section name too long");
  end_section();
  static const std::byte zeros[kSectionAlignment] = {};
  write(zeros, (kSectionAlignment - pos_ % kSectionAlignment) % kSectionAlignment);
  entries_.push_back(Entry{std::move(name), pos_, 0, 0});
  open_section_ = true;
  running_crc_ = 0;
}

uint64_t Writer::append(std::span<const std::byte> bytes, size_t alignment) {
  if (!open_section_) throw Error(ErrorCode::Internal, "append() outside a section");
  Entry& e = entries_.back();
  static const std::byte zeros[kSectionAlignment] = {};
  if (alignment > kSectionAlignment) throw Error(ErrorCode::Internal, "alignment too large");
  const size_t pad = (alignment - e.size % alignment) % alignment;
  write(zeros, pad);
  running_crc_ = libdeflate_crc32(running_crc_, zeros, pad);
  e.size += pad;
  const uint64_t at = e.size;
  write(bytes.data(), bytes.size());
  running_crc_ = libdeflate_crc32(running_crc_, bytes.data(), bytes.size());
  e.size += bytes.size();
  return at;
}

void Writer::end_section() {
  if (!open_section_) return;
  entries_.back().crc = running_crc_;
  open_section_ = false;
}

void Writer::finish() {
  end_section();
  const uint64_t table = pos_;
  uint32_t table_crc = 0;
  for (const Entry& e : entries_) {
    std::byte entry[kEntryBytes] = {};
    std::memcpy(entry, e.name.data(), e.name.size());
    put_u64(entry + kNameBytes, e.offset);
    put_u64(entry + kNameBytes + 8, e.size);
    put_u32(entry + kNameBytes + 16, e.crc);
    table_crc = libdeflate_crc32(table_crc, entry, sizeof(entry));
    write(entry, sizeof(entry));
  }
  std::byte header[kHeaderBytes] = {};
  std::memcpy(header, kMagic, sizeof(kMagic));
  put_u32(header + 8, kFormatVersion);
  put_u32(header + 12, static_cast<uint32_t>(entries_.size()));
  put_u64(header + 16, table);
  put_u32(header + 24, table_crc);
  put_u32(header + 60, crc32(std::span<const std::byte>(header, 60)));
  if (::pwrite(fd_, header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header)) ||
      ::fsync(fd_) != 0) {
    throw Error(ErrorCode::Io, tmp_path_ + ": write failed: " + std::strerror(errno));
  }
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    ::unlink(tmp_path_.c_str());
    throw Error(ErrorCode::Io, path_ + ": cannot write: " + std::strerror(errno));
  }
}

}  // namespace kerasrt::krt
