// Hostile inputs: every truncation length and a byte flip at every offset of two small files (the
// default and the latest format). Each input must either be read or refused with kerasrt::Error;
// anything else (a crash, a sanitizer report, another exception type) fails. tools/test.sh runs
// these under ASan+UBSan too.
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

INSTANTIATE_TEST_SUITE_P(Files, HostileTest, ::testing::Values("small.h5", "small_latest.h5"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n.substr(0, n.find('.'));
                         });

}  // namespace
}  // namespace kerasrt::hdf5
