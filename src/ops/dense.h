// Dense: y = x · kernel + bias over the last axis of an input of any rank (keras-format.md §4.1;
// Keras 2 tensordot / Keras 3 matmul contract the last axis only). The activation is a separate
// node. Runs as one oneDNN matmul over (rows = product of the leading dims, in) with the kernel
// packed once at prepare into the layout the primitive prefers.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/epilogue.h"
#include "ops/op.h"

namespace kerasrt::ops {

class DenseOp final : public Op {
 public:
  // kernel: (in, units); bias: (units,) or empty; epilogue: what graph passes folded in
  // (kernel_scale: `units` values). Throws Error(InvalidModel) when they disagree.
  DenseOp(Tensor kernel, Tensor bias, Epilogue epilogue = {});

  std::string kind() const override { return "Dense"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

  int64_t in_features() const { return kernel_.shape()[0]; }
  int64_t units() const { return kernel_.shape()[1]; }
  const Tensor& kernel() const { return kernel_; }
  const Tensor& bias() const { return bias_; }
  const Epilogue& epilogue() const { return epilogue_; }

 private:
  Tensor kernel_;
  Tensor bias_;
  Epilogue epilogue_;
};

namespace reference {

// x: (rows, in) flattened leading dims; y: (rows, units). Accumulates in double.
void dense(int64_t rows, std::span<const float> x, const Tensor& kernel, const Tensor& bias,
           std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
