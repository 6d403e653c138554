// Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum (elementwise over any number
// of inputs, numpy broadcasting after Keras's rank equalisation), Concatenate and Dot.
//
// Broadcasting (keras/src/layers/merging/base_merge.py): inputs of lower rank get size-1 dims
// inserted after the batch (expand_dims(x, 1)) until all ranks agree; then numpy rules apply.
// The inputs fold left in order — ((x0 op x1) op x2) ... — and Average divides the sum by the
// input count, as Keras does.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

enum class MergeMode { Add, Subtract, Multiply, Average, Maximum, Minimum };

std::string merge_mode_name(MergeMode mode);  // the Keras class name: "Add", ...

class MergeOp final : public Op {
 public:
  explicit MergeOp(MergeMode mode) : mode_(mode) {}
  std::string kind() const override { return merge_mode_name(mode_); }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  MergeMode mode() const { return mode_; }

 private:
  MergeMode mode_;
};

// Concatenate along `axis` (negative counts from the end; the batch axis is allowed as in Keras
// though it never occurs in practice).
class ConcatOp final : public Op {
 public:
  explicit ConcatOp(int64_t axis) : axis_(axis) {}
  std::string kind() const override { return "Concatenate"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  int64_t axis_;
};

// Dot: Keras batch_dot of two inputs (keras/src/layers/merging/dot.py). axes: one axis per input
// (negative values count from the end of that input's rank). The output has x's dims without
// axes[0], then y's dims without the batch and axes[1]; a rank-1 result becomes (batch, 1).
// normalize: L2-normalise each input along its axis first, x * min(rsqrt(sum x^2), max_inv_norm)
// (Keras 3: max_inv_norm = 1/epsilon = 1e7; tf.keras l2_normalize: rsqrt(max(sum, 1e-12)) = 1e6).
struct DotAttrs {
  int64_t axes[2] = {-1, -1};
  bool normalize = false;
  float max_inv_norm = 1e7f;
};

class DotOp final : public Op {
 public:
  explicit DotOp(DotAttrs attrs) : attrs_(attrs) {}
  std::string kind() const override { return "Dot"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  DotAttrs attrs_;
};

namespace reference {

void merge(MergeMode mode, std::span<const Shape> in, std::span<const float* const> x,
           const Shape& out, std::span<float> y);
void concat(int64_t axis, std::span<const Shape> in, std::span<const float* const> x,
            std::span<float> y);
void dot(const DotAttrs& attrs, const Shape& xs, std::span<const float> x, const Shape& ys,
         std::span<const float> y, std::span<float> out);

}  // namespace reference

}  // namespace kerasrt::ops
