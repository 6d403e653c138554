// Attention family: EinsumDense, the MultiHeadAttention core and Attention/AdditiveAttention
// kernels vs their naive references, over every option.
#include <gtest/gtest.h>

#include <sstream>

#include "core_test_util.h"
#include "ops/attention.h"
#include "ops/einsum.h"

namespace kerasrt::ops {
namespace {

using kerasrt::testing::near;
using kerasrt::testing::random_tensor;
using kerasrt::testing::random_values;
using kerasrt::testing::run_op;
using kerasrt::testing::str;

struct EinsumCase {
  std::string equation;
  Shape input;  // concrete, batch first
  Shape kernel;
  std::string bias_axes;  // "" = no bias
};

TEST(EinsumDense, MatchesReference) {
  const std::vector<EinsumCase> cases = {
      {"ab,bc->ac", {3, 6}, {6, 5}, "c"},
      {"ab,bc->ac", {1, 1}, {1, 1}, ""},
      {"abc,cd->abd", {2, 4, 6}, {6, 5}, "d"},
      {"abc,cde->abde", {3, 5, 7}, {7, 2, 3}, "de"},
      {"abc,cde->abde", {1, 1, 17}, {17, 3, 9}, "e"},
      {"abcd,cde->abe", {2, 4, 3, 5}, {3, 5, 7}, "e"},
      {"abcde,def->abcf", {2, 3, 2, 2, 3}, {2, 3, 4}, "f"},
      {"...c,cd->...d", {2, 3, 4, 6}, {6, 5}, "d"},
      {"...b,bc->...c", {3, 6}, {6, 2}, "c"},
      {"abc,cd->adb", {2, 4, 6}, {6, 5}, "d"},
      {"abc,bd->adc", {2, 4, 6}, {4, 5}, "c"},
      {"abc,bcd->abd", {3, 4, 6}, {4, 6, 5}, "bd"},
      {"abc,bcd->abd", {1, 4, 6}, {4, 6, 5}, "d"},
      {"ab...,bc->ac...", {2, 4, 6}, {4, 5}, "c"},
      {"ab...,bc->ac...", {2, 4, 3, 2}, {4, 5}, "c"},
      {"abc,cd->ad", {2, 4, 6}, {6, 5}, ""},
      {"abc,cd->ad", {2, 4, 6}, {6, 5}, "d"},
      {"bqm,muh->bquh", {3, 5, 8}, {8, 4, 3}, "uh"},
      {"bquh,uhm->bqm", {3, 5, 4, 3}, {4, 3, 8}, "m"},
      {"abc,dc->abd", {2, 3, 4}, {5, 4}, "bd"},
  };
  uint32_t seed = 1;
  for (const EinsumCase& c : cases) {
    EinsumSpec spec = EinsumSpec::parse(c.equation, c.input.size());
    Tensor kernel = random_tensor(c.kernel, seed++);
    Tensor bias;
    if (!c.bias_axes.empty()) {
      std::map<char, int64_t> sizes;
      for (size_t i = 0; i < spec.input.size(); ++i) sizes[spec.input[i]] = c.input[i];
      for (size_t i = 0; i < spec.kernel.size(); ++i) sizes[spec.kernel[i]] = c.kernel[i];
      Shape out;
      for (char ch : spec.output) out.push_back(sizes[ch]);
      bias = random_tensor(spec.bias_shape(c.bias_axes, out), seed++);
    }
    EinsumDenseOp op(c.equation, c.input.size(), kernel, bias);
    std::vector<float> x = random_values(static_cast<size_t>(shape_numel(c.input)), seed++);
    std::vector<Shape> out_shapes;
    auto got = run_op(op, {c.input}, {x}, &out_shapes);
    std::vector<float> want(static_cast<size_t>(shape_numel(out_shapes[0])));
    reference::einsum_dense(op, c.input, x, want);
    EXPECT_TRUE(near(got[0], want, 1e-5f)) << c.equation << " input " << str(c.input) << " kernel "
                                           << str(c.kernel) << " bias '" << c.bias_axes << "'";
  }
}

TEST(EinsumDense, ShapesAndErrors) {
  EinsumDenseOp op("abc,cde->abde", 3, random_tensor({6, 2, 3}, 1), Tensor());
  std::vector<Shape> in = {{-1, -1, 6}};
  EXPECT_EQ(op.infer_shapes(in)[0], (Shape{-1, -1, 2, 3}));
  std::vector<Shape> bad = {{-1, 4, 5}};
  EXPECT_THROW(op.infer_shapes(bad), Error);
  EinsumDenseOp left("...c,cd->...d", 4, random_tensor({6, 5}, 1), Tensor());
  std::vector<Shape> in4 = {{-1, 2, 3, 6}};
  EXPECT_EQ(left.infer_shapes(in4)[0], (Shape{-1, 2, 3, 5}));
  EXPECT_THROW(EinsumSpec::parse("ab,bc", 2), Error);
  EXPECT_THROW(EinsumSpec::parse("ab,bc->ad", 2), Error);    // d unknown
  EXPECT_THROW(EinsumSpec::parse("ab,bce->ac", 2), Error);   // kernel letter without a match
  EXPECT_THROW(EinsumSpec::parse("abc,cd->abd", 2), Error);  // rank mismatch
  EXPECT_THROW(EinsumSpec::parse("aab,bc->ac", 3), Error);   // repeated letter
  EinsumSpec s = EinsumSpec::parse("ab...,bc->ac...", 4);
  EXPECT_EQ(s.bias_shape("c", {2, 5, 3, 7}), (Shape{5, 1, 1}));
  EXPECT_EQ(EinsumSpec::parse("abc,cde->abde", 3).bias_shape("de", {2, 4, 2, 3}), (Shape{2, 3}));
  EXPECT_EQ(EinsumSpec::parse("abc,cd->adb", 3).bias_shape("d", {2, 5, 4}), (Shape{5, 1}));
}

// -- MultiHeadAttention core

struct MhaInputs {
  std::vector<Shape> shapes;
  std::vector<std::vector<float>> values;
};

std::vector<float> binary_mask(size_t n, uint32_t seed, double p_keep) {
  std::vector<float> v = random_values(n, seed, 0.0f, 1.0f);
  for (float& x : v) x = x < p_keep ? 1.0f : 0.0f;
  return v;
}

MhaInputs mha_inputs(const MultiHeadAttentionAttrs& a, const Shape& q, const Shape& k, int64_t dv,
                     uint32_t seed, int am_rank) {
  MhaInputs in;
  Shape v = k;
  v.back() = dv;
  in.shapes = {q, k, v};
  for (const Shape& s : in.shapes) {
    in.values.push_back(random_values(static_cast<size_t>(shape_numel(s)), seed++, -2.0f, 2.0f));
  }
  const int64_t B = q[0], T = q[1], S = k[1], H = q[2];
  auto add = [&](Shape s, double keep) {
    in.values.push_back(binary_mask(static_cast<size_t>(shape_numel(s)), seed++, keep));
    in.shapes.push_back(std::move(s));
  };
  if (a.has_query_mask) add({B, T}, 0.7);
  if (a.has_value_mask) add({B, S}, 0.7);
  if (a.has_key_mask) add({B, S}, 0.8);
  if (a.has_attention_mask) {
    if (am_rank == 3) add({B, T, S}, 0.6);
    if (am_rank == 31) add({1, T, S}, 0.6);
    if (am_rank == 4) add({B, H, 1, S}, 0.6);
  }
  return in;
}

std::string describe(const MultiHeadAttentionAttrs& a, const std::vector<Shape>& shapes) {
  std::ostringstream os;
  os << "shapes";
  for (const Shape& s : shapes) os << " " << str(s);
  os << " axes";
  for (int ax : a.attention_axes) os << " " << ax;
  os << " qm " << a.has_query_mask << " vm " << a.has_value_mask << " km " << a.has_key_mask
     << " am " << a.has_attention_mask << " causal " << a.causal << " window " << a.sliding_window
     << " fill " << static_cast<int>(a.fill) << " scores " << a.return_scores;
  return os.str();
}

void check_mha(const MultiHeadAttentionAttrs& a, const MhaInputs& in) {
  MultiHeadAttentionOp op(a);
  std::vector<Shape> outs;
  auto got = run_op(op, in.shapes, in.values, &outs);
  std::vector<std::vector<float>> want;
  for (const Shape& s : outs) want.emplace_back(static_cast<size_t>(shape_numel(s)));
  std::vector<std::span<const float>> ins(in.values.begin(), in.values.end());
  std::vector<std::span<float>> os(want.begin(), want.end());
  reference::multi_head_attention(a, in.shapes, ins, os);
  for (size_t i = 0; i < outs.size(); ++i) {
    EXPECT_TRUE(near(got[i], want[i], 1e-5f)) << "output " << i << " " << describe(a, in.shapes);
  }
}

TEST(MultiHeadAttentionCore, UnmaskedShapesAndHeads) {
  uint32_t seed = 100;
  for (int64_t B : {1, 3}) {
    for (auto [T, S] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {4, 5}, {7, 3}, {17, 9}}) {
      for (auto [nq, nkv] :
           std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {2, 2}, {4, 2}, {3, 1}}) {
        for (int64_t dk : {1, 3, 8}) {
          for (bool scores : {false, true}) {
            MultiHeadAttentionAttrs a;
            a.attention_axes = {1};
            a.scale = 1.0f / std::sqrt(static_cast<float>(dk));
            a.return_scores = scores;
            check_mha(a, mha_inputs(a, {B, T, nq, dk}, {B, S, nkv, dk}, dk + 2, seed++, 0));
          }
        }
      }
    }
  }
}

