// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
//
// Normalization family: kernels (prepare + run) against the naive reference over random shapes
// and every axis form (single, negative, several contiguous, non-contiguous, none), 1 and 2
// threads; BatchNormalization folding against the textbook formula; binders driven from Keras 1,
// 2 and 3 configs through a fake LayerContext.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "kerasrt/error.h"
#include "norm_image_harness.h"
#include "ops/normalization.h"

namespace kerasrt::ops {
namespace {

using normimg_test::close;
using normimg_test::FakeLayerContext;
using normimg_test::random_tensor;
using normimg_test::random_values;
using normimg_test::runner;
using normimg_test::str;

struct AxisCase {
  Shape shape;
  std::vector<int64_t> axes;
};

// Shapes with 1s, odd sizes, non-multiples of 8/16, batch 1 and > 1, and one large enough for
// the OpenMP path.
std::vector<AxisCase> axis_cases() {
  return {
      {{1, 1}, {-1}},
      {{3, 17}, {-1}},
      {{2, 5, 7}, {-1}},
      {{2, 5, 7}, {1}},
      {{2, 5, 7}, {1, 2}},
      {{1, 4, 3, 19}, {3}},
      {{2, 4, 3, 19}, {1}},      // channels_first BatchNormalization
      {{2, 4, 3, 5}, {1, 3}},    // non-contiguous
      {{2, 4, 3, 5}, {3, 1}},    // unsorted list
      {{2, 6, 3, 5}, {-3, -2}},  // negative list
      {{2, 3, 4, 5, 6}, {1, 2, 3, 4}},
      {{3, 4, 5}, {0, 2}},      // the batch axis (Normalization on batched scalars)
      {{4, 64, 64, 33}, {-1}},  // parallel path
      {{2, 33, 64, 64}, {1}},   // parallel path, channels_first
  };
}

int64_t param_count(const AxisCase& c) {
  int64_t n = 1;
  for (int64_t a : c.axes)
    n *= c.shape[static_cast<size_t>(a < 0 ? a + static_cast<int64_t>(c.shape.size()) : a)];
  return n;
}

TEST(BatchNorm, FoldMatchesFormula) {
  std::mt19937 rng(1);
  const int n = 37;
  auto g = random_values(rng, n), b = random_values(rng, n), m = random_values(rng, n);
  auto v = random_values(rng, n, 0.0f, 3.0f);
  std::vector<float> s(n), t(n);
  fold_batch_norm(g, b, m, v, 1e-3, s, t);
  for (int i = 0; i < n; ++i) {
    for (float x : {-2.0f, 0.3f, 5.0f}) {
      double want = g[i] * (x - m[i]) / std::sqrt(double(v[i]) + 1e-3) + b[i];
      EXPECT_NEAR(x * s[i] + t[i], want, 1e-5 * std::max(1.0, std::fabs(want))) << i;
    }
  }
  // scale=False / center=False: gamma 1, beta 0.
  fold_batch_norm({}, {}, m, v, 1e-5, s, t);
  for (int i = 0; i < n; ++i) {
    EXPECT_NEAR(s[i], 1.0 / std::sqrt(double(v[i]) + 1e-5), 1e-5 * s[i]);
    EXPECT_NEAR(t[i], -m[i] * s[i], 1e-6);
  }
  // Keras <= 1.0.5: (x - mean) / (std + eps).
  fold_batch_norm_std(g, b, m, v, 1e-6, s, t);
  for (int i = 0; i < n; ++i) {
    double want = g[i] * (1.0 - m[i]) / (double(v[i]) + 1e-6) + b[i];
    EXPECT_NEAR(s[i] + t[i], want, 1e-5 * std::max(1.0, std::fabs(want))) << i;
  }
}

TEST(BatchNorm, MatchesReference) {
  std::mt19937 rng(2);
  for (const AxisCase& c : axis_cases()) {
    for (int threads : {1, 2}) {
      int64_t n = param_count(c);
      BatchNormAttrs a;
      a.axes = c.axes;
      a.scale = random_tensor(rng, {n});
      a.shift = random_tensor(rng, {n});
      BatchNormOp op(a);
      auto x = random_values(rng, shape_numel(c.shape));
      Shape out;
      auto got = runner().run(op, c.shape, x, &out, threads);
      std::vector<float> want(x.size());
      reference::batch_norm(c.shape, c.axes, x, a.scale.values(), a.shift.values(), want);
      EXPECT_EQ(out, c.shape);
      EXPECT_TRUE(close(got, want)) << "shape " << shape_to_string(c.shape) << " axes "
                                    << str(c.axes) << " threads " << threads;
    }
  }
}

TEST(BatchNorm, ShapeInference) {
  BatchNormAttrs a;
  a.axes = {-1};
  a.scale = Tensor({8});
  a.shift = Tensor({8});
  BatchNormOp op(a);
  Shape in{-1, -1, 8};
  EXPECT_EQ(op.infer_shapes(std::span<const Shape>(&in, 1)).at(0), in);
  Shape unknown_channels{-1, 4, -1};
  EXPECT_EQ(op.infer_shapes(std::span<const Shape>(&unknown_channels, 1)).at(0), unknown_channels);
  Shape wrong{-1, 4, 7};
  try {
    op.infer_shapes(std::span<const Shape>(&wrong, 1));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidModel);
    EXPECT_NE(std::string(e.what()).find("8"), std::string::npos) << e.what();
  }
  a.axes = {3};
  BatchNormOp op3(a);
  EXPECT_THROW(op3.infer_shapes(std::span<const Shape>(&in, 1)), Error);
}

TEST(Standardize, MatchesReference) {
  std::mt19937 rng(3);
  std::vector<AxisCase> cases = axis_cases();
  cases.push_back({{2, 5, 7}, {}});  // axis=None: one scalar
  cases.push_back({{1, 1}, {}});
  for (const AxisCase& c : cases) {
    for (bool invert : {false, true}) {
      int64_t n = c.axes.empty() ? 1 : param_count(c);
      StandardizeAttrs a;
      a.axes = c.axes;
      a.mean = random_tensor(rng, {n}, -50.0f, 50.0f);
      a.variance = random_tensor(rng, {n}, 0.0f, 4.0f);
      a.variance.mutable_data()[0] = 0.0f;  // max(sqrt(0), epsilon)
      a.invert = invert;
      StandardizeOp op(a);
      auto x = random_values(rng, shape_numel(c.shape), -60.0f, 60.0f);
      Shape out;
      auto got = runner().run(op, c.shape, x, &out, 2);
      std::vector<float> want(x.size());
      reference::standardize(c.shape, c.axes, x, a.mean.values(), a.variance.values(), invert,
                             1e-7f, want);
      EXPECT_TRUE(close(got, want)) << "shape " << shape_to_string(c.shape) << " axes "
                                    << str(c.axes) << " invert " << invert;
    }
  }
}

TEST(LayerNorm, MatchesReference) {
  std::mt19937 rng(4);
  for (const AxisCase& c : axis_cases()) {
    for (LayerNormMode mode :
         {LayerNormMode::Standard, LayerNormMode::RmsVariance, LayerNormMode::RmsMeanSquare}) {
      // Every gamma/beta combination on the small shapes; the large ones once.
      const int param_sets = shape_numel(c.shape) > 100000 ? 1 : 4;
      for (int params = 0; params < param_sets; ++params) {
        const bool has_gamma = params & 1,
                   has_beta = (params & 2) && mode == LayerNormMode::Standard;
        int64_t n = param_count(c);
        LayerNormAttrs a;
        a.axes = c.axes;
        a.epsilon = params == 3 ? 1e-5 : 1e-3;
        a.mode = mode;
        if (has_gamma) a.gamma = random_tensor(rng, {n});
        if (has_beta) a.beta = random_tensor(rng, {n});
        LayerNormOp op(a);
        // An offset mean checks the two-pass variance.
        auto x = random_values(rng, shape_numel(c.shape), 2.0f, 5.0f);
        Shape out;
        auto got = runner().run(op, c.shape, x, &out, 2);
        std::vector<float> want(x.size());
        reference::layer_norm(
            c.shape, c.axes, x, has_gamma ? a.gamma.values() : std::span<const float>(),
            has_beta ? a.beta.values() : std::span<const float>(), a.epsilon, mode, want);
        EXPECT_TRUE(close(got, want, 2e-5f))
            << "shape " << shape_to_string(c.shape) << " axes " << str(c.axes) << " mode "
            << int(mode) << " gamma " << has_gamma << " beta " << has_beta;
      }
    }
  }
}

TEST(UnitNorm, MatchesReference) {
  std::mt19937 rng(5);
  for (const AxisCase& c : axis_cases()) {
    UnitNormAttrs a;
    a.axes = c.axes;
    UnitNormOp op(a);
    auto x = random_values(rng, shape_numel(c.shape));
    x[0] = 0.0f;
    Shape out;
    auto got = runner().run(op, c.shape, x, &out, 2);
    std::vector<float> want(x.size());
    reference::unit_norm(c.shape, c.axes, x, 1e-12, want);
    EXPECT_TRUE(close(got, want)) << "shape " << shape_to_string(c.shape) << " axes "
                                  << str(c.axes);
  }
  // All zeros: rsqrt(max(0, 1e-12)) * 0 = 0, no NaN.
  UnitNormOp op(UnitNormAttrs{{-1}, 1e-12});
  Shape s{2, 3}, out;
  auto got = runner().run(op, s, std::vector<float>(6, 0.0f), &out);
  for (float v : got) EXPECT_EQ(v, 0.0f);
}

TEST(GroupNorm, MatchesReference) {
  std::mt19937 rng(6);
  struct Case {
    Shape shape;
    int64_t axis, groups;
  };
  std::vector<Case> cases = {
      {{1, 4}, -1, 2},        {{2, 7, 6}, -1, 3},        {{2, 7, 6}, -1, 1},
      {{2, 7, 6}, -1, -1},    {{2, 6, 5, 3}, 1, 2},      {{3, 5, 4, 12}, -1, 4},
      {{2, 5, 4, 12}, 3, 12}, {{2, 32, 32, 64}, -1, 32},
  };
  for (const Case& c : cases) {
    for (bool affine : {false, true}) {
      size_t ax =
          static_cast<size_t>(c.axis < 0 ? c.axis + static_cast<int64_t>(c.shape.size()) : c.axis);
      GroupNormAttrs a;
      a.axis = c.axis;
      a.groups = c.groups;
      if (affine) {
        a.gamma = random_tensor(rng, {c.shape[ax]});
        a.beta = random_tensor(rng, {c.shape[ax]});
      }
      GroupNormOp op(a);
      auto x = random_values(rng, shape_numel(c.shape));
      Shape out;
      auto got = runner().run(op, c.shape, x, &out, 2);
      std::vector<float> want(x.size());
      reference::group_norm(c.shape, c.axis, c.groups, x, a.gamma.values(), a.beta.values(), 1e-3,
                            want);
      EXPECT_TRUE(close(got, want, 2e-5f))
          << "shape " << shape_to_string(c.shape) << " axis " << c.axis << " groups " << c.groups;
    }
  }
  GroupNormOp bad(GroupNormAttrs{-1, 4, 1e-3, {}, {}});
  Shape s{2, 6};
  EXPECT_THROW(bad.infer_shapes(std::span<const Shape>(&s, 1)), Error);
}

// -- binders ------------------------------------------------------------------------------------

// y = gamma * (x - mean) / sqrt(var + eps) + beta on the last axis, computed directly.
std::vector<float> bn_direct(const std::vector<float>& x, int64_t c, const std::vector<float>& g,
                             const std::vector<float>& b, const std::vector<float>& m,
                             const std::vector<float>& v, double eps) {
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t k = i % static_cast<size_t>(c);
    double gk = g.empty() ? 1.0 : g[k], bk = b.empty() ? 0.0 : b[k];
    y[i] = static_cast<float>(gk * (x[i] - m[k]) / std::sqrt(v[k] + eps) + bk);
  }
  return y;
}

