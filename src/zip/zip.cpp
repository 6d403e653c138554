// Layout: PKWARE APPNOTE 6.3.x §4.3 (local headers, central directory, end of central directory
// record, ZIP64 end record and locator, ZIP64 extra field 0x0001).
#include "zip/zip.h"

#include <libdeflate.h>

#include <cstring>

#include "kerasrt/error.h"

namespace kerasrt::zip {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
// Deflate cannot expand data by more than ~1032x; a member claiming more is hostile.
constexpr uint64_t kMaxInflateRatio = 1100;

class Reader {
 public:
  Reader(std::span<const std::byte> bytes, const std::string& path) : bytes_(bytes), path_(path) {}
  uint64_t u(uint64_t offset, unsigned n) const {
    if (offset > bytes_.size() || n > bytes_.size() - offset) {
      fail(offset, "structure runs past the end of the file");
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; ++i) {
      v |= uint64_t(static_cast<uint8_t>(bytes_[offset + i])) << (8 * i);
    }
    return v;
  }
  std::span<const std::byte> span(uint64_t offset, uint64_t n) const {
    if (offset > bytes_.size() || n > bytes_.size() - offset) {
      fail(offset, "data runs past the end of the file");
    }
    return bytes_.subspan(offset, n);
  }
  [[noreturn]] void fail(uint64_t offset, const std::string& what) const {
    throw Error(ErrorCode::InvalidFile,
                path_ + ": zip: at byte " + std::to_string(offset) + ": " + what);
  }
  size_t size() const { return bytes_.size(); }

 private:
  std::span<const std::byte> bytes_;
  const std::string& path_;
};

}  // namespace

bool looks_like_zip(std::span<const std::byte> bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), "PK\x03\x04", 4) == 0;
}

Archive::Archive(std::shared_ptr<const MappedFile> file) : file_(std::move(file)) {
  Reader r(file_->bytes(), file_->path());
  const uint64_t size = r.size();
  if (size < 22) r.fail(0, "too small to be a zip archive");
  // The end record sits in the last 22 + 65535 (comment) bytes.
  uint64_t end = UINT64_MAX;
  uint64_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (uint64_t pos = size - 22 + 1; pos-- > lowest;) {
    if (r.u(pos, 4) == kEndSig) {
      end = pos;
      break;
    }
  }
  if (end == UINT64_MAX)
    r.fail(size, "no end-of-central-directory record (not a zip, or truncated)");
  uint64_t count = r.u(end + 10, 2);
  uint64_t dir_size = r.u(end + 12, 4);
  uint64_t dir_offset = r.u(end + 16, 4);
  if (count == 0xffff || dir_size == 0xffffffff || dir_offset == 0xffffffff) {
    if (end < 20 || r.u(end - 20, 4) != kZip64LocatorSig) r.fail(end, "ZIP64 locator missing");
    uint64_t z64 = r.u(end - 20 + 8, 8);
    if (r.u(z64, 4) != kZip64EndSig) r.fail(z64, "bad ZIP64 end record signature");
    count = r.u(z64 + 32, 8);
    dir_size = r.u(z64 + 40, 8);
    dir_offset = r.u(z64 + 48, 8);
  }
  // Every central entry takes at least 46 bytes: a count beyond that is hostile.
  if (dir_size > size || dir_offset > size - dir_size || count > dir_size / 46) {
    r.fail(end, "central directory does not fit in the file");
  }
  uint64_t pos = dir_offset;
  for (uint64_t i = 0; i < count; ++i) {
    if (r.u(pos, 4) != kCentralSig) r.fail(pos, "bad central directory entry signature");
    Member m;
    m.method = static_cast<uint16_t>(r.u(pos + 10, 2));
    m.compressed_size = r.u(pos + 20, 4);
    m.size = r.u(pos + 24, 4);
    uint64_t name_len = r.u(pos + 28, 2);
    uint64_t extra_len = r.u(pos + 30, 2);
    uint64_t comment_len = r.u(pos + 32, 2);
    m.local_header_offset = r.u(pos + 42, 4);
    auto name = r.span(pos + 46, name_len);
    m.name.assign(reinterpret_cast<const char*>(name.data()), name.size());
    // ZIP64 extra field: the 64-bit values appear in order for the fields that were 0xffffffff.
    uint64_t extra = pos + 46 + name_len;
    uint64_t extra_end = extra + extra_len;
    while (extra + 4 <= extra_end) {
      uint64_t id = r.u(extra, 2);
      uint64_t len = r.u(extra + 2, 2);
      if (extra + 4 + len > extra_end) r.fail(extra, "extra field runs past its entry");
      if (id == 0x0001) {
        uint64_t p = extra + 4;
        auto take = [&](uint64_t& field) {
          if (field != 0xffffffff) return;
          if (p + 8 > extra + 4 + len) r.fail(p, "short ZIP64 extra field");
          field = r.u(p, 8);
          p += 8;
        };
        take(m.size);
        take(m.compressed_size);
        take(m.local_header_offset);
      }
      extra += 4 + len;
    }
    members_.push_back(std::move(m));
    pos = extra_end + comment_len;
  }
}

const Member* Archive::find(const std::string& name) const {
  for (const Member& m : members_) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::span<const std::byte> Archive::read(const Member& m, std::vector<std::byte>& storage) const {
  Reader r(file_->bytes(), file_->path());
  uint64_t h = m.local_header_offset;
  if (r.u(h, 4) != kLocalSig) r.fail(h, "bad local header signature for '" + m.name + "'");
  uint64_t data = h + 30 + r.u(h + 26, 2) + r.u(h + 28, 2);
  std::span<const std::byte> raw = r.span(data, m.compressed_size);
  if (m.method == 0) {
    if (m.compressed_size != m.size) r.fail(h, "stored member '" + m.name + "' has two sizes");
    return raw;
  }
  if (m.method != 8) {
    throw Error(ErrorCode::Unsupported,
                file_->path() + ": zip member '" + m.name + "' uses compression method " +
                    std::to_string(m.method) + " (only stored and deflate)");
  }
  if (m.size / kMaxInflateRatio > m.compressed_size + 1) {
    r.fail(h, "member '" + m.name + "' claims an impossible compression ratio");
  }
  storage.resize(m.size);
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  if (d == nullptr) throw Error(ErrorCode::ResourceExhausted, "cannot allocate a decompressor");
  size_t actual = 0;
  libdeflate_result res = libdeflate_deflate_decompress(d, raw.data(), raw.size(), storage.data(),
                                                        storage.size(), &actual);
  libdeflate_free_decompressor(d);
  if (res != LIBDEFLATE_SUCCESS || actual != m.size) {
    r.fail(data, "member '" + m.name + "' does not inflate to its declared size");
  }
  return storage;
}

}  // namespace kerasrt::zip
