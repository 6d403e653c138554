// Binders of the merge layer family: Add, Subtract, Multiply, Average, Maximum, Minimum,
// Concatenate, Dot, and Keras 1's Merge layer (mode sum/mul/ave/max/concat/dot).
//
// Sources: keras/src/layers/merging/ (Keras 3), tf_keras/layers/merging/ (Keras 2), Keras 1.2
// keras/engine/topology.py (Merge).
//
// Masks (MaskRule::kBinder): each merge combines its inputs' masks. Keras 3
// (base_merge.compute_mask) ORs them when every input has one and gives none otherwise, and its
// Multiply, Maximum and Minimum also replace masked values before merging (below); tf-keras and
// Keras 1 AND the masks present and leave the values alone. Concatenate concatenates the masks
// (an input without one counts as all ones) along its axis; along the last axis that reduces to
// OR (Keras 3: ops.any) or AND (tf-keras: backend.all) over the inputs. Dot gives no mask.
#include <memory>
#include <optional>
#include <string>

#include "keras/registry.h"
#include "ops/elementwise.h"
#include "ops/logical.h"
#include "ops/merge.h"
#include "ops/shape_ops.h"

namespace kerasrt::keras {

namespace {

using graph::ValueId;

constexpr size_t kMaxInputs = 1 << 20;

std::vector<ValueId> all_inputs(const LayerContext& ctx) {
  std::vector<ValueId> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.input(i));
  return in;
}

// x * scale + offset with scalar scale and offset.
ValueId affine(LayerContext& ctx, ValueId x, float scale, float offset, std::string_view suffix) {
  auto op = std::make_shared<ops::AffineOp>(Tensor(Shape{}, {scale}), Tensor(Shape{}, {offset}));
  return ctx.add(std::move(op), {x}, suffix).at(0);
}

ValueId merge(LayerContext& ctx, ops::MergeMode mode, std::vector<ValueId> in,
              std::string_view suffix) {
  if (in.size() == 1) return in[0];
  return ctx.add(std::make_shared<ops::MergeOp>(mode), std::move(in), suffix).at(0);
}

// All ones with the shape of x's mask (x's dims but the last): Keras's ones_like for an input
// without a mask. any(x * 0 + 1) over the last axis is 1 for every x, NaN included.
ValueId ones_mask_of(LayerContext& ctx, ValueId x, std::string_view suffix) {
  std::string s(suffix);
  ValueId ones = affine(ctx, x, 0.0f, 1.0f, s + "_ones");
  return ctx.add(std::make_shared<ops::ReduceBoolOp>(false, -1, false), {ones}, s).at(0);
}

// A mask with a trailing axis of 1, which broadcasts over its value's last axis (Keras
// broadcast_to(expand_dims(mask, -1), shape(x))).
ValueId expand_mask(LayerContext& ctx, ValueId mask, std::string_view suffix) {
  std::vector<int64_t> target;
  const Shape& s = ctx.shape_of(mask);
  bool unknown = false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] < 0 && unknown) {
      ctx.fail(ErrorCode::Unsupported, "a mask of shape " + shape_to_string(s) +
                                           " with more than one unknown dim in a merge");
    }
    unknown |= s[i] < 0;
    target.push_back(s[i] < 0 ? -1 : s[i]);
  }
  target.push_back(1);
  return ctx.add(std::make_shared<ops::ReshapeOp>(std::move(target)), {mask}, suffix).at(0);
}

// where(mask3, a, b) for 0/1 masks (mask3 from expand_mask): a * m + b * (1 - m), exact for
// finite values (Keras selects, so an inf or NaN where it is not taken would differ).
ValueId select(LayerContext& ctx, ValueId mask3, ValueId a, ValueId b, const std::string& s) {
  ValueId am = merge(ctx, ops::MergeMode::Multiply, {a, mask3}, s + "_a");
  ValueId inv = affine(ctx, mask3, -1.0f, 1.0f, s + "_not");
  ValueId bm = merge(ctx, ops::MergeMode::Multiply, {b, inv}, s + "_b");
  return merge(ctx, ops::MergeMode::Add, {am, bm}, s);
}

// where(mask3, a, c) for a constant c.
ValueId select_const(LayerContext& ctx, ValueId mask3, ValueId a, float c, const std::string& s) {
  ValueId am = merge(ctx, ops::MergeMode::Multiply, {a, mask3}, s + "_a");
  ValueId cm = affine(ctx, mask3, -c, c, s + "_c");  // c * (1 - m)
  return merge(ctx, ops::MergeMode::Add, {am, cm}, s);
}

