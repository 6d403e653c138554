// Stateful RNNs carry their states from one predict call to the next, and reset_states() clears
// them: three calls on the same input must give TensorFlow's three outputs (the second differs
// from the first; the third, after a reset, equals the first). Fixtures:
// tools/fixtures/gen_stateful.py.
#include <gtest/gtest.h>

#include <cmath>

#include "base/npy.h"
#include "kerasrt/model.h"

namespace kerasrt {
namespace {

std::string dir() {
  return std::string(KERASRT_FIXTURES_DIR) + "/../stateful";
}

void expect_tf(const Array& got, const std::string& file) {
  NpyArray want = read_npy(dir() + "/" + file);
  ASSERT_EQ(got.shape, want.shape) << file;
  for (size_t i = 0; i < want.data.size(); ++i) {
    EXPECT_LE(std::fabs(got.data[i] - want.data[i]), 1e-4 * std::max(1.f, std::fabs(want.data[i])))
        << file << " element " << i;
  }
}

class Stateful : public testing::TestWithParam<std::string> {};

TEST_P(Stateful, CarriesStatesAcrossCallsUntilReset) {
  const std::string writer = GetParam();
  Model model = Model::load(dir() + "/" + writer + ".h5");
  NpyArray in = read_npy(dir() + "/in.npy");
  std::vector<Array> x{Array(in.shape, in.data)};
  expect_tf(model.predict(x)[0], "out_" + writer + "_1.npy");
  expect_tf(model.predict(x)[0], "out_" + writer + "_2.npy");
  model.reset_states();
  expect_tf(model.predict(x)[0], "out_" + writer + "_3.npy");
}

INSTANTIATE_TEST_SUITE_P(Writers, Stateful, testing::Values("k3", "k2"));

}  // namespace
}  // namespace kerasrt
