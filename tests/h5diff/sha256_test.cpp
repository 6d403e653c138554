// Known-answer tests for kerasrt::Sha256: FIPS 180-4 examples plus messages whose lengths sit on
// the padding boundaries (55/56 bytes fit or spill the length field; 64 is a whole block), with
// digests from Python's hashlib.
#include "base/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace kerasrt {
namespace {

std::vector<std::byte> pattern(size_t n) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 7 + 3) & 255);
  return v;
}

TEST(Sha256, FipsExamples) {
  Sha256 h;
  EXPECT_EQ(h.finish(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  h.update(std::string_view("abc"));
  EXPECT_EQ(h.finish(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  h.update(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
  EXPECT_EQ(h.finish(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  h.update(std::string_view(
      "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlm"
      "nopqrsmnopqrstnopqrstu"));
  EXPECT_EQ(h.finish(), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

TEST(Sha256, MillionAsInOddPieces) {
  Sha256 h;
  std::string piece(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    size_t n = std::min(left, piece.size());
    h.update(std::string_view(piece.data(), n));
    left -= n;
  }
  EXPECT_EQ(h.finish(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  const std::pair<size_t, const char*> cases[] = {
      {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
      {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
      {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
      {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
      {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
      {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
      {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
      {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
  };
  for (const auto& [n, hex] : cases) {
    EXPECT_EQ(sha256_hex(pattern(n)), hex) << "length " << n;
  }
}

// Every split of a message into two updates gives the one-shot digest (exercises the partial-block
// buffer on both sides of each block boundary).
TEST(Sha256, SplitsAgree) {
  auto msg = pattern(200);
  const std::string whole = sha256_hex(msg);
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    Sha256 h;
    h.update(std::span<const std::byte>(msg).first(cut));
    h.update(std::span<const std::byte>(msg).subspan(cut));
    ASSERT_EQ(h.finish(), whole) << "cut " << cut;
  }
}

}  // namespace
}  // namespace kerasrt
