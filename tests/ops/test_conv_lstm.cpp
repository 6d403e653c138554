// ConvLSTM family: ConvLstmOp (oneDNN convolutions + gate loop) against its naive reference over
// ranks 1-3, both data formats, padding, strides, dilation and every time option (masks,
// go_backwards, initial states, return_sequences, return_state, zero_output_for_mask); stateful
// carrying through RunContext::state; the parallel gate loop; and a 1x1 ConvLSTM against the
// recurrent family's LSTM reference, which pins gate order and state handling independently.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "core_test_util.h"
#include "ops/conv_lstm.h"
#include "ops/recurrent.h"

namespace kerasrt {
namespace {

using ops::ConvLstmAttrs;
using ops::ConvPadding;
using ops::UnaryAttrs;
using ops::UnaryKind;
using testing::random_values;

std::optional<UnaryAttrs> act(UnaryKind k, float alpha = 0, float beta = 0) {
  UnaryAttrs a;
  a.kind = k;
  a.alpha = alpha;
  a.beta = beta;
  return a;
}

struct Problem {
  ConvLstmAttrs attrs;
  int64_t in_channels = 2;
  int64_t batch = 2, time = 3;
  std::vector<int64_t> spatial;  // input spatial dims
  bool bias = true;
};

ConvLstmAttrs base_attrs(size_t rank, int64_t filters, int64_t k) {
  ConvLstmAttrs a;
  a.conv.kind = "ConvLSTM" + std::to_string(rank) + "D";
  a.conv.filters = filters;
  a.conv.kernel_size.assign(rank, k);
  a.conv.strides.assign(rank, 1);
  a.conv.dilation.assign(rank, 1);
  a.activation = act(UnaryKind::Tanh);
  a.recurrent_activation = act(UnaryKind::Sigmoid);
  return a;
}

// A ConvLSTM2D with a 3x3 kernel and padding 'same'.
Problem same_2d(int64_t filters, bool channels_first) {
  Problem p;
  p.attrs = base_attrs(2, filters, 3);
  p.attrs.conv.padding = ConvPadding::Same;
  p.attrs.conv.channels_first = channels_first;
  return p;
}

std::string describe(const Problem& p) {
  const ConvLstmAttrs& a = p.attrs;
  std::ostringstream s;
  s << a.conv.kind << " filters " << a.conv.filters << " k " << shape_to_string(a.conv.kernel_size)
    << " strides " << shape_to_string(a.conv.strides) << " dilation "
    << shape_to_string(a.conv.dilation) << " padding " << static_cast<int>(a.conv.padding)
    << " channels_first " << a.conv.channels_first << " in " << p.in_channels << " batch "
    << p.batch << " time " << p.time << " spatial " << shape_to_string(p.spatial) << " bias "
    << p.bias << " go_backwards " << a.go_backwards << " return_sequences " << a.return_sequences
    << " return_state " << a.return_state << " zero_output " << a.zero_output_for_mask
    << " initial_states " << a.has_initial_states << " mask " << a.has_mask << " stateful "
    << a.stateful;
  return s.str();
}

struct Weights {
  Tensor kernel, recurrent_kernel, bias;
};

Weights make_weights(const Problem& p, uint32_t seed) {
  const ops::ConvAttrs& cv = p.attrs.conv;
  const int64_t f = cv.filters;
  Shape ks(cv.kernel_size.begin(), cv.kernel_size.end());
  int64_t taps = 1;
  for (int64_t k : ks) taps *= k;
  Shape rs = ks;
  ks.insert(ks.end(), {p.in_channels, 4 * f});
  rs.insert(rs.end(), {f, 4 * f});
  // Glorot-like scales keep the gates out of saturation, where differences would hide.
  const float wi = 1.5f / std::sqrt(static_cast<float>(taps * p.in_channels));
  const float wr = 1.5f / std::sqrt(static_cast<float>(taps * f));
  Weights w;
  w.kernel = Tensor(ks, random_values(static_cast<size_t>(shape_numel(ks)), seed, -wi, wi));
  w.recurrent_kernel =
      Tensor(rs, random_values(static_cast<size_t>(shape_numel(rs)), seed + 1, -wr, wr));
  if (p.bias) w.bias = Tensor({4 * f}, random_values(static_cast<size_t>(4 * f), seed + 2));
  return w;
}

Shape input_shape(const Problem& p) {
  Shape x{p.batch, p.time};
  if (p.attrs.conv.channels_first) x.push_back(p.in_channels);
  x.insert(x.end(), p.spatial.begin(), p.spatial.end());
  if (!p.attrs.conv.channels_first) x.push_back(p.in_channels);
  return x;
}

std::vector<Shape> op_shapes(const Problem& p) {
  std::vector<Shape> shapes{input_shape(p)};
  if (p.attrs.has_initial_states) {
    // The state shape is the op's output without return_sequences/return_state.
    ConvLstmAttrs plain = p.attrs;
    plain.has_initial_states = plain.has_mask = plain.return_sequences = plain.return_state =
        plain.stateful = false;
    Weights w = make_weights(p, 1);
    ops::ConvLstmOp probe(plain, w.kernel, w.recurrent_kernel, w.bias);
    const Shape state = probe.infer_shapes(std::vector<Shape>{shapes[0]}).at(0);
    shapes.push_back(state);
    shapes.push_back(state);
  }
  if (p.attrs.has_mask) shapes.push_back({p.batch, p.time});
  return shapes;
}

std::vector<std::vector<float>> random_inputs(const Problem& p, const std::vector<Shape>& shapes,
                                              uint32_t seed) {
  std::vector<std::vector<float>> inputs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const size_t n = static_cast<size_t>(shape_numel(shapes[i]));
    if (p.attrs.has_mask && i + 1 == shapes.size()) {
      std::vector<float> m = random_values(n, seed + 11, 0, 1);
      for (float& v : m) v = v < 0.4f ? 0.0f : 1.0f;
      m[0] = 0.0f;      // a masked first step
      m[n - 1] = 0.0f;  // and a masked last step
      if (p.batch > 1) {
        for (int64_t t = 0; t < p.time; ++t) m[static_cast<size_t>(p.time + t)] = 0.0f;
      }
      inputs.push_back(m);
    } else {
      inputs.push_back(random_values(n, seed + static_cast<uint32_t>(i), -2.0f, 2.0f));
    }
  }
  return inputs;
}

// prepare + run with `threads`, and optionally a persistent state region carried across calls.
struct Runner {
  Runner(const ops::Op& op, const std::vector<Shape>& shapes, int threads)
      : out_shapes(op.infer_shapes(shapes)) {
    ops::PrepareContext pc{&testing::engine().engine, threads};
    kernel = op.prepare(shapes, out_shapes, pc);
    scratch = std::make_unique<testing::Scratch>(kernel->scratch_bytes());
    state.assign(kernel->state_bytes() / sizeof(float) + 16, 0.0f);
  }
  std::vector<std::vector<float>> run(const std::vector<std::vector<float>>& inputs) {
    dnnl::stream stream(testing::engine().engine);
    ops::RunContext rc{&testing::engine().engine, &stream, scratch->p,
                       reinterpret_cast<std::byte*>(state.data())};
    std::vector<const float*> in;
    for (const auto& v : inputs) in.push_back(v.data());
    std::vector<std::vector<float>> out;
    std::vector<float*> outp;
    for (const Shape& s : out_shapes) {
      out.emplace_back(static_cast<size_t>(shape_numel(s)), -12345.0f);
    }
    for (auto& v : out) outp.push_back(v.data());
    kernel->run(rc, in, outp);
    return out;
  }
  std::vector<Shape> out_shapes;
  std::unique_ptr<ops::Kernel> kernel;
  std::unique_ptr<testing::Scratch> scratch;
  std::vector<float> state;
};

std::vector<std::vector<float>> reference(const Problem& p, const Weights& w,
                                          const std::vector<Shape>& shapes,
                                          const std::vector<Shape>& out_shapes,
                                          const std::vector<std::vector<float>>& inputs) {
  std::vector<std::vector<float>> want;
  for (const Shape& s : out_shapes) want.emplace_back(static_cast<size_t>(shape_numel(s)), 0.0f);
  std::vector<std::span<const float>> in_spans;
  for (const auto& v : inputs) in_spans.emplace_back(v);
  std::vector<std::span<float>> out_spans;
  for (auto& v : want) out_spans.emplace_back(v);
  ops::reference::conv_lstm(p.attrs, w.kernel, w.recurrent_kernel, w.bias, shapes, in_spans,
                            out_spans);
  return want;
}

void expect_near(const std::vector<std::vector<float>>& got,
                 const std::vector<std::vector<float>>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t o = 0; o < got.size(); ++o) {
    ASSERT_EQ(got[o].size(), want[o].size()) << what;
    for (size_t i = 0; i < got[o].size(); ++i) {
      ASSERT_NEAR(got[o][i], want[o][i], 1e-4 * std::max(1.0f, std::fabs(want[o][i])))
          << "output " << o << " element " << i << ": " << what;
    }
  }
}

