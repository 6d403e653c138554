// Binders of the activation layer family (Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax,
// ThresholdedReLU) and make_activation_op, which every layer with an `activation` key uses.
//
// Formulas and defaults: keras/src/activations/activations.py and keras/src/layers/activations/
// (Keras 3); tf_keras/activations.py, tf_keras/backend.py and tf_keras/layers/activation/
// (Keras 2); keras-format.md §4.12, §4.16.
#include <memory>
#include <string>

#include "keras/registry.h"
#include "ops/elementwise.h"
#include "ops/softmax.h"

namespace kerasrt::keras {

namespace {

using ops::UnaryAttrs;
using ops::UnaryKind;

std::shared_ptr<const ops::Op> unary(UnaryKind kind, float alpha = 0, float beta = 0) {
  UnaryAttrs a;
  a.kind = kind;
  a.alpha = alpha;
  a.beta = beta;
  return std::make_shared<ops::UnaryOp>(a);
}

std::shared_ptr<const ops::Op> relu_op(float negative_slope, std::optional<float> max_value,
                                       float threshold) {
  UnaryAttrs a;
  a.kind = UnaryKind::Relu;
  a.alpha = negative_slope;
  a.has_max = max_value.has_value();
  a.beta = max_value.value_or(0.0f);
  a.gamma = threshold;
  return std::make_shared<ops::UnaryOp>(a);
}

std::shared_ptr<const ops::Op> softmax_op(std::vector<int64_t> axes, bool log) {
  ops::SoftmaxAttrs a;
  a.axes = std::move(axes);
  a.log = log;
  return std::make_shared<ops::SoftmaxOp>(a);
}

// Keras 1 stored weights as "<layer>_<param>" (dense_1_W); Keras 2/3 use the bare role (kernel).
// Returns the role under which this layer's weight is stored.
std::string stored_role(const LayerContext& ctx, std::string_view modern,
                        std::string_view keras1_suffix) {
  for (const StoredWeight& w : ctx.stored_weights()) {
    if (w.role == modern) return std::string(modern);
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

void bind_activation(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add_activation(ctx.input(0), "activation")});
}

// ReLU layer (Keras 2 and 3): max_value (None), negative_slope (0), threshold (0); the layer calls
// the relu activation with them.
void bind_relu(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  std::optional<float> max_value;
  if (ctx.has("max_value")) max_value = static_cast<float>(ctx.get_float("max_value", 0));
  float slope = static_cast<float>(ctx.get_float("negative_slope", 0.0));
  float threshold = static_cast<float>(ctx.get_float("threshold", 0.0));
  if (max_value && *max_value < 0) {
    ctx.fail(ErrorCode::InvalidModel, "max_value must be >= 0, got " + std::to_string(*max_value));
  }
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add(relu_op(slope, max_value, threshold), {ctx.input(0)}).at(0)});
}

// LeakyReLU: Keras 1/2 `alpha`, Keras 3 `negative_slope` (Keras 3 still accepts `alpha`);
// default 0.3 in every version.
void bind_leaky_relu(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  double slope = ctx.has("negative_slope") ? ctx.get_float("negative_slope", 0.3)
                                           : ctx.get_float("alpha", 0.3);
  ctx.expect_all_weights_used();
  ctx.set_outputs(
      {ctx.add(relu_op(static_cast<float>(slope), std::nullopt, 0.0f), {ctx.input(0)}).at(0)});
}

void bind_elu(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  float alpha = static_cast<float>(ctx.get_float("alpha", 1.0));
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add(unary(UnaryKind::Elu, alpha), {ctx.input(0)}).at(0)});
}

// ThresholdedReLU (Keras 1/2): x * (x > theta), theta default 1.0.
void bind_thresholded_relu(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  float theta = static_cast<float>(ctx.get_float("theta", 1.0));
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add(unary(UnaryKind::ThresholdedRelu, theta), {ctx.input(0)}).at(0)});
}

// Softmax layer: axis int or list (a list normalises over all listed axes jointly).
// With a Keras mask, Keras puts -1e9 at masked positions first (tf-keras adds it, Keras 3
// selects and zeroes the outputs there), broadcasting the mask against the input's trailing
// axes (numpy rules, so a (batch, time) mask lines up with (time, features)): refused rather
// than ignored.
void bind_softmax(LayerContext& ctx) {
  if (ctx.call_mask()) {
    ctx.fail(ErrorCode::Unsupported,
             "a Keras mask reaching a Softmax layer (Keras applies it to the scores; kerasrt "
             "does not implement masked Softmax)");
  }
  ctx.expect_inputs(1, 1);
  std::vector<int64_t> axes = ctx.has("axis") ? ctx.get_int_list("axis") : std::vector<int64_t>{-1};
  if (axes.empty()) ctx.fail(ErrorCode::InvalidModel, "config 'axis' is an empty list");
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add(softmax_op(std::move(axes), false), {ctx.input(0)}).at(0)});
}

