// Pooling family: oneDNN kernels (prepare + run) against the naive reference over random shapes:
// max / average, rank 1-3, valid / same (TF's asymmetric padding, average excluding padding),
// strides smaller, equal and larger than the window, channels_first, global pooling with keepdims.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <sstream>

#include "kerasrt/error.h"
#include "ops/pooling.h"

namespace kerasrt::ops {
namespace {

struct Runner {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{eng};

  std::vector<float> run(const Op& op, const Shape& in, const std::vector<float>& x,
                         Shape* out_shape) {
    return run(op, std::vector<Shape>{in}, std::vector<std::vector<float>>{x}, out_shape);
  }

  std::vector<float> run(const Op& op, const std::vector<Shape>& ins,
                         const std::vector<std::vector<float>>& xs, Shape* out_shape) {
    std::vector<Shape> outs = op.infer_shapes(ins);
    *out_shape = outs.at(0);
    PrepareContext pctx{&eng, 1};
    std::unique_ptr<Kernel> k = op.prepare(ins, outs, pctx);
    const size_t n_out = static_cast<size_t>(shape_numel(outs[0]));
    constexpr size_t kGuard = 16;
    constexpr float kSentinel = 12345.0f;
    std::vector<float> y(n_out + 2 * kGuard, kSentinel);
    const size_t bytes = ((k->scratch_bytes() + 63) / 64) * 64 + 64;
    std::byte* scratch = static_cast<std::byte*>(std::aligned_alloc(64, bytes));
    RunContext rctx{&eng, &stream, scratch};
    std::vector<const float*> in_ptrs;
    for (const auto& x : xs) in_ptrs.push_back(x.data());
    float* out_ptr = y.data() + kGuard;
    k->run(rctx, in_ptrs, std::span<float* const>(&out_ptr, 1));
    std::free(scratch);
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

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const Shape& out) {
  ASSERT_EQ(got.size(), want.size());
  size_t bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    if (std::isnan(got[i]) && std::isnan(want[i])) continue;  // a fully masked mean is 0/0
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f * std::max(1.0f, std::fabs(want[i])))) {
      ADD_FAILURE() << "output " << shape_to_string(out) << " element " << i << ": got " << got[i]
                    << ", want " << want[i];
      ++bad;
    }
  }
}

Shape make_shape(int64_t batch, int64_t channels, const std::vector<int64_t>& lengths,
                 bool channels_first) {
  Shape s{batch};
  if (channels_first) s.push_back(channels);
  s.insert(s.end(), lengths.begin(), lengths.end());
  if (!channels_first) s.push_back(channels);
  return s;
}

void check_pool(const PoolAttrs& attrs, const Shape& in, uint32_t seed) {
  std::ostringstream o;
  o << attrs.kind << " in=" << shape_to_string(in) << " pool=" << shape_to_string(attrs.pool_size)
    << " strides=" << shape_to_string(attrs.strides)
    << " padding=" << (attrs.same_padding ? "same" : "valid")
    << (attrs.channels_first ? " channels_first" : " channels_last");
  SCOPED_TRACE(o.str());
  std::mt19937 rng(seed);
  std::vector<float> x = random_values(rng, shape_numel(in));
  PoolOp op(attrs);
  Shape out;
  std::vector<float> got = runner().run(op, in, x, &out);
  std::vector<float> want(got.size());
  reference::pool(attrs, in, x, want);
  expect_close(got, want, out);
}

void random_sweep(size_t rank, PoolMode mode, int count, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  for (int i = 0; i < count; ++i) {
    PoolAttrs a;
    a.kind = std::string(mode == PoolMode::Max ? "MaxPooling" : "AveragePooling") +
             std::to_string(rank) + "D";
    a.mode = mode;
    a.same_padding = pick(0, 1) == 1;
    a.channels_first = pick(0, 3) == 0;
    std::vector<int64_t> lengths;
    const int64_t max_len = rank == 3 ? 8 : (rank == 2 ? 15 : 33);
    for (size_t d = 0; d < rank; ++d) {
      a.pool_size.push_back(pick(1, 4));
      const int sc = static_cast<int>(pick(0, 3));  // stride: = pool (Keras default), 1, 2, 3
      a.strides.push_back(sc == 0 ? a.pool_size.back() : sc);
      lengths.push_back(pick(a.same_padding ? 1 : a.pool_size.back(), max_len));
    }
    Shape in = make_shape(pick(0, 2) == 0 ? 3 : 1, pick(1, 19), lengths, a.channels_first);
    check_pool(a, in, seed + static_cast<uint32_t>(i));
    if (::testing::Test::HasFailure()) return;
  }
}