void check(const Problem& p, uint32_t seed, int threads = 1) {
  const Weights w = make_weights(p, seed);
  ops::ConvLstmOp op(p.attrs, w.kernel, w.recurrent_kernel, w.bias);
  const std::vector<Shape> shapes = op_shapes(p);
  const std::vector<std::vector<float>> inputs = random_inputs(p, shapes, seed + 100);
  Runner runner(op, shapes, threads);
  expect_near(runner.run(inputs), reference(p, w, shapes, runner.out_shapes, inputs), describe(p));
}

TEST(ConvLstm, EveryRankLayoutAndOptionMatchesReference) {
  uint32_t seed = 1;
  for (size_t rank : {1, 2, 3}) {
    for (bool cf : {false, true}) {
      for (int geo = 0; geo < 4; ++geo) {
        for (int flags = 0; flags < 64; flags += 7) {  // a spread of option combinations
          Problem p;
          p.attrs = base_attrs(rank, 1 + static_cast<int64_t>(seed % 3), 3);
          p.attrs.conv.channels_first = cf;
          // geo 0: valid; 1: same; 2: same + strides 2 (kernel 2); 3: valid + dilation 2.
          p.attrs.conv.padding = geo == 0 || geo == 3 ? ConvPadding::Valid : ConvPadding::Same;
          if (geo == 2) {
            p.attrs.conv.kernel_size.assign(rank, 2);
            p.attrs.conv.strides.assign(rank, 2);
          }
          if (geo == 3) p.attrs.conv.dilation.assign(rank, 2);
          const std::vector<int64_t> dims = rank == 1   ? std::vector<int64_t>{9}
                                            : rank == 2 ? std::vector<int64_t>{6, 7}
                                                        : std::vector<int64_t>{5, 6, 5};
          p.spatial = dims;
          p.in_channels = 1 + static_cast<int64_t>(seed % 4);
          p.batch = 1 + (flags % 3 == 0 ? 1 : 0);
          p.time = 1 + flags % 4;
          p.bias = flags % 5 != 0;
          p.attrs.go_backwards = flags & 1;
          p.attrs.return_sequences = flags & 2;
          p.attrs.return_state = flags & 4;
          p.attrs.has_mask = flags & 8;
          p.attrs.zero_output_for_mask = flags & 16;
          p.attrs.has_initial_states = flags & 32;
          check(p, seed);
          ++seed;
        }
      }
    }
  }
}