// Keras 3 Multiply._merge_function: masked values become 1; where every input is masked the
// product is 0. Maximum/Minimum (_apply_merge_op_and_or_mask) fold left, a masked value taking
// the other side's (so only unmasked values compete, and a step masked everywhere keeps the
// first input's value). Called only when some input has a mask.
ValueId keras3_masked_values(LayerContext& ctx, ops::MergeMode mode,
                             const std::vector<std::optional<ValueId>>& masks) {
  const size_t n = ctx.num_inputs();
  std::vector<std::optional<ValueId>> m3(n);
  for (size_t i = 0; i < n; ++i) {
    if (masks[i]) m3[i] = expand_mask(ctx, *masks[i], "mask3_" + std::to_string(i));
  }
  if (mode == ops::MergeMode::Multiply) {
    std::vector<ValueId> xs;
    for (size_t i = 0; i < n; ++i) {
      xs.push_back(m3[i]
                       ? select_const(ctx, *m3[i], ctx.input(i), 1.0f, "where_" + std::to_string(i))
                       : ctx.input(i));
    }
    ValueId out = merge(ctx, mode, xs, "merge");
    bool all = true;
    for (const auto& m : m3) all &= m.has_value();
    if (!all) return out;
    std::vector<ValueId> present;
    for (const auto& m : m3) present.push_back(*m);
    ValueId any = merge(ctx, ops::MergeMode::Maximum, present, "mask3_or");
    return select_const(ctx, any, out, 0.0f, "where_out");
  }
  ValueId out = ctx.input(0);
  bool out_masked = m3[0].has_value();
  ValueId out_mask = m3[0].value_or(-1);
  for (size_t i = 1; i < n; ++i) {
    const std::string s = std::to_string(i);
    ValueId x = ctx.input(i);
    if (m3[i]) x = select(ctx, *m3[i], x, out, "where_x" + s);
    if (out_masked) out = select(ctx, out_mask, out, x, "where_out" + s);
    if (m3[i] && out_masked) {
      out_mask = merge(ctx, ops::MergeMode::Maximum, {out_mask, *m3[i]}, "mask3_or" + s);
    } else {
      out_masked = false;
    }
    out = merge(ctx, mode, {out, x}, i + 1 == n ? "" : "merge" + s);
  }
  return out;
}

std::vector<std::optional<ValueId>> input_masks(const LayerContext& ctx) {
  std::vector<std::optional<ValueId>> masks;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) masks.push_back(ctx.input_mask(i));
  return masks;
}

void bind_elementwise(LayerContext& ctx, ops::MergeMode mode) {
  if (mode == ops::MergeMode::Subtract) {
    ctx.expect_inputs(2, 2);
  } else {
    ctx.expect_inputs(1, kMaxInputs);
  }
  ctx.expect_all_weights_used();
  const bool keras3 = ctx.dialect().major >= 3;
  const std::vector<std::optional<ValueId>> masks = input_masks(ctx);
  std::vector<ValueId> present;
  for (const auto& m : masks) {
    if (m) present.push_back(*m);
  }
  const bool value_masking = keras3 && !present.empty() &&
                             (mode == ops::MergeMode::Multiply || mode == ops::MergeMode::Maximum ||
                              mode == ops::MergeMode::Minimum);
  ValueId out = value_masking
                    ? keras3_masked_values(ctx, mode, masks)
                    : ctx.add(std::make_shared<ops::MergeOp>(mode), all_inputs(ctx)).at(0);
  if (present.empty() || (keras3 && present.size() != masks.size())) {
    ctx.drop_output_masks();
  } else {
    ctx.set_output_mask(
        0, merge(ctx, keras3 ? ops::MergeMode::Maximum : ops::MergeMode::Minimum, present, "mask"));
  }
  ctx.set_outputs({out});
}

void bind_add(LayerContext& ctx) {
  bind_elementwise(ctx, ops::MergeMode::Add);
}
void bind_subtract(LayerContext& ctx) {
  bind_elementwise(ctx, ops::MergeMode::Subtract);
}
void bind_multiply(LayerContext& ctx) {
  bind_elementwise(ctx, ops::MergeMode::Multiply);
}
void bind_average(LayerContext& ctx) {
  bind_elementwise(ctx, ops::MergeMode::Average);
}
void bind_maximum(LayerContext& ctx) {
  bind_elementwise(ctx, ops::MergeMode::Maximum);
}
void bind_minimum(LayerContext& ctx) {
  bind_elementwise(ctx, ops::MergeMode::Minimum);
}

// Concatenate.compute_mask: masks (ones for an input without one) concatenated along the axis,
// then reduced over the last axis: along the last axis that is OR over the inputs in Keras 3
// (ops.any) and AND in tf-keras and Keras 1 (all); along another axis the masks are simply
// concatenated.
void set_concat_mask(LayerContext& ctx, int64_t axis) {
  const std::vector<std::optional<ValueId>> masks = input_masks(ctx);
  std::vector<ValueId> present;
  for (const auto& m : masks) {
    if (m) present.push_back(*m);
  }
  if (present.empty()) return ctx.drop_output_masks();
  const auto rank = static_cast<int64_t>(ctx.input_shape(0).size());
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a == rank - 1) {
    if (ctx.dialect().major < 3) {
      return ctx.set_output_mask(0, merge(ctx, ops::MergeMode::Minimum, present, "mask"));
    }
    if (present.size() == masks.size()) {
      return ctx.set_output_mask(0, merge(ctx, ops::MergeMode::Maximum, present, "mask"));
    }
    return ctx.set_output_mask(0, affine(ctx, present[0], 0.0f, 1.0f, "mask"));  // all ones
  }
  if (a <= 0 || a >= rank) {
    ctx.fail(ErrorCode::Unsupported,
             "a Keras mask on inputs concatenated along axis " + std::to_string(axis));
  }
  std::vector<ValueId> parts;
  for (size_t i = 0; i < masks.size(); ++i) {
    parts.push_back(masks[i] ? *masks[i]
                             : ones_mask_of(ctx, ctx.input(i), "mask_ones_" + std::to_string(i)));
  }
  ctx.set_output_mask(0, ctx.add(std::make_shared<ops::ConcatOp>(a), parts, "mask").at(0));
}

