// Conv family: oneDNN kernels (prepare + run) against the naive reference, on random inputs over
// every option combination (rank 1-3, groups, depthwise, padding valid/same/causal, strides,
// dilation, transpose with and without output_padding, bias, channels_first, batch 1 and N).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "kerasrt/error.h"
#include "ops/conv.h"

namespace kerasrt::ops {
namespace {

struct Runner {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{eng};

  // Prepares `op` for `in` and runs it on `x`; checks guard elements around the output and the
  // scratch region.
  std::vector<float> run(const Op& op, const Shape& in, const std::vector<float>& x,
                         Shape* out_shape) {
    std::vector<Shape> outs = op.infer_shapes(std::span<const Shape>(&in, 1));
    *out_shape = outs.at(0);
    PrepareContext pctx{&eng, 1};
    std::unique_ptr<Kernel> k = op.prepare(std::span<const Shape>(&in, 1), outs, pctx);
    const size_t n_out = static_cast<size_t>(shape_numel(outs[0]));
    constexpr size_t kGuard = 16;
    constexpr float kSentinel = 12345.0f;
    std::vector<float> y(n_out + 2 * kGuard, kSentinel);
    const size_t scratch = k->scratch_bytes();
    std::byte* scratch_mem =
        static_cast<std::byte*>(std::aligned_alloc(64, ((scratch + 64 + 63) / 64) * 64));
    std::memset(scratch_mem, 0x5a, ((scratch + 64 + 63) / 64) * 64);
    RunContext rctx{&eng, &stream, scratch_mem};
    const float* in_ptr = x.data();
    float* out_ptr = y.data() + kGuard;
    k->run(rctx, std::span<const float* const>(&in_ptr, 1), std::span<float* const>(&out_ptr, 1));
    for (size_t i = 0; i < 64; ++i) {
      EXPECT_EQ(scratch_mem[scratch + i], std::byte{0x5a}) << "scratch overrun";
    }
    std::free(scratch_mem);
    for (size_t i = 0; i < kGuard; ++i) {
      EXPECT_EQ(y[i], kSentinel) << "write before the output";
      EXPECT_EQ(y[kGuard + n_out + i], kSentinel) << "write after the output";
    }
    return std::vector<float>(y.begin() + kGuard, y.begin() + kGuard + n_out);
  }
};

Runner& runner() {
  static Runner r;
  return r;
}

std::vector<float> random_values(std::mt19937& rng, int64_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

struct ConvCase {
  ConvAttrs attrs;
  int64_t batch = 1;
  int64_t in_channels = 1;
  std::vector<int64_t> lengths;  // input spatial lengths
  bool bias = true;

  Shape input_shape() const {
    Shape s{batch};
    if (attrs.channels_first) s.push_back(in_channels);
    s.insert(s.end(), lengths.begin(), lengths.end());
    if (!attrs.channels_first) s.push_back(in_channels);
    return s;
  }

  std::string describe() const {
    std::ostringstream o;
    const char* pad[] = {"valid", "same", "causal"};
    o << attrs.kind << (attrs.transpose ? " transpose" : "")
      << " in=" << shape_to_string(input_shape()) << " filters=" << attrs.filters
      << " kernel=" << shape_to_string(attrs.kernel_size)
      << " strides=" << shape_to_string(attrs.strides)
      << " dilation=" << shape_to_string(attrs.dilation)
      << " padding=" << pad[static_cast<int>(attrs.padding)] << " groups=" << attrs.groups
      << " output_padding="
      << (attrs.output_padding.empty() ? "None" : shape_to_string(attrs.output_padding))
      << " bias=" << bias << (attrs.channels_first ? " channels_first" : " channels_last");
    return o.str();
  }
};

void check_case(const ConvCase& c, uint32_t seed) {
  SCOPED_TRACE(c.describe());
  std::mt19937 rng(seed);
  Shape kshape = conv_kernel_shape(c.attrs, c.in_channels);
  Tensor kernel(kshape, random_values(rng, shape_numel(kshape)));
  Tensor bias;
  if (c.bias) bias = Tensor(Shape{c.attrs.filters}, random_values(rng, c.attrs.filters));
  ConvOp op(c.attrs, c.in_channels, kernel, bias);
  const Shape in = c.input_shape();
  std::vector<float> x = random_values(rng, shape_numel(in));
  Shape out;
  std::vector<float> got = runner().run(op, in, x, &out);
  std::vector<float> want(got.size());
  reference::conv(c.attrs, in, x, kernel.values(),
                  bias.empty() ? std::span<const float>() : bias.values(), want);
  size_t bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f * std::max(1.0f, std::fabs(want[i])))) {
      ADD_FAILURE() << "output " << shape_to_string(out) << " element " << i << ": got " << got[i]
                    << ", want " << want[i];
      ++bad;
    }
  }
}

