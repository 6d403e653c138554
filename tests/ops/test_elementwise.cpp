// Elementwise ops (activations, PReLU, Rescaling) and softmax: kernels vs the reference, and the
// activation-family binders end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core_test_util.h"
#include "ops/elementwise.h"
#include "ops/softmax.h"

namespace kerasrt::ops {
namespace {

using kerasrt::testing::bind_layer;
using kerasrt::testing::near;
using kerasrt::testing::random_tensor;
using kerasrt::testing::random_values;
using kerasrt::testing::run_graph;
using kerasrt::testing::run_op;
using kerasrt::testing::str;

std::vector<UnaryAttrs> all_unary_variants() {
  std::vector<UnaryAttrs> v;
  auto add = [&](UnaryKind k, float a = 0, float b = 0, float c = 0, bool has_max = false) {
    UnaryAttrs u;
    u.kind = k;
    u.alpha = a;
    u.beta = b;
    u.gamma = c;
    u.has_max = has_max;
    v.push_back(u);
  };
  // relu(negative_slope, max_value, threshold) combinations
  add(UnaryKind::Relu);
  add(UnaryKind::Relu, 0.3f);
  add(UnaryKind::Relu, 0, 6, 0, true);
  add(UnaryKind::Relu, 0, 4.5f, 0, true);
  add(UnaryKind::Relu, 0.1f, 6, 0, true);
  add(UnaryKind::Relu, 0.2f, 0, 1.5f);
  add(UnaryKind::Relu, 0, 0, -0.5f);
  add(UnaryKind::Relu, 0.3f, 2, 0.5f, true);
  add(UnaryKind::Relu, 1.5f);
  add(UnaryKind::Sigmoid);
  add(UnaryKind::HardSigmoid, 0.2f, 0.5f);
  add(UnaryKind::HardSigmoidRelu6);
  add(UnaryKind::HardSilu);
  add(UnaryKind::Tanh);
  add(UnaryKind::Softplus);
  add(UnaryKind::Softsign);
  add(UnaryKind::Elu, 1.0f);
  add(UnaryKind::Elu, 0.5f);
  add(UnaryKind::Selu);
  add(UnaryKind::GeluErf);
  add(UnaryKind::GeluTanh);
  add(UnaryKind::Silu);
  add(UnaryKind::Mish);
  add(UnaryKind::Exp);
  add(UnaryKind::LogSigmoid);
  add(UnaryKind::ThresholdedRelu, 1.0f);
  add(UnaryKind::HardTanh);
  add(UnaryKind::TanhShrink);
  add(UnaryKind::SoftShrink, 0.5f);
  add(UnaryKind::HardShrink, 0.5f);
  add(UnaryKind::Celu, 1.0f);
  add(UnaryKind::Celu, 2.0f);
  add(UnaryKind::Squareplus, 4.0f);
  add(UnaryKind::SparsePlus);
  add(UnaryKind::SparseSigmoid);
  return v;
}

std::string describe(const UnaryAttrs& a) {
  return unary_kind_name(a.kind) + " alpha=" + std::to_string(a.alpha) +
         " beta=" + std::to_string(a.beta) + " gamma=" + std::to_string(a.gamma) +
         " has_max=" + std::to_string(a.has_max);
}

TEST(Unary, MatchesReferenceOnRandomAndExtremeValues) {
  const std::vector<Shape> shapes = {{1, 1}, {2, 7}, {3, 17, 5}, {4, 129, 67}};
  for (const UnaryAttrs& a : all_unary_variants()) {
    for (const Shape& s : shapes) {
      size_t n = static_cast<size_t>(shape_numel(s));
      std::vector<float> x = random_values(n, 7, -8.0f, 8.0f);
      // Extremes where naive formulas overflow or lose precision (exp excluded above 80).
      const float specials[] = {0.0f,    -0.0f, 1e-8f, -1e-8f, 30.0f, -30.0f, 80.0f, -80.0f,
                                -100.0f, 3.0f,  -3.0f, 1.0f,   -1.0f, 0.5f,   -0.5f, 6.0f};
      for (size_t i = 0; i < n && i < std::size(specials); ++i) x[i] = specials[i];
      std::vector<float> want(n);
      reference::unary(a, x, want);
      UnaryOp op(a);
      auto got = run_op(op, {s}, {x});
      EXPECT_TRUE(near(got[0], want, 1e-5f)) << describe(a) << " shape " << str(s);
    }
  }
}

TEST(Unary, KnownValues) {
  // Values from the Keras/TF docstrings (tf_keras/activations.py, keras activations.py).
  auto eval = [](UnaryAttrs a, std::vector<float> x) {
    UnaryOp op(a);
    return run_op(op, {{1, static_cast<int64_t>(x.size())}}, {x})[0];
  };
  UnaryAttrs hs2{UnaryKind::HardSigmoid, 0.2f, 0.5f};
  EXPECT_TRUE(near(eval(hs2, {-3, -1, 0, 1, 3}), {0, 0.3f, 0.5f, 0.7f, 1}));
  UnaryAttrs hs3{UnaryKind::HardSigmoidRelu6};
  EXPECT_TRUE(near(eval(hs3, {-3, -1, 0, 1, 3}), {0, 1.0f / 3, 0.5f, 2.0f / 3, 1}));
  UnaryAttrs gelu{UnaryKind::GeluErf};
  EXPECT_TRUE(
      near(eval(gelu, {-3, -1, 0, 1, 3}), {-0.00404951f, -0.15865529f, 0, 0.8413447f, 2.9959507f}));
  UnaryAttrs gelu_t{UnaryKind::GeluTanh};
  EXPECT_TRUE(near(eval(gelu_t, {-3, -1, 0, 1, 3}),
                   {-0.00363752f, -0.15880796f, 0, 0.841192f, 2.9963627f}));
  UnaryAttrs sp{UnaryKind::Softplus};
  EXPECT_TRUE(near(eval(sp, {-20, -1, 0, 1, 20}),
                   {2.0611537e-09f, 3.1326166e-01f, 6.9314718e-01f, 1.3132616f, 20}));
  UnaryAttrs mish{UnaryKind::Mish};
  EXPECT_TRUE(near(eval(mish, {-3, -1, 0, 1}), {-0.14564745f, -0.30340144f, 0, 0.86509836f}));
  UnaryAttrs swish{UnaryKind::Silu};
  EXPECT_TRUE(near(eval(swish, {-20, -1, 0, 1, 20}),
                   {-4.1223075e-08f, -2.6894143e-01f, 0, 7.3105860e-01f, 20}));
  // Keras docstring: relu(x, threshold=5) on [-10, -5, 0, 5, 10] -> [0, 0, 0, 0, 10].
  UnaryAttrs thr{UnaryKind::Relu, 0, 0, 5.0f, false};
  EXPECT_TRUE(near(eval(thr, {-10, -5, 0, 5, 10}), {0, 0, 0, 0, 10}));
  UnaryAttrs leaky{UnaryKind::Relu, 0.5f};
  EXPECT_TRUE(near(eval(leaky, {-10, -5, 0, 5, 10}), {-5, -2.5f, 0, 5, 10}));
  UnaryAttrs capped{UnaryKind::Relu, 0, 5.0f, 0, true};
  EXPECT_TRUE(near(eval(capped, {-10, -5, 0, 5, 10}), {0, 0, 0, 5, 5}));
}

TEST(Unary, UnknownDimsPropagate) {
  UnaryOp op(UnaryAttrs{UnaryKind::Tanh});
  std::vector<Shape> in = {{-1, 5, -1}};
  EXPECT_EQ(op.infer_shapes(in)[0], (Shape{-1, 5, -1}));
}

TEST(PRelu, MatchesReferenceWithSharedAxes) {
  const Shape in = {3, 4, 5, 6};
  const std::vector<Shape> alphas = {{4, 5, 6}, {1, 1, 6}, {4, 1, 6},
                                     {1, 5, 1}, {1, 1, 1}, {4, 5, 1}};
  for (const Shape& as : alphas) {
    Tensor alpha = random_tensor(as, 3, -0.5f, 0.5f);
    std::vector<float> x = random_values(static_cast<size_t>(shape_numel(in)), 11);
    std::vector<float> want(x.size());
    reference::prelu(in, x, alpha, want);
    PReluOp op(alpha);
    EXPECT_TRUE(near(run_op(op, {in}, {x})[0], want)) << "alpha " << str(as);
  }
  // Batch 1 and a large input (parallel path).
  Shape big = {2, 64, 64, 16};
  Tensor alpha = random_tensor({1, 1, 16}, 5);
  std::vector<float> x = random_values(static_cast<size_t>(shape_numel(big)), 12);
  std::vector<float> want(x.size());
  reference::prelu(big, x, alpha, want);
  EXPECT_TRUE(near(run_op(PReluOp(alpha), {big}, {x})[0], want));
}

TEST(PRelu, RejectsAlphaThatDoesNotBroadcast) {
  PReluOp op(random_tensor({3, 7}, 1));
  std::vector<Shape> in = {{2, 3, 5}};
  EXPECT_THROW(op.infer_shapes(in), Error);
}

TEST(Affine, MatchesReference) {
  const Shape in = {2, 5, 4, 3};
  struct Case {
    Shape s, o;
  };
  for (const Case& c : std::vector<Case>{{{}, {}},
                                         {{3}, {}},
                                         {{}, {3}},
                                         {{3}, {3}},
                                         {{4, 3}, {3}},
                                         {{1, 3}, {4, 1}},
                                         {{5, 4, 3}, {}}}) {
    Tensor scale = random_tensor(c.s, 2, 0.5f, 2.0f);
    Tensor offset = random_tensor(c.o, 3);
    std::vector<float> x = random_values(static_cast<size_t>(shape_numel(in)), 4, 0, 255);
    std::vector<float> want(x.size());
    reference::affine(in, x, scale, offset, want);
    AffineOp op(scale, offset);
    EXPECT_TRUE(near(run_op(op, {in}, {x})[0], want))
        << "scale " << str(c.s) << " offset " << str(c.o);
  }
}

TEST(Softmax, MatchesReference) {
  struct Case {
    Shape in;
    std::vector<int64_t> axes;
  };
  const std::vector<Case> cases = {
      {{1, 1}, {-1}},          {{3, 10}, {-1}},        {{2, 7, 33}, {-1}},
      {{2, 7, 33}, {1}},       {{2, 4, 5, 6}, {1, 2}}, {{2, 4, 5, 6}, {1, 3}},
      {{2, 4, 5, 6}, {-1, 1}}, {{4, 300, 129}, {-1}},  {{2, 3, 4, 5}, {2, 1, 3}},
  };
  for (const Case& c : cases) {
    for (bool log : {false, true}) {
      SoftmaxAttrs a{c.axes, log};
      std::vector<float> x = random_values(static_cast<size_t>(shape_numel(c.in)), 9, -20, 20);
      std::vector<float> want(x.size());
      reference::softmax(a, c.in, x, want);
      SoftmaxOp op(a);
      EXPECT_TRUE(near(run_op(op, {c.in}, {x})[0], want, 1e-5f))
          << "shape " << str(c.in) << " axes " << str(c.axes) << " log " << log;
    }
  }
}

TEST(Softmax, LargeLogitsAreStable) {
  std::vector<float> x = {1000, 1001, 1002, -1000, 0, 1000};
  std::vector<float> want(x.size());
  SoftmaxAttrs a{{-1}, false};
  reference::softmax(a, {2, 3}, x, want);
  EXPECT_TRUE(near(run_op(SoftmaxOp(a), {{2, 3}}, {x})[0], want));
  a.log = true;
  reference::softmax(a, {2, 3}, x, want);
  EXPECT_TRUE(near(run_op(SoftmaxOp(a), {{2, 3}}, {x})[0], want));
}

TEST(AxisFn, GluCreluSparsemaxMatchReference) {
  for (AxisFnKind k : {AxisFnKind::Glu, AxisFnKind::Crelu, AxisFnKind::Sparsemax}) {
    for (const Shape& s : std::vector<Shape>{{1, 2}, {3, 10}, {2, 4, 6}}) {
      for (int64_t axis : {-1, 1}) {
        AxisFnAttrs a{k, axis};
        AxisFnOp op(a);
        std::vector<float> x = random_values(static_cast<size_t>(shape_numel(s)), 17, -3, 3);
        std::vector<Shape> out_shapes;
        auto got = run_op(op, {s}, {x}, &out_shapes);
        std::vector<float> want(static_cast<size_t>(shape_numel(out_shapes[0])));
        reference::axis_fn(a, s, x, want);
        EXPECT_TRUE(near(got[0], want)) << static_cast<int>(k) << " " << str(s) << " axis " << axis;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Binders

std::vector<float> bind_and_run(const std::string& cls, const std::string& config, int major,
                                const Shape& build_shape, const Shape& run_shape,
                                const std::vector<float>& x,
                                std::map<std::string, Tensor> weights = {}) {
  auto b = bind_layer(cls, config, major, {build_shape}, std::move(weights));
  return run_graph(b->g, {run_shape}, {x}, b->outputs)[0];
}

TEST(ActivationBinders, ActivationByName) {
  Shape s = {2, 9};
  std::vector<float> x = random_values(18, 21, -5, 5);
  struct Case {
    std::string name;
    int major;
    UnaryAttrs attrs;
  };
  const std::vector<Case> cases = {
      {"relu", 2, {UnaryKind::Relu}},
      {"relu6", 3, {UnaryKind::Relu, 0, 6, 0, true}},
      {"leaky_relu", 3, {UnaryKind::Relu, 0.2f}},
      {"hard_sigmoid", 1, {UnaryKind::HardSigmoid, 0.2f, 0.5f}},
      {"hard_sigmoid", 2, {UnaryKind::HardSigmoid, 0.2f, 0.5f}},
      {"hard_sigmoid", 3, {UnaryKind::HardSigmoidRelu6}},
      {"gelu", 2, {UnaryKind::GeluErf}},
      {"gelu", 3, {UnaryKind::GeluErf}},
      {"swish", 2, {UnaryKind::Silu}},
      {"silu", 3, {UnaryKind::Silu}},
      {"hard_swish", 3, {UnaryKind::HardSilu}},
      {"selu", 2, {UnaryKind::Selu}},
      {"elu", 2, {UnaryKind::Elu, 1.0f}},
      {"exponential", 2, {UnaryKind::Exp}},
  };
  for (const Case& c : cases) {
    std::vector<float> want(x.size());
    reference::unary(c.attrs, x, want);
    auto got = bind_and_run("Activation", R"({"name": "a", "activation": ")" + c.name + R"("})",
                            c.major, {-1, 9}, s, x);
    EXPECT_TRUE(near(got, want)) << c.name << " keras " << c.major;
  }
  // Softmax by name, and the Keras 3 serialized-function form.
  std::vector<float> want(x.size());
  reference::softmax({{-1}, false}, s, x, want);
  EXPECT_TRUE(
      near(bind_and_run("Activation", R"({"activation": "softmax"})", 2, {-1, 9}, s, x), want));
  EXPECT_TRUE(near(bind_and_run("Activation",
                                R"({"activation": {"module": "keras.activations",
                                    "class_name": "function", "config": "softmax",
                                    "registered_name": null}})",
                                3, {-1, 9}, s, x),
                   want));
  // linear adds no node.
  auto b = bind_layer("Activation", R"({"activation": "linear"})", 2, {{-1, 9}});
  EXPECT_EQ(b->nodes, 0u);
  EXPECT_EQ(b->outputs.size(), 1u);
  EXPECT_THROW(bind_layer("Activation", R"({"activation": "no_such_thing"})", 2, {{-1, 9}}), Error);
}

TEST(ActivationBinders, ReluLeakyEluThresholdedSoftmax) {
  Shape s = {3, 4, 5};
  std::vector<float> x = random_values(60, 22, -8, 8);
  auto check = [&](const std::string& cls, const std::string& cfg, int major, UnaryAttrs a) {
    std::vector<float> want(x.size());
    reference::unary(a, x, want);
    EXPECT_TRUE(near(bind_and_run(cls, cfg, major, {-1, 4, 5}, s, x), want)) << cls << " " << cfg;
  };
  check("ReLU", R"({"max_value": null, "negative_slope": 0.0, "threshold": 0.0})", 2,
        {UnaryKind::Relu});
  check("ReLU", R"({"max_value": 6.0})", 3, {UnaryKind::Relu, 0, 6, 0, true});
  check("ReLU", R"({"max_value": 3.5, "negative_slope": 0.1, "threshold": 1.0})", 3,
        {UnaryKind::Relu, 0.1f, 3.5f, 1.0f, true});
  check("LeakyReLU", R"({"alpha": 0.1})", 2, {UnaryKind::Relu, 0.1f});
  check("LeakyReLU", R"({})", 2, {UnaryKind::Relu, 0.3f});
  check("LeakyReLU", R"({"negative_slope": 0.25})", 3, {UnaryKind::Relu, 0.25f});
  check("ELU", R"({"alpha": 0.7})", 2, {UnaryKind::Elu, 0.7f});
  check("ThresholdedReLU", R"({"theta": 2.0})", 2, {UnaryKind::ThresholdedRelu, 2.0f});
  check("ThresholdedReLU", R"({})", 1, {UnaryKind::ThresholdedRelu, 1.0f});

  for (std::string axis : {"-1", "1", "[1, 2]", "[2]"}) {
    std::vector<int64_t> axes;
    if (axis == "-1") axes = {-1};
    if (axis == "1") axes = {1};
    if (axis == "[1, 2]") axes = {1, 2};
    if (axis == "[2]") axes = {2};
    std::vector<float> want(x.size());
    reference::softmax({axes, false}, s, x, want);
    EXPECT_TRUE(
        near(bind_and_run("Softmax", R"({"axis": )" + axis + "}", 3, {-1, 4, 5}, s, x), want))
        << "axis " << axis;
  }
}

TEST(ActivationBinders, PRelu) {
  Shape s = {2, 4, 5, 3};
  std::vector<float> x = random_values(120, 23);
  Tensor alpha = random_tensor({1, 1, 3}, 24);
  std::vector<float> want(x.size());
  reference::prelu(s, x, alpha, want);
  EXPECT_TRUE(near(bind_and_run("PReLU", R"({"shared_axes": [1, 2]})", 2, {-1, 4, 5, 3}, s, x,
                                {{"alpha", alpha}}),
                   want));
  // Keras 1 names the weight "<layer>_alphas".
  Tensor full = random_tensor({4, 5, 3}, 25);
  reference::prelu(s, x, full, want);
  EXPECT_TRUE(near(
      bind_and_run("PReLU", R"({})", 1, {-1, 4, 5, 3}, s, x, {{"prelu_1_alphas", full}}), want));
  // A wrong alpha shape names the weight.
  try {
    bind_layer("PReLU", R"({"shared_axes": [1]})", 2, {{-1, 4, 5, 3}}, {{"alpha", full}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kerasrt::ops
