// Graph passes (src/graph/passes.h): each fusion pattern turns into the expected nodes and
// predicts what the unfused graph predicts (the conformance rule, |a - b| <= 1e-4 * max(1, |b|));
// each condition that forbids a fusion leaves the graph alone; a .krt written after the passes
// loads and predicts identically.
#include "graph/passes.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "../ops/core_test_util.h"
#include "base/npy.h"
#include "kerasrt/model.h"
#include "ops/conv.h"
#include "ops/dense.h"
#include "ops/elementwise.h"
#include "ops/normalization.h"
#include "ops/weight_packs.h"
#include "runtime/plan.h"

namespace kerasrt {
namespace {

using graph::Graph;
using graph::ValueId;
using ops::BatchNormActivation;
using ops::UnaryAttrs;
using ops::UnaryKind;
using testing::near;
using testing::random_tensor;
using testing::random_values;

constexpr float kTol = 1e-4f;  // the conformance rule; never loosened

// ---- graph building -------------------------------------------------------------------------

std::shared_ptr<ops::ConvOp> conv_op(ops::ConvAttrs a, int64_t in_channels, bool bias,
                                     uint32_t seed) {
  Shape ks = ops::conv_kernel_shape(a, in_channels);
  Tensor k = random_tensor(ks, seed, -0.5f, 0.5f);
  Tensor b = bias ? random_tensor({a.filters}, seed + 1, -0.5f, 0.5f) : Tensor();
  return std::make_shared<ops::ConvOp>(std::move(a), in_channels, std::move(k), std::move(b));
}

ops::ConvAttrs conv_attrs(std::string kind, size_t rank, int64_t filters) {
  ops::ConvAttrs a;
  a.kind = std::move(kind);
  a.kernel_size.assign(rank, 3);
  a.strides.assign(rank, 1);
  a.dilation.assign(rank, 1);
  a.padding = ops::ConvPadding::Same;
  a.filters = filters;
  return a;
}

// A BatchNormalization with scales far from 1 (and of both signs) and shifts far from 0, as the
// moving statistics of a trained model give.
std::shared_ptr<ops::BatchNormOp> bn_op(int64_t axis, int64_t channels, uint32_t seed) {
  std::vector<float> gamma = random_values(static_cast<size_t>(channels), seed, -2.0f, 2.0f);
  std::vector<float> beta = random_values(static_cast<size_t>(channels), seed + 1, -1.0f, 1.0f);
  std::vector<float> mean = random_values(static_cast<size_t>(channels), seed + 2, -1.0f, 1.0f);
  std::vector<float> var = random_values(static_cast<size_t>(channels), seed + 3, 0.05f, 3.0f);
  std::vector<float> scale(gamma.size()), shift(gamma.size());
  ops::fold_batch_norm(gamma, beta, mean, var, 1e-3, scale, shift);
  ops::BatchNormAttrs a;
  a.axes = {axis};
  a.scale = Tensor({channels}, std::move(scale));
  a.shift = Tensor({channels}, std::move(shift));
  return std::make_shared<ops::BatchNormOp>(std::move(a));
}

UnaryAttrs unary(UnaryKind kind, float alpha = 0, float beta = 0, bool has_max = false,
                 float gamma = 0) {
  UnaryAttrs a;
  a.kind = kind;
  a.alpha = alpha;
  a.beta = beta;
  a.gamma = gamma;
  a.has_max = has_max;
  return a;
}

std::shared_ptr<ops::UnaryOp> act_op(UnaryKind kind, float alpha = 0, float beta = 0,
                                     bool has_max = false, float gamma = 0) {
  return std::make_shared<ops::UnaryOp>(unary(kind, alpha, beta, has_max, gamma));
}

UnaryAttrs relu6() {
  return unary(UnaryKind::Relu, 0, 6, true);
}

ValueId add(Graph& g, const std::string& name, std::shared_ptr<const ops::Op> op,
            std::vector<ValueId> in) {
  return g.add_node(name, "Test", std::move(op), std::move(in)).at(0);
}

// ---- running a graph through the runtime's plan ---------------------------------------------

struct GraphRun {
  std::vector<std::vector<float>> outputs;
  std::vector<std::string> pack_keys;
};

GraphRun run_graph(const Graph& g, const std::vector<Shape>& shapes,
                   const std::vector<std::vector<float>>& inputs) {
  ops::WeightPacks packs;
  ops::PrepareContext pc{&testing::engine().engine, 1, &packs, {}};
  std::unique_ptr<runtime::Plan> plan = runtime::compile_plan(g, shapes, pc);
  testing::Scratch arena(plan->arena_bytes);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::memcpy(arena.p + plan->input_offsets[i], inputs[i].data(), inputs[i].size() * 4);
  }
  dnnl::stream stream(testing::engine().engine);
  for (const runtime::PlanStep& step : plan->steps) {
    std::vector<const float*> in;
    std::vector<float*> out;
    for (size_t off : step.inputs) in.push_back(reinterpret_cast<const float*>(arena.p + off));
    for (size_t off : step.outputs) out.push_back(reinterpret_cast<float*>(arena.p + off));
    ops::RunContext rc{&testing::engine().engine, &stream, arena.p + step.scratch, nullptr};
    step.kernel->run(rc, in, out);
  }
  GraphRun r;
  for (size_t i = 0; i < plan->output_offsets.size(); ++i) {
    const auto* p = reinterpret_cast<const float*>(arena.p + plan->output_offsets[i]);
    r.outputs.emplace_back(p, p + shape_numel(plan->output_shapes[i]));
  }
  for (const auto& pack : packs.all()) r.pack_keys.push_back(pack->key);
  return r;
}

struct Fused {
  Graph graph;
  graph::PassStats stats;
};

// Optimises a copy of `g`, then checks that both graphs predict the same for random inputs of
// `shapes` (the graph's input shapes with the batch set).
Fused check_equivalent(const Graph& g, const std::vector<Shape>& shapes, float in_range = 2.0f) {
  Fused f{g, {}};
  f.stats = graph::optimize(f.graph);
  std::vector<std::vector<float>> inputs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    inputs.push_back(random_values(static_cast<size_t>(shape_numel(shapes[i])),
                                   100 + static_cast<uint32_t>(i), -in_range, in_range));
  }
  GraphRun want = run_graph(g, shapes, inputs);
  GraphRun got = run_graph(f.graph, shapes, inputs);
  EXPECT_EQ(got.outputs.size(), want.outputs.size());
  for (size_t i = 0; i < want.outputs.size() && i < got.outputs.size(); ++i) {
    EXPECT_TRUE(near(got.outputs[i], want.outputs[i], kTol)) << "output " << i;
  }
  return f;
}

