#include "runtime/krt.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "base/json_writer.h"
#include "keras/krt_index.h"
#include "kerasrt/error.h"

namespace kerasrt::runtime {

namespace {

using keras::Json;
using keras::krt_bad_index;
using keras::krt_member;

void append_dims(std::string& out, const int64_t* dims, int n) {
  out += '[';
  for (int i = 0; i < n; ++i) {
    if (i) out += ',';
    append_int(out, dims[i]);
  }
  out += ']';
}

// Only plain and blocked float32 layouts without extra data are stored; anything else is packed
// again at load (never the case for the float32 conv and matmul weights of oneDNN 2.6).
bool storable(const dnnl::memory::desc& d) {
  const dnnl_memory_desc_t& c = d.data;
  return c.format_kind == dnnl_blocked && c.data_type == dnnl_f32 && c.extra.flags == 0 &&
         c.ndims > 0 && c.ndims <= DNNL_MAX_NDIMS;
}

void append_desc(std::string& out, const dnnl::memory::desc& d) {
  const dnnl_memory_desc_t& c = d.data;
  const dnnl_blocking_desc_t& b = c.format_desc.blocking;
  out += "{\"ndims\":";
  append_int(out, c.ndims);
  out += ",\"dims\":";
  append_dims(out, c.dims, c.ndims);
  out += ",\"padded_dims\":";
  append_dims(out, c.padded_dims, c.ndims);
  out += ",\"padded_offsets\":";
  append_dims(out, c.padded_offsets, c.ndims);
  out += ",\"offset0\":";
  append_int(out, c.offset0);
  out += ",\"strides\":";
  append_dims(out, b.strides, c.ndims);
  out += ",\"inner_blks\":";
  append_dims(out, b.inner_blks, b.inner_nblks);
  out += ",\"inner_idxs\":";
  append_dims(out, b.inner_idxs, b.inner_nblks);
  out += '}';
}

int64_t integer(const krt::File& file, const Json& j, int64_t lo, int64_t hi) {
  if (!j.is_integer() || j.as_number() < static_cast<double>(lo) ||
      j.as_number() > static_cast<double>(hi)) {
    krt_bad_index(file, "a number out of range");
  }
  return static_cast<int64_t>(j.as_number());
}

// Fills `dst` (room for DNNL_MAX_NDIMS) from an array of at most `max` integers in [lo, hi].
int read_dims(const krt::File& file, const Json& j, std::string_view key, int64_t* dst, int max,
              int64_t lo, int64_t hi) {
  const Json& a = krt_member(file, j, key, Json::Type::Array);
  if (a.size() > static_cast<size_t>(max))
    krt_bad_index(file, "'" + std::string(key) + "' too long");
  for (size_t i = 0; i < a.size(); ++i) dst[i] = integer(file, a[i], lo, hi);
  return static_cast<int>(a.size());
}

// A stored layout back as a oneDNN desc. Values are range-checked here; beyond that, a desc is
// only ever used after comparing equal to the desc a primitive asked for.
dnnl::memory::desc read_desc(const krt::File& file, const Json& j) {
  constexpr int64_t kMaxDim = int64_t{1} << 40;
  dnnl_memory_desc_t c{};
  c.data_type = dnnl_f32;
  c.format_kind = dnnl_blocked;
  c.ndims = static_cast<int>(
      integer(file, krt_member(file, j, "ndims", Json::Type::Number), 1, DNNL_MAX_NDIMS));
  dnnl_blocking_desc_t& b = c.format_desc.blocking;
  const auto n = c.ndims;
  if (read_dims(file, j, "dims", c.dims, n, 1, kMaxDim) != n ||
      read_dims(file, j, "padded_dims", c.padded_dims, n, 1, kMaxDim) != n ||
      read_dims(file, j, "padded_offsets", c.padded_offsets, n, 0, kMaxDim) != n ||
      read_dims(file, j, "strides", b.strides, n, 0, kMaxDim) != n) {
    krt_bad_index(file, "a pack layout with inconsistent ranks");
  }
  c.offset0 = integer(file, krt_member(file, j, "offset0", Json::Type::Number), 0, kMaxDim);
  b.inner_nblks =
      read_dims(file, j, "inner_blks", b.inner_blks, DNNL_MAX_NDIMS, 1, int64_t{1} << 16);
  if (read_dims(file, j, "inner_idxs", b.inner_idxs, DNNL_MAX_NDIMS, 0, n - 1) != b.inner_nblks) {
    krt_bad_index(file, "a pack layout with inconsistent blocks");
  }
  return dnnl::memory::desc(c);
}

}  // namespace

std::string write_krt_runtime(const ops::WeightPacks& packs, const std::vector<Shape>& plan_inputs,
                              krt::Writer& writer) {
  std::string out = "{\"isa\":";
  append_int(out, static_cast<int64_t>(dnnl_get_effective_cpu_isa()));
  out += ",\"plan_inputs\":[";
  for (size_t i = 0; i < plan_inputs.size(); ++i) {
    if (i) out += ',';
    append_dims(out, plan_inputs[i].data(), static_cast<int>(plan_inputs[i].size()));
  }
  out += "],\"packs\":[";
  writer.begin_section("packs");
  bool first = true;
  for (const std::shared_ptr<const ops::PackedWeight>& p : packs.all()) {
    if (p->data == nullptr || !storable(p->desc)) continue;
    std::span<const std::byte> bytes(static_cast<const std::byte*>(p->data), p->bytes());
    const uint64_t at = writer.append(bytes, 64);
    out += first ? "{\"key\":" : ",{\"key\":";
    first = false;
    append_json_string(out, p->key);
    out += ",\"offset\":";
    append_uint(out, at);
    out += ",\"bytes\":";
    append_uint(out, bytes.size());
    out += ",\"crc\":";
    append_uint(out, krt::crc32(bytes));
    out += ",\"desc\":";
    append_desc(out, p->desc);
    out += '}';
  }
  out += "]}";
  return out;
}

KrtRuntime read_krt_runtime(const std::shared_ptr<const krt::File>& file, const Json& index,
                            ops::WeightPacks& packs, bool verify_now) {
  const Json& r = krt_member(*file, index, "runtime", Json::Type::Object);
  KrtRuntime out;
  // "isa" (the writer's CPU) is informational: packs are matched by layout, not by CPU.
  integer(*file, krt_member(*file, r, "isa", Json::Type::Number), 0, INT32_MAX);
  for (const Json& shape : krt_member(*file, r, "plan_inputs", Json::Type::Array).items()) {
    if (!shape.is_array()) krt_bad_index(*file, "'plan_inputs' holds a non-array");
    Shape s;
    for (const Json& d : shape.items()) s.push_back(integer(*file, d, 0, int64_t{1} << 40));
    out.plan_inputs.push_back(std::move(s));
  }
  for (const Json& p : krt_member(*file, r, "packs", Json::Type::Array).items()) {
    auto pack = std::make_shared<ops::PackedWeight>();
    pack->key = krt_member(*file, p, "key", Json::Type::String).as_string();
    pack->desc = read_desc(*file, krt_member(*file, p, "desc", Json::Type::Object));
    const auto offset = static_cast<uint64_t>(
        integer(*file, krt_member(*file, p, "offset", Json::Type::Number), 0, int64_t{1} << 50));
    const auto bytes = static_cast<uint64_t>(
        integer(*file, krt_member(*file, p, "bytes", Json::Type::Number), 0, int64_t{1} << 50));
    const auto crc = static_cast<uint32_t>(
        integer(*file, krt_member(*file, p, "crc", Json::Type::Number), 0, UINT32_MAX));
    if (offset % 64 != 0 || bytes != pack->desc.get_size()) {
      krt_bad_index(*file, "pack '" + pack->key + "' does not match its layout");
    }
    std::span<const std::byte> data =
        file->range("packs", offset, bytes, "pack '" + pack->key + "'");
    pack->data = data.data();
    pack->owner = file;
    std::string what = "pack '" + pack->key + "'";
    auto verify = [file, data, crc, what]() { file->verify_crc(data, crc, what); };
    if (verify_now) {
      verify();
      packs.preload(std::move(pack), {});
    } else {
      packs.preload(std::move(pack), std::move(verify));
    }
  }
  return out;
}

}  // namespace kerasrt::runtime