TEST(NormalizationBinders, BatchNormalizationDialects) {
  std::mt19937 rng(7);
  const int64_t c = 5;
  Shape in{2, 3, c};
  auto g = random_values(rng, c), b = random_values(rng, c), m = random_values(rng, c);
  auto v = random_values(rng, c, 0.1f, 2.0f);
  auto x = random_values(rng, shape_numel(in));
  auto T = [](const std::vector<float>& d) { return Tensor({static_cast<int64_t>(d.size())}, d); };
  struct Case {
    std::string cls, config;
    keras::Dialect dialect;
    std::vector<std::pair<std::string, Tensor>> weights;
    std::vector<float> want;
  };
  std::vector<Case> cases = {
      {"BatchNormalization",
       R"({"axis": -1, "epsilon": 0.001, "center": true, "scale": true})",
       {3, "3.3.3", "tensorflow"},
       {{"gamma", T(g)}, {"beta", T(b)}, {"moving_mean", T(m)}, {"moving_variance", T(v)}},
       bn_direct(x, c, g, b, m, v, 1e-3)},
      // tf.keras after build: axis is a list.
      {"BatchNormalization",
       R"({"axis": [2], "epsilon": 0.01, "center": false, "scale": true})",
       {2, "2.9.0", "tensorflow"},
       {{"gamma", T(g)}, {"moving_mean", T(m)}, {"moving_variance", T(v)}},
       bn_direct(x, c, g, {}, m, v, 1e-2)},
      {"BatchNormalizationV1",
       R"({"axis": [2], "epsilon": 0.001, "scale": false})",
       {2, "2.2.4-tf", "tensorflow"},
       {{"beta", T(b)}, {"moving_mean", T(m)}, {"moving_variance", T(v)}},
       bn_direct(x, c, {}, b, m, v, 1e-3)},
      // Keras 1.x >= 1.0.6: running_std holds the variance.
      {"BatchNormalization",
       R"({"axis": -1, "epsilon": 0.001, "mode": 0})",
       {1, "1.2.2", "theano"},
       {{"gamma", T(g)}, {"beta", T(b)}, {"running_mean", T(m)}, {"running_std", T(v)}},
       bn_direct(x, c, g, b, m, v, 1e-3)},
  };
  // Keras 1.0.5: a true standard deviation, (x - mean) / (std + eps).
  {
    std::vector<float> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      size_t k = i % static_cast<size_t>(c);
      want[i] = static_cast<float>(g[k] * (x[i] - m[k]) / (v[k] + 1e-6) + b[k]);
    }
    cases.push_back(
        {"BatchNormalization",
         R"({"axis": -1, "epsilon": 1e-6, "mode": 0})",
         {1, "1.0.5", "theano"},
         {{"gamma", T(g)}, {"beta", T(b)}, {"running_mean", T(m)}, {"running_std", T(v)}},
         want});
  }
  for (Case& k : cases) {
    FakeLayerContext ctx(k.cls, k.config, {{-1, 3, c}}, k.weights, k.dialect);
    ctx.bind();
    Shape out;
    auto got = ctx.run(in, x, &out);
    EXPECT_EQ(out, in);
    EXPECT_TRUE(close(got, k.want)) << k.config << " keras " << k.dialect.keras_version;
  }
}