std::vector<std::string> node_names(const Graph& g) {
  std::vector<std::string> names;
  for (const graph::Node& n : g.nodes) names.push_back(n.name);
  return names;
}

// The graph is well formed after the rewrite: producers point at the nodes, every read value is
// produced before it is read.
void expect_consistent(const Graph& g) {
  std::vector<bool> known(g.values.size(), false);
  for (ValueId v : g.inputs) known[static_cast<size_t>(v)] = true;
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    for (ValueId v : g.nodes[n].inputs) EXPECT_TRUE(known[static_cast<size_t>(v)]);
    for (ValueId v : g.nodes[n].outputs) {
      EXPECT_EQ(g.values[static_cast<size_t>(v)].producer, static_cast<int>(n));
      known[static_cast<size_t>(v)] = true;
    }
  }
  for (ValueId v : g.outputs) EXPECT_TRUE(known[static_cast<size_t>(v)]);
}

// ---- fusion patterns ------------------------------------------------------------------------

TEST(GraphPasses, Conv2DBatchNormReluBecomesOneNode) {
  for (bool bias : {true, false}) {
    Graph g;
    ValueId x = g.add_input("x", {-1, 9, 7, 5});
    ValueId c = add(g, "conv", conv_op(conv_attrs("Conv2D", 2, 8), 5, bias, 1), {x});
    ValueId b = add(g, "bn", bn_op(-1, 8, 2), {c});
    g.outputs = {add(g, "conv/activation", act_op(UnaryKind::Relu), {b})};
    Fused f = check_equivalent(g, {{2, 9, 7, 5}});
    EXPECT_EQ(f.stats.batch_norms_folded, 1);
    EXPECT_EQ(f.stats.activations_fused, 1);
    EXPECT_EQ(node_names(f.graph), std::vector<std::string>{"conv+bn+conv/activation"});
    EXPECT_EQ(f.graph.values.size(), 2u);  // the input and the one output
    expect_consistent(f.graph);
    const auto& conv = dynamic_cast<const ops::ConvOp&>(*f.graph.nodes[0].op);
    EXPECT_EQ(conv.epilogue().kernel_scale.size(), 8u);
    EXPECT_EQ(conv.epilogue().post_ops.size(), 1u);
    EXPECT_FALSE(conv.bias().empty());  // the BN shift
  }
}