TEST(Pooling, RandomMax1D) {
  random_sweep(1, PoolMode::Max, 60, 11);
}
TEST(Pooling, RandomMax2D) {
  random_sweep(2, PoolMode::Max, 60, 12);
}
TEST(Pooling, RandomMax3D) {
  random_sweep(3, PoolMode::Max, 40, 13);
}
TEST(Pooling, RandomAverage1D) {
  random_sweep(1, PoolMode::Average, 60, 21);
}
TEST(Pooling, RandomAverage2D) {
  random_sweep(2, PoolMode::Average, 60, 22);
}
TEST(Pooling, RandomAverage3D) {
  random_sweep(3, PoolMode::Average, 40, 23);
}

TEST(Pooling, SameAverageExcludesPadding) {
  // 1x3 input, pool 2, stride 2, same: windows [0,1] and [2] (+1 padding after) -> the second
  // output is x[2] itself, not x[2] / 2.
  PoolAttrs a;
  a.kind = "AveragePooling1D";
  a.mode = PoolMode::Average;
  a.pool_size = {2};
  a.strides = {2};
  a.same_padding = true;
  PoolOp op(a);
  Shape in{1, 3, 1};
  Shape out;
  std::vector<float> got = runner().run(op, in, {1.0f, 3.0f, 5.0f}, &out);
  EXPECT_EQ(out, (Shape{1, 2, 1}));
  EXPECT_EQ(got, (std::vector<float>{2.0f, 5.0f}));
  // Max with same never picks the padding, even when all real values are negative.
  a.mode = PoolMode::Max;
  a.kind = "MaxPooling1D";
  a.pool_size = {3};
  a.strides = {1};
  PoolOp mx(a);
  got = runner().run(mx, in, {-1.0f, -3.0f, -5.0f}, &out);
  EXPECT_EQ(got, (std::vector<float>{-1.0f, -1.0f, -3.0f}));
}

TEST(Pooling, InferShapes) {
  PoolAttrs a;
  a.kind = "MaxPooling2D";
  a.pool_size = {2, 3};
  a.strides = {2, 3};
  PoolOp op(a);
  Shape in{kUnknownDim, 7, kUnknownDim, 5};
  EXPECT_EQ(op.infer_shapes(std::span<const Shape>(&in, 1)).at(0),
            (Shape{kUnknownDim, 3, kUnknownDim, 5}));
  Shape small{1, 1, 9, 5};
  EXPECT_THROW(op.infer_shapes(std::span<const Shape>(&small, 1)), Error);
  a.same_padding = true;
  a.channels_first = true;
  PoolOp cf(a);
  Shape in_cf{2, 5, 7, 10};
  EXPECT_EQ(cf.infer_shapes(std::span<const Shape>(&in_cf, 1)).at(0), (Shape{2, 5, 4, 4}));
  a.strides = {0, 1};
  EXPECT_THROW(PoolOp{a}, Error);
}

TEST(Pooling, Global) {
  std::mt19937 rng(5);
  int i = 0;
  for (size_t rank = 1; rank <= 3; ++rank) {
    for (PoolMode mode : {PoolMode::Max, PoolMode::Average}) {
      for (bool cf : {false, true}) {
        for (bool keep : {false, true}) {
          GlobalPoolAttrs a;
          a.kind =
              std::string(mode == PoolMode::Max ? "GlobalMaxPooling" : "GlobalAveragePooling") +
              std::to_string(rank) + "D";
          a.mode = mode;
          a.spatial_rank = rank;
          a.channels_first = cf;
          a.keepdims = keep;
          std::vector<int64_t> lengths;
          for (size_t d = 0; d < rank; ++d) lengths.push_back(rank == 3 ? 3 + d : 7 + 2 * d);
          for (int64_t channels : {1, 17, 64}) {
            Shape in = make_shape(++i % 2 == 0 ? 3 : 1, channels, lengths, cf);
            SCOPED_TRACE(a.kind + " in=" + shape_to_string(in) + (cf ? " channels_first" : "") +
                         (keep ? " keepdims" : ""));
            GlobalPoolOp op(a);
            std::vector<float> x = random_values(rng, shape_numel(in));
            Shape out;
            std::vector<float> got = runner().run(op, in, x, &out);
            Shape want_shape{in[0], channels};
            if (keep) {
              want_shape.assign(in.size(), 1);
              want_shape[0] = in[0];
              want_shape[cf ? 1 : in.size() - 1] = channels;
            }
            EXPECT_EQ(out, want_shape);
            std::vector<float> want(got.size());
            reference::global_pool(a, in, x, want);
            expect_close(got, want, out);
          }
        }
      }
    }
  }
  GlobalPoolAttrs a;
  GlobalPoolOp op(a);
  Shape unknown{kUnknownDim, kUnknownDim, kUnknownDim, 8};
  EXPECT_EQ(op.infer_shapes(std::span<const Shape>(&unknown, 1)).at(0), (Shape{kUnknownDim, 8}));
}