void add_concat(LayerContext& ctx, int64_t axis) {
  ctx.expect_inputs(1, kMaxInputs);
  ctx.expect_all_weights_used();
  set_concat_mask(ctx, axis);
  ctx.set_outputs({ctx.add(std::make_shared<ops::ConcatOp>(axis), all_inputs(ctx)).at(0)});
}

void bind_concatenate(LayerContext& ctx) {
  add_concat(ctx, ctx.get_int("axis", -1));
}

// Dot axes: an int (the same axis for both inputs) or a pair.
ops::DotAttrs dot_attrs(const LayerContext& ctx, std::string_view key, bool normalize) {
  ops::DotAttrs a;
  std::vector<int64_t> axes = ctx.has(key) ? ctx.get_int_list(key) : std::vector<int64_t>{-1};
  if (axes.size() == 1) axes.push_back(axes[0]);
  if (axes.size() != 2) {
    ctx.fail(ErrorCode::InvalidModel, "config '" + std::string(key) +
                                          "': expected an int or two ints, got " +
                                          ctx.get(key)->dump());
  }
  a.axes[0] = axes[0];
  a.axes[1] = axes[1];
  a.normalize = normalize;
  // Keras 3 normalize(): x * min(rsqrt(sum x^2), 1 / epsilon) with epsilon 1e-7; tf.keras
  // tf.linalg.l2_normalize: x * rsqrt(max(sum x^2, 1e-12)).
  a.max_inv_norm = ctx.dialect().major >= 3 ? 1e7f : 1e6f;
  return a;
}

void add_dot(LayerContext& ctx, const ops::DotAttrs& attrs) {
  ctx.expect_inputs(2, 2);
  ctx.expect_all_weights_used();
  ctx.drop_output_masks();  // Dot.compute_mask returns None
  ctx.set_outputs(
      {ctx.add(std::make_shared<ops::DotOp>(attrs), {ctx.input(0), ctx.input(1)}).at(0)});
}

void bind_dot(LayerContext& ctx) {
  if (!ctx.has("axes")) ctx.fail(ErrorCode::InvalidModel, "config 'axes' is missing");
  add_dot(ctx, dot_attrs(ctx, "axes", ctx.get_bool("normalize", false)));
}

// Keras 1 Merge: mode is a string (a Python lambda cannot be run); concat_axis default -1,
// dot_axes default -1.
void bind_merge(LayerContext& ctx) {
  const Json* mode_json = ctx.get("mode");
  if (mode_json != nullptr && !mode_json->is_null() && !mode_json->is_string()) {
    ctx.fail(ErrorCode::Unsupported, "Merge with a Python function as mode is not supported");
  }
  const std::string mode = ctx.get_string("mode", "sum");
  if (mode == "sum") return bind_elementwise(ctx, ops::MergeMode::Add);
  if (mode == "mul") return bind_elementwise(ctx, ops::MergeMode::Multiply);
  if (mode == "ave") return bind_elementwise(ctx, ops::MergeMode::Average);
  if (mode == "max") return bind_elementwise(ctx, ops::MergeMode::Maximum);
  if (mode == "concat") return add_concat(ctx, ctx.get_int("concat_axis", -1));
  if (mode == "dot") return add_dot(ctx, dot_attrs(ctx, "dot_axes", false));
  ctx.fail(ErrorCode::Unsupported, "Merge mode '" + mode + "' is not supported");
}

// Dot.compute_mask returns None: the default rule (drop).
const LayerEntry kMergeLayers[] = {
    {"Add", bind_add, MaskRule::kBinder},
    {"Average", bind_average, MaskRule::kBinder},
    {"Concatenate", bind_concatenate, MaskRule::kBinder},
    {"Dot", bind_dot},
    {"Maximum", bind_maximum, MaskRule::kBinder},
    {"Merge", bind_merge, MaskRule::kBinder},
    {"Minimum", bind_minimum, MaskRule::kBinder},
    {"Multiply", bind_multiply, MaskRule::kBinder},
    {"Subtract", bind_subtract, MaskRule::kBinder},
};

}  // namespace

std::span<const LayerEntry> merge_layers() {
  return kMergeLayers;
}

}  // namespace kerasrt::keras