TEST(ConvLstm, NonDefaultActivations) {
  uint32_t seed = 700;
  const std::vector<std::pair<std::optional<UnaryAttrs>, std::optional<UnaryAttrs>>> acts{
      {act(UnaryKind::Relu), act(UnaryKind::HardSigmoid, 0.2f, 0.5f)},
      {std::nullopt, act(UnaryKind::HardSigmoidRelu6)},
      {act(UnaryKind::Softsign), std::nullopt},
      {act(UnaryKind::Elu, 1.0f), act(UnaryKind::Sigmoid)},
  };
  for (bool cf : {false, true}) {
    for (const auto& [a, ra] : acts) {
      Problem p = same_2d(3, cf);
      p.attrs.activation = a;
      p.attrs.recurrent_activation = ra;
      p.attrs.return_sequences = true;
      p.attrs.has_mask = true;
      p.spatial = {5, 4};
      check(p, seed++);
    }
  }
}

// Large enough that the gate loop runs on several threads (channels_last: one chunk per
// position; channels_first: the single chunk split into pieces).
TEST(ConvLstm, ParallelGateLoop) {
  for (bool cf : {false, true}) {
    Problem p = same_2d(8, cf);
    p.attrs.return_sequences = true;
    p.attrs.return_state = true;
    p.attrs.has_mask = true;
    p.in_channels = 3;
    p.batch = 3;
    p.time = 3;
    p.spatial = {40, 36};
    check(p, 900 + cf, 4);
  }
}

