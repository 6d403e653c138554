// Superblock, FileImpl, and the public handle API (File, Object, Group, Dataset, Attribute).
//
// Conventions: every offset handed to fail() is an HDF5 address (relative to the base address);
// messages print the absolute byte position (base + address) so that it can be found with a hex
// dump. Handles are immutable; everything they need was decoded when they were made.
#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "base/mapped_file.h"
#include "hdf5/internal.h"
#include "hdf5/object_header.h"

namespace kerasrt::hdf5 {

namespace {

std::string message(const FileImpl& file, uint64_t offset, std::string_view path,
                    std::string_view what) {
  std::string m = file.name;
  m += ": ";
  m += path.empty() ? std::string_view("/") : path;
  if (offset != kUndefinedAddress) {
    m += ": at byte ";
    m += std::to_string(file.base_address + offset);
  }
  m += ": ";
  m += what;
  return m;
}

}  // namespace

void fail(const FileImpl& file, uint64_t offset, std::string_view path, std::string_view what) {
  throw Error(ErrorCode::InvalidFile, message(file, offset, path, what));
}

void fail_unsupported(const FileImpl& file, uint64_t offset, std::string_view path,
                      std::string_view what) {
  throw Error(ErrorCode::Unsupported, message(file, offset, path, what));
}

void fail_code(const FileImpl& file, ErrorCode code, std::string_view path, std::string_view what) {
  throw Error(code, message(file, kUndefinedAddress, path, what));
}

std::span<const std::byte> FileImpl::range(uint64_t addr, uint64_t len, std::string_view path,
                                           std::string_view what) const {
  if (addr == kUndefinedAddress) {
    fail(*this, kUndefinedAddress, path, std::string(what) + " has an undefined address");
  }
  uint64_t avail = bytes.size() - base_address;
  if (addr > avail || len > avail - addr) {
    fail(*this, addr, path,
         std::string(what) + " (" + std::to_string(len) +
             " bytes) runs past the end of the file (" + std::to_string(bytes.size()) + " bytes)");
  }
  return bytes.subspan(static_cast<size_t>(base_address + addr), static_cast<size_t>(len));
}

std::span<const std::byte> FileImpl::tail(uint64_t addr, std::string_view path,
                                          std::string_view what) const {
  if (addr == kUndefinedAddress) {
    fail(*this, kUndefinedAddress, path, std::string(what) + " has an undefined address");
  }
  uint64_t avail = bytes.size() - base_address;
  if (addr >= avail) {
    fail(*this, addr, path, std::string(what) + " lies beyond the end of the file");
  }
  return bytes.subspan(static_cast<size_t>(base_address + addr));
}

// ---------------------------------------------------------------------------------------------
// Superblock (§II.A)

namespace {

constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

void check_sizes(const FileImpl& f, uint64_t at) {
  auto ok = [](unsigned n) { return n == 2 || n == 4 || n == 8; };
  if (!ok(f.sizeof_offsets) || !ok(f.sizeof_lengths)) {
    fail_unsupported(f, at, "/",
                     "superblock: size of offsets " + std::to_string(f.sizeof_offsets) +
                         " / lengths " + std::to_string(f.sizeof_lengths) +
                         " (only 2, 4 and 8 are supported)");
  }
}

void check_eof(const FileImpl& f, uint64_t eof, uint64_t at) {
  // libhdf5 refuses a file shorter than its end-of-file address ("truncated file"); so do we,
  // which turns most truncations into one clear message. h5py writes the address counting the
  // user block (measured: a 512-byte user block adds 512), so compare with the whole span.
  if (eof != kUndefinedAddress && eof > f.bytes.size()) {
    fail(f, at, "/",
         "file is truncated: the superblock says " + std::to_string(eof) + " bytes, there are " +
             std::to_string(f.bytes.size()));
  }
}

void parse_superblock(FileImpl& f) {
  // The superblock sits at 0 or after a user block at 512, 1024, 2048, ... (§II.A). libhdf5 then
  // takes the superblock's position as the base address, whatever the stored field says.
  const uint64_t size = f.bytes.size();
  uint64_t at = kUndefinedAddress;
  for (uint64_t pos = 0; pos < size && size - pos >= 8; pos = pos == 0 ? 512 : pos * 2) {
    if (std::memcmp(f.bytes.data() + pos, kSignature, 8) == 0) {
      at = pos;
      break;
    }
  }
  if (at == kUndefinedAddress) {
    throw Error(ErrorCode::InvalidFile, f.name + ": not an HDF5 file (no superblock signature)");
  }
  f.base_address = at;
  ByteReader r(f, f.tail(0, "/", "superblock"), 0, "/");
  r.skip(8);
  uint8_t version = r.u8();
  f.superblock_version = version;
  if (version <= 1) {
    r.skip(3);  // free-space, root symbol table entry, reserved
    r.skip(1);  // shared header message format version
    f.sizeof_offsets = r.u8();
    f.sizeof_lengths = r.u8();
    check_sizes(f, 13);
    r.skip(1);
    r.skip(4);                    // group leaf K, group internal K
    r.skip(4);                    // file consistency flags
    if (version == 1) r.skip(4);  // indexed storage internal K + reserved
    r.address();                  // base address: see above
    r.address();                  // free-space info address
    uint64_t eof = r.address();
    r.address();  // driver information block
    // Root group symbol table entry (§II.A, §III.C).
    r.length();  // link name offset
    f.root_address = r.address();
    uint32_t cache_type = r.u32();
    r.skip(4);
    if (cache_type == 1) {
      f.root_btree = r.address();
      f.root_heap = r.address();
    } else {
      r.skip(16);
    }
    check_eof(f, eof, 0);
  } else if (version == 2 || version == 3) {
    f.sizeof_offsets = r.u8();
    f.sizeof_lengths = r.u8();
    check_sizes(f, 9);
    r.skip(1);    // consistency flags
    r.address();  // base address
    r.address();  // superblock extension (holds nothing a reader of this subset needs)
    uint64_t eof = r.address();
    f.root_address = r.address();
    size_t n = r.position();
    uint32_t stored = r.u32();
    if (lookup3(f.range(0, n, "/", "superblock")) != stored) {
      fail(f, n, "/", "superblock checksum mismatch");
    }
    check_eof(f, eof, 0);
  } else {
    fail_unsupported(f, 8, "/", "superblock version " + std::to_string(version));
  }
  if (f.root_address == kUndefinedAddress) fail(f, 0, "/", "root group address is undefined");
}

std::shared_ptr<const FileImpl> make_impl(std::span<const std::byte> bytes,
                                          std::shared_ptr<const void> keep_alive, std::string name,
                                          const OpenOptions& options) {
  auto impl = std::make_shared<FileImpl>();
  impl->bytes = bytes;
  impl->keep_alive = std::move(keep_alive);
  impl->name = std::move(name);
  impl->options = options;
  parse_superblock(*impl);
  return impl;
}

}  // namespace

File File::open(const std::string& path, const OpenOptions& options) {
  auto mapped = MappedFile::open(path);
  File f;
  f.impl_ = make_impl(mapped->bytes(), mapped, path, options);
  return f;
}

File File::from_bytes(std::span<const std::byte> bytes, std::shared_ptr<const void> keep_alive,
                      std::string display_name, const OpenOptions& options) {
  File f;
  f.impl_ = make_impl(bytes, std::move(keep_alive), std::move(display_name), options);
  return f;
}

Group File::root() const {
  Group g;
  static_cast<Object&>(g) = HandleAccess::make_object(impl_, impl_->root_address, "/");
  if (g.kind() != ObjectKind::Group) fail(*impl_, impl_->root_address, "/", "root is not a group");
  return g;
}

std::span<const std::byte> File::bytes() const {
  return impl_->bytes;
}
const std::string& File::name() const {
  return impl_->name;
}
uint8_t File::superblock_version() const {
  return impl_->superblock_version;
}

// ---------------------------------------------------------------------------------------------
// Handles

Object HandleAccess::make_object(const std::shared_ptr<const FileImpl>& file, uint64_t address,
                                 std::string path) {
  Object o;
  o.header_ = parse_object_header(*file, address, path);
  o.file_ = file;
  o.kind_ = o.header_->kind;
  o.path_ = std::move(path);
  o.address_ = address;
  return o;
}

std::string child_path(std::string_view parent, std::string_view name) {
  std::string p;
  p.reserve(parent.size() + 1 + name.size());
  p += parent;
  if (p.empty() || p.back() != '/') p += '/';
  p += name;
  return p;
}

std::vector<Attribute> Object::attributes() const {
  auto list = read_attributes(file_, *header_, path_);
  std::sort(list.begin(), list.end(),
            [](const Attribute& a, const Attribute& b) { return a.name() < b.name(); });
  return list;
}

std::optional<Attribute> Object::attribute(std::string_view name) const {
  return find_attribute(file_, *header_, name, path_);
}

std::vector<Link> Group::links() const {
  auto list = list_links(*file_, *header_, path_);
  if (!std::is_sorted(list.begin(), list.end(),
                      [](const Link& a, const Link& b) { return a.name < b.name; })) {
    std::sort(list.begin(), list.end(),
              [](const Link& a, const Link& b) { return a.name < b.name; });
  }
  return list;
}

std::vector<std::string> Group::child_names() const {
  auto list = links();
  std::vector<std::string> names;
  names.reserve(list.size());
  for (auto& l : list) names.push_back(std::move(l.name));
  return names;
}

bool Group::contains(std::string_view name) const {
  return find_link(*file_, *header_, name, path_).has_value();
}

namespace {

// Walks a '/'-separated relative path from `start`. Empty components are skipped. Returns nullopt
// for a missing name when `missing_ok`; every other problem throws.
std::optional<Object> resolve(const Object& start, std::string_view rel, bool missing_ok) {
  const auto& file = HandleAccess::file(start);
  Object cur = start;
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t end = rel.find('/', pos);
    if (end == std::string_view::npos) end = rel.size();
    std::string_view name = rel.substr(pos, end - pos);
    pos = end + 1;
    if (name.empty() || name == ".") continue;
    if (cur.kind() != ObjectKind::Group) {
      fail_code(*file, ErrorCode::InvalidFile, cur.path(),
                "is not a group, cannot look up '" + std::string(name) + "' in it");
    }
    auto link = find_link(*file, HandleAccess::header(cur), name, cur.path());
    if (!link) {
      if (missing_ok) return std::nullopt;
      fail_code(*file, ErrorCode::InvalidFile, cur.path(),
                "no object named '" + std::string(name) + "' in this group");
    }
    std::string path = child_path(cur.path(), name);
    if (link->kind != LinkKind::Hard) {
      fail_code(*file, ErrorCode::Unsupported, path,
                std::string(link->kind == LinkKind::Soft ? "soft" : "external") + " link (to '" +
                    link->soft_target + "') is not followed");
    }
    // Nesting bound: the number of components of the object path.
    if (static_cast<uint64_t>(std::count(path.begin(), path.end(), '/')) >
        file->options.max_depth) {
      fail_code(*file, ErrorCode::InvalidFile, path, "groups nested deeper than max_depth");
    }
    cur = HandleAccess::make_object(file, link->address, std::move(path));
  }
  return cur;
}

}  // namespace