TEST(GraphPasses, FoldedKernelHasItsOwnPackKey) {
  Graph g;
  ValueId x = g.add_input("x", {-1, 6, 6, 3});
  ValueId c = add(g, "conv", conv_op(conv_attrs("Conv2D", 2, 4), 3, true, 3), {x});
  g.outputs = {add(g, "bn", bn_op(3, 4, 4), {c})};
  Fused f{g, {}};
  f.stats = graph::optimize(f.graph);
  std::vector<std::vector<float>> in{random_values(108, 5)};
  GraphRun before = run_graph(g, {{1, 6, 6, 3}}, in);
  GraphRun after = run_graph(f.graph, {{1, 6, 6, 3}}, in);
  EXPECT_EQ(before.pack_keys, std::vector<std::string>{"conv#0/kernel"});
  EXPECT_EQ(after.pack_keys, std::vector<std::string>{"conv+bn#0/kernel*scale"});
}

TEST(GraphPasses, DepthwiseAndGroupedConvFoldPerOutputChannel) {
  // Depthwise (groups = input channels, multiplier 2) and grouped convs: the output channel spans
  // two dims of oneDNN's grouped weights.
  for (int64_t groups : {int64_t{6}, int64_t{3}}) {
    ops::ConvAttrs a = conv_attrs(groups == 6 ? "DepthwiseConv2D" : "Conv2D", 2, 12);
    a.groups = groups;
    a.strides = {2, 2};
    Graph g;
    ValueId x = g.add_input("x", {-1, 11, 10, 6});
    ValueId c = add(g, "dw", conv_op(a, 6, false, 7), {x});
    ValueId b = add(g, "dw_bn", bn_op(3, 12, 8), {c});
    ValueId r = g.add_node("dw_relu", "ReLU", std::make_shared<ops::UnaryOp>(relu6()), {b}).at(0);
    g.outputs = {r};
    Fused f = check_equivalent(g, {{2, 11, 10, 6}}, 3.0f);
    EXPECT_EQ(node_names(f.graph), std::vector<std::string>{"dw+dw_bn+dw_relu"});
  }
}

TEST(GraphPasses, TransposedConvAndChannelsFirstAndOtherRanks) {
  struct Case {
    std::string kind;
    size_t rank;
    bool transpose;
    bool channels_first;
    UnaryKind act;
  };
  for (const Case& k : {Case{"Conv2DTranspose", 2, true, false, UnaryKind::Sigmoid},
                        Case{"Conv1D", 1, false, true, UnaryKind::GeluErf},
                        Case{"Conv1D", 1, false, false, UnaryKind::GeluTanh},
                        Case{"Conv3D", 3, false, false, UnaryKind::Elu},
                        Case{"Conv3DTranspose", 3, true, true, UnaryKind::Tanh}}) {
    SCOPED_TRACE(k.kind);
    ops::ConvAttrs a = conv_attrs(k.kind, k.rank, 6);
    a.transpose = k.transpose;
    a.channels_first = k.channels_first;
    if (k.transpose) a.strides.assign(k.rank, 2);
    Shape in{-1};
    if (k.channels_first) in.push_back(4);
    for (size_t i = 0; i < k.rank; ++i) in.push_back(5 + static_cast<int64_t>(i));
    if (!k.channels_first) in.push_back(4);
    Graph g;
    ValueId x = g.add_input("x", in);
    ValueId c = add(g, "c", conv_op(a, 4, true, 11), {x});
    ValueId b = add(g, "b", bn_op(k.channels_first ? 1 : -1, 6, 12), {c});
    g.outputs = {add(g, "c/activation", act_op(k.act, k.act == UnaryKind::Elu ? 1.0f : 0), {b})};
    in[0] = 2;
    Fused f = check_equivalent(g, {in});
    EXPECT_EQ(f.graph.nodes.size(), 1u);
  }
}

