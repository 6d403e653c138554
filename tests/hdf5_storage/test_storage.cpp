// Tests of the HDF5 reader's storage machinery (btree2.cpp, fractal_heap.cpp, chunked.cpp,
// filters.cpp): files written by h5py (gen_storage_files.py) are read through the public API and
// compared byte for byte with what numpy wrote; hostile variants must throw kerasrt::Error and
// never crash; the filters are also exercised directly with hand-made inputs (deflate bombs,
// corrupt checksums, unknown filters).
#include <gtest/gtest.h>
#include <libdeflate.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hdf5/hdf5.h"
#include "hdf5/internal.h"
#include "kerasrt/error.h"

namespace fs = std::filesystem;
using kerasrt::Error;
using kerasrt::ErrorCode;
namespace h5 = kerasrt::hdf5;

namespace {

const fs::path kDir = KERASRT_STORAGE_DIR;

std::vector<std::byte> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> c((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(c.size());
  std::memcpy(out.data(), c.data(), c.size());
  return out;
}

struct ManifestEntry {
  std::string file, dataset, dtype, shape;
};

std::vector<ManifestEntry> manifest() {
  std::vector<ManifestEntry> out;
  std::ifstream in(kDir / "manifest.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream s(line);
    ManifestEntry e;
    std::getline(s, e.file, '\t');
    std::getline(s, e.dataset, '\t');
    std::getline(s, e.dtype, '\t');
    std::getline(s, e.shape, '\t');
    out.push_back(e);
  }
  return out;
}

std::string bin_name(std::string dataset) {
  dataset.erase(0, 1);
  std::string out;
  for (char c : dataset) {
    if (c == '/')
      out += "__";
    else
      out += c;
  }
  return out + ".bin";
}

// ---------------------------------------------------------------------------------------------
// Chunked datasets: every index type and filter, compared with numpy's bytes.

TEST(HDF5Storage, EveryDatasetMatchesNumpy) {
  auto entries = manifest();
  ASSERT_GE(entries.size(), 30u) << "generator did not run? " << kDir;
  for (const auto& e : entries) {
    SCOPED_TRACE(e.file + ":" + e.dataset);
    auto file = h5::File::open((kDir / e.file).string());
    auto ds = file.root().open_dataset(e.dataset.substr(1));
    auto expected = read_bytes(kDir / fs::path(e.file).stem() / bin_name(e.dataset));
    ASSERT_EQ(ds.stored_bytes(), expected.size());
    auto got = ds.read_raw();
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_TRUE(got == expected) << "decoded bytes differ from numpy's";
  }
}

TEST(HDF5Storage, ChunkedLayoutsAreReportedAsChunked) {
  auto file = h5::File::open((kDir / "chunked_latest.h5").string());
  for (const char* name : {"single", "fixed", "earray", "btree2", "implicit", "fixed_gzip"}) {
    SCOPED_TRACE(name);
    auto ds = file.root().open_dataset(name);
    EXPECT_EQ(ds.layout(), h5::LayoutClass::Chunked);
    EXPECT_FALSE(ds.contiguous_bytes().has_value());
  }
  EXPECT_TRUE(file.root().open_dataset("fixed_all").filtered());
  EXPECT_FALSE(file.root().open_dataset("fixed").filtered());
}

TEST(HDF5Storage, MissingChunksReadAsZero) {
  auto file = h5::File::open((kDir / "chunked_latest.h5").string());
  for (const char* name : {"missing_fixed", "missing_earray", "missing_btree2", "missing_gzip"}) {
    SCOPED_TRACE(name);
    auto v = file.root().open_dataset(name).read_float32();
    ASSERT_EQ(v.size(), 144u);
    EXPECT_EQ(v[0 * 12 + 0], 0.0f);
    EXPECT_EQ(v[0 * 12 + 5], 1.5f);
    EXPECT_EQ(v[6 * 12 + 6], 0.0f);
    EXPECT_EQ(v[11 * 12 + 11], 0.0f);
  }
  auto never = file.root().open_dataset("never_written").read_raw();
  EXPECT_TRUE(
      std::all_of(never.begin(), never.end(), [](std::byte b) { return b == std::byte{0}; }));
}

// ---------------------------------------------------------------------------------------------
// Dense links and attributes (fractal heap + v2 B-trees types 1, 5, 8).

TEST(HDF5Storage, DenseLinks) {
  auto file = h5::File::open((kDir / "dense.h5").string());
  auto g9 = file.root().open_group("g9");
  auto names9 = g9.child_names();
  ASSERT_EQ(names9.size(), 9u);
  for (int i = 0; i < 9; ++i) EXPECT_EQ(names9[i], "child_" + std::to_string(i));
  auto big = file.root().open_group("g3000");
  auto names = big.child_names();
  ASSERT_EQ(names.size(), 3000u);
  for (int i = 0; i < 3000; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "c%05d", i);
    ASSERT_EQ(names[i], buf);
  }
  EXPECT_TRUE(big.contains("c01234"));
  EXPECT_FALSE(big.contains("c03000"));
  EXPECT_EQ(big.open("c02999").kind(), h5::ObjectKind::Group);
  EXPECT_FALSE(big.try_open("nope").has_value());
}

TEST(HDF5Storage, DenseAndHugeAttributes) {
  auto file = h5::File::open((kDir / "dense.h5").string());
  auto g = file.root().open_group("attrs");
  auto attrs = g.attributes();
  ASSERT_EQ(attrs.size(), 22u);
  for (int i = 0; i < 20; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "attr_%02d", i);
    auto a = g.attribute(name);
    ASSERT_TRUE(a.has_value()) << name;
    EXPECT_EQ(a->read_ints(), std::vector<int64_t>{i * 1000 + 7});
  }
  auto big = g.attribute("big");
  ASSERT_TRUE(big.has_value());
  auto v = big->read_doubles();
  ASSERT_EQ(v.size(), 20000u);
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], double(i) * 0.5) << i;
  EXPECT_EQ(g.attribute("text")->read_string(), "dense attribute string");

  auto g3000 = file.root().open_group("g3000");
  auto big2 = g3000.attribute("big_too");
  ASSERT_TRUE(big2.has_value());
  auto w = big2->read_ints();
  ASSERT_EQ(w.size(), 30000u);
  for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(w[i], int64_t(i)) << i;
  EXPECT_EQ(g3000.attribute("a7")->read_doubles(), std::vector<double>{7.25});
}