Object Group::open(std::string_view relative_path) const {
  return *resolve(*this, relative_path, false);
}

std::optional<Object> Group::try_open(std::string_view relative_path) const {
  return resolve(*this, relative_path, true);
}

Group Group::open_group(std::string_view relative_path) const {
  Object o = open(relative_path);
  if (o.kind() != ObjectKind::Group) {
    fail_code(*file_, ErrorCode::InvalidFile, o.path(), "is not a group");
  }
  Group g;
  static_cast<Object&>(g) = std::move(o);
  return g;
}

Dataset Group::open_dataset(std::string_view relative_path) const {
  Object o = open(relative_path);
  if (o.kind() != ObjectKind::Dataset) {
    fail_code(*file_, ErrorCode::InvalidFile, o.path(), "is not a dataset");
  }
  Dataset d;
  static_cast<Object&>(d) = std::move(o);
  return d;
}

// ---------------------------------------------------------------------------------------------
// Datasets

namespace {
FillInfo fill_info(const ObjectHeader& h) {
  return FillInfo{h.fill, h.fill_error, h.fill_at};
}
}  // namespace

const Datatype& Dataset::dtype() const {
  return header_->dtype;
}
const Dataspace& Dataset::space() const {
  return header_->space;
}
LayoutClass Dataset::layout() const {
  return header_->layout.cls;
}
bool Dataset::filtered() const {
  return !header_->filters.empty();
}