TEST(GraphPasses, EveryPostOpActivationMatchesTheUnfusedOp) {
  // Each activation oneDNN can run as a post-op, fused into a conv: the same values as UnaryOp.
  std::vector<UnaryAttrs> acts{unary(UnaryKind::Relu),
                               unary(UnaryKind::Relu, 0.3f),               // leaky
                               relu6(),                                    // relu6
                               unary(UnaryKind::Relu, 0, 1.5f, true),      // ReLU(max_value=1.5)
                               unary(UnaryKind::HardSigmoid, 0.2f, 0.5f),  // Keras 2
                               unary(UnaryKind::HardSigmoidRelu6),         // Keras 3
                               unary(UnaryKind::HardTanh),
                               unary(UnaryKind::Elu, 0.7f)};
  for (UnaryKind k : {UnaryKind::Sigmoid, UnaryKind::Tanh, UnaryKind::Selu, UnaryKind::GeluErf,
                      UnaryKind::GeluTanh, UnaryKind::Silu, UnaryKind::Mish, UnaryKind::Exp,
                      UnaryKind::LogSigmoid, UnaryKind::HardSilu, UnaryKind::Softplus}) {
    acts.push_back(unary(k));
  }
  for (const UnaryAttrs& act : acts) {
    SCOPED_TRACE(ops::unary_kind_name(act.kind) + " alpha " + std::to_string(act.alpha));
    ASSERT_FALSE(ops::post_op_chain(act).empty());
    for (bool dense : {false, true}) {
      Graph g;
      ValueId y;
      if (dense) {
        ValueId x = g.add_input("x", {-1, 3, 10});
        y = add(g, "d",
                std::make_shared<ops::DenseOp>(random_tensor({10, 7}, 21, -0.8f, 0.8f),
                                               random_tensor({7}, 22)),
                {x});
      } else {
        ValueId x = g.add_input("x", {-1, 6, 6, 4});
        y = add(g, "c", conv_op(conv_attrs("Conv2D", 2, 5), 4, true, 23), {x});
      }
      g.outputs = {add(g, "a", std::make_shared<ops::UnaryOp>(act), {y})};
      Fused f = check_equivalent(g, {dense ? Shape{2, 3, 10} : Shape{2, 6, 6, 4}}, 3.0f);
      EXPECT_EQ(f.stats.activations_fused, 1);
      EXPECT_EQ(f.graph.nodes.size(), 1u);
    }
  }
}

TEST(GraphPasses, DenseBatchNormSwish) {
  for (bool bias : {true, false}) {
    Graph g;
    ValueId x = g.add_input("x", {-1, 4, 9});
    ValueId d = add(g, "dense",
                    std::make_shared<ops::DenseOp>(random_tensor({9, 6}, 31),
                                                   bias ? random_tensor({6}, 32) : Tensor()),
                    {x});
    ValueId b = add(g, "bn", bn_op(2, 6, 33), {d});
    g.outputs = {add(g, "dense/activation", act_op(UnaryKind::Silu), {b})};
    Fused f = check_equivalent(g, {{3, 4, 9}});
    EXPECT_EQ(f.stats.batch_norms_folded, 1);
    EXPECT_EQ(f.stats.activations_fused, 1);
    EXPECT_EQ(f.graph.nodes.size(), 1u);
  }
}

TEST(GraphPasses, BatchNormWithReluFamilyRunsInOneLoop) {
  struct Case {
    UnaryAttrs act;
    BatchNormActivation want;
  };
  for (const Case& k : {Case{unary(UnaryKind::Relu), BatchNormActivation::Clip},
                        Case{relu6(), BatchNormActivation::Clip},
                        Case{unary(UnaryKind::Relu, 0.2f), BatchNormActivation::Leaky},
                        Case{unary(UnaryKind::HardTanh), BatchNormActivation::Clip}}) {
    // Pre-activation order (ResNetV2, DenseNet): BN -> relu -> conv. BN takes the relu, the conv
    // stays as it is.
    Graph g;
    ValueId x = g.add_input("x", {-1, 5, 5, 4});
    ValueId b = add(g, "bn", bn_op(-1, 4, 41), {x});
    ValueId r = add(g, "relu", std::make_shared<ops::UnaryOp>(k.act), {b});
    g.outputs = {add(g, "conv", conv_op(conv_attrs("Conv2D", 2, 3), 4, true, 42), {r})};
    Fused f = check_equivalent(g, {{2, 5, 5, 4}}, 4.0f);
    EXPECT_EQ(node_names(f.graph), (std::vector<std::string>{"bn+relu", "conv"}));
    EXPECT_EQ(f.stats.batch_norms_folded, 0);
    const auto& bn = dynamic_cast<const ops::BatchNormOp&>(*f.graph.nodes[0].op);
    EXPECT_EQ(bn.attrs().activation, k.want);
    EXPECT_TRUE(dynamic_cast<const ops::ConvOp&>(*f.graph.nodes[1].op).epilogue().empty());
  }
}