// ---------------------------------------------------------------------------------------------
// Hostile files: flipped bytes in the storage structures and truncations.

void walk(const h5::Group& g, int depth) {
  if (depth > 8) return;
  for (const auto& a : g.attributes()) {
    (void)a.raw();
    if (a.dtype().cls == h5::TypeClass::String)
      (void)a.read_strings();
    else if (a.dtype().cls == h5::TypeClass::Integer || a.dtype().cls == h5::TypeClass::Float)
      (void)a.read_doubles();
  }
  for (const auto& link : g.links()) {
    if (link.kind != h5::LinkKind::Hard) continue;
    auto obj = g.open(link.name);
    if (obj.kind() == h5::ObjectKind::Group) {
      walk(g.open_group(link.name), depth + 1);
    } else if (obj.kind() == h5::ObjectKind::Dataset) {
      auto ds = g.open_dataset(link.name);
      for (const auto& a : ds.attributes()) (void)a.raw();
      if (ds.stored_bytes() < (64u << 20)) (void)ds.read_raw();
    }
  }
}

TEST(HDF5Storage, HostileFilesThrowErrorNeverCrash) {
  size_t files = 0, errors = 0;
  for (const auto& entry : fs::directory_iterator(kDir / "hostile")) {
    ++files;
    SCOPED_TRACE(entry.path().filename().string());
    auto t0 = std::chrono::steady_clock::now();
    try {
      auto file = h5::File::open(entry.path().string());
      walk(file.root(), 0);
    } catch (const Error&) {
      ++errors;
    }
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    // A mutant must not make the reader spin: the valid files take a few milliseconds.
    EXPECT_LT(ms, 2000) << entry.path().filename().string() << " took " << ms << " ms";
  }
  EXPECT_GE(files, 300u);
  EXPECT_GT(errors, files / 4) << "most mutants should be detected";
}

// ---------------------------------------------------------------------------------------------
// Filters, called directly.

struct FakeFile {
  h5::FileImpl impl;
  FakeFile() { impl.name = "filters-test"; }
};

std::vector<std::byte> zlib_compress(const std::vector<std::byte>& in) {
  auto* c = libdeflate_alloc_compressor(6);
  std::vector<std::byte> out(libdeflate_zlib_compress_bound(c, in.size()));
  size_t n = libdeflate_zlib_compress(c, in.data(), in.size(), out.data(), out.size());
  libdeflate_free_compressor(c);
  out.resize(n);
  return out;
}

h5::FilterInfo filter(uint16_t id, std::vector<uint32_t> cd = {}) {
  h5::FilterInfo f;
  f.id = id;
  f.client_data = std::move(cd);
  return f;
}

TEST(HDF5StorageFilters, DeflateBombStopsAtChunkSize) {
  FakeFile f;
  std::vector<std::byte> zeros(10 << 20);
  auto z = zlib_compress(zeros);
  std::vector<std::byte> out;
  try {
    h5::apply_filters_reverse(f.impl, {filter(1)}, 0, z, 4096, 4, out, 123, "/bomb");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidFile);
    EXPECT_NE(std::string(e.what()).find("4096"), std::string::npos) << e.what();
  }
  EXPECT_LE(out.capacity(), 4096u * 2);
}