// stateful: the second call starts from the first call's final states (the reference with those
// as initial states); the state region is what RunContext::state carries.
TEST(ConvLstm, StatefulCarriesStates) {
  for (bool cf : {false, true}) {
    Problem p = same_2d(2, cf);
    p.attrs.stateful = true;
    p.attrs.return_state = true;
    p.spatial = {4, 5};
    const Weights w = make_weights(p, 31);
    ops::ConvLstmOp op(p.attrs, w.kernel, w.recurrent_kernel, w.bias);
    const std::vector<Shape> shapes = op_shapes(p);
    const std::vector<std::vector<float>> inputs = random_inputs(p, shapes, 40);
    Runner runner(op, shapes, 1);
    ASSERT_EQ(runner.kernel->state_bytes(),
              2 * static_cast<size_t>(shape_numel(runner.out_shapes[1])) * sizeof(float));
    std::vector<std::vector<float>> first = runner.run(inputs);
    std::vector<std::vector<float>> second = runner.run(inputs);

    Problem fresh = p;
    fresh.attrs.stateful = false;
    expect_near(first, reference(fresh, w, shapes, runner.out_shapes, inputs), "first call");
    Problem seeded = fresh;
    seeded.attrs.has_initial_states = true;
    std::vector<Shape> seeded_shapes{shapes[0], runner.out_shapes[1], runner.out_shapes[2]};
    std::vector<std::vector<float>> seeded_inputs{inputs[0], first[1], first[2]};
    expect_near(second, reference(seeded, w, seeded_shapes, runner.out_shapes, seeded_inputs),
                "second call");
    bool differs = false;
    for (size_t i = 0; i < first[0].size(); ++i) differs |= first[0][i] != second[0][i];
    EXPECT_TRUE(differs) << "the carried states changed nothing";
  }
}

// With a 1x1 kernel a ConvLSTM is an LSTM at every position: compare against the recurrent
// family's reference LSTM run per position (positions as batch).
TEST(ConvLstm, OneByOneKernelIsLstmPerPosition) {
  for (bool cf : {false, true}) {
    Problem p;
    p.attrs = base_attrs(1, 3, 1);
    p.attrs.conv.channels_first = cf;
    p.attrs.return_sequences = true;
    p.attrs.go_backwards = true;
    p.in_channels = 2;
    p.batch = 2;
    p.time = 4;
    p.spatial = {5};
    const Weights w = make_weights(p, 55);
    ops::ConvLstmOp op(p.attrs, w.kernel, w.recurrent_kernel, w.bias);
    const std::vector<Shape> shapes = op_shapes(p);
    const std::vector<std::vector<float>> inputs = random_inputs(p, shapes, 60);
    Runner runner(op, shapes, 1);
    const std::vector<float> got = runner.run(inputs)[0];

    const int64_t B = p.batch, T = p.time, S = 5, C = p.in_channels, F = 3;
    ops::RnnCell cell;
    cell.kind = ops::RnnCellKind::Lstm;
    cell.units = F;
    cell.activation = p.attrs.activation;
    cell.recurrent_activation = p.attrs.recurrent_activation;
    cell.kernel = w.kernel.reshaped({C, 4 * F});
    cell.recurrent_kernel = w.recurrent_kernel.reshaped({F, 4 * F});
    cell.bias = w.bias;
    ops::RnnAttrs ra;
    ra.return_sequences = true;
    ra.go_backwards = true;
    // Sequences indexed (b, position): x_seq[(b*S + s), t, c].
    std::vector<float> xs(static_cast<size_t>(B * S * T * C));
    auto x_at = [&](int64_t b, int64_t t, int64_t s, int64_t c) {
      const int64_t i = cf ? ((b * T + t) * C + c) * S + s : ((b * T + t) * S + s) * C + c;
      return inputs[0][static_cast<size_t>(i)];
    };
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < C; ++c)
            xs[static_cast<size_t>(((b * S + s) * T + t) * C + c)] = x_at(b, t, s, c);
    std::vector<float> ys(static_cast<size_t>(B * S * T * F));
    std::vector<Shape> rshapes{{B * S, T, C}};
    std::vector<std::span<const float>> rin{xs};
    std::vector<std::span<float>> rout{ys};
    ops::reference::rnn({cell}, ra, rshapes, rin, rout);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t s = 0; s < S; ++s)
          for (int64_t f = 0; f < F; ++f) {
            const int64_t gi = cf ? ((b * T + t) * F + f) * S + s : ((b * T + t) * S + s) * F + f;
            const float want = ys[static_cast<size_t>(((b * S + s) * T + t) * F + f)];
            ASSERT_NEAR(got[static_cast<size_t>(gi)], want, 1e-4 * std::max(1.0f, std::fabs(want)))
                << "b " << b << " t " << t << " s " << s << " f " << f << " cf " << cf;
          }
  }
}