TEST(GraphPasses, SharedLayersShareOneFusedOp) {
  // A layer called twice (one op, two nodes), each call followed by the same BN and relu: both
  // nodes run one fused op, so the plan packs its kernel once.
  Graph g;
  ValueId x1 = g.add_input("a", {-1, 6, 6, 3});
  ValueId x2 = g.add_input("b", {-1, 6, 6, 3});
  auto conv = conv_op(conv_attrs("Conv2D", 2, 4), 3, true, 51);
  auto bn = bn_op(-1, 4, 52);
  auto relu = act_op(UnaryKind::Relu);
  ValueId y1 = add(g, "relu", relu, {add(g, "bn", bn, {add(g, "conv", conv, {x1})})});
  ValueId y2 = add(g, "relu_1", relu, {add(g, "bn_1", bn, {add(g, "conv_1", conv, {x2})})});
  g.outputs = {y1, y2};
  Fused f = check_equivalent(g, {{1, 6, 6, 3}, {1, 6, 6, 3}});
  ASSERT_EQ(f.graph.nodes.size(), 2u);
  EXPECT_EQ(f.graph.nodes[0].op, f.graph.nodes[1].op);
  std::vector<std::vector<float>> in{random_values(108, 1), random_values(108, 2)};
  EXPECT_EQ(run_graph(f.graph, {{1, 6, 6, 3}, {1, 6, 6, 3}}, in).pack_keys.size(), 1u);
}

// ---- conditions that forbid a fusion --------------------------------------------------------

TEST(GraphPasses, ValueWithAnotherConsumerIsNotFused) {
  Graph g;
  ValueId x = g.add_input("x", {-1, 6, 6, 3});
  ValueId c = add(g, "conv", conv_op(conv_attrs("Conv2D", 2, 4), 3, true, 61), {x});
  ValueId b = add(g, "bn", bn_op(-1, 4, 62), {c});
  ValueId r = add(g, "relu", act_op(UnaryKind::Relu), {b});
  ValueId s = add(g, "sig", act_op(UnaryKind::Sigmoid), {c});  // a second reader of conv
  ValueId t = add(g, "tanh", act_op(UnaryKind::Tanh), {b});    // a second reader of bn
  g.outputs = {r, s, t};
  Fused f = check_equivalent(g, {{2, 6, 6, 3}});
  EXPECT_EQ(f.stats.batch_norms_folded, 0);
  EXPECT_EQ(f.stats.activations_fused, 0);
  EXPECT_EQ(node_names(f.graph), node_names(g));
}

TEST(GraphPasses, ModelOutputIsNotFused) {
  Graph g;
  ValueId x = g.add_input("x", {-1, 8});
  ValueId d =
      add(g, "dense", std::make_shared<ops::DenseOp>(random_tensor({8, 5}, 71), Tensor()), {x});
  ValueId b = add(g, "bn", bn_op(-1, 5, 72), {d});
  ValueId r = add(g, "relu", act_op(UnaryKind::Relu), {b});
  g.outputs = {r, d};  // the dense output is a model output too
  Fused f = check_equivalent(g, {{3, 8}});
  EXPECT_EQ(node_names(f.graph), (std::vector<std::string>{"dense", "bn+relu"}));

  EXPECT_EQ(f.stats.batch_norms_folded, 0);
  EXPECT_EQ(f.stats.activations_fused, 1);  // the BN takes the relu: its output is not one

  g.outputs = {r, b};  // the BN output is: the BN folds, the relu does not
  f = check_equivalent(g, {{3, 8}});
  EXPECT_EQ(node_names(f.graph), (std::vector<std::string>{"dense+bn", "relu"}));
}

