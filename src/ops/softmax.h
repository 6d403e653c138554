// Softmax and log-softmax over one or several axes (the softmax/log_softmax activations and the
// Softmax layer, whose axis may be a list: Keras then normalises over all of them jointly,
// exp(x - logsumexp(x, axes))).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

struct SoftmaxAttrs {
  std::vector<int64_t> axes = {-1};  // may be negative; normalised against the input rank
  bool log = false;                  // log_softmax
};

class SoftmaxOp final : public Op {
 public:
  explicit SoftmaxOp(SoftmaxAttrs attrs) : attrs_(std::move(attrs)) {}
  std::string kind() const override { return attrs_.log ? "LogSoftmax" : "Softmax"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const SoftmaxAttrs& attrs() const { return attrs_; }

 private:
  SoftmaxAttrs attrs_;
};

// Keras 3 activations that work on a whole axis and are no softmax: glu (x1 * sigmoid(x2) for the
// two halves of the axis: output axis halved), crelu (concat(relu(x), relu(-x)): axis doubled) and
// sparsemax in the form keras/src/backend/tensorflow/nn.py computes it: sort descending, cumsum c,
// support j: s_j - (c_j - 1) / (j + 1) > 0, k = |support|, tau = (sum of c_j over the support -
// 1) / k, y = max(x - tau, 0).
enum class AxisFnKind { Glu, Crelu, Sparsemax };

struct AxisFnAttrs {
  AxisFnKind kind = AxisFnKind::Glu;
  int64_t axis = -1;
};

class AxisFnOp final : public Op {
 public:
  explicit AxisFnOp(AxisFnAttrs attrs) : attrs_(attrs) {}
  std::string kind() const override;
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  AxisFnAttrs attrs_;
};

namespace reference {

void axis_fn(const AxisFnAttrs& attrs, const Shape& in, std::span<const float> x,
             std::span<float> y);

// x and y have shape `in`; computed in double.
void softmax(const SoftmaxAttrs& attrs, const Shape& in, std::span<const float> x,
             std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
