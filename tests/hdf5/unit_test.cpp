// Unit tests of single pieces: lookup3, superblock search, error messages, and hand-made
// corruptions of structures the random tests rarely hit exactly (checksums, continuation loops,
// sizes that disagree with the dataspace).
#include <cstring>

#include "hdf5/internal.h"
#include "test_util.h"

namespace kerasrt::hdf5 {
namespace {

uint32_t hash(std::string_view s, uint32_t init = 0) {
  return lookup3(std::as_bytes(std::span(s.data(), s.size())), init);
}

TEST(Lookup3, KnownAnswers) {
  // From the driver in Bob Jenkins' lookup3.c.
  EXPECT_EQ(hash(""), 0xdeadbeefu);
  EXPECT_EQ(hash("", 0xdeadbeef), 0xbd5b7ddeu);
  EXPECT_EQ(hash("Four score and seven years ago"), 0x17770551u);
  EXPECT_EQ(hash("Four score and seven years ago", 1), 0xcd628161u);
}

ErrorCode code_of(const std::function<void()>& f, std::string* what = nullptr) {
  try {
    f();
  } catch (const kerasrt::Error& e) {
    if (what) *what = e.what();
    return e.code();
  }
  ADD_FAILURE() << "no kerasrt::Error thrown";
  return ErrorCode::Internal;
}

TEST(File, RefusesNonHdf5) {
  std::vector<std::byte> empty;
  EXPECT_EQ(code_of([&] { File::from_bytes(empty, nullptr, "e"); }), ErrorCode::InvalidFile);
  std::vector<std::byte> junk(4096, std::byte{0x41});
  std::string what;
  EXPECT_EQ(code_of([&] { File::from_bytes(junk, nullptr, "junk.h5"); }, &what),
            ErrorCode::InvalidFile);
  EXPECT_NE(what.find("junk.h5"), std::string::npos);
  EXPECT_EQ(code_of([] { File::open("/nonexistent/x.h5"); }), ErrorCode::Io);
}

// Byte offsets of the root object header of a superblock-0 file and of its first message.
uint64_t root_header(const std::vector<std::byte>& b) {
  uint64_t a = 0;
  std::memcpy(&a, b.data() + 64, 8);  // root symbol table entry: object header address
  return a;
}

TEST(Corruption, ContinuationLoopIsDetected) {
  KERASRT_REQUIRE_FILES();
  auto b = test::read_bytes(test::test_file("small.h5"));
  uint64_t oh = root_header(b);
  ASSERT_EQ(static_cast<uint8_t>(b[oh]), 1u);  // v1 object header
  uint32_t size;
  std::memcpy(&size, b.data() + oh + 8, 4);
  // Point the first continuation message back at the first chunk.
  bool patched = false;
  for (uint64_t p = oh + 16; p + 8 <= oh + 16 + size;) {
    uint16_t type, msize;
    std::memcpy(&type, b.data() + p, 2);
    std::memcpy(&msize, b.data() + p + 2, 2);
    if (type == 0x10) {
      uint64_t addr = oh + 16, len = size;
      std::memcpy(b.data() + p + 8, &addr, 8);
      std::memcpy(b.data() + p + 16, &len, 8);
      patched = true;
      break;
    }
    p += 8 + msize;
  }
  ASSERT_TRUE(patched) << "small.h5's root header has no continuation message";
  File f = File::from_bytes(b, nullptr, "loop.h5");
  std::string what;
  EXPECT_EQ(code_of([&] { f.root(); }, &what), ErrorCode::InvalidFile);
  EXPECT_NE(what.find("loops"), std::string::npos) << what;
  EXPECT_EQ(what.rfind("loop.h5: /: at byte ", 0), 0u) << what;
}

TEST(Corruption, ChecksumMismatch) {
  KERASRT_REQUIRE_FILES();
  auto b = test::read_bytes(test::test_file("small_latest.h5"));
  // Superblock v3: checksum over the first 44 bytes. Flip a byte of the EOF address's padding
  // field... simplest: flip the stored checksum itself.
  b[44] ^= std::byte{1};
  std::string what;
  EXPECT_EQ(code_of([&] { File::from_bytes(b, nullptr, "x"); }, &what), ErrorCode::InvalidFile);
  EXPECT_NE(what.find("checksum"), std::string::npos) << what;
  b[44] ^= std::byte{1};
  // The root object header (OHDR) checksum.
  uint64_t root = 0;
  std::memcpy(&root, b.data() + 36, 8);
  ASSERT_EQ(std::memcmp(b.data() + root, "OHDR", 4), 0);
  b[root + 6] ^= std::byte{0x5a};
  File f = File::from_bytes(b, nullptr, "x");
  EXPECT_EQ(code_of([&] { f.root(); }, &what), ErrorCode::InvalidFile);
}

TEST(Corruption, TruncatedFileSaysSo) {
  KERASRT_REQUIRE_FILES();
  auto b = test::read_bytes(test::test_file("small.h5"));
  b.resize(b.size() - 100);
  std::string what;
  EXPECT_EQ(code_of([&] { File::from_bytes(b, nullptr, "t.h5"); }, &what), ErrorCode::InvalidFile);
  EXPECT_NE(what.find("truncated"), std::string::npos) << what;
}

TEST(Corruption, DatasetSizeMustMatchDataspace) {
  KERASRT_REQUIRE_FILES();
  auto b = test::read_bytes(test::test_file("small.h5"));
  File good = File::from_bytes(b, nullptr, "s.h5");
  Dataset k = good.root().open_dataset("model_weights/dense_0/dense_0/kernel:0");
  auto view = *k.contiguous_bytes();
  uint64_t data_at = static_cast<uint64_t>(view.data() - good.bytes().data());
  // Find the layout message (v3 contiguous: 03 01 address size) that points at the data.
  bool patched = false;
  for (size_t p = 0; p + 18 <= b.size(); ++p) {
    uint64_t addr;
    std::memcpy(&addr, b.data() + p + 2, 8);
    if (b[p] == std::byte{3} && b[p + 1] == std::byte{1} && addr == data_at) {
      uint64_t huge = 1ull << 40;
      std::memcpy(b.data() + p + 10, &huge, 8);
      patched = true;
      break;
    }
  }
  ASSERT_TRUE(patched);
  File bad = File::from_bytes(b, nullptr, "s.h5");
  std::string what;
  EXPECT_EQ(code_of([&] { bad.root().open("model_weights/dense_0/dense_0/kernel:0"); }, &what),
            ErrorCode::InvalidFile);
  EXPECT_NE(what.find("/model_weights/dense_0/dense_0/kernel:0"), std::string::npos) << what;
}

TEST(Options, MaxDepthLimitsNesting) {
  KERASRT_REQUIRE_FILES();
  OpenOptions o;
  o.max_depth = 2;
  File f = File::open(test::test_file("small.h5"), o);
  EXPECT_NO_THROW(f.root().open("model_weights/dense_0"));
  EXPECT_THROW(f.root().open("model_weights/dense_0/dense_0"), kerasrt::Error);
}

TEST(File, FromBytesKeepsOwnerAlive) {
  KERASRT_REQUIRE_FILES();
  auto owner =
      std::make_shared<std::vector<std::byte>>(test::read_bytes(test::test_file("small.h5")));
  Dataset d = [&] {
    File f = File::from_bytes(*owner, owner, "m");
    return f.root().open_dataset("model_weights/dense_1/dense_1/kernel:0");
  }();
  owner.reset();
  EXPECT_EQ(d.read_float32(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

}  // namespace
}  // namespace kerasrt::hdf5