TEST(GraphPasses, UnsupportedActivationsAreNotFused) {
  std::vector<std::shared_ptr<ops::UnaryOp>> acts{
      act_op(UnaryKind::Relu, 0, 0, false, 0.5f),  // threshold
      act_op(UnaryKind::Relu, 0.1f, 2.0f, true),   // slope and max_value
      act_op(UnaryKind::ThresholdedRelu, 1.0f), act_op(UnaryKind::Softsign),
      act_op(UnaryKind::SoftShrink, 0.5f)};
  for (const auto& act : acts) {
    SCOPED_TRACE(act->kind());
    EXPECT_TRUE(ops::post_op_chain(act->attrs()).empty());
    Graph g;
    ValueId x = g.add_input("x", {-1, 6, 6, 3});
    ValueId c = add(g, "conv", conv_op(conv_attrs("Conv2D", 2, 4), 3, true, 81), {x});
    ValueId b = add(g, "bn", bn_op(-1, 4, 82), {c});
    g.outputs = {add(g, "act", act, {b})};
    Fused f = check_equivalent(g, {{2, 6, 6, 3}}, 3.0f);
    EXPECT_EQ(node_names(f.graph), (std::vector<std::string>{"conv+bn", "act"}));
    // ... nor into a lone BN
    Graph h;
    x = h.add_input("x", {-1, 6, 6, 3});
    h.outputs = {add(h, "act", act, {add(h, "bn", bn_op(-1, 3, 83), {x})})};
    f = check_equivalent(h, {{2, 6, 6, 3}}, 3.0f);
    EXPECT_EQ(f.graph.nodes.size(), 2u);
  }
  // BN takes only the relu family (the rest would be another loop, not oneDNN's math).
  Graph g;
  ValueId x = g.add_input("x", {-1, 4});
  g.outputs = {add(g, "sig", act_op(UnaryKind::Sigmoid), {add(g, "bn", bn_op(-1, 4, 84), {x})})};
  EXPECT_EQ(check_equivalent(g, {{2, 4}}).graph.nodes.size(), 2u);
}

TEST(GraphPasses, BatchNormOnAnotherAxisIsNotFolded) {
  // Conv output (N, 4, 5, 4) with channels last; a BN over axis 1 (also 4 wide) is not per
  // output channel.
  Graph g;
  ValueId x = g.add_input("x", {-1, 4, 5, 3});
  ValueId c = add(g, "conv", conv_op(conv_attrs("Conv2D", 2, 4), 3, true, 91), {x});
  g.outputs = {add(g, "bn", bn_op(1, 4, 92), {c})};
  Fused f = check_equivalent(g, {{2, 4, 5, 3}});
  EXPECT_EQ(f.graph.nodes.size(), 2u);
  // Nor a BN before a conv, nor one after a BN.
  Graph h;
  x = h.add_input("x", {-1, 4, 5, 3});
  ValueId b = add(h, "bn", bn_op(-1, 3, 93), {x});
  ValueId c2 = add(h, "conv", conv_op(conv_attrs("Conv2D", 2, 4), 3, true, 94), {b});
  ValueId b2 = add(h, "bn2", bn_op(-1, 4, 95), {c2});
  h.outputs = {add(h, "bn3", bn_op(-1, 4, 96), {b2})};
  f = check_equivalent(h, {{2, 4, 5, 3}});
  EXPECT_EQ(node_names(f.graph), (std::vector<std::string>{"bn", "conv+bn2", "bn3"}));
}

// ---- .krt written after the passes ----------------------------------------------------------

std::string fixture(const std::string& name) {
  return std::string(KERASRT_FIXTURES_DIR) + "/" + name;
}

TEST(GraphPasses, KrtWrittenAfterPassesPredictsIdentically) {
  // functional_residual: Conv1D -> BN -> ReLU; bn_dense: Dense -> BN; act_gelu: Dense(gelu).
  for (const char* name : {"functional_residual", "bn_dense", "act_gelu", "seq_conv"}) {
    SCOPED_TRACE(name);
    const std::string h5 = fixture(std::string(name) + "/k3.h5");
    const std::string krt = ::testing::TempDir() + "/passes_" + name + ".krt";
    ConvertResult conv = convert_model(h5, krt);
    EXPECT_GT(conv.packed_bytes, 0u);
    Model a = Model::load(h5);
    Model b = Model::load(krt);
    // Batch 1 runs on the packs the .krt holds, batch 3 on packs made at load.
    for (const char* input : {"/in_b1_0.npy", "/in_b3_0.npy"}) {
      NpyArray npy = read_npy(fixture(name + std::string(input)));
      std::vector<Array> in{Array{npy.shape, npy.data}};
      std::vector<Array> ya = a.predict(in);
      std::vector<Array> yb = b.predict(in);
      ASSERT_EQ(ya.size(), yb.size());
      for (size_t i = 0; i < ya.size(); ++i) {
        EXPECT_EQ(ya[i].data, yb[i].data) << input << " output " << i;
      }
    }
    std::filesystem::remove(krt);
  }
}

}  // namespace
}  // namespace kerasrt