TEST(MultiHeadAttentionCore, AttentionAxes) {
  uint32_t seed = 300;
  struct Case {
    Shape q, k;
    std::vector<int> axes;
  };
  const std::vector<Case> cases = {
      {{2, 3, 4, 2, 3}, {2, 3, 4, 2, 3}, {1, 2}},
      {{2, 3, 4, 2, 3}, {2, 3, 5, 2, 3}, {2}},
      {{2, 3, 4, 2, 3}, {2, 5, 4, 2, 3}, {1}},
      {{1, 2, 3, 2, 2, 3}, {1, 2, 4, 3, 2, 3}, {2, 3}},
  };
  for (const Case& c : cases) {
    for (bool scores : {false, true}) {
      MultiHeadAttentionAttrs a;
      a.attention_axes = c.axes;
      a.scale = 0.5f;
      a.return_scores = scores;
      check_mha(a, mha_inputs(a, c.q, c.k, 4, seed++, 0));
    }
  }
  // Keras's scores layout for axes (2,) over a rank-5 Q: (B, X, N, Y, Y').
  MultiHeadAttentionAttrs a;
  a.attention_axes = {2};
  a.return_scores = true;
  MultiHeadAttentionOp op(a);
  std::vector<Shape> in = {{2, 3, 4, 5, 6}, {2, 3, 7, 5, 6}, {2, 3, 7, 5, 8}};
  auto outs = op.infer_shapes(in);
  EXPECT_EQ(outs[0], (Shape{2, 3, 4, 5, 8}));
  EXPECT_EQ(outs[1], (Shape{2, 3, 5, 4, 7}));
}