TEST(HDF5StorageFilters, DeflateShortOutputAndGarbage) {
  FakeFile f;
  std::vector<std::byte> data(100, std::byte{7});
  auto z = zlib_compress(data);
  std::vector<std::byte> out;
  EXPECT_THROW(h5::apply_filters_reverse(f.impl, {filter(1)}, 0, z, 101, 1, out, 0, "/x"), Error);
  h5::apply_filters_reverse(f.impl, {filter(1)}, 0, z, 100, 1, out, 0, "/x");
  EXPECT_EQ(out, data);
  z[z.size() / 2] ^= std::byte{0x55};
  z[2] ^= std::byte{0xff};
  EXPECT_THROW(h5::apply_filters_reverse(f.impl, {filter(1)}, 0, z, 100, 1, out, 0, "/x"), Error);
}

TEST(HDF5StorageFilters, ShuffleFletcherAndMask) {
  FakeFile f;
  // 5 elements of 4 bytes + 2 leftover bytes, shuffled by byte plane.
  std::vector<std::byte> plain(22);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = std::byte(i * 7 + 1);
  std::vector<std::byte> shuffled(plain.size());
  for (size_t b = 0; b < 4; ++b)
    for (size_t e = 0; e < 5; ++e) shuffled[b * 5 + e] = plain[e * 4 + b];
  shuffled[20] = plain[20];
  shuffled[21] = plain[21];
  std::vector<std::byte> out;
  h5::apply_filters_reverse(f.impl, {filter(2, {4})}, 0, shuffled, 22, 4, out, 0, "/s");
  EXPECT_EQ(out, plain);
  // Mask bit 0 set: the shuffle was skipped for this chunk.
  h5::apply_filters_reverse(f.impl, {filter(2, {4})}, 1, plain, 22, 4, out, 0, "/s");
  EXPECT_EQ(out, plain);

  // Fletcher32 of "abcde" per H5_checksum_fletcher32, appended little-endian.
  std::vector<std::byte> with_sum;
  for (char c : std::string("abcde")) with_sum.push_back(std::byte(c));
  // words: 0x6162, 0x6364, odd 0x6500
  uint32_t s1 = 0x6162, s2 = 0x6162;
  s1 += 0x6364;
  s2 += s1;
  s1 = (s1 & 0xffff) + (s1 >> 16);
  s2 = (s2 & 0xffff) + (s2 >> 16);
  s1 += 0x6500;
  s2 += s1;
  s1 = (s1 & 0xffff) + (s1 >> 16);
  s2 = (s2 & 0xffff) + (s2 >> 16);
  s1 = (s1 & 0xffff) + (s1 >> 16);
  s2 = (s2 & 0xffff) + (s2 >> 16);
  uint32_t sum = (s2 << 16) | s1;
  for (int i = 0; i < 4; ++i) with_sum.push_back(std::byte((sum >> (8 * i)) & 0xff));
  h5::apply_filters_reverse(f.impl, {filter(3)}, 0, with_sum, 5, 1, out, 0, "/f");
  EXPECT_EQ(out.size(), 5u);
  with_sum[1] ^= std::byte{1};
  EXPECT_THROW(h5::apply_filters_reverse(f.impl, {filter(3)}, 0, with_sum, 5, 1, out, 0, "/f"),
               Error);
}

TEST(HDF5StorageFilters, UnknownFilterIsUnsupportedAndNamed) {
  FakeFile f;
  std::vector<std::byte> data(16);
  std::vector<std::byte> out;
  try {
    h5::apply_filters_reverse(f.impl, {filter(32015)}, 0, data, 16, 4, out, 0, "/z");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
    EXPECT_NE(std::string(e.what()).find("32015"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("zstd"), std::string::npos) << e.what();
  }
  // Skipped by the mask: not applied, no error.
  h5::apply_filters_reverse(f.impl, {filter(32015)}, 1, data, 16, 4, out, 0, "/z");
  EXPECT_EQ(out, data);
}

TEST(HDF5StorageFilters, LzfCorruptStreams) {
  FakeFile f;
  std::vector<std::byte> out;
  // A back reference before any output, and a literal run longer than the input.
  std::vector<std::byte> backref = {std::byte{0x20}, std::byte{0x05}};
  EXPECT_THROW(h5::apply_filters_reverse(f.impl, {filter(32000)}, 0, backref, 3, 1, out, 0, "/l"),
               Error);
  std::vector<std::byte> literal = {std::byte{0x1f}, std::byte{'a'}};
  EXPECT_THROW(h5::apply_filters_reverse(f.impl, {filter(32000)}, 0, literal, 32, 1, out, 0, "/l"),
               Error);
  // Valid: literal "ab" then a back reference of length 3 at distance 2 -> "ababa".
  std::vector<std::byte> ok = {std::byte{0x01}, std::byte{'a'}, std::byte{'b'}, std::byte{0x20},
                               std::byte{0x01}};
  h5::apply_filters_reverse(f.impl, {filter(32000)}, 0, ok, 5, 1, out, 0, "/l");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(out.data()), out.size()), "ababa");
}

}  // namespace