uint64_t Dataset::stored_bytes() const {
  // Checked against overflow when the header was parsed.
  return space().num_elements() * dtype().size;
}

std::optional<std::span<const std::byte>> Dataset::contiguous_bytes() const {
  const ObjectHeader& h = *header_;
  if (!h.filters.empty() || h.external_storage) return std::nullopt;
  if (h.layout.cls == LayoutClass::Compact) return h.layout.compact;
  if (h.layout.cls != LayoutClass::Contiguous) return std::nullopt;
  uint64_t n = stored_bytes();
  if (n == 0) return std::span<const std::byte>();
  if (h.layout.address == kUndefinedAddress) {
    // Never written: reads as the fill value, which has no view unless it is zero (or unusable,
    // and then read_raw reports why).
    if (!h.fill.empty() || !h.fill_error.empty()) return std::nullopt;
    return std::span<const std::byte>();
  }
  return file_->range(h.layout.address, n, path_, "contiguous data");
}

void Dataset::read_raw(std::span<std::byte> out) const {
  const ObjectHeader& h = *header_;
  uint64_t n = stored_bytes();
  if (out.size() != n) {
    fail_code(*file_, ErrorCode::InvalidArgument, path_,
              "read_raw: buffer has " + std::to_string(out.size()) + " bytes, the dataset " +
                  std::to_string(n));
  }
  if (h.external_storage) {
    fail_unsupported(*file_, h.address, path_, "raw data stored in external files");
  }
  if (n == 0 && h.layout.cls != LayoutClass::Virtual) return;
  switch (h.layout.cls) {
    case LayoutClass::Compact:
    case LayoutClass::Contiguous: {
      if (!h.filters.empty()) {
        fail_unsupported(*file_, h.address, path_, "filters on a non-chunked dataset");
      }
      auto view = contiguous_bytes();
      if (!view || view->empty()) {
        fill_elements(*file_, fill_info(h), out, path_);  // never written: the fill value
      } else {
        std::memcpy(out.data(), view->data(), view->size());
      }
      return;
    }
    case LayoutClass::Chunked:
      if (n > file_->options.max_decoded_bytes) {
        fail_code(*file_, ErrorCode::ResourceExhausted, path_,
                  "dataset of " + std::to_string(n) + " bytes exceeds max_decoded_bytes");
      }
      read_chunked(*file_, h.layout, h.filters, h.space, h.dtype.size, fill_info(h), out, path_);
      return;
    case LayoutClass::Virtual:
      break;
  }
  fail_unsupported(*file_, h.address, path_, "virtual dataset layout");
}

