// Fuzz target krt: a .krt file through Model::load and, for small models, one predict call.
//
// Input: [u8 mode][body]. Every .krt checksum would stop almost every mutation at the first CRC
// check, so the target makes them right and lets the fuzzer reach what lies behind them (the
// index checks, the config, the builder, the packs); tests/runtime/test_krt.cpp covers the
// checksums themselves.
//   mode & 1 == 0  body is a whole .krt file (its magic forced). Its header checksum, its section
//   table checksum and
//                  the checksum of every section the table places inside the file are made right
//                  (where the header and table are in range), then it is loaded as it is.
//   mode & 1 == 1  body is a list of sections, [u8 name length][name][u32 LE size][bytes] each,
//                  written as a .krt by krt::Writer (layout and checksums right by construction);
//                  compact, so mutations land in the contents and not in alignment padding.
//   mode & 2       LoadOptions::prepare = Eager.
//   mode & 4       LoadOptions::verify_checksums.
// The loader maps a path, so the input is written to a file first (/dev/shm when it exists).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz_entries.h"
#include "kerasrt/model.h"
#include "krt/krt_file.h"

namespace {

using kerasrt::Array;
using kerasrt::Error;
using kerasrt::Model;

std::string scratch_path() {
  const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(dir) + "/kerasrt_fuzz_krt_" + std::to_string(::getpid()) + ".krt";
}

uint64_t get(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t crc(const uint8_t* p, size_t n) {
  return kerasrt::krt::crc32(std::as_bytes(std::span(p, n)));
}

// The layout of krt_file.h: 64-byte header, 48-byte table entries.
void fix_checksums(std::vector<uint8_t>& f) {
  if (f.size() < 64) return;
  const uint64_t count = get(f.data() + 12, 4);
  const uint64_t table = get(f.data() + 16, 8);
  if (count <= 64 && table >= 64 && table <= f.size() && (f.size() - table) / 48 >= count) {
    for (uint64_t i = 0; i < count; ++i) {
      uint8_t* e = f.data() + table + i * 48;
      const uint64_t offset = get(e + 24, 8);
      const uint64_t size = get(e + 32, 8);
      if (offset <= f.size() && size <= f.size() - offset)
        put32(e + 40, crc(f.data() + offset, size));
    }
    put32(f.data() + 24, crc(f.data() + table, count * 48));
  }
  put32(f.data() + 60, crc(f.data(), 60));
}

bool write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return false;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return std::fclose(f) == 0 && ok;
}

// Writes the section list in `body`; false when it does not parse as one.
bool write_sections(const std::string& path, const uint8_t* body, size_t size) {
  kerasrt::krt::Writer w(path);
  size_t at = 0;
  int sections = 0;
  while (at < size) {
    const size_t name_len = body[at++];
    if (name_len >= 24 || size - at < name_len + 4 || ++sections > 16) return false;
    w.begin_section(std::string(reinterpret_cast<const char*>(body + at), name_len));
    at += name_len;
    const uint64_t n = get(body + at, 4);
    at += 4;
    if (n > size - at) return false;
    w.append(std::as_bytes(std::span(body + at, n)));
    at += n;
  }
  w.finish();
  return true;
}

// Unknown dims (-1) are given this size: batch 1, the others kUnknownDim.
constexpr int64_t kUnknownDim = 4;

int64_t concrete(const std::vector<int64_t>& shape, size_t d) {
  return shape[d] >= 0 ? shape[d] : d == 0 ? 1 : kUnknownDim;
}

// Predicting is worth its time only for small models: a valid config may ask for any amount of
// work (a huge Dense, an UpSampling by 10^6), which is not a finding. (Layer output shapes with
// unknown dims are estimated with kUnknownDim too.)
bool small_enough(const Model& m) {
  constexpr int64_t kMaxElements = int64_t{1} << 18;
  if (m.params() > (int64_t{1} << 20)) return false;
  auto small = [](const std::vector<int64_t>& shape) {
    int64_t n = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      const int64_t v = concrete(shape, d);
      if (v > 0 && n > kMaxElements / v) return false;
      n *= v;
    }
    return true;
  };
  for (const auto& in : m.inputs()) {
    if (!small(in.shape)) return false;
  }
  for (const auto& layer : m.layers()) {
    for (const auto& shape : layer.output_shapes) {
      if (!small(shape)) return false;
    }
  }
  return true;
}

void load_and_predict(const std::string& path, uint8_t mode) {
  kerasrt::LoadOptions options;
  options.num_threads = 1;
  if (mode & 2) options.prepare = kerasrt::LoadOptions::Prepare::Eager;
  options.verify_checksums = (mode & 4) != 0;
  Model m = Model::load(path, options);
  if (!small_enough(m)) return;
  std::vector<Array> inputs;
  for (const auto& in : m.inputs()) {
    Array a;
    for (size_t d = 0; d < in.shape.size(); ++d) a.shape.push_back(concrete(in.shape, d));
    // Empty inputs included: finding krt-1 (fuzz/regressions/krt/ubsan-memcpy-null-empty-input)
    // was predict's memcpy from their null data.
    a.data.assign(static_cast<size_t>(a.size()), 0.5f);
    inputs.push_back(std::move(a));
  }
  m.predict(inputs);
}

}  // namespace

int kerasrt_fuzz_krt(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  static const std::string path = scratch_path();
  try {
    if (mode & 1) {
      if (!write_sections(path, data + 1, size - 1)) return 0;
    } else {
      std::vector<uint8_t> file(data + 1, data + size);
      // Always a .krt: other formats are the other targets' business.
      if (file.size() >= 8) std::memcpy(file.data(), "KERASRT", 8);
      fix_checksums(file);
      if (!write_file(path, file)) return 0;
    }
    load_and_predict(path, mode);
  } catch (const Error&) {
  }
  ::unlink(path.c_str());
  return 0;
}