TEST(Pooling, MaskedGlobalAverage1D) {
  std::mt19937 rng(9);
  for (bool cf : {false, true}) {
    for (bool keep : {false, true}) {
      for (int64_t steps : {1, 6, 13}) {
        GlobalPoolAttrs a;
        a.kind = "GlobalAveragePooling1D";
        a.spatial_rank = 1;
        a.channels_first = cf;
        a.keepdims = keep;
        a.masked = true;
        GlobalPoolOp op(a);
        const int64_t batch = 3;
        const int64_t channels = 5;
        Shape in = make_shape(batch, channels, {steps}, cf);
        Shape mask_shape{batch, steps};
        SCOPED_TRACE("in=" + shape_to_string(in) + (cf ? " channels_first" : "") +
                     (keep ? " keepdims" : ""));
        std::vector<float> x = random_values(rng, shape_numel(in));
        std::vector<float> mask(static_cast<size_t>(batch * steps));
        for (size_t i = 0; i < mask.size(); ++i) mask[i] = (i % 3 == 1) ? 0.0f : 1.0f;
        mask[0] = 1.0f;  // every row keeps at least one step
        Shape out;
        std::vector<float> got = runner().run(op, std::vector<Shape>{in, mask_shape},
                                              std::vector<std::vector<float>>{x, mask}, &out);
        std::vector<float> want(got.size());
        reference::global_pool(a, in, x, want, mask);
        expect_close(got, want, out);
        if (steps == 6 && !cf) {
          // Step 1 and 4 of row 0 are masked: the mean is over steps 0, 2, 3, 5.
          float m = (x[0] + x[2 * channels] + x[3 * channels] + x[5 * channels]) / 4;
          EXPECT_NEAR(got[0], m, 1e-6);
        }
      }
    }
  }
  GlobalPoolAttrs a;
  a.kind = "GlobalAveragePooling1D";
  a.spatial_rank = 1;
  a.masked = true;
  GlobalPoolOp op(a);
  std::vector<Shape> bad{{2, 7, 3}, {2, 6}};
  EXPECT_THROW(op.infer_shapes(bad), Error);
  a.mode = PoolMode::Max;
  EXPECT_THROW(GlobalPoolOp{a}, Error);
}

// A masked step holding inf: Keras 3 selects it away (where(mask, x, 0)), tf-keras multiplies
// it by 0 and gets NaN.
TEST(Pooling, MaskedGlobalAverage1DNonFiniteMaskedStep) {
  const float inf = std::numeric_limits<float>::infinity();
  for (bool cf : {false, true}) {
    for (bool multiplies : {false, true}) {
      GlobalPoolAttrs a;
      a.kind = "GlobalAveragePooling1D";
      a.spatial_rank = 1;
      a.channels_first = cf;
      a.masked = true;
      a.mask_multiplies = multiplies;
      GlobalPoolOp op(a);
      // (1, 3 steps, 2 channels), step 1 masked and infinite.
      Shape in = cf ? Shape{1, 2, 3} : Shape{1, 3, 2};
      std::vector<float> x = cf ? std::vector<float>{1, inf, 3, 10, -inf, 30}
                                : std::vector<float>{1, 10, inf, -inf, 3, 30};
      std::vector<float> mask{1, 0, 1};
      Shape out;
      std::vector<float> got = runner().run(op, std::vector<Shape>{in, Shape{1, 3}},
                                            std::vector<std::vector<float>>{x, mask}, &out);
      std::vector<float> want(got.size());
      reference::global_pool(a, in, x, want, mask);
      SCOPED_TRACE(std::string(cf ? "channels_first" : "channels_last") +
                   (multiplies ? " tf-keras" : " Keras 3"));
      ASSERT_EQ(got.size(), 2u);
      for (size_t c = 0; c < 2; ++c) {
        if (multiplies) {
          EXPECT_TRUE(std::isnan(got[c]) && std::isnan(want[c])) << got[c] << " " << want[c];
        } else {
          EXPECT_FLOAT_EQ(got[c], c == 0 ? 2.0f : 20.0f);
          EXPECT_FLOAT_EQ(want[c], got[c]);
        }
      }
    }
  }
}

}  // namespace
}  // namespace kerasrt::ops
