// Hostile inputs: every truncation length and a byte flip at every offset of two small files (the
// default and the latest format). Each input must either be read or refused with kerasrt::Error;
// anything else (a crash, a sanitizer report, another exception type) fails. tools/test.sh runs
// these under ASan+UBSan too.
#include <cstring>
#include <random>

#include "test_util.h"

namespace kerasrt::hdf5 {
namespace {

class HostileTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    KERASRT_REQUIRE_FILES();
    bytes_ = test::read_bytes(test::test_file(GetParam()));
    ASSERT_GT(bytes_.size(), 1000u);
  }
  std::vector<std::byte> bytes_;
};

TEST_P(HostileTest, IntactFileWalks) {
  test::Walker w;
  ASSERT_TRUE(w.walk_bytes(bytes_));
  EXPECT_GT(w.items, 20u);
}

TEST_P(HostileTest, Truncations) {
  // Every length up to 4 KB (superblock, root header, first B-tree and heap), then a stride.
  for (size_t n = 0; n < bytes_.size(); n += n < 4096 ? 1 : 7) {
    std::vector<std::byte> cut(bytes_.begin(), bytes_.begin() + static_cast<std::ptrdiff_t>(n));
    test::Walker w;
    EXPECT_FALSE(w.walk_bytes(cut)) << "truncated to " << n << " bytes but accepted";
  }
}

TEST_P(HostileTest, ByteFlipsAtEveryOffset) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> value(1, 255);
  std::vector<std::byte> copy = bytes_;
  for (size_t i = 0; i < copy.size(); ++i) {
    std::byte old = copy[i];
    copy[i] ^= static_cast<std::byte>(value(rng));
    test::Walker w;
    w.walk_bytes(copy);  // read or refused: both fine
    copy[i] = old;
  }
}

TEST_P(HostileTest, RandomMultiByteDamage) {
  std::mt19937 rng(777);
  std::uniform_int_distribution<size_t> pos(0, bytes_.size() - 1);
  std::uniform_int_distribution<int> value(0, 255);
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::byte> copy = bytes_;
    int n = 1 + round % 8;
    for (int k = 0; k < n; ++k) copy[pos(rng)] = static_cast<std::byte>(value(rng));
    test::Walker w;
    w.walk_bytes(copy);
  }
}

// Damaged keys of a v1 B-tree chunk index (h5diff finding [4]). libhdf5 finds each chunk by a
// binary search on the keys (H5B_find, H5D__btree_cmp3, H5D__btree_found), so a damaged key makes
// chunks absent (fill value) rather than moving them; a key offset that is not a multiple of the
// chunk dimension fails (H5D__btree_decode_key). Expected values were checked against h5py.
class ChunkKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    KERASRT_REQUIRE_FILES();
    bytes_ = test::read_bytes(test::test_file("default.h5"));
    // The leaf of /data/chunked ((5, 6) int32, chunks (2, 4)): "TREE", type 1, level 0, 6
    // entries, first key for 2 * 4 * 4 = 32 bytes.
    for (size_t i = 0; i + 64 < bytes_.size(); ++i) {
      if (std::memcmp(bytes_.data() + i, "TREE", 4) == 0 && bytes_[i + 4] == std::byte{1} &&
          bytes_[i + 5] == std::byte{0} && bytes_[i + 6] == std::byte{6} &&
          bytes_[i + 7] == std::byte{0} && bytes_[i + 24] == std::byte{32}) {
        leaf_ = i;
      }
    }
    ASSERT_NE(leaf_, 0u);
  }
  // Sets offset `dim` (2 = the element-size dimension) of key `key` of the leaf.
  void set_offset(size_t key, size_t dim, uint64_t value) {
    const size_t at = leaf_ + 24 + key * 40 + 8 + 8 * dim;
    for (size_t k = 0; k < 8; ++k) bytes_[at + k] = static_cast<std::byte>(value >> (8 * k));
  }
  std::vector<float> read() const {
    File f = File::from_bytes(bytes_, nullptr, "damaged.h5");
    return f.root().open_group("data").open_dataset("chunked").read_float32();
  }
  // iota(30) over (5, 6) with the chunk at rows [r, r + 2), columns [c, c + 4) read as zero.
  static std::vector<float> without_chunk(size_t r, size_t c) {
    std::vector<float> v(30);
    for (size_t i = 0; i < 30; ++i) {
      const size_t row = i / 6, col = i % 6;
      const bool absent = row >= r && row < r + 2 && col >= c && col < c + 4;
      v[i] = absent ? 0.0f : static_cast<float>(i);
    }
    return v;
  }
  std::vector<std::byte> bytes_;
  size_t leaf_ = 0;
};

TEST_F(ChunkKeyTest, IntactKeysReadEverything) {
  std::vector<float> all(30);
  for (size_t i = 0; i < 30; ++i) all[i] = static_cast<float>(i);
  EXPECT_EQ(read(), all);
}

TEST_F(ChunkKeyTest, NonZeroTrailingOffsetMakesTheChunkAbsent) {
  set_offset(1, 2, 4);  // chunk (0, 4): element-size offset 0 -> 4 (one element)
  EXPECT_EQ(read(), without_chunk(0, 4));
}

TEST_F(ChunkKeyTest, OffsetOutsideTheDataspaceMakesTheChunkAbsent) {
  set_offset(2, 0, 40);  // chunk (2, 0): row offset 2 -> 40
  EXPECT_EQ(read(), without_chunk(2, 0));
}

TEST_F(ChunkKeyTest, OffsetOffTheChunkGridIsRefused) {
  set_offset(2, 0, 3);
  EXPECT_THROW(read(), kerasrt::Error);
  set_offset(2, 0, 2);
  set_offset(3, 2, 3);  // trailing offset not a multiple of the element size
  EXPECT_THROW(read(), kerasrt::Error);
}

// h5diff finding [7]: the name size of an attribute message counts the terminator, and libhdf5
// copies name_size - 1 bytes (H5O__attr_decode), so a damaged terminator leaves the name as is.
TEST(AttributeName, DamagedTerminatorKeepsTheName) {
  KERASRT_REQUIRE_FILES();
  auto bytes = test::read_bytes(test::test_file("default.h5"));
  // v1 attribute message: version 1, reserved, name size 14, then "keras_version\0".
  const char name[] = "keras_version";
  size_t at = 0;
  for (size_t i = 8; i + sizeof(name) < bytes.size(); ++i) {
    if (std::memcmp(bytes.data() + i, name, sizeof(name)) == 0 && bytes[i - 8] == std::byte{1} &&
        bytes[i - 6] == std::byte{14}) {
      at = i;
      break;
    }
  }
  ASSERT_NE(at, 0u);
  bytes[at + 13] = std::byte{0xd3};
  File f = File::from_bytes(bytes, nullptr, "damaged.h5");
  auto a = f.root().attribute("keras_version");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->read_string(), "2.15.0");
}

INSTANTIATE_TEST_SUITE_P(Files, HostileTest, ::testing::Values("small.h5", "small_latest.h5"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

}  // namespace
}  // namespace kerasrt::hdf5
