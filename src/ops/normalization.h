// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
//
// Normalization ops: BatchNormalization (inference), LayerNormalization, UnitNormalization,
// the Normalization preprocessing layer and GroupNormalization.
//
// Axes follow Keras: `axes` are the axes of the activation tensor (batch = 0) that carry a
// parameter index (BatchNormalization, Normalization) or that are reduced over
// (LayerNormalization, UnitNormalization). Negative axes count from the end. Parameters over
// several axes are flat in C order over the *sorted* axes — the order Keras's reshape to the
// broadcast shape gives them (keras/src/layers/normalization/layer_normalization.py `_broadcast`).
//
// Everything here is memory-bound elementwise work or a per-row reduction, so the kernels are
// plain loops (OpenMP over rows when the tensor is large) rather than oneDNN primitives: oneDNN's
// batch/layer normalization only handle the channel axis / the last axis with per-channel
// parameters, and would not cover Keras's arbitrary axis sets.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

// ---------------------------------------------------------------------------------------------
// BatchNormalization at inference: y = x * scale[p] + shift[p], p = the parameter index of x's
// position over `axes`. Keras's formula gamma * (x - mean) / sqrt(var + eps) + beta is folded
// into scale/shift once, in double (fold_batch_norm).

// An activation after the BatchNormalization that graph passes fold in (src/graph/passes.cpp):
// y = act(x * scale + shift), for the piecewise-linear activations the loop computes exactly as
// Keras's relu does (keras/src/activations/activations.py ReLU.static_call).
enum class BatchNormActivation {
  None,
  Clip,   // min(max(v, lo), hi): relu (0, inf), relu6 / max_value (0, max), hard_tanh (-1, 1)
  Leaky,  // v > 0 ? v : slope * v (leaky_relu)
};

struct BatchNormAttrs {
  std::vector<int64_t> axes;  // Keras `axis` (int or list), may be negative
  Tensor scale;               // numel = product of the dims on `axes`
  Tensor shift;
  BatchNormActivation activation = BatchNormActivation::None;
  float lo = 0, hi = 0;  // Clip bounds
  float slope = 0;       // Leaky slope
};

// scale = gamma / sqrt(variance + epsilon), shift = beta - mean * scale
// (tf.nn.batch_normalization). Empty gamma means 1 (scale=False), empty beta means 0
// (center=False).
void fold_batch_norm(std::span<const float> gamma, std::span<const float> beta,
                     std::span<const float> mean, std::span<const float> variance, double epsilon,
                     std::span<float> scale, std::span<float> shift);
// Keras <= 1.0.5 stored a standard deviation in `running_std` and computed
// (x - mean) / (std + epsilon) * gamma + beta (keras-format.md §4.6).
void fold_batch_norm_std(std::span<const float> gamma, std::span<const float> beta,
                         std::span<const float> mean, std::span<const float> stddev, double epsilon,
                         std::span<float> scale, std::span<float> shift);

class BatchNormOp : public Op {
 public:
  explicit BatchNormOp(BatchNormAttrs attrs);
  std::string kind() const override { return "BatchNormalization"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const BatchNormAttrs& attrs() const { return attrs_; }

 private:
  BatchNormAttrs attrs_;
};

// ---------------------------------------------------------------------------------------------
// Normalization (preprocessing): y = (x - mean) / max(sqrt(variance), epsilon), or with invert
// y = mean + x * max(sqrt(variance), epsilon); epsilon = backend.epsilon() = 1e-7, not stored in
// the file (keras/src/layers/preprocessing/normalization.py `call`).

struct StandardizeAttrs {
  std::vector<int64_t> axes;  // the kept axes (Keras `axis`); empty = one scalar mean/variance
  Tensor mean;                // numel = product of the dims on `axes` (1 when axes is empty)
  Tensor variance;
  bool invert = false;
  float epsilon = 1e-7f;
};

class StandardizeOp : public Op {
 public:
  explicit StandardizeOp(StandardizeAttrs attrs);
  std::string kind() const override { return "Normalization"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  StandardizeAttrs attrs_;
};

// ---------------------------------------------------------------------------------------------
// LayerNormalization: mean and biased variance over `axes` per remaining position;
//   inv = rsqrt(var + epsilon) * gamma;  y = x * inv + (beta - mean * inv)
// (keras/src/ops/nn.py `_layer_normalization`). Variants:
//   RmsVariance   LayerNormalization(rms_scaling=True), Keras 3: y = x * rsqrt(var + eps) * gamma
//                 (the variance, not the mean square; no beta).
//   RmsMeanSquare RMSNormalization (Keras >= 3.9): y = x * rsqrt(mean(x^2) + eps) * scale
//                 (keras/src/ops/nn.py `_rms_normalization`).
// gamma/beta are indexed over the reduced axes (flat, C order over the sorted axes).

enum class LayerNormMode { Standard, RmsVariance, RmsMeanSquare };

struct LayerNormAttrs {
  std::vector<int64_t> axes;
  double epsilon = 1e-3;
  Tensor gamma;  // empty: scale=False
  Tensor beta;   // empty: center=False (always empty for the RMS modes)
  LayerNormMode mode = LayerNormMode::Standard;
};

class LayerNormOp : public Op {
 public:
  explicit LayerNormOp(LayerNormAttrs attrs);
  std::string kind() const override { return "LayerNormalization"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  LayerNormAttrs attrs_;
};

// ---------------------------------------------------------------------------------------------
// UnitNormalization: y = x * rsqrt(max(sum(x^2 over axes), epsilon))
// (keras/src/layers/normalization/unit_normalization.py; tf.math.l2_normalize in tf-keras).

struct UnitNormAttrs {
  std::vector<int64_t> axes;
  double epsilon = 1e-12;
};

class UnitNormOp : public Op {
 public:
  explicit UnitNormOp(UnitNormAttrs attrs);
  std::string kind() const override { return "UnitNormalization"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  UnitNormAttrs attrs_;
};

// ---------------------------------------------------------------------------------------------
// GroupNormalization: the channel axis is split into `groups` groups of C/groups channels; mean
// and biased variance per (batch, group) over every other non-batch axis and the channels of the
// group; y = (x - mean) * rsqrt(var + epsilon) * gamma[c] + beta[c]
// (keras/src/layers/normalization/group_normalization.py).

struct GroupNormAttrs {
  int64_t axis = -1;    // the channel axis
  int64_t groups = 32;  // -1: one group per channel
  double epsilon = 1e-3;
  Tensor gamma;  // (C,) or empty
  Tensor beta;   // (C,) or empty
};

class GroupNormOp : public Op {
 public:
  explicit GroupNormOp(GroupNormAttrs attrs);
  std::string kind() const override { return "GroupNormalization"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  GroupNormAttrs attrs_;
};

// ---------------------------------------------------------------------------------------------
// Naive references (the test oracle): free functions over one dense C-order tensor.
namespace reference {

// y[i] = x[i] * scale[p(i)] + shift[p(i)], p = C-order index over the sorted `axes`.
void batch_norm(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
                std::span<const float> scale, std::span<const float> shift, std::span<float> y);
void standardize(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
                 std::span<const float> mean, std::span<const float> variance, bool invert,
                 float epsilon, std::span<float> y);
void layer_norm(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
                std::span<const float> gamma, std::span<const float> beta, double epsilon,
                LayerNormMode mode, std::span<float> y);
void unit_norm(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
               double epsilon, std::span<float> y);
void group_norm(const Shape& shape, int64_t axis, int64_t groups, std::span<const float> x,
                std::span<const float> gamma, std::span<const float> beta, double epsilon,
                std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