TEST(NormalizationBinders, BatchNormalizationErrors) {
  Tensor w({5});
  // Missing weight names the weight.
  {
    FakeLayerContext ctx("BatchNormalization", R"({"axis": -1})", {{-1, 5}},
                         {{"gamma", w}, {"moving_mean", w}, {"moving_variance", w}});
    try {
      ctx.bind();
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidModel);
      EXPECT_NE(std::string(e.what()).find("beta"), std::string::npos) << e.what();
    }
  }
  // Wrong size.
  {
    FakeLayerContext ctx("BatchNormalization", R"({"axis": -1, "center": false})", {{-1, 6}},
                         {{"gamma", w}, {"moving_mean", w}, {"moving_variance", w}});
    EXPECT_THROW(ctx.bind(), Error);
  }
  // An array the config does not explain.
  {
    FakeLayerContext ctx("BatchNormalization", R"({"axis": -1, "center": false})", {{-1, 5}},
                         {{"gamma", w}, {"beta", w}, {"moving_mean", w}, {"moving_variance", w}});
    EXPECT_THROW(ctx.bind(), Error);
  }
  // Keras 1 mode 2.
  {
    FakeLayerContext ctx("BatchNormalization", R"({"axis": -1, "mode": 2})", {{-1, 5}},
                         {{"gamma", w}, {"beta", w}, {"running_mean", w}, {"running_std", w}},
                         {1, "1.2.2", ""});
    try {
      ctx.bind();
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::Unsupported);
    }
  }
}