TEST(MultiHeadAttentionCore, MasksEveryCombination) {
  uint32_t seed = 500;
  for (int combo = 0; combo < 64; ++combo) {
    for (MaskFill fill : {MaskFill::kZero, MaskFill::kUniform, MaskFill::kAdd}) {
      MultiHeadAttentionAttrs a;
      a.attention_axes = {1};
      a.scale = 0.4f;
      a.has_query_mask = combo & 1;
      a.has_value_mask = combo & 2;
      a.has_key_mask = combo & 4;
      a.has_attention_mask = combo & 8;
      a.causal = combo & 16;
      a.sliding_window = (combo & 32) ? 2 : 0;
      a.fill = fill;
      a.return_scores = combo % 3 == 0;
      for (int am_rank : {3, 31, 4}) {
        if (!a.has_attention_mask && am_rank != 3) continue;
        check_mha(a, mha_inputs(a, {3, 5, 2, 3}, {3, 6, 2, 3}, 4, seed++, am_rank));
      }
    }
  }
}

TEST(MultiHeadAttentionCore, FullyMaskedRows) {
  // A query masked out entirely: uniform, zero, or float32(x - 1e9) softmax.
  MultiHeadAttentionAttrs a;
  a.attention_axes = {1};
  a.has_query_mask = true;
  a.return_scores = true;
  MhaInputs in = mha_inputs(a, {1, 2, 1, 2}, {1, 3, 1, 2}, 2, 7, 0);
  in.values[3] = {0.0f, 1.0f};
  a.fill = MaskFill::kUniform;
  {
    MultiHeadAttentionOp op(a);
    auto got = run_op(op, in.shapes, in.values);
    for (int s = 0; s < 3; ++s) EXPECT_FLOAT_EQ(got[1][static_cast<size_t>(s)], 1.0f / 3.0f);
  }
  a.fill = MaskFill::kZero;
  {
    MultiHeadAttentionOp op(a);
    auto got = run_op(op, in.shapes, in.values);
    for (int s = 0; s < 3; ++s) EXPECT_EQ(got[1][static_cast<size_t>(s)], 0.0f);
    EXPECT_EQ(got[0][0], 0.0f);
  }
  a.fill = MaskFill::kAdd;
  check_mha(a, in);
}

