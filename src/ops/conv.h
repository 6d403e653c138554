// The convolution family: Conv1D/2D/3D (grouped, dilated), DepthwiseConv1D/2D (as grouped
// convs), the two halves of SeparableConv1D/2D, and Conv1D/2D/3DTranspose.
//
// One op covers all of them: a cross-correlation over 1 to 3 spatial axes with TF's padding rules,
// plus bias. Activations are separate nodes; the binders (src/keras/layers/conv.cpp) settle
// Keras versions and kernel layouts, so the op only knows the two canonical layouts below.
//
// Kernel layouts (Keras 2/3's own, independent of data_format; keras-format.md §4.2-§4.5):
//   forward   (k1[,k2[,k3]], in / groups, filters); output channel block g (filters / groups
//             wide) reads input channel block g. A depthwise kernel (k..., in, multiplier) is the
//             same memory as (k..., 1, in * multiplier) with groups = in.
//   transpose (k1[,k2[,k3]], filters, in) — output channels before input channels (trap 9).
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

enum class ConvPadding { Valid, Same, Causal };

struct ConvAttrs {
  std::string kind = "Conv2D";       // reported by Op::kind(): the Keras class, e.g. "Conv2D"
  std::vector<int64_t> kernel_size;  // one per spatial axis (1 to 3 axes)
  std::vector<int64_t> strides;      // same length as kernel_size
  std::vector<int64_t> dilation;     // same length as kernel_size (1 = none)
  ConvPadding padding = ConvPadding::Valid;  // Causal: 1 spatial axis, forward only
  int64_t groups = 1;                        // forward only
  int64_t filters = 0;                       // output channels
  bool transpose = false;
  // Transpose only: one value per spatial axis, or empty for Keras's None.
  std::vector<int64_t> output_padding;
  bool channels_first = false;

  size_t spatial_rank() const { return kernel_size.size(); }
};

// Padding of one spatial axis, before and after (TF rules: the extra element goes after).
struct AxisPadding {
  int64_t before = 0;
  int64_t after = 0;
};

// Output length of one spatial axis for an input of `length` (-1 when `length` is -1). Throws
// Error(InvalidModel) when the window does not fit (valid padding, input shorter than the kernel).
int64_t conv_output_length(const ConvAttrs& attrs, size_t axis, int64_t length);
// Padding of one spatial axis for a concrete input length. For a forward conv it pads the input
// (`after` may be negative for `valid`: trailing inputs no window reaches). For a transposed conv
// it is the padding of the forward conv whose gradient this is: output position
// i * stride + k * dilation - before receives input i.
AxisPadding conv_axis_padding(const ConvAttrs& attrs, size_t axis, int64_t length);

// Throws Error(InvalidModel) when the attributes are inconsistent (sizes, values < 1, groups).
void validate_conv_attrs(const ConvAttrs& attrs);
// The expected kernel shape for `in_channels` input channels.
Shape conv_kernel_shape(const ConvAttrs& attrs, int64_t in_channels);

class ConvOp final : public Op {
 public:
  // kernel: the canonical layout above for `in_channels` inputs; bias: (filters,) or empty;
  // epilogue: what graph passes folded in (kernel_scale: `filters` values).
  // Throws Error(InvalidModel) when shapes and attributes disagree.
  ConvOp(ConvAttrs attrs, int64_t in_channels, Tensor kernel, Tensor bias, Epilogue epilogue = {});

  std::string kind() const override { return attrs_.kind; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

  const ConvAttrs& attrs() const { return attrs_; }
  const Tensor& kernel() const { return kernel_; }
  const Tensor& bias() const { return bias_; }
  int64_t in_channels() const { return in_channels_; }
  const Epilogue& epilogue() const { return epilogue_; }

 private:
  ConvAttrs attrs_;
  int64_t in_channels_;
  Tensor kernel_;
  Tensor bias_;
  Epilogue epilogue_;
};

namespace reference {

// Naive convolution over the shapes infer_shapes gives: `x` has shape `in` (batch first, layout
// per attrs.channels_first), `y` the output shape; `bias` is empty or (filters,). The oracle of
// the tests; not for production use.
void conv(const ConvAttrs& attrs, const Shape& in, std::span<const float> x,
          std::span<const float> kernel, std::span<const float> bias, std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
