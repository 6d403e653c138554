// Binders of the merge layer family: Add, Subtract, Multiply, Average, Maximum, Minimum,
// Concatenate, Dot, and Keras 1's Merge layer (mode sum/mul/ave/max/concat/dot).
//
// Sources: keras/src/layers/merging/ (Keras 3), tf_keras/layers/merging/ (Keras 2), Keras 1.2
// keras/engine/topology.py (Merge).
#include <memory>
#include <string>

#include "keras/registry.h"
#include "ops/merge.h"

namespace kerasrt::keras {

namespace {

constexpr size_t kMaxInputs = 1 << 20;

void bind_elementwise(LayerContext& ctx, ops::MergeMode mode) {
  if (mode == ops::MergeMode::Subtract) {
    ctx.expect_inputs(2, 2);
  } else {
    ctx.expect_inputs(1, kMaxInputs);
  }
  ctx.expect_all_weights_used();
  std::vector<graph::ValueId> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.input(i));
  ctx.set_outputs({ctx.add(std::make_shared<ops::MergeOp>(mode), in).at(0)});
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

void add_concat(LayerContext& ctx, int64_t axis) {
  ctx.expect_inputs(1, kMaxInputs);
  ctx.expect_all_weights_used();
  std::vector<graph::ValueId> in;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.input(i));
  ctx.set_outputs({ctx.add(std::make_shared<ops::ConcatOp>(axis), in).at(0)});
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

const LayerEntry kMergeLayers[] = {
    {"Add", bind_add},         {"Average", bind_average},   {"Concatenate", bind_concatenate},
    {"Dot", bind_dot},         {"Maximum", bind_maximum},   {"Merge", bind_merge},
    {"Minimum", bind_minimum}, {"Multiply", bind_multiply}, {"Subtract", bind_subtract},
};

}  // namespace

std::span<const LayerEntry> merge_layers() {
  return kMergeLayers;
}

}  // namespace kerasrt::keras