std::vector<std::byte> Dataset::read_raw() const {
  uint64_t n = stored_bytes();
  if (n > file_->options.max_decoded_bytes) {
    fail_code(*file_, ErrorCode::ResourceExhausted, path_,
              "dataset of " + std::to_string(n) + " bytes exceeds max_decoded_bytes");
  }
  std::vector<std::byte> out(static_cast<size_t>(n));
  read_raw(out);
  return out;
}

void Dataset::read_float32(std::span<float> out) const {
  const Datatype& t = dtype();
  uint64_t n = num_elements();
  if (out.size() != n) {
    fail_code(*file_, ErrorCode::InvalidArgument, path_,
              "read_float32: buffer has " + std::to_string(out.size()) + " elements, the dataset " +
                  std::to_string(n));
  }
  bool numeric = t.cls == TypeClass::Float || t.cls == TypeClass::Integer ||
                 (t.cls == TypeClass::Enum && t.is_bool());
  if (!numeric) {
    fail_code(*file_, ErrorCode::Unsupported, path_,
              "cannot convert " + t.numpy_name() + " to float32");
  }
  if (auto view = contiguous_bytes(); view && (!view->empty() || n == 0)) {
    convert_to_float32(*file_, t, *view, out, path_);
    return;
  }
  if (t.cls == TypeClass::Float && t.size == 4 &&
      t.big_endian == (std::endian::native == std::endian::big)) {
    read_raw(std::as_writable_bytes(out));  // decode straight into the caller's buffer
    return;
  }
  auto raw = read_raw();
  convert_to_float32(*file_, t, raw, out, path_);
}

std::vector<float> Dataset::read_float32() const {
  uint64_t n = num_elements();
  if (n > file_->options.max_decoded_bytes / 4) {
    fail_code(*file_, ErrorCode::ResourceExhausted, path_,
              "dataset of " + std::to_string(n) + " elements exceeds max_decoded_bytes");
  }
  std::vector<float> out(static_cast<size_t>(n));
  read_float32(out);
  return out;
}

std::vector<std::string> Dataset::read_strings() const {
  const Datatype& t = dtype();
  if (t.cls != TypeClass::String) {
    fail_code(*file_, ErrorCode::InvalidArgument, path_,
              "read_strings: the dataset is " + t.numpy_name() + ", not a string");
  }
  if (auto view = contiguous_bytes(); view && (!view->empty() || stored_bytes() == 0)) {
    return decode_strings(*file_, t, *view, num_elements(), path_);
  }
  auto raw = read_raw();
  return decode_strings(*file_, t, raw, num_elements(), path_);
}

// ---------------------------------------------------------------------------------------------
// Attributes

std::vector<std::string> Attribute::read_strings() const {
  if (dtype_.cls != TypeClass::String) {
    fail_code(*file_, ErrorCode::InvalidArgument, owner_path_,
              "attribute '" + name_ + "' is " + dtype_.numpy_name() + ", not a string");
  }
  return decode_strings(*file_, dtype_, raw_, space_.num_elements(), owner_path_);
}

std::string Attribute::read_string() const {
  auto all = read_strings();
  if (all.size() != 1) {
    fail_code(
        *file_, ErrorCode::InvalidArgument, owner_path_,
        "attribute '" + name_ + "' holds " + std::to_string(all.size()) + " strings, not one");
  }
  return std::move(all[0]);
}

std::vector<double> Attribute::read_doubles() const {
  return decode_doubles(*file_, dtype_, raw_, space_.num_elements(), owner_path_);
}

std::vector<int64_t> Attribute::read_ints() const {
  return decode_ints(*file_, dtype_, raw_, space_.num_elements(), owner_path_);
}

}  // namespace kerasrt::hdf5
