// Binders of the convolutional LSTM family: ConvLSTM1D, ConvLSTM2D, ConvLSTM3D (Keras 3 and
// tf-keras / Keras 2; keras-format.md §4.10). Both versions store kernel (k..., in, 4f),
// recurrent_kernel (k..., f, 4f) and bias (4f,) under the layer (Keras 3 .keras: under its
// `cell`), with the same config keys; only the recurrent_activation default differs (Keras 2
// hard_sigmoid, Keras 3 sigmoid), and every config stores it.
//
// Refused with Error(Unsupported): Keras 1's ConvLSTM2D (12 per-gate arrays in 'th' layout),
// Theano-trained Keras 2 files (their kernels would need the spatial flip), time_major, and
// masks other than one value per (sample, step): Masking in front of a ConvLSTM gives a mask per
// position, which TensorFlow applies position by position.
#include <cctype>

#include "keras/registry.h"
#include "ops/conv_lstm.h"
#include "ops/elementwise.h"

namespace kerasrt::keras {

namespace {

// A Keras activation as the elementwise attributes the op applies inside its gate loop.
std::optional<ops::UnaryAttrs> gate_activation(const LayerContext& ctx, std::string_view key,
                                               const std::string& fallback) {
  const Json* spec = ctx.has(key) ? ctx.get(key) : nullptr;
  const std::string name = spec ? activation_name(*spec, ctx) : fallback;
  std::shared_ptr<const ops::Op> op = make_activation_op(name, ctx.dialect(), ctx);
  if (!op) return std::nullopt;
  const auto* unary = dynamic_cast<const ops::UnaryOp*>(op.get());
  if (unary == nullptr) {
    ctx.fail(ErrorCode::Unsupported, "activation '" + name + "' in config '" + std::string(key) +
                                         "' (only elementwise activations)");
  }
  return unary->attrs();
}

ops::ConvPadding read_padding(const LayerContext& ctx) {
  std::string p = ctx.get_string("padding", "valid");
  for (char& c : p) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (p == "valid") return ops::ConvPadding::Valid;
  if (p == "same") return ops::ConvPadding::Same;
  ctx.fail(ErrorCode::Unsupported, "config 'padding': '" + p + "' (expected 'valid' or 'same')");
}

void bind_conv_lstm(LayerContext& ctx) {
  const std::string& cls = ctx.class_name();
  const size_t r = cls == "ConvLSTM1D" ? 1 : cls == "ConvLSTM3D" ? 3 : 2;
  if (ctx.dialect().major == 1) {
    ctx.fail(ErrorCode::Unsupported,
             "Keras 1 " + cls + " (12 per-gate arrays in Theano layout) is not supported");
  }
  if (ctx.dialect().backend == "theano") {
    ctx.fail(ErrorCode::Unsupported,
             cls + " trained with the Theano backend (kernels need the spatial flip)");
  }
  if (ctx.get_bool("time_major", false)) {
    ctx.fail(ErrorCode::Unsupported, "time_major=True is not supported");
  }
  ctx.expect_inputs(1, 4);

  ops::ConvLstmAttrs at;
  ops::ConvAttrs& cv = at.conv;
  cv.kind = cls;
  cv.filters = ctx.get_int("filters");
  cv.kernel_size = ctx.get_ints("kernel_size", r);
  cv.strides = ctx.get_ints("strides", r, 1);
  cv.dilation = ctx.get_ints("dilation_rate", r, 1);
  cv.padding = read_padding(ctx);
  cv.channels_first = ctx.channels_first();
  at.activation = gate_activation(ctx, "activation", "tanh");
  at.recurrent_activation = gate_activation(ctx, "recurrent_activation",
                                            ctx.dialect().major >= 3 ? "sigmoid" : "hard_sigmoid");
  at.return_sequences = ctx.get_bool("return_sequences", false);
  at.return_state = ctx.get_bool("return_state", false);
  at.go_backwards = ctx.get_bool("go_backwards", false);
  at.zero_output_for_mask = ctx.get_bool("zero_output_for_mask", false);
  // stateful=True: the final states of one predict call start the next (unless the call gives
  // initial states), kept by the runtime per model.
  at.stateful = ctx.get_bool("stateful", false);

  // The call's tensors: x, then the initial states (tf-keras flattens them into the inputs;
  // Keras 3 passes initial_state= by keyword) and an explicit mask= by keyword.
  graph::ValueId x = ctx.input(0);
  std::optional<graph::ValueId> mask = ctx.input_mask(0);
  bool explicit_mask = false;
  std::vector<graph::ValueId> states;
  const std::vector<std::string> names = ctx.input_names();
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const std::string name = i < names.size() ? names[i] : "";
    if (name == "mask") {
      mask = ctx.input(i);
      explicit_mask = true;
    } else if (name.empty() || name == "initial_state") {
      states.push_back(ctx.input(i));
    } else {
      ctx.fail(ErrorCode::Unsupported, "call argument '" + name + "' is not supported");
    }
  }
  if (!states.empty() && states.size() != 2) {
    ctx.fail(ErrorCode::InvalidModel,
             "expected 2 initial states (h, c), got " + std::to_string(states.size()));
  }
  // The outputs carry `mask`; Keras 3 computes unmasked when initial states come without an
  // explicit mask (recurrent.cpp call_inputs).
  const bool compute_masked =
      mask && !(ctx.dialect().major >= 3 && !explicit_mask && !states.empty());

