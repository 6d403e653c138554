// Elementwise ops: every Keras activation that maps one value to one value (relu and its
// variants, sigmoid, tanh, gelu, ...; softmax lives in softmax.h), PReLU (a learned per-position
// slope) and Rescaling's affine map (x * scale + offset, broadcast on the trailing axes).
//
// Formulas follow the TensorFlow backend of each Keras version (keras/src/activations/
// activations.py, keras/src/backend/tensorflow/nn.py; tf_keras/activations.py and
// tf_keras/backend.py for Keras 2). Where oneDNN's eltwise algorithm computes the same function
// it runs the op (vectorised, JIT); the other kinds run as plain loops.
#pragma once

#include <cstdint>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

enum class UnaryKind {
  // Keras relu(x, negative_slope=alpha, max_value=beta if has_max, threshold=gamma), exactly as
  // ReLU.static_call: leaky_relu when only the slope is set; otherwise
  // (x > threshold ? x : 0) [clipped to [0, max]] - slope * relu(threshold - x).
  Relu,
  Sigmoid,
  HardSigmoid,       // clip(alpha * x + beta, 0, 1): Keras 1/2 (alpha 0.2, beta 0.5)
  HardSigmoidRelu6,  // relu6(x + 3) / 6: Keras 3 (keras-format.md §4.9, trap 12)
  HardSilu,          // x * relu6(x + 3) / 6 (hard_swish)
  Tanh,
  Softplus,  // TF's stable form: x for large x, exp(x) for very negative x, log1p(exp(x))
  Softsign,  // x / (1 + |x|)
  Elu,       // x > 0 ? x : alpha * (exp(x) - 1)
  Selu,      // scale * elu(x, 1.6732632...), scale 1.0507009...
  GeluErf,   // 0.5 x (1 + erf(x / sqrt 2))
  GeluTanh,  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  Silu,      // x * sigmoid(x) (swish)
  Mish,      // x * tanh(softplus(x))
  Exp,
  LogSigmoid,       // -softplus(-x)
  ThresholdedRelu,  // x * (x > alpha) (Keras 1/2 ThresholdedReLU, theta)
  HardTanh,         // clip(x, -1, 1)
  TanhShrink,       // x - tanh(x)
  SoftShrink,       // x > alpha ? x - alpha : x < -alpha ? x + alpha : 0
  HardShrink,       // |x| > alpha ? x : 0
  Celu,             // max(x, 0) + alpha * expm1(min(x, 0) / alpha)
  Squareplus,       // (x + sqrt(x^2 + alpha)) / 2
  SparsePlus,       // x <= -1 ? 0 : x >= 1 ? x : (x + 1)^2 / 4
  SparseSigmoid,    // x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2
};

struct UnaryAttrs {
  UnaryKind kind = UnaryKind::Relu;
  float alpha = 0;  // Relu: negative slope; HardSigmoid: slope; Elu/Celu: alpha; ...
  float beta = 0;   // Relu: max_value (when has_max); HardSigmoid: offset
  float gamma = 0;  // Relu: threshold
  bool has_max = false;
};

// "relu", "hard_sigmoid", ...: for kind() and messages.
std::string unary_kind_name(UnaryKind kind);

// One oneDNN eltwise step: y = alg(x; alpha, beta).
struct EltwiseStep {
  dnnl::algorithm alg;
  float alpha;
  float beta;
};

// The oneDNN eltwise chain that UnaryOp runs for `attrs`, or empty when the kind runs as a plain
// loop (the piecewise-linear kinds).
std::vector<EltwiseStep> eltwise_chain(const UnaryAttrs& attrs);

// The chain of oneDNN eltwise post-ops that computes Keras's activation `attrs` on a conv or
// matmul output (graph passes fuse it), or empty when oneDNN cannot express Keras's formula:
// eltwise_chain() (the same oneDNN math UnaryOp runs) plus the piecewise-linear kinds that
// oneDNN's clip and linear compute step for step: relu with max_value (clip; exact), hard_tanh
// (clip; exact), Keras 2 hard_sigmoid clip(0.2 x + 0.5, 0, 1) (linear, clip; linear may use one
// fused multiply-add where TF rounds twice) and Keras 3 hard_sigmoid relu6(x + 3) / 6 (as
// clip(x / 6 + 0.5, 0, 1): the same function, within a few roundings). Not: relu with a
// threshold or with both a slope and a max_value, and the other loop kinds.
std::vector<EltwiseStep> post_op_chain(const UnaryAttrs& attrs);

class UnaryOp final : public Op {
 public:
  explicit UnaryOp(UnaryAttrs attrs) : attrs_(attrs) {}
  std::string kind() const override;
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const UnaryAttrs& attrs() const { return attrs_; }

 private:
  UnaryAttrs attrs_;
};

// PReLU: y = x > 0 ? x : alpha * x, alpha broadcast against the per-sample shape (its shape is
// the input shape without the batch, with 1 at the shared axes; keras-format.md §4.12).
class PReluOp final : public Op {
 public:
  explicit PReluOp(Tensor alpha) : alpha_(std::move(alpha)) {}
  std::string kind() const override { return "PReLU"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const Tensor& alpha() const { return alpha_; }

 private:
  Tensor alpha_;
};

// Rescaling: y = x * scale + offset (two roundings, as TF computes it), scale and offset each a
// scalar or an array broadcast against the trailing axes of the input (numpy rules).
class AffineOp final : public Op {
 public:
  AffineOp(Tensor scale, Tensor offset) : scale_(std::move(scale)), offset_(std::move(offset)) {}
  std::string kind() const override { return "Rescaling"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  Tensor scale_;
  Tensor offset_;
};

// An activation over n contiguous values in place (RNN and ConvLSTM gates): tight loops for the
// usual gate functions, the reference formula for every other Keras activation; none when empty.
void activate_in_place(const std::optional<UnaryAttrs>& attrs, float* v, int64_t n);

namespace reference {

// One value through the activation (double-checked formulas; float32 like TF).
float unary(const UnaryAttrs& attrs, float x);
void unary(const UnaryAttrs& attrs, std::span<const float> x, std::span<float> y);
// x has shape `in` (batch first); alpha has the per-sample shape with 1s at shared axes.
void prelu(const Shape& in, std::span<const float> x, const Tensor& alpha, std::span<float> y);
void affine(const Shape& in, std::span<const float> x, const Tensor& scale, const Tensor& offset,
            std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