TEST(MultiHeadAttentionCore, ShapeErrors) {
  MultiHeadAttentionAttrs a;
  a.attention_axes = {1};
  MultiHeadAttentionOp op(a);
  std::vector<Shape> heads = {{1, 4, 3, 2}, {1, 5, 2, 2}, {1, 5, 2, 2}};
  EXPECT_THROW(op.infer_shapes(heads), Error);
  std::vector<Shape> dk = {{1, 4, 2, 2}, {1, 5, 2, 3}, {1, 5, 2, 2}};
  EXPECT_THROW(op.infer_shapes(dk), Error);
  std::vector<Shape> unknown = {{-1, -1, 2, 3}, {-1, -1, 2, 3}, {-1, -1, 2, 5}};
  EXPECT_EQ(op.infer_shapes(unknown)[0], (Shape{-1, -1, 2, 5}));
  MultiHeadAttentionAttrs m = a;
  m.attention_axes = {1, 2};
  m.causal = true;
  MultiHeadAttentionOp op2(m);
  std::vector<Shape> r5 = {{1, 2, 3, 2, 2}, {1, 2, 3, 2, 2}, {1, 2, 3, 2, 2}};
  EXPECT_THROW(op2.infer_shapes(r5), Error);
}

// -- Attention / AdditiveAttention

TEST(DenseAttention, MatchesReference) {
  uint32_t seed = 900;
  for (ScoreMode mode : {ScoreMode::kDot, ScoreMode::kConcat, ScoreMode::kAdditive}) {
    for (int opts = 0; opts < 32; ++opts) {
      for (auto [B, Tq, Tv] :
           std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1}, {3, 4, 5}, {2, 9, 3}}) {
        const int64_t D = 5, Dv = 3;
        DenseAttentionAttrs a;
        a.mode = mode;
        a.has_scale = opts & 1;
        a.scale = 0.7f;
        a.concat_weight = 1.3f;
        if (a.has_scale) a.scale_vector = random_values(static_cast<size_t>(D), seed++);
        a.causal = opts & 2;
        a.has_query_mask = opts & 4;
        a.has_value_mask = opts & 8;
        a.return_scores = opts & 16;
        std::vector<Shape> shapes = {{B, Tq, D}, {B, Tv, Dv}, {B, Tv, D}};
        std::vector<std::vector<float>> vals;
        for (const Shape& s : shapes) {
          vals.push_back(random_values(static_cast<size_t>(shape_numel(s)), seed++));
        }
        if (a.has_query_mask) {
          shapes.push_back({B, Tq});
          vals.push_back(binary_mask(static_cast<size_t>(B * Tq), seed++, 0.7));
        }
        if (a.has_value_mask) {
          shapes.push_back({B, Tv});
          auto m = binary_mask(static_cast<size_t>(B * Tv), seed++, 0.7);
          for (int64_t b = 0; b < B; ++b) m[static_cast<size_t>(b * Tv)] = 1.0f;  // no empty rows
          vals.push_back(m);
        }
        DenseAttentionOp op(a);
        std::vector<Shape> outs;
        auto got = run_op(op, shapes, vals, &outs);
        std::vector<std::vector<float>> want;
        for (const Shape& s : outs) want.emplace_back(static_cast<size_t>(shape_numel(s)));
        std::vector<std::span<const float>> ins(vals.begin(), vals.end());
        std::vector<std::span<float>> os(want.begin(), want.end());
        reference::dense_attention(a, shapes, ins, os);
        for (size_t i = 0; i < outs.size(); ++i) {
          EXPECT_TRUE(near(got[i], want[i], 1e-5f))
              << "output " << i << " mode " << static_cast<int>(mode) << " opts " << opts << " B "
              << B << " Tq " << Tq << " Tv " << Tv;
        }
      }
    }
  }
}

}  // namespace
}  // namespace kerasrt::ops
