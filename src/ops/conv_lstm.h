// Convolutional LSTM: Keras ConvLSTM1D/2D/3D (keras/src/layers/rnn/conv_lstm.py, tf-keras
// tf_keras/layers/rnn/base_conv_lstm.py + base_conv_rnn.py; keras-format.md §4.10).
//
// Per step t, with * a convolution and gates i, f, c, o (blocks of `filters` output channels of
// the kernels, in that order):
//   z = x_t * kernel (the layer's strides, padding, dilation) + bias
//     + h * recurrent_kernel (stride 1, padding 'same', no dilation)
//   c' = ra(z_f) c + ra(z_i) a(z_c),  h' = ra(z_o) a(c')
// (a = activation, ra = recurrent_activation). States h and c have the output's per-step shape
// (batch, out_spatial..., filters) or (batch, filters, out_spatial...) for channels_first.
//
// Time handling is the recurrent family's (ops/recurrent.h): go_backwards processes the input
// in reverse and returns outputs in processing order; at a masked step (a (batch, time) mask)
// the states stay and the output repeats the previous one (zeros with zero_output_for_mask);
// stateful layers carry their final states to the next call in RunContext::state.
//
// The kernel runs the input convolution for every time step at once (one oneDNN convolution
// over batch * time samples), then per step one convolution of h for the whole batch and a plain
// loop for the gates. Both convolutions are ConvOp kernels (ops/conv.h), so the weight packing
// and oneDNN use are the conv family's.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/conv.h"
#include "ops/elementwise.h"
#include "ops/op.h"

namespace kerasrt::ops {

struct ConvLstmAttrs {
  // The input convolution: kernel_size, strides, dilation, padding (Valid or Same),
  // channels_first, filters = the layer's filters (the op convolves to 4 * filters), groups 1,
  // kind = the Keras class ("ConvLSTM2D").
  ConvAttrs conv;
  std::optional<UnaryAttrs> activation;            // nullopt = linear
  std::optional<UnaryAttrs> recurrent_activation;  // nullopt = linear
  bool go_backwards = false;
  bool return_sequences = false;
  bool return_state = false;
  bool zero_output_for_mask = false;
  bool has_initial_states = false;  // inputs 1 and 2 are the initial h and c
  bool has_mask = false;            // the last input is a (batch, time) 0/1 mask
  bool stateful = false;            // carry the final h, c to the next call (RunContext::state)
};

// Inputs: x (batch, time, spatial..., channels) or (batch, time, channels, spatial...),
// [h0, c0 (the per-step output shape)], [mask (batch, time)].
// Outputs: y ((batch, time, <step shape>) with return_sequences, else (batch, <step shape>)),
// then with return_state the final h and c.
class ConvLstmOp final : public Op {
 public:
  // kernel (k..., in, 4 * filters), recurrent_kernel (k..., filters, 4 * filters), bias
  // (4 * filters,) or empty. Throws Error(InvalidModel) when shapes and attributes disagree.
  ConvLstmOp(ConvLstmAttrs attrs, Tensor kernel, Tensor recurrent_kernel, Tensor bias);

  std::string kind() const override { return attrs_.conv.kind; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

  const ConvLstmAttrs& attrs() const { return attrs_; }

 private:
  // The per-step output shape (batch, out_spatial..., filters) for input x.
  Shape step_shape(const Shape& x) const;

  ConvLstmAttrs attrs_;
  int64_t in_channels_ = 0;
  std::shared_ptr<const ConvOp> input_conv_;      // x_t -> 4 * filters channels, with bias
  std::shared_ptr<const ConvOp> recurrent_conv_;  // h -> 4 * filters channels, 'same', stride 1
};

namespace reference {

// The naive oracle: per sample, step, position and channel, accumulating in double, with its
// own convolution loops. `inputs` and `outputs` follow ConvLstmOp's order; shapes are concrete.
void conv_lstm(const ConvLstmAttrs& attrs, const Tensor& kernel, const Tensor& recurrent_kernel,
               const Tensor& bias, std::span<const Shape> shapes,
               std::span<const std::span<const float>> inputs,
               std::span<const std::span<float>> outputs);

}  // namespace reference

}  // namespace kerasrt::ops
