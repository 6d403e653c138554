// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
//
// Binders of the image layer family: ZeroPadding1D/2D/3D, Cropping1D/2D/3D,
// UpSampling1D/2D/3D, Resizing and CenterCrop (keras/src/layers/reshaping/,
// keras/src/layers/preprocessing/image_preprocessing/).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "keras/registry.h"
#include "ops/image.h"

namespace kerasrt::keras {

namespace {

using Pairs = std::vector<std::array<int64_t, 2>>;

// The input's spatial axes for an n-d layer (rank n + 2), honouring data_format.
std::vector<size_t> spatial_axes(const LayerContext& ctx, size_t n) {
  const Shape& in = ctx.input_shape(0);
  if (in.size() != n + 2) {
    ctx.fail(ErrorCode::InvalidModel,
             "expects an input of rank " + std::to_string(n + 2) + ", got " + shape_to_string(in));
  }
  std::vector<size_t> axes;
  const size_t first = ctx.channels_first() ? 2 : 1;
  for (size_t i = 0; i < n; ++i) axes.push_back(first + i);
  return axes;
}

// Padding / cropping amounts of an n-d layer, in every spelling Keras accepts:
//   p                       -> (p, p) on every axis
//   (a, b) for 1-D          -> (a, b)
//   (a, b[, c]) for 2-D/3-D -> (a, a), (b, b)[, (c, c)]; each entry may itself be a pair
//   (t, b, l, r)            -> Keras 1 ZeroPadding2D
//   {"top_pad": ...}        -> Keras 1 ZeroPadding2D dict form
Pairs parse_pairs(const LayerContext& ctx, const char* key, size_t n, int64_t fallback) {
  Pairs out(n, {fallback, fallback});
  const Json* j = ctx.get(key);
  if (j == nullptr || j->is_null()) return out;
  auto bad = [&]() {
    ctx.fail(ErrorCode::InvalidModel, std::string("config '") + key + "': expected an integer, " +
                                          std::to_string(n) + " integers or " + std::to_string(n) +
                                          " pairs, got " + j->dump());
  };
  auto as_int = [&](const Json& v) {
    if (!v.is_integer() || v.as_number() < 0) bad();
    return static_cast<int64_t>(v.as_number());
  };
  if (j->is_integer()) {
    int64_t v = as_int(*j);
    return Pairs(n, {v, v});
  }
  if (j->is_object() && n == 2) {
    auto member = [&](const char* name) {
      const Json* m = j->find(name);
      return m == nullptr ? int64_t{0} : as_int(*m);
    };
    out[0] = {member("top_pad"), member("bottom_pad")};
    out[1] = {member("left_pad"), member("right_pad")};
    return out;
  }
  if (!j->is_array()) bad();
  const auto& items = j->items();
  if (n == 1) {
    if (items.size() == 2) return {{as_int(items[0]), as_int(items[1])}};
    if (items.size() == 1) return {{as_int(items[0]), as_int(items[0])}};
    bad();
  }
  if (n == 2 && items.size() == 4) {
    return {{as_int(items[0]), as_int(items[1])}, {as_int(items[2]), as_int(items[3])}};
  }
  if (items.size() != n) bad();
  for (size_t i = 0; i < n; ++i) {
    const Json& e = items[i];
    if (e.is_array()) {
      if (e.size() != 2) bad();
      out[i] = {as_int(e[0]), as_int(e[1])};
    } else {
      int64_t v = as_int(e);
      out[i] = {v, v};
    }
  }
  return out;
}

void bind_pad_crop(LayerContext& ctx, size_t n, bool crop) {
  ctx.expect_inputs(1, 1);
  std::vector<size_t> axes = spatial_axes(ctx, n);
  // Defaults: ZeroPadding* 1 everywhere; Cropping1D (1, 1); Cropping2D 0; Cropping3D 1.
  int64_t fallback = crop && n == 2 ? 0 : 1;
  Pairs pairs = parse_pairs(ctx, crop ? "cropping" : "padding", n, fallback);
  ops::PadCropAttrs attrs;
  attrs.pads.assign(ctx.input_shape(0).size(), {0, 0});
  for (size_t i = 0; i < n; ++i) {
    int64_t sign = crop ? -1 : 1;
    attrs.pads[axes[i]] = {sign * pairs[i][0], sign * pairs[i][1]};
  }
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::PadCropOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
  // Keras: these layers do not support masking, so no mask reaches their outputs.
  ctx.drop_output_masks();
}

void bind_zero_padding_1d(LayerContext& ctx) {
  bind_pad_crop(ctx, 1, false);
}
void bind_zero_padding_2d(LayerContext& ctx) {
  bind_pad_crop(ctx, 2, false);
}
void bind_zero_padding_3d(LayerContext& ctx) {
  bind_pad_crop(ctx, 3, false);
}
void bind_cropping_1d(LayerContext& ctx) {
  bind_pad_crop(ctx, 1, true);
}
void bind_cropping_2d(LayerContext& ctx) {
  bind_pad_crop(ctx, 2, true);
}
void bind_cropping_3d(LayerContext& ctx) {
  bind_pad_crop(ctx, 3, true);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

ops::ResizeMethod resize_method(const LayerContext& ctx, const std::string& name) {
  if (name == "nearest") return ops::ResizeMethod::Nearest;
  if (name == "bilinear") return ops::ResizeMethod::Bilinear;
  if (name == "bicubic") return ops::ResizeMethod::Bicubic;
  ctx.fail(ErrorCode::Unsupported,
           "interpolation '" + name + "' is not supported (nearest, bilinear, bicubic are)");
}

// Standalone Keras <= 2.3 resized with TF1's tf.image.resize_bilinear / resize_bicubic, which
// have no half-pixel centers; tf.keras and Keras 3 call tf.image.resize (half-pixel centers).
bool half_pixel_centers(const Dialect& d) {
  if (d.major != 2 || d.keras_version.empty()) return true;
  if (d.keras_version.find("-tf") != std::string::npos) return true;
  int major = 0, minor = 0;
  if (std::sscanf(d.keras_version.c_str(), "%d.%d", &major, &minor) != 2) return true;
  return major > 2 || (major == 2 && minor >= 4);
}

void add_repeat(LayerContext& ctx, const std::vector<size_t>& axes,
                const std::vector<int64_t>& factors) {
  ops::RepeatAttrs attrs;
  attrs.repeats.assign(ctx.input_shape(0).size(), 1);
  for (size_t i = 0; i < axes.size(); ++i) {
    if (factors[i] < 1) {
      ctx.fail(ErrorCode::InvalidModel,
               "config 'size': factors must be positive, got " + std::to_string(factors[i]));
    }
    attrs.repeats[axes[i]] = factors[i];
  }
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::RepeatOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
  // Keras: these layers do not support masking, so no mask reaches their outputs.
  ctx.drop_output_masks();
}

void bind_up_sampling_1d(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  if (in.size() != 3) {
    ctx.fail(ErrorCode::InvalidModel, "expects an input of rank 3, got " + shape_to_string(in));
  }
  // Keras 1 spelled the factor `length`.
  int64_t size = ctx.has("size") ? ctx.get_int("size") : ctx.get_int("length", 2);
  add_repeat(ctx, {1}, {size});
}

void bind_up_sampling_2d(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  std::vector<size_t> axes = spatial_axes(ctx, 2);
  std::vector<int64_t> size = ctx.get_ints("size", 2, 2);
  const std::string interp = lower(ctx.get_string("interpolation", "nearest"));
  ops::ResizeMethod method = resize_method(ctx, interp);
  if (method == ops::ResizeMethod::Nearest) {
    // Integer-factor nearest resizing is repetition in every Keras (ops.repeat in Keras 3).
    add_repeat(ctx, axes, size);
    return;
  }
  if (size[0] < 1 || size[1] < 1) {
    ctx.fail(ErrorCode::InvalidModel, "config 'size': factors must be positive");
  }
  ops::ResizeAttrs attrs;
  attrs.height_factor = size[0];
  attrs.width_factor = size[1];
  attrs.method = method;
  attrs.half_pixel_centers = half_pixel_centers(ctx.dialect());
  attrs.channels_first = ctx.channels_first();
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::ResizeOp>(attrs), {ctx.input(0)});
  ctx.set_outputs(out);
  // Keras: these layers do not support masking, so no mask reaches their outputs.
  ctx.drop_output_masks();
}

void bind_up_sampling_3d(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  std::vector<size_t> axes = spatial_axes(ctx, 3);
  add_repeat(ctx, axes, ctx.get_ints("size", 3, 2));
}

void bind_image_resize(LayerContext& ctx, ops::ResizeAttrs attrs) {
  const Shape& in = ctx.input_shape(0);
  if (in.size() != 4) {
    ctx.fail(ErrorCode::InvalidModel,
             "expects a batch of images (rank 4), got " + shape_to_string(in));
  }
  attrs.height = ctx.get_int("height");
  attrs.width = ctx.get_int("width");
  if (attrs.height < 1 || attrs.width < 1) {
    ctx.fail(ErrorCode::InvalidModel, "the target size " + std::to_string(attrs.height) + "x" +
                                          std::to_string(attrs.width) + " is not positive");
  }
  attrs.channels_first = ctx.channels_first();
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::ResizeOp>(attrs), {ctx.input(0)});
  ctx.set_outputs(out);
  // Keras: these layers do not support masking, so no mask reaches their outputs.
  ctx.drop_output_masks();
}

void bind_resizing(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ops::ResizeAttrs attrs;
  attrs.method = resize_method(ctx, lower(ctx.get_string("interpolation", "bilinear")));
  if (ctx.get_bool("antialias", false)) {
    ctx.fail(ErrorCode::Unsupported, "Resizing with antialias=True is not supported");
  }
  const bool crop = ctx.get_bool("crop_to_aspect_ratio", false);
  const bool pad = ctx.get_bool("pad_to_aspect_ratio", false);
  if (crop && pad) {
    ctx.fail(ErrorCode::InvalidModel,
             "crop_to_aspect_ratio and pad_to_aspect_ratio cannot both be true");
  }
  if (pad) {
    std::string fill_mode = ctx.get_string("fill_mode", "constant");
    if (fill_mode != "constant") {
      ctx.fail(ErrorCode::Unsupported,
               "Resizing fill_mode '" + fill_mode + "' is not supported (only 'constant')");
    }
    attrs.fill_value = static_cast<float>(ctx.get_float("fill_value", 0.0));
  }
  attrs.fit = crop  ? ops::ResizeFit::CropToAspect
              : pad ? ops::ResizeFit::PadToAspect
                    : ops::ResizeFit::Stretch;
  bind_image_resize(ctx, attrs);
}

void bind_center_crop(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ops::ResizeAttrs attrs;
  attrs.method = ops::ResizeMethod::Bilinear;  // smart_resize's default interpolation
  attrs.fit = ops::ResizeFit::CenterCrop;
  bind_image_resize(ctx, attrs);
}

constexpr LayerEntry kImageLayers[] = {
    {"CenterCrop", bind_center_crop},
    {"Cropping1D", bind_cropping_1d},
    {"Cropping2D", bind_cropping_2d},
    {"Cropping3D", bind_cropping_3d},
    {"Resizing", bind_resizing},
    {"UpSampling1D", bind_up_sampling_1d},
    {"UpSampling2D", bind_up_sampling_2d},
    {"UpSampling3D", bind_up_sampling_3d},
    {"ZeroPadding1D", bind_zero_padding_1d},
    {"ZeroPadding2D", bind_zero_padding_2d},
    {"ZeroPadding3D", bind_zero_padding_3d},
};

}  // namespace

std::span<const LayerEntry> image_layers() {
  return kImageLayers;
}

}  // namespace kerasrt::keras