// PReLU: alpha has the input shape without the batch, 1 at every shared axis (1-based axes of
// the full input shape). keras-format.md §4.12; Keras 1 names it "<layer>_alphas".
void bind_prelu(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  Shape expected(in.begin() + 1, in.end());
  if (ctx.has("shared_axes")) {
    for (int64_t axis : ctx.get_int_list("shared_axes")) {
      // Keras documents positive axes (axis 0 is the batch); its build indexes param_shape[i - 1],
      // which for a negative axis is an off-by-one Python index: not worth reproducing.
      int64_t a = axis;
      if (a < 1 || a >= static_cast<int64_t>(in.size())) {
        ctx.fail(ErrorCode::InvalidModel, "shared_axes: axis " + std::to_string(axis) +
                                              " is out of range for input " + shape_to_string(in));
      }
      expected[static_cast<size_t>(a - 1)] = 1;
    }
  }
  bool known = shape_is_concrete(expected);
  Tensor alpha = ctx.weight(stored_role(ctx, "alpha", "alphas"), known ? expected : Shape{});
  if (!known && alpha.shape().size() != expected.size()) {
    ctx.fail(ErrorCode::InvalidModel, "weight 'alpha': expected shape " +
                                          shape_to_string(expected) + ", got " +
                                          shape_to_string(alpha.shape()));
  }
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add(std::make_shared<ops::PReluOp>(alpha), {ctx.input(0)}).at(0)});
}

const LayerEntry kActivationLayers[] = {
    {"Activation", bind_activation, MaskRule::kPass},
    {"ELU", bind_elu, MaskRule::kPass},
    {"LeakyReLU", bind_leaky_relu, MaskRule::kPass},
    {"PReLU", bind_prelu, MaskRule::kPass},
    {"ReLU", bind_relu, MaskRule::kPass},
    {"Softmax", bind_softmax, MaskRule::kPass},
    {"ThresholdedReLU", bind_thresholded_relu, MaskRule::kPass},
};

}  // namespace

std::span<const LayerEntry> activation_layers() {
  return kActivationLayers;
}

std::shared_ptr<const ops::Op> make_activation_op(const std::string& name, const Dialect& dialect,
                                                  const LayerContext& ctx) {
  if (name == "linear" || name.empty()) return nullptr;
  if (name == "relu") return relu_op(0, std::nullopt, 0);
  if (name == "relu6") return relu_op(0, 6.0f, 0);
  // keras.activations.leaky_relu (Keras 3) and tf.nn.leaky_relu (tf.keras): slope 0.2.
  if (name == "leaky_relu") return relu_op(0.2f, std::nullopt, 0);
  if (name == "sigmoid") return unary(UnaryKind::Sigmoid);
  if (name == "tanh") return unary(UnaryKind::Tanh);
  if (name == "softmax" || name == "softmax_v2") return softmax_op({-1}, false);
  if (name == "log_softmax") return softmax_op({-1}, true);
  if (name == "elu") return unary(UnaryKind::Elu, 1.0f);
  if (name == "selu") return unary(UnaryKind::Selu);
  if (name == "softplus") return unary(UnaryKind::Softplus);
  if (name == "softsign") return unary(UnaryKind::Softsign);
  if (name == "swish" || name == "silu") return unary(UnaryKind::Silu);
  // "gelu" by name is approximate=False in both tf.keras (activations.gelu) and Keras 3.
  if (name == "gelu") return unary(UnaryKind::GeluErf);
  if (name == "exponential") return unary(UnaryKind::Exp);
  if (name == "hard_sigmoid") {
    // keras-format.md §4.9, trap 12: clip(0.2x + 0.5) before Keras 3, relu6(x + 3) / 6 after.
    if (dialect.major >= 3) return unary(UnaryKind::HardSigmoidRelu6);
    return unary(UnaryKind::HardSigmoid, 0.2f, 0.5f);
  }
  if (name == "hard_silu" || name == "hard_swish") return unary(UnaryKind::HardSilu);
  if (name == "mish") return unary(UnaryKind::Mish);
  if (name == "log_sigmoid") return unary(UnaryKind::LogSigmoid);
  if (name == "hard_tanh") return unary(UnaryKind::HardTanh);
  if (name == "tanh_shrink") return unary(UnaryKind::TanhShrink);
  if (name == "soft_shrink") return unary(UnaryKind::SoftShrink, 0.5f);
  if (name == "hard_shrink") return unary(UnaryKind::HardShrink, 0.5f);
  if (name == "celu") return unary(UnaryKind::Celu, 1.0f);
  if (name == "squareplus") return unary(UnaryKind::Squareplus, 4.0f);
  if (name == "sparse_plus") return unary(UnaryKind::SparsePlus);
  if (name == "sparse_sigmoid") return unary(UnaryKind::SparseSigmoid);
  if (name == "glu")
    return std::make_shared<ops::AxisFnOp>(ops::AxisFnAttrs{ops::AxisFnKind::Glu, -1});
  if (name == "crelu") {
    return std::make_shared<ops::AxisFnOp>(ops::AxisFnAttrs{ops::AxisFnKind::Crelu, -1});
  }
  if (name == "sparsemax") {
    return std::make_shared<ops::AxisFnOp>(ops::AxisFnAttrs{ops::AxisFnKind::Sparsemax, -1});
  }
  // Activation layer objects used as an `activation` value and serialised by class name only
  // (their config omitted): the layer's defaults apply.
  if (name == "ReLU") return relu_op(0, std::nullopt, 0);
  if (name == "LeakyReLU") return relu_op(0.3f, std::nullopt, 0);
  if (name == "ELU") return unary(UnaryKind::Elu, 1.0f);
  if (name == "Softmax") return softmax_op({-1}, false);
  if (name == "ThresholdedReLU") return unary(UnaryKind::ThresholdedRelu, 1.0f);
  ctx.fail(ErrorCode::Unsupported, "activation '" + name + "' is not supported");
}

}  // namespace kerasrt::keras