TEST(NormalizationBinders, BatchNormalizationMultiAxis) {
  // tf.keras: axis [1, 3] on (None, 4, 3, 5) stores parameters of shape (1, 4, 1, 5).
  std::mt19937 rng(8);
  Shape in{2, 4, 3, 5};
  Tensor g = random_tensor(rng, {1, 4, 1, 5}), b = random_tensor(rng, {1, 4, 1, 5});
  Tensor m = random_tensor(rng, {1, 4, 1, 5}), v = random_tensor(rng, {1, 4, 1, 5}, 0.5f, 1.0f);
  FakeLayerContext ctx("BatchNormalization", R"({"axis": [1, 3], "epsilon": 0.001})",
                       {{-1, 4, 3, 5}},
                       {{"gamma", g}, {"beta", b}, {"moving_mean", m}, {"moving_variance", v}},
                       {2, "2.11.0", "tensorflow"});
  ctx.bind();
  auto x = random_values(rng, shape_numel(in));
  Shape out;
  auto got = ctx.run(in, x, &out);
  std::vector<float> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    size_t ch = i % 5, h = (i / 15) % 4, p = h * 5 + ch;
    want[i] = static_cast<float>(
        g.data()[p] * (x[i] - m.data()[p]) / std::sqrt(double(v.data()[p]) + 1e-3) + b.data()[p]);
  }
  EXPECT_TRUE(close(got, want));
}

