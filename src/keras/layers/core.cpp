// Binders of the core layer family: Dense (and Keras 1 TimeDistributedDense), Embedding,
// Flatten, Reshape, Permute, RepeatVector, Rescaling, and the layers that are the identity at
// inference (Dropout and friends, Identity).
//
// Sources: keras/src/layers/core/, keras/src/layers/reshaping/, keras/src/layers/regularization/,
// keras/src/layers/preprocessing/rescaling.py (Keras 3); tf_keras/layers/ (Keras 2); Keras 1.2
// keras/layers/core.py and embeddings.py. keras-format.md §4.1, §4.8, §4.14, §4.15.
#include <memory>
#include <string>

#include "keras/registry.h"
#include "ops/dense.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/merge.h"
#include "ops/shape_ops.h"

namespace kerasrt::keras {

namespace {

// Keras 1 stored weights as "<layer>_<param>" (dense_1_W); Keras 2/3 use the bare role (kernel).
// Returns the role under which this layer's weight is stored.
std::string stored_role(const LayerContext& ctx, std::string_view modern,
                        std::string_view keras1_suffix) {
  for (const StoredWeight& w : ctx.stored_weights()) {
    if (w.role == modern) return std::string(modern);
    // The loader strips the layer prefix of Keras 1 names ("dense_1_W" -> "W").
    if (w.role == keras1_suffix) return w.role;
  }
  std::string suffix(1, '_');  // (not "_" + string: GCC 12 raises a false -Wrestrict)
  suffix += keras1_suffix;
  for (const StoredWeight& w : ctx.stored_weights()) {
    if (w.role.size() > suffix.size() &&
        w.role.compare(w.role.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return w.role;
    }
  }
  return std::string(modern);
}

// Keras 3 int8/int4 quantized layers store "<role>_scale" (and more) next to integer weights.
void reject_quantized(const LayerContext& ctx, std::string_view role) {
  const std::string scale = std::string(role) + "_scale";
  for (const StoredWeight& w : ctx.stored_weights()) {
    if (w.role == scale) {
      ctx.fail(ErrorCode::Unsupported, "quantized weights ('" + w.name + "') are not supported");
    }
  }
}

// Dense: units (Keras 1 output_dim), use_bias (Keras 1 bias), kernel (in, units), bias (units,).
// Keras 3 LoRA layers save the merged kernel, so lora_rank needs nothing here.
void bind_dense(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  if (in.size() < 2) {
    ctx.fail(ErrorCode::InvalidModel, "expects an input of rank >= 2, got " + shape_to_string(in));
  }
  const int64_t units = ctx.has("units") ? ctx.get_int("units") : ctx.get_int("output_dim");
  const bool use_bias =
      ctx.has("use_bias") ? ctx.get_bool("use_bias", true) : ctx.get_bool("bias", true);
  reject_quantized(ctx, "kernel");
  const int64_t in_dim = in.back();
  Tensor kernel =
      ctx.weight(stored_role(ctx, "kernel", "W"), in_dim >= 0 ? Shape{in_dim, units} : Shape{});
  if (kernel.shape().size() != 2 || kernel.shape()[1] != units) {
    ctx.fail(ErrorCode::InvalidModel, "weight 'kernel': expected shape (in, " +
                                          std::to_string(units) + "), got " +
                                          shape_to_string(kernel.shape()));
  }
  Tensor bias;
  if (use_bias) bias = ctx.weight(stored_role(ctx, "bias", "b"), {units});
  ctx.expect_all_weights_used();
  graph::ValueId y = ctx.add(std::make_shared<ops::DenseOp>(kernel, bias), {ctx.input(0)}).at(0);
  ctx.set_outputs({ctx.add_activation(y, "activation")});
}

// Embedding: input_dim, output_dim, embeddings (input_dim, output_dim); mask_zero adds the mask.
void bind_embedding(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const int64_t input_dim = ctx.get_int("input_dim");
  const int64_t output_dim = ctx.get_int("output_dim");
  const bool mask_zero = ctx.get_bool("mask_zero", false);
  reject_quantized(ctx, "embeddings");
  Tensor table = ctx.weight(stored_role(ctx, "embeddings", "W"), {input_dim, output_dim});
  ctx.expect_all_weights_used();
  ops::EmbeddingAttrs attrs;
  // Keras 3's ops.take (TF backend) wraps negative indices; tf.keras/Keras 1 gather does not.
  attrs.wrap_negative = ctx.dialect().major >= 3;
  ctx.set_outputs(
      {ctx.add(std::make_shared<ops::EmbeddingOp>(table, attrs), {ctx.input(0)}).at(0)});
  // mask_zero: the (batch, time) mask downstream layers (RNNs) consume; Keras compute_mask is
  // not_equal(inputs, 0).
  if (mask_zero) {
    if (ctx.input_shape(0).size() != 2) {
      ctx.fail(ErrorCode::Unsupported, "mask_zero on an input of rank " +
                                           std::to_string(ctx.input_shape(0).size()) +
                                           " (only (batch, time) inputs carry a mask)");
    }
    ctx.set_output_mask(
        0, ctx.add(std::make_shared<ops::NonZeroMaskOp>(), {ctx.input(0)}, "mask").at(0));
  } else {
    ctx.drop_output_masks();
  }
}

// Flatten: data_format channels_first moves the channels last before flattening
// (keras/src/layers/reshaping/flatten.py; trap 18). Configs without data_format (Keras 1, early
// Keras 2) flatten in memory order.
void bind_flatten(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_all_weights_used();
  const Shape& in = ctx.input_shape(0);
  graph::ValueId x = ctx.input(0);
  if (ctx.channels_first() && in.size() > 2) {
    std::vector<int> perm = {0};
    for (int d = 2; d < static_cast<int>(in.size()); ++d) perm.push_back(d);
    perm.push_back(1);
    x = ctx.add(std::make_shared<ops::TransposeOp>(perm, "Flatten"), {x}, "channels_last").at(0);
  }
  ctx.set_outputs(
      {ctx.add(std::make_shared<ops::ReshapeOp>(std::vector<int64_t>{-1}, "Flatten"), {x}).at(0)});
}

void bind_reshape(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_all_weights_used();
  std::vector<int64_t> target = ctx.get_int_list("target_shape");
  ctx.set_outputs({ctx.add(std::make_shared<ops::ReshapeOp>(target), {ctx.input(0)}).at(0)});
}

// Permute: dims is a permutation of 1..rank-1 (1-based, the batch stays first).
void bind_permute(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_all_weights_used();
  std::vector<int64_t> dims = ctx.get_int_list("dims");
  const size_t rank = ctx.input_shape(0).size();
  if (dims.size() + 1 != rank) {
    ctx.fail(ErrorCode::InvalidModel, "dims " + shape_to_string(dims) + " do not match input " +
                                          shape_to_string(ctx.input_shape(0)));
  }
  std::vector<int> perm = {0};
  for (int64_t d : dims) {
    if (d < 1 || d >= static_cast<int64_t>(rank)) {
      ctx.fail(ErrorCode::InvalidModel, "dims " + shape_to_string(dims) +
                                            " must be a permutation of 1.." +
                                            std::to_string(rank - 1));
    }
    perm.push_back(static_cast<int>(d));
  }
  ctx.set_outputs({ctx.add(std::make_shared<ops::TransposeOp>(perm), {ctx.input(0)}).at(0)});
}

void bind_repeat_vector(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_all_weights_used();
  const int64_t n = ctx.get_int("n");
  ctx.set_outputs({ctx.add(std::make_shared<ops::RepeatVectorOp>(n), {ctx.input(0)}).at(0)});
}

// A Rescaling scale/offset: a number, a (nested) list, or Keras 3's serialized numpy array
// {"class_name": "__numpy__", "config": {"value": ..., "dtype": ...}}.
Tensor constant_from_json(const LayerContext& ctx, std::string_view key, double fallback) {
  const Json* j = ctx.get(key);
  if (j == nullptr || j->is_null()) return Tensor(Shape{}, {static_cast<float>(fallback)});
  if (j->is_object()) {
    const Json* cfg = j->find("config");
    const Json* value = cfg != nullptr && cfg->is_object() ? cfg->find("value") : nullptr;
    if (value == nullptr) {
      ctx.fail(ErrorCode::Unsupported,
               "config '" + std::string(key) + "': unsupported value " + j->dump());
    }
    j = value;
  }
  Shape shape;
  std::vector<float> values;
  // Walk the nesting: every level must be a list of equal length down to numbers.
  std::vector<const Json*> level = {j};
  while (!level.empty() && level[0]->is_array()) {
    const size_t n = level[0]->size();
    shape.push_back(static_cast<int64_t>(n));
    std::vector<const Json*> next;
    for (const Json* a : level) {
      if (!a->is_array() || a->size() != n) {
        ctx.fail(ErrorCode::InvalidModel,
                 "config '" + std::string(key) + "': ragged list " + j->dump());
      }
      for (const Json& item : a->items()) next.push_back(&item);
    }
    level = std::move(next);
  }
  for (const Json* v : level) {
    if (!v->is_number()) {
      ctx.fail(ErrorCode::InvalidModel,
               "config '" + std::string(key) + "': expected numbers, got " + j->dump());
    }
    values.push_back(static_cast<float>(v->as_number()));
  }
  return Tensor(shape, std::move(values));
}

// Rescaling: y = x * scale + offset, scale/offset broadcast against the input (numpy rules).
void bind_rescaling(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_all_weights_used();
  Tensor scale = constant_from_json(ctx, "scale", 1.0);
  Tensor offset = constant_from_json(ctx, "offset", 0.0);
  ctx.set_outputs({ctx.add(std::make_shared<ops::AffineOp>(scale, offset), {ctx.input(0)}).at(0)});
}

// keras.applications' own layers, saved by class name in every application model that uses them.
// LayerScale (convnext.py): x * gamma, gamma of shape (projection_dim,).
void bind_layer_scale(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const int64_t dim = ctx.get_int("projection_dim");
  // The layer's one weight: "gamma" in a .keras file; the legacy .h5 writer stores it as
  // "variable", "variable_1", ... (add_weight without a name, uniquified per model).
  auto stored = ctx.stored_weights();
  Tensor gamma = ctx.weight(stored.size() == 1 ? stored[0].role : "gamma", {dim});
  ctx.set_outputs(
      {ctx.add(std::make_shared<ops::AffineOp>(gamma, Tensor(Shape{}, {0.0f})), {ctx.input(0)})
           .at(0)});
}

// CustomScaleLayer (inception_resnet_v2.py): inputs[0] + inputs[1] * scale.
void bind_custom_scale(LayerContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_all_weights_used();
  const float scale = static_cast<float>(ctx.get_float("scale", 1.0));
  graph::ValueId scaled =
      ctx.add(std::make_shared<ops::AffineOp>(Tensor(Shape{}, {scale}), Tensor(Shape{}, {0.0f})),
              {ctx.input(1)}, "scale")
          .at(0);
  ctx.set_outputs(
      {ctx.add(std::make_shared<ops::MergeOp>(ops::MergeMode::Add), {ctx.input(0), scaled}).at(0)});
}

// Layers that only act while training: the output is the input, no node.
void bind_identity(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.input(0)});
}

const LayerEntry kCoreLayers[] = {
    {"ActivityRegularization", bind_identity, MaskRule::kPass},
    {"AlphaDropout", bind_identity, MaskRule::kPass},
    {"CustomScaleLayer", bind_custom_scale},
    {"Dense", bind_dense, MaskRule::kPass},
    {"Dropout", bind_identity, MaskRule::kPass},
    {"Embedding", bind_embedding, MaskRule::kBinder},
    {"Flatten", bind_flatten},
    {"GaussianDropout", bind_identity, MaskRule::kPass},
    {"GaussianNoise", bind_identity, MaskRule::kPass},
    {"Identity", bind_identity, MaskRule::kPassKeras3},
    {"LayerScale", bind_layer_scale},
    {"Permute", bind_permute},
    {"RepeatVector", bind_repeat_vector},
    {"Rescaling", bind_rescaling, MaskRule::kPassKeras3},
    {"Reshape", bind_reshape},
    {"SpatialDropout1D", bind_identity, MaskRule::kPass},
    {"SpatialDropout2D", bind_identity, MaskRule::kPass},
    {"SpatialDropout3D", bind_identity, MaskRule::kPass},
    // Keras 1: Dense over the last axis of a 3D input.
    {"TimeDistributedDense", bind_dense, MaskRule::kPass},
};

}  // namespace

std::span<const LayerEntry> core_layers() {
  return kCoreLayers;
}

}  // namespace kerasrt::keras