ConvAttrs make_attrs(std::string kind, std::vector<int64_t> k, std::vector<int64_t> s,
                     std::vector<int64_t> d, ConvPadding p, int64_t filters, int64_t groups = 1) {
  ConvAttrs a;
  a.kind = std::move(kind);
  a.kernel_size = std::move(k);
  a.strides = std::move(s);
  a.dilation = std::move(d);
  a.padding = p;
  a.filters = filters;
  a.groups = groups;
  return a;
}

// Random cases of one family: `transpose`, `depthwise` (groups = in channels).
void random_sweep(size_t rank, bool transpose, bool depthwise, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < count; ++i) {
    ConvCase c;
    c.attrs.kind = "Conv" + std::to_string(rank) + "D";
    c.attrs.transpose = transpose;
    c.batch = pick(0, 2) == 0 ? 3 : 1;
    c.attrs.channels_first = pick(0, 3) == 0;
    c.bias = pick(0, 3) != 0;
    const int max_k = rank == 3 ? 3 : 5;
    const int max_len = rank == 3 ? 7 : (rank == 2 ? 13 : 29);
    for (size_t a = 0; a < rank; ++a) {
      c.attrs.kernel_size.push_back(pick(1, max_k));
      c.attrs.strides.push_back(pick(0, 2) == 0 ? pick(2, 3) : 1);
      c.attrs.dilation.push_back(pick(0, 3) == 0 ? 2 : 1);
    }
    int pad = static_cast<int>(pick(0, rank == 1 && !transpose ? 2 : 1));
    c.attrs.padding = static_cast<ConvPadding>(pad);
    if (transpose) {
      c.in_channels = pick(1, 9);
      c.attrs.filters = pick(1, 9);
      if (pick(0, 1) == 0) {
        for (size_t a = 0; a < rank; ++a)
          c.attrs.output_padding.push_back(pick(0, c.attrs.strides[a] - 1));
      }
    } else if (depthwise) {
      c.attrs.kind = "DepthwiseConv" + std::to_string(rank) + "D";
      c.in_channels = pick(1, 19);
      c.attrs.groups = c.in_channels;
      c.attrs.filters = c.in_channels * pick(1, 3);
    } else {
      c.attrs.groups = pick(0, 2) == 0 ? pick(2, 3) : 1;
      c.in_channels = c.attrs.groups * pick(1, 7);
      c.attrs.filters = c.attrs.groups * pick(1, 7);
    }
    for (size_t a = 0; a < rank; ++a) {
      const int64_t k_eff = (c.attrs.kernel_size[a] - 1) * c.attrs.dilation[a] + 1;
      c.lengths.push_back(pick(c.attrs.padding == ConvPadding::Valid && !transpose ? k_eff : 1,
                               std::max<int64_t>(k_eff, max_len)));
    }
    check_case(c, seed + static_cast<uint32_t>(i));
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(Conv, Random1D) {
  random_sweep(1, false, false, 100, 101);
}
TEST(Conv, Random2D) {
  random_sweep(2, false, false, 100, 202);
}
TEST(Conv, Random3D) {
  random_sweep(3, false, false, 40, 303);
}
TEST(Conv, RandomDepthwise1D) {
  random_sweep(1, false, true, 50, 404);
}
TEST(Conv, RandomDepthwise2D) {
  random_sweep(2, false, true, 50, 505);
}
TEST(Conv, RandomTranspose1D) {
  random_sweep(1, true, false, 80, 606);
}
TEST(Conv, RandomTranspose2D) {
  random_sweep(2, true, false, 80, 707);
}
TEST(Conv, RandomTranspose3D) {
  random_sweep(3, true, false, 30, 808);
}

TEST(Conv, WideChannels) {
  // Channel counts around SIMD widths: 15, 16, 17, 33, 64.
  for (int64_t cin : {15, 16, 17, 64}) {
    for (int64_t cout : {16, 33}) {
      ConvCase c;
      c.attrs = make_attrs("Conv2D", {3, 3}, {1, 1}, {1, 1}, ConvPadding::Same, cout);
      c.in_channels = cin;
      c.lengths = {9, 7};
      c.batch = 2;
      check_case(c, 11);
      c.attrs.strides = {2, 2};
      check_case(c, 12);
      c.attrs = make_attrs("Conv2D", {1, 1}, {1, 1}, {1, 1}, ConvPadding::Valid, cout);
      check_case(c, 13);
    }
    ConvCase d;
    d.attrs =
        make_attrs("DepthwiseConv2D", {3, 3}, {2, 2}, {1, 1}, ConvPadding::Same, cin * 2, cin);
    d.in_channels = cin;
    d.lengths = {10, 11};
    check_case(d, 14);
  }
}

TEST(Conv, TransposeKnownCases) {
  // keras-format.md §4.3: k=3,s=2 same -> L*2, pad_before 0; k=4,s=2 same -> pad_before 1.
  ConvAttrs a = make_attrs("Conv2DTranspose", {3, 3}, {2, 2}, {1, 1}, ConvPadding::Same, 4);
  a.transpose = true;
  EXPECT_EQ(conv_output_length(a, 0, 5), 10);
  EXPECT_EQ(conv_axis_padding(a, 0, 5).before, 0);
  a.kernel_size = {4, 4};
  EXPECT_EQ(conv_axis_padding(a, 0, 5).before, 1);
  a.padding = ConvPadding::Valid;
  EXPECT_EQ(conv_output_length(a, 0, 5), 12);  // (5-1)*2 + 4
  a.kernel_size = {1, 1};
  a.strides = {3, 3};
  EXPECT_EQ(conv_output_length(a, 0, 5), 15);  // (5-1)*3 + max(1, 3)
  a.output_padding = {1, 1};
  EXPECT_EQ(conv_output_length(a, 0, 5), 14);  // (5-1)*3 + 1 + 1
  a.padding = ConvPadding::Same;
  a.kernel_size = {3, 3};
  EXPECT_EQ(conv_output_length(a, 0, 5), 14);  // (5-1)*3 + 3%2 + 1

  for (int64_t k : {1, 2, 3, 4, 5}) {
    for (int64_t s : {1, 2, 3}) {
      for (int p = 0; p < 2; ++p) {
        for (int64_t op = -1; op < s; ++op) {
          ConvCase c;
          c.attrs = make_attrs("Conv2DTranspose", {k, k + 1}, {s, s}, {1, 1},
                               static_cast<ConvPadding>(p), 3);
          c.attrs.transpose = true;
          if (op >= 0) c.attrs.output_padding = {op, op};
          c.in_channels = 2;
          c.lengths = {4, 5};
          check_case(c, 21);
        }
      }
    }
  }
}

TEST(Conv, ForwardKnownCases) {
  ConvAttrs a = make_attrs("Conv1D", {3}, {1}, {2}, ConvPadding::Causal, 1);
  EXPECT_EQ(conv_output_length(a, 0, 10), 10);
  EXPECT_EQ(conv_axis_padding(a, 0, 10).before, 4);
  a.strides = {3};
  EXPECT_EQ(conv_output_length(a, 0, 10), 4);
  a = make_attrs("Conv2D", {3, 3}, {2, 2}, {1, 1}, ConvPadding::Same, 1);
  EXPECT_EQ(conv_output_length(a, 0, 8), 4);
  AxisPadding p = conv_axis_padding(a, 0, 8);  // total = 3*2+3-8 = 1: all after
  EXPECT_EQ(p.before, 0);
  EXPECT_EQ(p.after, 1);
  a.padding = ConvPadding::Valid;
  EXPECT_EQ(conv_output_length(a, 0, 8), 3);
  EXPECT_EQ(conv_output_length(a, 0, kUnknownDim), kUnknownDim);
  EXPECT_THROW(conv_output_length(a, 0, 2), Error);
}

TEST(Conv, ConcurrentRuns) {
  // One kernel, run from several threads at once on their own buffers, streams and scratch.
  ConvAttrs a = make_attrs("Conv2D", {3, 3}, {1, 1}, {1, 1}, ConvPadding::Same, 24);
  std::mt19937 rng(77);
  Tensor kernel(Shape{3, 3, 16, 24}, random_values(rng, 3 * 3 * 16 * 24));
  Tensor bias(Shape{24}, random_values(rng, 24));
  ConvOp op(a, 16, kernel, bias);
  const Shape in{2, 12, 11, 16};
  std::vector<Shape> outs = op.infer_shapes(std::span<const Shape>(&in, 1));
  dnnl::engine& eng = runner().eng;
  PrepareContext pctx{&eng, 1};
  std::unique_ptr<Kernel> k = op.prepare(std::span<const Shape>(&in, 1), outs, pctx);
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> xs, ys, wants;
  for (int t = 0; t < kThreads; ++t) {
    xs.push_back(random_values(rng, shape_numel(in)));
    ys.emplace_back(static_cast<size_t>(shape_numel(outs[0])));
    wants.emplace_back(ys.back().size());
    reference::conv(a, in, xs[t], kernel.values(), bias.values(), wants[t]);
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      dnnl::stream stream(eng);
      std::vector<std::byte> scratch(k->scratch_bytes() + 64);
      auto* aligned = reinterpret_cast<std::byte*>(
          (reinterpret_cast<uintptr_t>(scratch.data()) + 63) & ~uintptr_t{63});
      RunContext rctx{&eng, &stream, aligned};
      const float* in_ptr = xs[t].data();
      float* out_ptr = ys[t].data();
      for (int rep = 0; rep < 3; ++rep) {
        k->run(rctx, std::span<const float* const>(&in_ptr, 1),
               std::span<float* const>(&out_ptr, 1));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (size_t i = 0; i < ys[t].size(); ++i) {
      ASSERT_NEAR(ys[t][i], wants[t][i], 1e-4f * std::max(1.0f, std::fabs(wants[t][i])))
          << "thread " << t << " element " << i;
    }
  }
}

TEST(Conv, InferShapes) {
  ConvAttrs a = make_attrs("Conv2D", {3, 3}, {2, 1}, {1, 1}, ConvPadding::Valid, 8);
  ConvOp op(a, 4, Tensor(Shape{3, 3, 4, 8}), Tensor());
  Shape in{kUnknownDim, 9, kUnknownDim, 4};
  auto out = op.infer_shapes(std::span<const Shape>(&in, 1));
  EXPECT_EQ(out.at(0), (Shape{kUnknownDim, 4, kUnknownDim, 8}));
  Shape bad{1, 9, 9, 5};
  EXPECT_THROW(op.infer_shapes(std::span<const Shape>(&bad, 1)), Error);
  Shape small{1, 2, 9, 4};
  EXPECT_THROW(op.infer_shapes(std::span<const Shape>(&small, 1)), Error);
  Shape rank{1, 9, 4};
  EXPECT_THROW(op.infer_shapes(std::span<const Shape>(&rank, 1)), Error);
  a.channels_first = true;
  ConvOp cf(a, 4, Tensor(Shape{3, 3, 4, 8}), Tensor(Shape{8}));
  Shape in_cf{2, 4, 9, 5};
  EXPECT_EQ(cf.infer_shapes(std::span<const Shape>(&in_cf, 1)).at(0), (Shape{2, 8, 4, 3}));
  // Kernel and bias shapes are checked.
  EXPECT_THROW(ConvOp(a, 4, Tensor(Shape{3, 3, 8, 4}), Tensor()), Error);
  EXPECT_THROW(ConvOp(a, 4, Tensor(Shape{3, 3, 4, 8}), Tensor(Shape{4})), Error);
  a.groups = 3;
  EXPECT_THROW(ConvOp(a, 4, Tensor(Shape{3, 3, 4, 8}), Tensor()), Error);
}

}  // namespace
}  // namespace kerasrt::ops
