// Embedding: row lookup. The input is float32 holding integer indices (any rank); the output
// appends output_dim: (..., output_dim). keras-format.md §4.8.
//
// Index conversion follows Keras: indices are cast to int32 (truncation toward zero, as
// tf.cast), and Keras 3 (ops.take on the TF backend) first wraps negative indices once
// (i + input_dim). An index still outside [0, input_dim) — or a value no int32 can hold (NaN,
// +-inf, beyond 2^31) — makes TensorFlow on CPU raise InvalidArgumentError; run() cannot fail, so
// such positions get a zero vector instead: what tf.gather does on GPU ("if an out of bound index
// is found, a 0 is stored in the corresponding output value"). Callers that need the error can
// validate inputs before predict.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

struct EmbeddingAttrs {
  bool wrap_negative = false;  // Keras 3: -input_dim <= i < 0 reads row i + input_dim
};

class EmbeddingOp final : public Op {
 public:
  // table: (input_dim, output_dim).
  EmbeddingOp(Tensor table, EmbeddingAttrs attrs);
  std::string kind() const override { return "Embedding"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  Tensor table_;
  EmbeddingAttrs attrs_;
};

// Embedding(mask_zero=True)'s mask: 1 where the input is not 0, else 0 (Keras compute_mask:
// ops.not_equal(inputs, 0) on the raw input).
class NonZeroMaskOp final : public Op {
 public:
  std::string kind() const override { return "EmbeddingMask"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
};

// The row an index value selects, or -1 for a zero vector (rules above).
int64_t embedding_row(float value, int64_t input_dim, bool wrap_negative);

namespace reference {

void embedding(const Tensor& table, const EmbeddingAttrs& attrs, std::span<const float> x,
               std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
