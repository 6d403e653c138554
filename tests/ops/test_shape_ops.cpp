// Shape ops (Reshape/Flatten, Transpose/Permute, RepeatVector) and the core binders that move
// data (Flatten incl. channels_first, Reshape, Permute, RepeatVector, Rescaling, identities).
#include <gtest/gtest.h>

#include "core_test_util.h"
#include "ops/elementwise.h"
#include "ops/shape_ops.h"

namespace kerasrt::ops {
namespace {

using kerasrt::testing::bind_layer;
using kerasrt::testing::near;
using kerasrt::testing::random_values;
using kerasrt::testing::run_graph;
using kerasrt::testing::run_op;
using kerasrt::testing::str;

TEST(Reshape, ShapesAndCopy) {
  ReshapeOp op({-1, 4});
  std::vector<Shape> in = {{2, 3, 8}};
  EXPECT_EQ(op.infer_shapes(in)[0], (Shape{2, 6, 4}));
  std::vector<Shape> unknown = {{-1, -1, 8}};
  EXPECT_EQ(op.infer_shapes(unknown)[0], (Shape{-1, -1, 4}));
  std::vector<Shape> batch_unknown = {{-1, 3, 8}};
  EXPECT_EQ(op.infer_shapes(batch_unknown)[0], (Shape{-1, 6, 4}));
  std::vector<Shape> bad = {{2, 3, 5}};
  EXPECT_THROW(op.infer_shapes(bad), Error);
  EXPECT_THROW(ReshapeOp({-1, -1}), Error);
  std::vector<Shape> fixed_bad = {{2, 3, 5}};
  EXPECT_THROW(ReshapeOp({4, 4}).infer_shapes(fixed_bad), Error);

  std::vector<float> x = random_values(48, 1);
  EXPECT_TRUE(near(run_op(op, {{2, 3, 8}}, {x})[0], x));
  // Flatten of a rank-2 and a rank-1 input.
  ReshapeOp flat({-1}, "Flatten");
  std::vector<Shape> r2 = {{-1, 7}}, r1 = {{-1}};
  EXPECT_EQ(flat.infer_shapes(r2)[0], (Shape{-1, 7}));
  EXPECT_EQ(flat.infer_shapes(r1)[0], (Shape{-1, 1}));
}

TEST(Transpose, MatchesReference) {
  struct Case {
    Shape in;
    std::vector<int> perm;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4}, {0, 2, 1}},          {{2, 3, 4, 5}, {0, 3, 1, 2}},
      {{2, 3, 4, 5}, {0, 2, 3, 1}},    {{2, 3, 4, 5}, {0, 1, 2, 3}},
      {{1, 3, 1, 5}, {0, 3, 2, 1}},    {{2, 3, 4, 5, 6}, {0, 4, 2, 3, 1}},
      {{3, 64, 33, 17}, {0, 2, 3, 1}}, {{2, 1, 1}, {0, 2, 1}},
  };
  for (const Case& c : cases) {
    TransposeOp op(c.perm);
    std::vector<float> x = random_values(static_cast<size_t>(shape_numel(c.in)), 2);
    std::vector<float> want(x.size());
    reference::transpose(c.in, c.perm, x, want);
    std::vector<Shape> out_shapes;
    auto got = run_op(op, {c.in}, {x}, &out_shapes);
    EXPECT_TRUE(near(got[0], want))
        << str(c.in) << " perm " << str(Shape(c.perm.begin(), c.perm.end()));
  }
  EXPECT_THROW(TransposeOp({0, 1, 1}), Error);
}

TEST(RepeatVector, MatchesReference) {
  for (int64_t n : {1, 3, 10}) {
    Shape in = {3, 7};
    std::vector<float> x = random_values(21, 3);
    std::vector<float> want(static_cast<size_t>(21 * n));
    reference::repeat_vector(in, n, x, want);
    std::vector<Shape> out_shapes;
    auto got = run_op(RepeatVectorOp(n), {in}, {x}, &out_shapes);
    EXPECT_EQ(out_shapes[0], (Shape{3, n, 7}));
    EXPECT_TRUE(near(got[0], want)) << "n " << n;
  }
}

// ---------------------------------------------------------------------------------------------
// Binders

