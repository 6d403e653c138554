// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
//
// Image / spatial ops: padding and cropping (ZeroPadding1D/2D/3D, Cropping1D/2D/3D), nearest
// upsampling by repetition (UpSampling1D/2D/3D) and 2-D resizing (UpSampling2D bilinear,
// Resizing, CenterCrop).
//
// These are copies and small gathers, so they are plain loops: oneDNN's resampling primitive
// uses its own coordinate rounding, which is not TF's (tf.image.resize: half-pixel centers, float
// scale in/out, floor for nearest — tensorflow/core/kernels/image/resize_*_op.cc).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

// ---------------------------------------------------------------------------------------------
// Pad and/or crop: for every axis (the batch axis included, where it must stay {0, 0}),
// pads[a] = {before, after}; positive values pad with `fill`, negative values crop.
struct PadCropAttrs {
  std::vector<std::array<int64_t, 2>> pads;  // one entry per axis of the input
  float fill = 0.0f;
};

class PadCropOp : public Op {
 public:
  explicit PadCropOp(PadCropAttrs attrs);
  std::string kind() const override;  // "Pad", "Crop" or "PadCrop"
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const PadCropAttrs& attrs() const { return attrs_; }

 private:
  PadCropAttrs attrs_;
};

// ---------------------------------------------------------------------------------------------
// Nearest-neighbour upsampling by integer factors: out[..., i, ...] = in[..., i / r, ...]
// (UpSampling1D/3D, UpSampling2D nearest: ops.repeat / K.repeat_elements per axis).
struct RepeatAttrs {
  std::vector<int64_t> repeats;  // one entry per axis of the input (1 = unchanged)
};

class RepeatOp : public Op {
 public:
  explicit RepeatOp(RepeatAttrs attrs);
  std::string kind() const override { return "Repeat"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  RepeatAttrs attrs_;
};

// ---------------------------------------------------------------------------------------------
// 2-D resize of a batch of images (rank 4, NHWC or NCHW), TF semantics.
enum class ResizeMethod { Nearest, Bilinear, Bicubic };

// What happens before the resize (keras/src/backend/tensorflow/image.py `resize`,
// keras/src/layers/preprocessing/image_preprocessing/center_crop.py):
//   Stretch       resize the whole image
//   CropToAspect  crop the largest centred window with the target aspect ratio, then resize
//   PadToAspect   pad symmetrically with fill_value to the target aspect ratio, then resize
//   CenterCrop    crop the centred target-size window when the image is at least that large in
//                 both dims, else CropToAspect (smart_resize)
enum class ResizeFit { Stretch, CropToAspect, PadToAspect, CenterCrop };

struct ResizeAttrs {
  // Target size, or (when height == 0) integer factors of the input size (UpSampling2D).
  int64_t height = 0;
  int64_t width = 0;
  int64_t height_factor = 1;
  int64_t width_factor = 1;
  ResizeMethod method = ResizeMethod::Bilinear;
  // tf.image.resize (TF2) uses half-pixel centers; TF1's resize_bilinear/resize_nearest_neighbor
  // (standalone Keras 2.x UpSampling2D) do not.
  bool half_pixel_centers = true;
  bool channels_first = false;
  ResizeFit fit = ResizeFit::Stretch;
  float fill_value = 0.0f;
};

class ResizeOp : public Op {
 public:
  explicit ResizeOp(ResizeAttrs attrs);
  std::string kind() const override { return "Resize"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  ResizeAttrs attrs_;
};

// The source window a resize reads, in input pixels: rows [y0, y0 + h), cols [x0, x0 + w);
// negative y0/x0 (PadToAspect) mean `-y0` rows of fill above and below (the same count on both
// sides, as Keras pads), likewise for columns.
struct ResizeWindow {
  int64_t y0 = 0, x0 = 0, h = 0, w = 0;
  bool resize = true;  // false: CenterCrop that only crops
};
ResizeWindow resize_window(const ResizeAttrs& attrs, int64_t in_h, int64_t in_w, int64_t out_h,
                           int64_t out_w);

// ---------------------------------------------------------------------------------------------
// Naive references (the test oracle).
namespace reference {

void pad_crop(const Shape& in_shape, std::span<const std::array<int64_t, 2>> pads, float fill,
              std::span<const float> x, std::span<float> y);
void repeat(const Shape& in_shape, std::span<const int64_t> repeats, std::span<const float> x,
            std::span<float> y);
// NHWC resize of the whole image, TF's formulas written out directly.
void resize_nhwc(const Shape& in_shape, int64_t out_h, int64_t out_w, ResizeMethod method,
                 bool half_pixel_centers, std::span<const float> x, std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
