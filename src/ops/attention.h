// Attention cores. The projections around them are EinsumDense nodes (ops/einsum.h); the
// binders (src/keras/layers/attention.cpp) wire them up.
//
// MultiHeadAttentionOp: the part of Keras's MultiHeadAttention / GroupedQueryAttention between
// the projections (keras/src/layers/attention/multi_head_attention.py _compute_attention,
// _masked_softmax, _compute_attention_mask; grouped_query_attention.py; tf-keras alike).
//   inputs: Q (B, <q dims>, Nq, Dk), K (B, <kv dims>, Nkv, Dk), V (B, <kv dims>, Nkv, Dv), then
//   the optional masks the attributes announce, in this order: query mask (B, T), value mask
//   (B, S), key mask (B, S) (Keras masks: 1 keep, 0 masked), attention mask (rank 3 (B|1, T|1,
//   S|1) or rank 4 (B|1, Nq|1, T|1, S|1); nonzero = attend).
//   outputs: O (B, <q dims>, Nq, Dv) and, with return_scores, the probabilities in Keras's layout
//   (<batch dims incl. heads>, <T attention dims>, <S attention dims>).
//   Scores are scale·Q·Kᵀ jointly softmaxed over all attention axes. GQA maps query head h to
//   key/value head h / (Nq / Nkv) (ops.repeat on the head axis). Masks need one attention axis
//   over a rank-4 Q (Keras builds them as (B, T, S)).
//
// DenseAttentionOp: Keras's Attention (Luong, score_mode dot/concat) and AdditiveAttention
// (Bahdanau) (keras/src/layers/attention/attention.py, additive_attention.py; tf-keras
// base_dense_attention.py):
//   inputs: query (B, Tq, D), value (B, Tv, Dv), key (B, Tv, D), then optional query mask
//   (B, Tq) and value mask (B, Tv).
//   outputs: (B, Tq, Dv) and optionally the probabilities (B, Tq, Tv).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

// How a masked score enters the softmax; the three Keras code paths differ only for rows in which
// every position is masked.
enum class MaskFill {
  // Keras 3 Softmax layer: where(mask, x, -1e9), softmax, then masked probabilities set to 0
  // (a fully masked row is all zeros).
  kZero,
  // Keras 3 ops.dot_product_attention (where(mask, x, -0.7·f32max)) and tf-keras Softmax with
  // robust_masking (where(mask, x, -1e9)): a fully masked row is uniform.
  kUniform,
  // tf-keras Softmax: x + (1 - mask)·(-1e9) in float32 (a fully masked row keeps the float32
  // rounding of x - 1e9).
  kAdd,
};

struct MultiHeadAttentionAttrs {
  std::vector<int> attention_axes;  // axes of Q (1 .. rank-3), sorted
  float scale = 1.0f;               // 1/sqrt(key_dim)
  bool has_query_mask = false, has_value_mask = false, has_key_mask = false;
  bool has_attention_mask = false;
  bool causal = false;
  int64_t sliding_window = 0;  // 0: none; else |t - s| < window
  MaskFill fill = MaskFill::kZero;
  bool return_scores = false;
};

class MultiHeadAttentionOp final : public Op {
 public:
  explicit MultiHeadAttentionOp(MultiHeadAttentionAttrs attrs);

  std::string kind() const override { return "MultiHeadAttention"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

  const MultiHeadAttentionAttrs& attrs() const { return attrs_; }
  size_t num_mask_inputs() const;

 private:
  MultiHeadAttentionAttrs attrs_;
};

enum class ScoreMode {
  kDot,       // Attention(score_mode="dot"): q·k (× scale)
  kConcat,    // Attention(score_mode="concat"): cw · Σ tanh(scale·(q + k)) (scale optional)
  kAdditive,  // AdditiveAttention: Σ scale_d · tanh(q + k) (scale vector optional)
};

struct DenseAttentionAttrs {
  ScoreMode mode = ScoreMode::kDot;
  bool has_scale = false;
  float scale = 1.0f;               // dot / concat scalar
  float concat_weight = 1.0f;       // concat_score_weight
  std::vector<float> scale_vector;  // additive, length D when has_scale
  bool causal = false;
  bool has_query_mask = false, has_value_mask = false;
  bool return_scores = false;
};

class DenseAttentionOp final : public Op {
 public:
  explicit DenseAttentionOp(DenseAttentionAttrs attrs);

  std::string kind() const override {
    return attrs_.mode == ScoreMode::kAdditive ? "AdditiveAttention" : "Attention";
  }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

  const DenseAttentionAttrs& attrs() const { return attrs_; }

 private:
  DenseAttentionAttrs attrs_;
};

namespace reference {

// Naive versions over the same inputs/outputs as the ops (double accumulation).
void multi_head_attention(const MultiHeadAttentionAttrs& attrs, std::span<const Shape> shapes,
                          std::span<const std::span<const float>> inputs,
                          std::span<const std::span<float>> outputs);
void dense_attention(const DenseAttentionAttrs& attrs, std::span<const Shape> shapes,
                     std::span<const std::span<const float>> inputs,
                     std::span<const std::span<float>> outputs);

}  // namespace reference

}  // namespace kerasrt::ops