TEST(NormalizationBinders, LayerNormalization) {
  std::mt19937 rng(9);
  Shape in{2, 3, 4, 6};
  auto x = random_values(rng, shape_numel(in));
  struct Case {
    std::string config;
    std::vector<int64_t> axes;
    bool gamma, beta;
    LayerNormMode mode;
    double eps;
  };
  std::vector<Case> cases = {
      {R"({"axis": -1, "epsilon": 0.001, "center": true, "scale": true})",
       {-1},
       true,
       true,
       LayerNormMode::Standard,
       1e-3},
      {R"({"axis": [3], "epsilon": 1e-6, "center": false, "scale": true})",
       {3},
       true,
       false,
       LayerNormMode::Standard,
       1e-6},
      {R"({"axis": [1, 2, 3], "center": true, "scale": false})",
       {1, 2, 3},
       false,
       true,
       LayerNormMode::Standard,
       1e-3},
      {R"({"axis": [2, 1]})", {1, 2}, true, true, LayerNormMode::Standard, 1e-3},
      {R"({"axis": -1, "rms_scaling": true, "center": true, "scale": false})",
       {-1},
       true,
       false,
       LayerNormMode::RmsVariance,
       1e-3},
  };
  for (const Case& c : cases) {
    int64_t n = 1;
    for (int64_t a : c.axes) n *= in[static_cast<size_t>(a < 0 ? a + 4 : a)];
    std::vector<std::pair<std::string, Tensor>> w;
    Tensor g = random_tensor(rng, {n}), b = random_tensor(rng, {n});
    if (c.gamma) w.push_back({"gamma", g});
    if (c.beta) w.push_back({"beta", b});
    FakeLayerContext ctx("LayerNormalization", c.config, {{-1, 3, 4, 6}}, w);
    ctx.bind();
    Shape out;
    auto got = ctx.run(in, x, &out);
    std::vector<float> want(x.size());
    reference::layer_norm(in, c.axes, x, c.gamma ? g.values() : std::span<const float>(),
                          c.beta ? b.values() : std::span<const float>(), c.eps, c.mode, want);
    EXPECT_TRUE(close(got, want, 2e-5f)) << c.config;
  }
}