std::vector<float> bind_and_run(const std::string& cls, const std::string& cfg, int major,
                                const Shape& build, const Shape& run, const std::vector<float>& x,
                                Shape* out_shape = nullptr) {
  auto b = bind_layer(cls, cfg, major, {build});
  std::vector<Shape> shapes;
  auto y = run_graph(b->g, {run}, {x}, b->outputs, &shapes)[0];
  if (out_shape) *out_shape = shapes[0];
  return y;
}

TEST(CoreBinders, FlattenChannelsFirstReordersToChannelsLast) {
  Shape s = {2, 3, 4, 5};  // NCHW
  std::vector<float> x = random_values(120, 4);
  Shape out;
  // channels_last (and no key): memory order.
  EXPECT_TRUE(near(
      bind_and_run("Flatten", R"({"data_format": "channels_last"})", 2, {-1, 3, 4, 5}, s, x, &out),
      x));
  EXPECT_EQ(out, (Shape{2, 60}));
  EXPECT_TRUE(near(bind_and_run("Flatten", "{}", 1, {-1, 3, 4, 5}, s, x), x));
  // channels_first: HWC order.
  std::vector<float> want(x.size());
  reference::transpose(s, {0, 2, 3, 1}, x, want);
  EXPECT_TRUE(near(
      bind_and_run("Flatten", R"({"data_format": "channels_first"})", 3, {-1, 3, 4, 5}, s, x, &out),
      want));
  EXPECT_EQ(out, (Shape{2, 60}));
}

TEST(CoreBinders, ReshapePermuteRepeatVector) {
  std::vector<float> x = random_values(2 * 12, 5);
  Shape out;
  EXPECT_TRUE(near(
      bind_and_run("Reshape", R"({"target_shape": [3, -1]})", 2, {-1, 12}, {2, 12}, x, &out), x));
  EXPECT_EQ(out, (Shape{2, 3, 4}));

  std::vector<float> y = random_values(2 * 3 * 4, 6), want(24);
  reference::transpose({2, 3, 4}, {0, 2, 1}, y, want);
  EXPECT_TRUE(near(
      bind_and_run("Permute", R"({"dims": [2, 1]})", 2, {-1, 3, 4}, {2, 3, 4}, y, &out), want));
  EXPECT_EQ(out, (Shape{2, 4, 3}));
  EXPECT_THROW(bind_layer("Permute", R"({"dims": [0, 1]})", 2, {{-1, 3, 4}}), Error);

  std::vector<float> v = random_values(2 * 5, 7), rep(2 * 3 * 5);
  reference::repeat_vector({2, 5}, 3, v, rep);
  EXPECT_TRUE(near(bind_and_run("RepeatVector", R"({"n": 3})", 2, {-1, 5}, {2, 5}, v), rep));
}

TEST(CoreBinders, RescalingAndIdentities) {
  Shape s = {2, 4, 4, 3};
  std::vector<float> x = random_values(96, 8, 0, 255);
  std::vector<float> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = x[i] * (1.0f / 127.5f) + -1.0f;
  EXPECT_TRUE(near(bind_and_run("Rescaling", R"({"scale": 0.00784313725490196, "offset": -1.0})", 3,
                                {-1, 4, 4, 3}, s, x),
                   want));
  // Per-channel lists and the Keras 3 numpy form.
  const float sc[3] = {0.5f, 2.0f, -1.0f}, of[3] = {1.0f, 0.0f, 3.0f};
  for (size_t i = 0; i < x.size(); ++i) want[i] = x[i] * sc[i % 3] + of[i % 3];
  EXPECT_TRUE(
      near(bind_and_run("Rescaling", R"({"scale": [0.5, 2.0, -1.0], "offset": [1.0, 0.0, 3.0]})", 2,
                        {-1, 4, 4, 3}, s, x),
           want));
  EXPECT_TRUE(near(bind_and_run("Rescaling",
                                R"({"scale": {"class_name": "__numpy__", "config":
                                    {"value": [0.5, 2.0, -1.0], "dtype": "float32"}},
                                    "offset": [1.0, 0.0, 3.0]})",
                                3, {-1, 4, 4, 3}, s, x),
                   want));
  for (const char* cls : {"Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
                          "AlphaDropout", "ActivityRegularization", "Identity"}) {
    auto b = bind_layer(cls, R"({"rate": 0.5})", 2, {{-1, 4, 4, 3}});
    EXPECT_EQ(b->nodes, 0u) << cls;
    EXPECT_EQ(b->outputs.at(0), b->g.inputs.at(0)) << cls;
  }
}

}  // namespace
}  // namespace kerasrt::ops
