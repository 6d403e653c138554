// Sequence helpers of the recurrent family: Keras masks (the Masking layer, applying a mask),
// time reversal (Bidirectional's backward outputs) and folding time into the batch
// (TimeDistributed). A mask is a (batch, time) tensor of 0/1 floats carried beside a value.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

// Keras Masking (keras/src/layers/core/masking.py): mask = any(x != mask_value, axis=-1),
// y = x * mask[..., None]. Outputs: y (the input's shape) and the mask (the input's shape
// without the last axis).
class MaskingOp final : public Op {
 public:
  explicit MaskingOp(float mask_value) : mask_value_(mask_value) {}
  std::string kind() const override { return "Masking"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  float mask_value_;
};

// y = x * mask, the mask (x's leading dims) broadcast over x's trailing dims: the zeros Keras
// writes at masked steps when zero_output_for_mask is on.
class ApplyMaskOp final : public Op {
 public:
  std::string kind() const override { return "ApplyMask"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
};

// Reverses axis 1 (time) of a tensor of rank >= 2 (ops.flip(y, axis=1)).
class ReverseTimeOp final : public Op {
 public:
  std::string kind() const override { return "ReverseTime"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
};

// TimeDistributed: (batch, time, ...) -> (batch * time, ...).
class FoldTimeOp final : public Op {
 public:
  std::string kind() const override { return "FoldTime"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
};

// TimeDistributed: inputs y (batch * time, ...) and the original x (batch, time, ...), which
// only lends its batch and time; output (batch, time, ...).
class UnfoldTimeOp final : public Op {
 public:
  std::string kind() const override { return "UnfoldTime"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
};

namespace reference {

void masking(const Shape& in, float mask_value, std::span<const float> x, std::span<float> y,
             std::span<float> mask);
void apply_mask(const Shape& in, std::span<const float> x, std::span<const float> mask,
                std::span<float> y);
void reverse_time(const Shape& in, std::span<const float> x, std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