TEST(NormalizationBinders, RmsUnitGroup) {
  std::mt19937 rng(10);
  Shape in{2, 5, 8};
  auto x = random_values(rng, shape_numel(in));
  Shape out;
  {
    Tensor s = random_tensor(rng, {8});
    FakeLayerContext ctx("RMSNormalization", R"({"axis": -1, "epsilon": 1e-6})", {{-1, 5, 8}},
                         {{"scale", s}});
    ctx.bind();
    auto got = ctx.run(in, x, &out);
    std::vector<float> want(x.size());
    reference::layer_norm(in, std::vector<int64_t>{-1}, x, s.values(), {}, 1e-6,
                          LayerNormMode::RmsMeanSquare, want);
    EXPECT_TRUE(close(got, want));
  }
  {
    FakeLayerContext ctx("UnitNormalization", R"({"axis": [1, 2]})", {{-1, 5, 8}});
    ctx.bind();
    auto got = ctx.run(in, x, &out);
    std::vector<float> want(x.size());
    reference::unit_norm(in, std::vector<int64_t>{1, 2}, x, 1e-12, want);
    EXPECT_TRUE(close(got, want));
  }
  {
    Tensor g = random_tensor(rng, {8}), b = random_tensor(rng, {8});
    FakeLayerContext ctx("GroupNormalization", R"({"groups": 4, "axis": -1, "epsilon": 0.001})",
                         {{-1, 5, 8}}, {{"gamma", g}, {"beta", b}});
    ctx.bind();
    auto got = ctx.run(in, x, &out);
    std::vector<float> want(x.size());
    reference::group_norm(in, -1, 4, x, g.values(), b.values(), 1e-3, want);
    EXPECT_TRUE(close(got, want, 2e-5f));
  }
}

TEST(NormalizationBinders, NormalizationLayer) {
  std::mt19937 rng(11);
  Shape in{3, 2, 4};
  auto x = random_values(rng, shape_numel(in), -10.0f, 10.0f);
  Shape out;
  // Adapted: weights mean, variance, count.
  {
    Tensor m = random_tensor(rng, {4}, -5.0f, 5.0f), v = random_tensor(rng, {4}, 0.5f, 9.0f);
    FakeLayerContext ctx("Normalization", R"({"axis": [-1], "invert": false, "mean": null,
                                              "variance": null})",
                         {{-1, 2, 4}},
                         {{"mean", m}, {"variance", v}, {"count", Tensor({}, {100.0f})}});
    ctx.bind();
    auto got = ctx.run(in, x, &out);
    std::vector<float> want(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      size_t k = i % 4;
      want[i] = (x[i] - m.data()[k]) / std::max(std::sqrt(v.data()[k]), 1e-7f);
    }
    EXPECT_TRUE(close(got, want));
  }
  // Config mean/variance, scalar and broadcast lists, invert, axis=None.
  struct Case {
    std::string config;
    std::vector<float> mean, var;  // expanded over the kept dims
    std::vector<int64_t> axes;
    bool invert;
  };
  std::vector<Case> cases = {
      {R"({"axis": null, "mean": 3.0, "variance": 2.0})", {3.0f}, {2.0f}, {}, false},
      {R"({"axis": -1, "mean": [1, 2, 3, 4], "variance": [1, 4, 0, 16], "invert": true})",
       {1, 2, 3, 4},
       {1, 4, 0, 16},
       {-1},
       true},
      {R"({"axis": [1, 2], "mean": [0.5, 1.5, 2.5, 3.5], "variance": 4.0})",
       {0.5, 1.5, 2.5, 3.5, 0.5, 1.5, 2.5, 3.5},
       std::vector<float>(8, 4.0f),
       {1, 2},
       false},
      {R"({"axis": [1, 2], "mean": [[1], [2]], "variance": [[1], [9]]})",
       {1, 1, 1, 1, 2, 2, 2, 2},
       {1, 1, 1, 1, 9, 9, 9, 9},
       {1, 2},
       false},
  };
  for (const Case& c : cases) {
    FakeLayerContext ctx("Normalization", c.config, {{-1, 2, 4}});
    ctx.bind();
    auto got = ctx.run(in, x, &out);
    std::vector<float> want(x.size());
    reference::standardize(in, c.axes, x, c.mean, c.var, c.invert, 1e-7f, want);
    EXPECT_TRUE(close(got, want)) << c.config;
  }
  FakeLayerContext bad("Normalization", R"({"axis": -1, "mean": [1, 2, 3], "variance": 1})",
                       {{-1, 2, 4}});
  EXPECT_THROW(bad.bind(), Error);
}

}  // namespace
}  // namespace kerasrt::ops