TEST(ConvLstm, RejectsBadShapes) {
  Problem p;
  p.attrs = base_attrs(2, 2, 3);
  p.spatial = {5, 5};
  const Weights w = make_weights(p, 3);
  // Recurrent kernel with the wrong filter count.
  Tensor bad_rk({3, 3, 3, 8});
  EXPECT_THROW(ops::ConvLstmOp(p.attrs, w.kernel, bad_rk, w.bias), Error);
  ops::ConvLstmOp op(p.attrs, w.kernel, w.recurrent_kernel, w.bias);
  // Wrong channel count and wrong rank.
  EXPECT_THROW(op.infer_shapes(std::vector<Shape>{{1, 2, 5, 5, 3}}), Error);
  EXPECT_THROW(op.infer_shapes(std::vector<Shape>{{1, 5, 5, 2}}), Error);
  // Unknown batch and time propagate.
  EXPECT_EQ(op.infer_shapes(std::vector<Shape>{{-1, -1, 5, 5, 2}}).at(0), (Shape{-1, 3, 3, 2}));
}

// The binder: config defaults per Keras version, weights by role, refusals.
TEST(ConvLstmBinder, ReadsConfigAndWeights) {
  const std::map<std::string, Tensor> weights{
      {"kernel", testing::random_tensor({3, 3, 2, 8}, 1)},
      {"recurrent_kernel", testing::random_tensor({3, 3, 2, 8}, 2)},
      {"bias", testing::random_tensor({8}, 3)}};
  const std::string config =
      R"({"filters": 2, "kernel_size": [3, 3], "padding": "same", "return_sequences": true,
          "return_state": true, "go_backwards": true})";
  for (int major : {2, 3}) {
    auto b = testing::bind_layer("ConvLSTM2D", config, major, {{-1, 4, 5, 6, 2}}, weights);
    ASSERT_EQ(b->nodes, 1u);
    const auto* op = dynamic_cast<const ops::ConvLstmOp*>(b->g.nodes[0].op.get());
    ASSERT_NE(op, nullptr);
    const ConvLstmAttrs& a = op->attrs();
    EXPECT_EQ(a.conv.padding, ConvPadding::Same);
    EXPECT_TRUE(a.return_sequences && a.return_state && a.go_backwards);
    ASSERT_TRUE(a.recurrent_activation.has_value());
    // tf-keras defaults to hard_sigmoid (0.2x + 0.5), Keras 3 to sigmoid.
    EXPECT_EQ(a.recurrent_activation->kind,
              major == 2 ? UnaryKind::HardSigmoid : UnaryKind::Sigmoid);
    ASSERT_EQ(b->outputs.size(), 3u);
    EXPECT_EQ(b->g.values.at(static_cast<size_t>(b->outputs[0])).shape, (Shape{-1, 4, 5, 6, 2}));
    EXPECT_EQ(b->g.values.at(static_cast<size_t>(b->outputs[1])).shape, (Shape{-1, 5, 6, 2}));
  }
}

TEST(ConvLstmBinder, Refusals) {
  const std::map<std::string, Tensor> weights{
      {"kernel", testing::random_tensor({3, 2, 8}, 1)},
      {"recurrent_kernel", testing::random_tensor({3, 2, 8}, 2)},
      {"bias", testing::random_tensor({8}, 3)}};
  // The error a binding raises, or nullopt when it binds.
  auto code_of = [&](const std::string& config, int major,
                     std::map<std::string, Tensor> w) -> std::optional<ErrorCode> {
    try {
      testing::bind_layer("ConvLSTM1D", config, major, {{-1, 4, 7, 2}}, std::move(w));
    } catch (const Error& e) {
      return e.code();
    }
    return std::nullopt;
  };
  EXPECT_EQ(code_of(R"({"filters": 2, "kernel_size": 3})", 3, weights), std::nullopt);
  EXPECT_EQ(code_of(R"({"filters": 2, "kernel_size": 3})", 1, weights), ErrorCode::Unsupported);
  EXPECT_EQ(code_of(R"({"filters": 2, "kernel_size": 3, "padding": "causal"})", 3, weights),
            ErrorCode::Unsupported);
  std::map<std::string, Tensor> no_bias = weights;
  no_bias.erase("bias");
  EXPECT_EQ(code_of(R"({"filters": 2, "kernel_size": 3})", 3, no_bias), ErrorCode::InvalidModel);
  EXPECT_EQ(code_of(R"({"filters": 2, "kernel_size": 3, "use_bias": false})", 3, no_bias),
            std::nullopt);
  EXPECT_EQ(code_of(R"({"filters": 3, "kernel_size": 3})", 3, weights), ErrorCode::InvalidModel);
}

}  // namespace
}  // namespace kerasrt
