// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
//
// Binders of the normalization layer family: BatchNormalization (and its TF 1.13 alias
// BatchNormalizationV1), LayerNormalization, UnitNormalization, GroupNormalization,
// RMSNormalization and the Normalization preprocessing layer. keras-format.md §4.6, §4.7, §4.14.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keras/registry.h"
#include "ops/normalization.h"

namespace kerasrt::keras {

namespace {

// Keras `axis` as a list (int or list; tf.keras saves a list of non-negative ints after build).
std::vector<int64_t> axis_list(const LayerContext& ctx, int64_t fallback) {
  if (!ctx.has("axis")) return {fallback};
  std::vector<int64_t> axes = ctx.get_int_list("axis");
  if (axes.empty()) ctx.fail(ErrorCode::InvalidModel, "config 'axis' is an empty list");
  return axes;
}

// Product of the input dims on `axes`; -1 when one is unknown. Fails for axes out of range.
int64_t dims_on_axes(const LayerContext& ctx, const Shape& in, const std::vector<int64_t>& axes) {
  int64_t n = 1;
  for (int64_t a : axes) {
    int64_t r = static_cast<int64_t>(in.size());
    if (a < -r || a >= r) {
      ctx.fail(ErrorCode::InvalidModel, "config 'axis' " + std::to_string(a) +
                                            " is out of range for input " + shape_to_string(in));
    }
    int64_t d = in[static_cast<size_t>(a < 0 ? a + r : a)];
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

// A stored weight by role. Keras 1 weight names carry the layer name ("batchnormalization_1_gamma",
// no slash), so a role that ends in "_<role>" matches too.
std::optional<Tensor> find_weight(const LayerContext& ctx, const std::string& role) {
  for (const StoredWeight& w : ctx.stored_weights()) {
    if (w.role == role) return ctx.optional_weight(role, {});
  }
  for (const StoredWeight& w : ctx.stored_weights()) {
    const std::string& r = w.role;
    if (r.size() > role.size() + 1 && r.compare(r.size() - role.size(), role.size(), role) == 0 &&
        r[r.size() - role.size() - 1] == '_') {
      return ctx.optional_weight(r, {});
    }
  }
  return std::nullopt;
}

// A per-index parameter: `count` values (any stored shape with that many elements: tf.keras
// stores multi-axis BatchNormalization parameters with the input's rank, 1 on other axes).
Tensor param(const LayerContext& ctx, const std::string& role, int64_t count, bool required) {
  std::optional<Tensor> t = find_weight(ctx, role);
  if (!t) {
    if (!required) return Tensor();
    std::string have;
    for (const StoredWeight& w : ctx.stored_weights()) have += (have.empty() ? "" : ", ") + w.name;
    ctx.fail(ErrorCode::InvalidModel,
             "weight '" + role + "' is missing (stored: " + (have.empty() ? "none" : have) + ")");
  }
  if (count >= 0 && t->numel() != count) {
    ctx.fail(ErrorCode::InvalidModel, "weight '" + role + "': expected " + std::to_string(count) +
                                          " values for the normalized axes, got shape " +
                                          shape_to_string(t->shape()));
  }
  return t->reshaped({t->numel()});
}

// "1.0.5" < "1.0.6": compares the leading numeric components.
bool version_less(const std::string& version, std::initializer_list<int> than) {
  int parts[3] = {0, 0, 0};
  int n = std::sscanf(version.c_str(), "%d.%d.%d", &parts[0], &parts[1], &parts[2]);
  if (n <= 0) return false;
  size_t i = 0;
  for (int t : than) {
    if (i >= 3) break;
    if (parts[i] != t) return parts[i] < t;
    ++i;
  }
  return false;
}

void bind_batch_normalization(LayerContext& ctx) {
  // Keras 3 records the mask it passes to call(); BatchNormalization uses it for training
  // statistics only.
  ctx.expect_inputs(1, ctx.keyword_input("mask") ? 2 : 1);
  const Shape& in = ctx.input_shape(0);
  const Dialect& d = ctx.dialect();
  if (d.major == 1 && ctx.get_int("mode", 0) != 0) {
    // mode 1 normalises each sample by its own statistics, mode 2 uses batch statistics at test
    // time: neither is the inference formula below.
    ctx.fail(ErrorCode::Unsupported, "Keras 1 BatchNormalization mode " +
                                         std::to_string(ctx.get_int("mode", 0)) +
                                         " is not supported (only mode 0)");
  }
  if (ctx.has("virtual_batch_size")) {
    // tf.keras shifts the saved axes by one for the extra virtual-batch dimension.
    ctx.fail(ErrorCode::Unsupported, "BatchNormalization with virtual_batch_size is not supported");
  }
  std::vector<int64_t> axes = axis_list(ctx, -1);
  const int64_t count = dims_on_axes(ctx, in, axes);
  if (count < 0) {
    ctx.fail(ErrorCode::InvalidModel,
             "the normalized axes of input " + shape_to_string(in) + " must be known");
  }
  const double epsilon = ctx.get_float("epsilon", 1e-3);
  // Keras 1 has gamma and beta always; Keras 2/3 only with scale/center.
  const bool scale = d.major == 1 || ctx.get_bool("scale", true);
  const bool center = d.major == 1 || ctx.get_bool("center", true);
  Tensor gamma = scale ? param(ctx, "gamma", count, true) : Tensor();
  Tensor beta = center ? param(ctx, "beta", count, true) : Tensor();
  Tensor mean, var;
  bool var_is_std = false;
  if (d.major == 1) {
    mean = param(ctx, "running_mean", count, true);
    var = param(ctx, "running_std", count, true);
    // Keras <= 1.0.5 stored a standard deviation under this name (keras-format.md §4.6).
    var_is_std = !d.keras_version.empty() && version_less(d.keras_version, {1, 0, 6});
  } else {
    mean = param(ctx, "moving_mean", count, true);
    var = param(ctx, "moving_variance", count, true);
  }
  if (ctx.get_bool("renorm", false)) {
    // Batch renormalization only changes training; inference uses the moving statistics.
    for (const char* role : {"moving_stddev", "renorm_mean", "renorm_stddev", "renorm_mean_weight",
                             "renorm_stddev_weight"}) {
      while (find_weight(ctx, role)) {
      }
    }
  }
  ctx.expect_all_weights_used();

  ops::BatchNormAttrs attrs;
  attrs.axes = axes;
  attrs.scale = Tensor({count});
  attrs.shift = Tensor({count});
  std::span<float> s(attrs.scale.mutable_data(), static_cast<size_t>(count));
  std::span<float> t(attrs.shift.mutable_data(), static_cast<size_t>(count));
  std::span<const float> g = gamma.empty() ? std::span<const float>() : gamma.values();
  std::span<const float> b = beta.empty() ? std::span<const float>() : beta.values();
  if (var_is_std) {
    ops::fold_batch_norm_std(g, b, mean.values(), var.values(), epsilon, s, t);
  } else {
    ops::fold_batch_norm(g, b, mean.values(), var.values(), epsilon, s, t);
  }
  auto out = ctx.add(std::make_shared<ops::BatchNormOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
}

void bind_layer_normalization(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  std::vector<int64_t> axes = axis_list(ctx, -1);
  const int64_t count = dims_on_axes(ctx, in, axes);
  ops::LayerNormAttrs attrs;
  attrs.axes = axes;
  attrs.epsilon = ctx.get_float("epsilon", 1e-3);
  // Keras 3 rms_scaling: gamma only (created even with scale=False), no beta, no centring.
  const bool rms = ctx.get_bool("rms_scaling", false);
  attrs.mode = rms ? ops::LayerNormMode::RmsVariance : ops::LayerNormMode::Standard;
  if (ctx.get_bool("scale", true) || rms) attrs.gamma = param(ctx, "gamma", count, true);
  if (ctx.get_bool("center", true) && !rms) attrs.beta = param(ctx, "beta", count, true);
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::LayerNormOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
}

void bind_rms_normalization(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  std::vector<int64_t> axes = axis_list(ctx, -1);
  ops::LayerNormAttrs attrs;
  attrs.axes = axes;
  attrs.epsilon = ctx.get_float("epsilon", 1e-6);
  attrs.mode = ops::LayerNormMode::RmsMeanSquare;
  attrs.gamma = param(ctx, "scale", dims_on_axes(ctx, in, axes), true);
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::LayerNormOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
}

void bind_unit_normalization(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ops::UnitNormAttrs attrs;
  attrs.axes = axis_list(ctx, -1);
  dims_on_axes(ctx, ctx.input_shape(0), attrs.axes);  // range check
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::UnitNormOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
}

void bind_group_normalization(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  ops::GroupNormAttrs attrs;
  attrs.axis = ctx.get_int("axis", -1);
  attrs.groups = ctx.get_int("groups", 32);
  attrs.epsilon = ctx.get_float("epsilon", 1e-3);
  const int64_t c = dims_on_axes(ctx, in, {attrs.axis});
  if (c < 0)
    ctx.fail(ErrorCode::InvalidModel,
             "the channel axis of " + shape_to_string(in) + " must be known");
  if (ctx.get_bool("scale", true)) attrs.gamma = param(ctx, "gamma", c, true);
  if (ctx.get_bool("center", true)) attrs.beta = param(ctx, "beta", c, true);
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::GroupNormOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
}

// A config value (number or nested lists of numbers) as (shape, flat values).
void flatten_json(const LayerContext& ctx, const char* key, const Json& j, size_t depth,
                  const Shape& shape, std::vector<float>& out) {
  auto ragged = [&]() {
    ctx.fail(ErrorCode::InvalidModel, std::string("config '") + key +
                                          "': expected a number or nested lists of numbers of "
                                          "one shape, got " +
                                          j.dump());
  };
  if (depth == shape.size()) {
    if (!j.is_number()) ragged();
    out.push_back(static_cast<float>(j.as_number()));
    return;
  }
  if (!j.is_array() || static_cast<int64_t>(j.size()) != shape[depth]) ragged();
  for (const Json& item : j.items()) flatten_json(ctx, key, item, depth + 1, shape, out);
}

Shape json_shape(const Json& j) {
  Shape shape;
  for (const Json* p = &j; p->is_array(); p = &(*p)[0]) {
    shape.insert(shape.end(), static_cast<int64_t>(p->size()));
    if (p->size() == 0) break;
  }
  return shape;
}

// Normalization's config mean/variance broadcast (NumPy rules, right-aligned) to the kept dims.
Tensor broadcast_config(const LayerContext& ctx, const char* key, const Shape& kept) {
  const Shape shape = json_shape(*ctx.get(key));
  std::vector<float> flat;
  flatten_json(ctx, key, *ctx.get(key), 0, shape, flat);
  if (shape.size() > kept.size()) {
    ctx.fail(ErrorCode::InvalidModel, std::string("config '") + key + "' has rank " +
                                          std::to_string(shape.size()) + ", more than the " +
                                          std::to_string(kept.size()) + " kept axes");
  }
  Shape aligned(kept.size() - shape.size(), 1);
  aligned.insert(aligned.end(), shape.begin(), shape.end());
  for (size_t k = 0; k < kept.size(); ++k) {
    if (aligned[k] != 1 && aligned[k] != kept[k]) {
      ctx.fail(ErrorCode::InvalidModel,
               std::string("config '") + key + "' of shape " + shape_to_string(shape) +
                   " does not broadcast to the kept dims " + shape_to_string(kept));
    }
  }
  int64_t n = 1;
  for (int64_t d : kept) n *= d;
  Tensor t({n});
  float* dst = t.mutable_data();
  for (int64_t i = 0; i < n; ++i) {
    // Index into the aligned source: dims of size 1 broadcast.
    int64_t rem = i, src = 0, stride = 1;
    for (size_t k = kept.size(); k-- > 0;) {
      int64_t idx = rem % kept[k];
      rem /= kept[k];
      if (aligned[k] != 1) src += idx * stride;
      stride *= aligned[k];
    }
    dst[i] = flat[static_cast<size_t>(src)];
  }
  return t;
}

void bind_normalization(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  // axis: int, list, or null (one scalar mean/variance); default -1.
  std::vector<int64_t> axes;
  const Json* axis = ctx.get("axis");
  if (axis == nullptr) {
    axes = {-1};
  } else if (!axis->is_null()) {
    axes = ctx.get_int_list("axis");
  }
  const int64_t r = static_cast<int64_t>(in.size());
  Shape kept;
  std::vector<int64_t> sorted;
  for (int64_t a : axes) {
    if (a < -r || a >= r) {
      ctx.fail(ErrorCode::InvalidModel, "config 'axis' " + std::to_string(a) +
                                            " is out of range for input " + shape_to_string(in));
    }
    sorted.push_back(a < 0 ? a + r : a);
  }
  std::sort(sorted.begin(), sorted.end());
  for (int64_t a : sorted) {
    if (in[static_cast<size_t>(a)] < 0) {
      ctx.fail(ErrorCode::InvalidModel,
               "the kept axes of input " + shape_to_string(in) + " must be known");
    }
    kept.push_back(in[static_cast<size_t>(a)]);
  }
  int64_t count = 1;
  for (int64_t d : kept) count *= d;

  ops::StandardizeAttrs attrs;
  attrs.axes = sorted;
  attrs.invert = ctx.get_bool("invert", false);
  // backend.epsilon() is not stored in the file (keras-format.md §6 trap 17).
  attrs.epsilon = 1e-7f;
  if (ctx.has("mean") || ctx.has("variance")) {
    if (!ctx.has("mean") || !ctx.has("variance")) {
      ctx.fail(ErrorCode::InvalidModel, "config has only one of 'mean' and 'variance'");
    }
    attrs.mean = broadcast_config(ctx, "mean", kept);
    attrs.variance = broadcast_config(ctx, "variance", kept);
  } else {
    attrs.mean = param(ctx, "mean", count, true);
    attrs.variance = param(ctx, "variance", count, true);
    find_weight(ctx, "count");  // the adapt() sample count: not used at inference
  }
  ctx.expect_all_weights_used();
  auto out = ctx.add(std::make_shared<ops::StandardizeOp>(std::move(attrs)), {ctx.input(0)});
  ctx.set_outputs(out);
}

constexpr LayerEntry kNormalizationLayers[] = {
    {"BatchNormalization", bind_batch_normalization, MaskRule::kPass},
    {"BatchNormalizationV1", bind_batch_normalization, MaskRule::kPass},  // TF 1.13 alias
    {"GroupNormalization", bind_group_normalization, MaskRule::kPass},
    {"LayerNormalization", bind_layer_normalization, MaskRule::kPass},
    {"Normalization", bind_normalization, MaskRule::kPassKeras3},
    {"RMSNormalization", bind_rms_normalization},
    {"UnitNormalization", bind_unit_normalization, MaskRule::kPass},
};

}  // namespace

std::span<const LayerEntry> normalization_layers() {
  return kNormalizationLayers;
}

}  // namespace kerasrt::keras