  const Shape& xs = ctx.shape_of(x);
  if (xs.size() != r + 3) {
    ctx.fail(ErrorCode::InvalidModel, "expected an input of rank " + std::to_string(r + 3) +
                                          " (batch, time, spatial..., channels), got " +
                                          shape_to_string(xs));
  }
  const int64_t in = xs[cv.channels_first ? 2 : r + 2];
  if (in < 1) {
    ctx.fail(ErrorCode::InvalidModel,
             "the input's channel dimension must be known, got " + shape_to_string(xs));
  }
  const int64_t f = cv.filters;
  Shape kshape(cv.kernel_size.begin(), cv.kernel_size.end());
  Shape rshape = kshape;
  kshape.insert(kshape.end(), {in, 4 * f});
  rshape.insert(rshape.end(), {f, 4 * f});
  Tensor kernel = ctx.weight("kernel", kshape);
  Tensor recurrent_kernel = ctx.weight("recurrent_kernel", rshape);
  Tensor bias = ctx.get_bool("use_bias", true) ? ctx.weight("bias", {4 * f}) : Tensor();
  ctx.expect_all_weights_used();

  std::vector<graph::ValueId> inputs{x};
  if (!states.empty()) {
    at.has_initial_states = true;
    inputs.insert(inputs.end(), states.begin(), states.end());
  }
  if (compute_masked) {
    const Shape& ms = ctx.shape_of(*mask);
    if (ms.size() != 2) {
      ctx.fail(ErrorCode::Unsupported,
               "a mask of shape " + shape_to_string(ms) +
                   " (one value per position, e.g. from Masking on a rank-" +
                   std::to_string(r + 3) + " input); only (batch, time) masks are supported");
    }
    at.has_mask = true;
    inputs.push_back(*mask);
  }
  const bool return_sequences = at.return_sequences;
  std::vector<graph::ValueId> out =
      ctx.add(std::make_shared<ops::ConvLstmOp>(std::move(at), std::move(kernel),
                                                std::move(recurrent_kernel), std::move(bias)),
              std::move(inputs));
  // Keras keeps the input mask on the sequence output only (ConvLSTM.compute_mask).
  if (mask && return_sequences) {
    ctx.set_output_mask(0, *mask);
  } else {
    ctx.drop_output_masks();
  }
  ctx.set_outputs(out);
}

constexpr LayerEntry kConvLstmLayers[] = {
    {"ConvLSTM1D", bind_conv_lstm, MaskRule::kBinder},
    {"ConvLSTM2D", bind_conv_lstm, MaskRule::kBinder},
    {"ConvLSTM3D", bind_conv_lstm, MaskRule::kBinder},
};

}  // namespace

std::span<const LayerEntry> conv_lstm_layers() {
  return kConvLstmLayers;
}

}  // namespace kerasrt::keras
