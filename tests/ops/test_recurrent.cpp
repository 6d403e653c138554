// Recurrent family: RnnOp (LSTM, GRU both reset modes, SimpleRNN, stacked cells) against the
// naive reference over every option (masks, go_backwards, initial states, return_sequences,
// return_state, zero_output_for_mask, activations), plus hand-computed values that pin the
// reference itself, and the sequence helpers (Masking, ApplyMask, ReverseTime, Fold/Unfold).
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "core_test_util.h"
#include "ops/recurrent.h"
#include "ops/sequence.h"

namespace kerasrt {
namespace {

using ops::RnnAttrs;
using ops::RnnCell;
using ops::RnnCellKind;
using ops::UnaryAttrs;
using ops::UnaryKind;
using testing::random_tensor;
using testing::random_values;
using testing::run_op;

std::optional<UnaryAttrs> act(UnaryKind k, float alpha = 0, float beta = 0) {
  UnaryAttrs a;
  a.kind = k;
  a.alpha = alpha;
  a.beta = beta;
  return a;
}

RnnCell make_cell(RnnCellKind kind, int64_t in, int64_t units, bool reset_after, bool bias,
                  uint32_t seed) {
  RnnCell c;
  c.kind = kind;
  c.units = units;
  c.reset_after = reset_after;
  c.activation = act(UnaryKind::Tanh);
  c.recurrent_activation = act(UnaryKind::Sigmoid);
  const int64_t g = ops::rnn_gate_count(kind) * units;
  c.kernel = random_tensor({in, g}, seed);
  c.recurrent_kernel = random_tensor({units, g}, seed + 1);
  if (bias) c.bias = random_tensor({g}, seed + 2);
  if (bias && kind == RnnCellKind::Gru && reset_after)
    c.recurrent_bias = random_tensor({g}, seed + 3);
  return c;
}

std::string describe(const std::vector<RnnCell>& cells, const RnnAttrs& a, const Shape& x) {
  std::ostringstream s;
  s << "x " << shape_to_string(x) << " cells:";
  for (const RnnCell& c : cells) {
    s << " [kind " << static_cast<int>(c.kind) << " units " << c.units << " reset_after "
      << c.reset_after << " bias " << !c.bias.empty() << " act "
      << (c.activation ? ops::unary_kind_name(c.activation->kind) : "linear") << " ract "
      << (c.recurrent_activation ? ops::unary_kind_name(c.recurrent_activation->kind) : "linear")
      << "]";
  }
  s << " go_backwards " << a.go_backwards << " return_sequences " << a.return_sequences
    << " return_state " << a.return_state << " zero_output " << a.zero_output_for_mask
    << " initial_states " << a.has_initial_states << " mask " << a.has_mask;
  return s.str();
}

// Runs the op and the reference on the same random inputs and compares every output.
void check(const std::vector<RnnCell>& cells, const RnnAttrs& attrs, int64_t batch, int64_t time,
           uint32_t seed) {
  const int64_t features = cells.front().kernel.shape()[0];
  ops::RnnOp op(cells, attrs, "test");
  std::vector<Shape> shapes{{batch, time, features}};
  std::vector<std::vector<float>> inputs{
      random_values(static_cast<size_t>(batch * time * features), seed, -2.0f, 2.0f)};
  if (attrs.has_initial_states) {
    for (const RnnCell& c : cells) {
      for (int q = 0; q < ops::rnn_state_count(c.kind); ++q) {
        shapes.push_back({batch, c.units});
        inputs.push_back(random_values(static_cast<size_t>(batch * c.units), seed + 7 + q));
      }
    }
  }
  if (attrs.has_mask) {
    shapes.push_back({batch, time});
    std::vector<float> m = random_values(static_cast<size_t>(batch * time), seed + 11, 0, 1);
    for (float& v : m) v = v < 0.4f ? 0.0f : 1.0f;
    m[0] = 0.0f;                                      // a masked first step
    m[static_cast<size_t>(batch * time - 1)] = 0.0f;  // and a masked last step
    if (batch > 1) {
      for (int64_t t = 0; t < time; ++t) m[static_cast<size_t>(time + t)] = 0.0f;  // all masked
    }
    inputs.push_back(m);
  }
  std::vector<Shape> out_shapes;
  std::vector<std::vector<float>> got = run_op(op, shapes, inputs, &out_shapes);
  std::vector<std::vector<float>> want;
  for (const Shape& s : out_shapes) want.emplace_back(static_cast<size_t>(shape_numel(s)), 0.0f);
  std::vector<std::span<const float>> in_spans;
  for (const auto& v : inputs) in_spans.emplace_back(v);
  std::vector<std::span<float>> out_spans;
  for (auto& v : want) out_spans.emplace_back(v);
  ops::reference::rnn(cells, attrs, shapes, in_spans, out_spans);
  ASSERT_EQ(got.size(), want.size());
  for (size_t o = 0; o < got.size(); ++o) {
    for (size_t i = 0; i < got[o].size(); ++i) {
      ASSERT_NEAR(got[o][i], want[o][i], 1e-4 * std::max(1.0f, std::fabs(want[o][i])))
          << "output " << o << " element " << i << ": " << describe(cells, attrs, shapes[0]);
    }
  }
}

TEST(Recurrent, EveryCellAndOptionMatchesReference) {
  uint32_t seed = 1;
  struct Kind {
    RnnCellKind kind;
    bool reset_after;
  };
  for (Kind k : {Kind{RnnCellKind::Lstm, false}, Kind{RnnCellKind::Gru, true},
                 Kind{RnnCellKind::Gru, false}, Kind{RnnCellKind::Simple, false}}) {
    for (int64_t batch : {1, 3}) {
      for (int64_t time : {1, 5}) {
        for (int64_t units : {1, 4, 9}) {
          for (int flags = 0; flags < 64; flags += 3) {  // a spread of option combinations
            RnnAttrs a;
            a.go_backwards = flags & 1;
            a.return_sequences = flags & 2;
            a.return_state = flags & 4;
            a.has_mask = flags & 8;
            a.zero_output_for_mask = flags & 16;
            a.has_initial_states = flags & 32;
            const int64_t features = 1 + (seed % 3) * 3;  // 1, 4, 7
            std::vector<RnnCell> cells{
                make_cell(k.kind, features, units, k.reset_after, (flags % 5) != 0, seed)};
            check(cells, a, batch, time, seed);
            ++seed;
          }
        }
      }
    }
  }
}

TEST(Recurrent, NonDefaultActivations) {
  uint32_t seed = 500;
  const std::vector<std::pair<std::optional<UnaryAttrs>, std::optional<UnaryAttrs>>> acts{
      {act(UnaryKind::Relu), act(UnaryKind::HardSigmoid, 0.2f, 0.5f)},
      {std::nullopt, act(UnaryKind::HardSigmoidRelu6)},
      {act(UnaryKind::Softsign), std::nullopt},
      {act(UnaryKind::Elu, 1.0f), act(UnaryKind::Sigmoid)},
  };
  for (RnnCellKind kind : {RnnCellKind::Lstm, RnnCellKind::Gru, RnnCellKind::Simple}) {
    for (const auto& [a, ra] : acts) {
      RnnCell c = make_cell(kind, 3, 5, kind == RnnCellKind::Gru, true, seed++);
      c.activation = a;
      c.recurrent_activation = ra;
      RnnAttrs attrs;
      attrs.return_sequences = true;
      attrs.has_mask = true;
      check({c}, attrs, 2, 6, seed++);
    }
  }
}

TEST(Recurrent, StackedCellsMatchReference) {
  uint32_t seed = 900;
  for (int flags = 0; flags < 64; flags += 5) {
    RnnAttrs a;
    a.go_backwards = flags & 1;
    a.return_sequences = flags & 2;
    a.return_state = flags & 4;
    a.has_mask = flags & 8;
    a.zero_output_for_mask = flags & 16;
    a.has_initial_states = flags & 32;
    std::vector<RnnCell> cells{make_cell(RnnCellKind::Lstm, 3, 4, false, true, seed),
                               make_cell(RnnCellKind::Gru, 4, 3, flags & 1, true, seed + 10),
                               make_cell(RnnCellKind::Simple, 3, 2, false, true, seed + 20)};
    check(cells, a, 3, 4, seed);
    seed += 30;
  }
}

TEST(Recurrent, LargerShapes) {
  RnnAttrs a;
  a.return_sequences = true;
  a.has_mask = true;
  check({make_cell(RnnCellKind::Lstm, 37, 33, false, true, 77)}, a, 5, 17, 78);
  check({make_cell(RnnCellKind::Gru, 16, 64, true, true, 79)}, a, 2, 9, 80);
}

// One LSTM step by hand (units 1, feature 1): pins the reference's gate order i, f, c, o.
TEST(Recurrent, LstmStepByHand) {
  RnnCell c;
  c.kind = RnnCellKind::Lstm;
  c.units = 1;
  c.activation = act(UnaryKind::Tanh);
  c.recurrent_activation = act(UnaryKind::Sigmoid);
  c.kernel = Tensor({1, 4}, {0.5f, -0.25f, 1.0f, 0.75f});
  c.recurrent_kernel = Tensor({1, 4}, {0.1f, 0.2f, 0.3f, 0.4f});
  c.bias = Tensor({4}, {0.0f, 1.0f, 0.0f, 0.0f});
  RnnAttrs a;
  a.has_initial_states = true;
  a.return_state = true;
  ops::RnnOp op({c}, a, "LSTM");
  const float x = 2.0f, h0 = 0.5f, c0 = -1.0f;
  auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
  double i = sig(0.5 * x + 0.1 * h0), f = sig(-0.25 * x + 0.2 * h0 + 1.0);
  double g = std::tanh(1.0 * x + 0.3 * h0), o = sig(0.75 * x + 0.4 * h0);
  double cn = f * c0 + i * g, hn = o * std::tanh(cn);
  auto got = run_op(op, {{1, 1, 1}, {1, 1}, {1, 1}}, {{x}, {h0}, {c0}});
  EXPECT_NEAR(got[0][0], hn, 1e-6);
  EXPECT_NEAR(got[1][0], hn, 1e-6);
  EXPECT_NEAR(got[2][0], cn, 1e-6);
}

// One GRU step by hand in both reset modes (units 1): z, r, h gate order.
TEST(Recurrent, GruStepByHand) {
  for (bool reset_after : {false, true}) {
    RnnCell c;
    c.kind = RnnCellKind::Gru;
    c.units = 1;
    c.reset_after = reset_after;
    c.activation = act(UnaryKind::Tanh);
    c.recurrent_activation = act(UnaryKind::Sigmoid);
    c.kernel = Tensor({1, 3}, {0.5f, -0.5f, 1.5f});
    c.recurrent_kernel = Tensor({1, 3}, {0.3f, 0.6f, -0.9f});
    c.bias = Tensor({3}, {0.1f, 0.2f, 0.3f});
    if (reset_after) c.recurrent_bias = Tensor({3}, {-0.1f, 0.05f, 0.4f});
    RnnAttrs a;
    a.has_initial_states = true;
    ops::RnnOp op({c}, a, "GRU");
    const double x = 1.5, h = -0.7;
    auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    const double rb0 = reset_after ? -0.1 : 0, rb1 = reset_after ? 0.05 : 0, rb2 = 0.4;
    double z = sig(0.5 * x + 0.1 + 0.3 * h + rb0);
    double r = sig(-0.5 * x + 0.2 + 0.6 * h + rb1);
    double hh = reset_after ? std::tanh(1.5 * x + 0.3 + r * (-0.9 * h + rb2))
                            : std::tanh(1.5 * x + 0.3 + (r * h) * -0.9);
    double want = z * h + (1 - z) * hh;
    auto got = run_op(op, {{1, 1, 1}, {1, 1}}, {{static_cast<float>(x)}, {static_cast<float>(h)}});
    EXPECT_NEAR(got[0][0], want, 1e-6) << "reset_after " << reset_after;
  }
}

// Masked steps: the state is kept and the output repeats (or is zero with zero_output_for_mask).
TEST(Recurrent, MaskSemanticsByHand) {
  RnnCell c;
  c.kind = RnnCellKind::Simple;
  c.units = 1;
  c.kernel = Tensor({1, 1}, {1.0f});
  c.recurrent_kernel = Tensor({1, 1}, {1.0f});
  // linear activation: h_t = x_t + h_{t-1}
  for (bool zero : {false, true}) {
    RnnAttrs a;
    a.return_sequences = true;
    a.has_mask = true;
    a.zero_output_for_mask = zero;
    a.return_state = true;
    ops::RnnOp op({c}, a, "SimpleRNN");
    auto got = run_op(op, {{1, 4, 1}, {1, 4}}, {{1, 2, 4, 8}, {0, 1, 0, 1}});
    std::vector<float> want =
        zero ? std::vector<float>{0, 2, 0, 10} : std::vector<float>{0, 2, 2, 10};
    EXPECT_EQ(got[0], want) << "zero_output_for_mask " << zero;
    EXPECT_EQ(got[1], std::vector<float>{10});
  }
  // go_backwards: processing order 8, 4, 2, 1 with mask 1, 0, 1, 0 -> outputs 8, 8, 10, 10.
  RnnAttrs a;
  a.return_sequences = true;
  a.has_mask = true;
  a.go_backwards = true;
  ops::RnnOp op({c}, a, "SimpleRNN");
  auto got = run_op(op, {{1, 4, 1}, {1, 4}}, {{1, 2, 4, 8}, {0, 1, 0, 1}});
  EXPECT_EQ(got[0], (std::vector<float>{8, 8, 10, 10}));
}

TEST(Recurrent, RejectsBadShapes) {
  RnnCell c = make_cell(RnnCellKind::Lstm, 3, 4, false, true, 1);
  ops::RnnOp op({c}, RnnAttrs{}, "LSTM");
  EXPECT_THROW(op.infer_shapes(std::vector<Shape>{{-1, 5, 2}}), Error);
  EXPECT_THROW(op.infer_shapes(std::vector<Shape>{{-1, 3}}), Error);
  auto s = op.infer_shapes(std::vector<Shape>{{-1, -1, 3}});
  EXPECT_EQ(s[0], (Shape{-1, 4}));
  RnnCell bad = c;
  bad.recurrent_kernel = random_tensor({4, 15}, 3);
  EXPECT_THROW(ops::RnnOp({bad}, RnnAttrs{}, "LSTM"), Error);
}

TEST(Sequence, MaskingApplyMaskReverseFold) {
  // Masking: rows whose features all equal the mask value are zeroed and masked.
  ops::MaskingOp masking(0.5f);
  auto m = run_op(masking, {{1, 3, 2}}, {{0.5f, 0.5f, 0.5f, 1.0f, 2.0f, 0.5f}});
  EXPECT_EQ(m[0], (std::vector<float>{0, 0, 0.5f, 1, 2, 0.5f}));
  EXPECT_EQ(m[1], (std::vector<float>{0, 1, 1}));
  ops::ApplyMaskOp apply;
  auto am = run_op(apply, {{2, 2, 2}, {2, 2}}, {{1, 2, 3, 4, 5, 6, 7, 8}, {1, 0, 0, 1}});
  EXPECT_EQ(am[0], (std::vector<float>{1, 2, 0, 0, 0, 0, 7, 8}));
  ops::ReverseTimeOp rev;
  auto r = run_op(rev, {{2, 3, 1}}, {{1, 2, 3, 4, 5, 6}});
  EXPECT_EQ(r[0], (std::vector<float>{3, 2, 1, 6, 5, 4}));
  ops::FoldTimeOp fold;
  EXPECT_EQ(fold.infer_shapes(std::vector<Shape>{{-1, 4, 3, 2}})[0], (Shape{-1, 3, 2}));
  EXPECT_EQ(fold.infer_shapes(std::vector<Shape>{{2, 4, 3, 2}})[0], (Shape{8, 3, 2}));
  ops::UnfoldTimeOp unfold;
  EXPECT_EQ(unfold.infer_shapes(std::vector<Shape>{{-1, 5}, {-1, 4, 3, 2}})[0], (Shape{-1, 4, 5}));
  EXPECT_THROW(unfold.infer_shapes(std::vector<Shape>{{7, 5}, {2, 4, 3}}), Error);
}

}  // namespace
}  // namespace kerasrt
