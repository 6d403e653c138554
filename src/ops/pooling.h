// The pooling family: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the global poolings
// (GlobalMaxPooling1D/2D/3D, GlobalAveragePooling1D/2D/3D), over Keras-layout activations
// (channels_last or channels_first).
//
// Window pooling follows TF (keras-format.md §4.15, trap 13): 'same' pads asymmetrically (the extra
// element after), max pooling never picks a padded element and average pooling divides by the
// number of real elements in the window.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

enum class PoolMode { Max, Average };

struct PoolAttrs {
  std::string kind = "MaxPooling2D";  // reported by Op::kind(): the Keras class
  PoolMode mode = PoolMode::Max;
  std::vector<int64_t> pool_size;  // one per spatial axis (1 to 3 axes)
  std::vector<int64_t> strides;    // same length as pool_size
  bool same_padding = false;       // 'same' (true) or 'valid'
  bool channels_first = false;

  size_t spatial_rank() const { return pool_size.size(); }
};

struct GlobalPoolAttrs {
  std::string kind = "GlobalAveragePooling2D";
  PoolMode mode = PoolMode::Average;
  size_t spatial_rank = 2;  // 1 to 3
  bool keepdims = false;    // keep the spatial axes as size 1
  bool channels_first = false;
  // GlobalAveragePooling1D with a Keras mask: a second input (batch, steps) of 0/1; the mean runs
  // over the unmasked steps only (keras/src/layers/pooling/global_average_pooling1d.py).
  bool masked = false;
  // How masked steps leave the sum. Keras 3 selects (where(mask, x, 0)): whatever a masked step
  // holds, it adds 0. tf-keras multiplies (x * mask): an inf or NaN at a masked step makes the
  // mean NaN (tf_keras/src/layers/pooling/global_average_pooling1d.py).
  bool mask_multiplies = false;
};

class PoolOp final : public Op {
 public:
  // Throws Error(InvalidModel) for inconsistent attributes.
  explicit PoolOp(PoolAttrs attrs);

  std::string kind() const override { return attrs_.kind; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const PoolAttrs& attrs() const { return attrs_; }

 private:
  PoolAttrs attrs_;
};

class GlobalPoolOp final : public Op {
 public:
  explicit GlobalPoolOp(GlobalPoolAttrs attrs);

  std::string kind() const override { return attrs_.kind; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const GlobalPoolAttrs& attrs() const { return attrs_; }

 private:
  GlobalPoolAttrs attrs_;
};

namespace reference {

// Naive window pooling of `x` (shape `in`) into `y` (the shape PoolOp::infer_shapes gives).
void pool(const PoolAttrs& attrs, const Shape& in, std::span<const float> x, std::span<float> y);
// Naive global pooling of `x` (shape `in`) into `y`; `mask` (batch, steps) when attrs.masked.
void global_pool(const GlobalPoolAttrs& attrs, const Shape& in, std::span<const float> x,
                 std::span<float> y, std::span<const float> mask = {});

}  // namespace reference

}  // namespace kerasrt::ops
