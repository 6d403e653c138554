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

namespace reference {

// x and y have shape `in`; computed in double.
void softmax(const SoftmaxAttrs& attrs, const Shape& in, std::span<const float> x,
             std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
