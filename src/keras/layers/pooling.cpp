// Binders of the pooling layer family: MaxPooling1D/2D/3D, AveragePooling1D/2D/3D, their
// GlobalMax/GlobalAverage counterparts, the short aliases (MaxPool2D, AvgPool2D, GlobalAvgPool2D,
// ...) and the Keras 1 spellings (pool_length, stride, border_mode, dim_ordering;
// keras-format.md §3.4, §4.15).
#include <cctype>
#include <optional>
#include <vector>

#include "keras/registry.h"
#include "ops/pooling.h"

namespace kerasrt::keras {

namespace {

using ops::PoolMode;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void check_input_rank(const LayerContext& ctx, size_t r, size_t max_inputs = 1) {
  ctx.expect_inputs(1, max_inputs);
  const Shape& in = ctx.input_shape(0);
  if (in.size() != r + 2) {
    ctx.fail(ErrorCode::InvalidModel,
             "expected an input of rank " + std::to_string(r + 2) + ", got " + shape_to_string(in));
  }
}

template <size_t R, PoolMode M>
void bind_pool(LayerContext& ctx) {
  ops::PoolAttrs a;
  a.kind =
      std::string(M == PoolMode::Max ? "MaxPooling" : "AveragePooling") + std::to_string(R) + "D";
  a.mode = M;
  // Keras 1 Pooling1D: pool_length / stride.
  const bool keras1_1d = R == 1 && !ctx.has("pool_size") && ctx.has("pool_length");
  a.pool_size = ctx.get_ints(keras1_1d ? "pool_length" : "pool_size", R, 2);
  // strides None means pool_size (Keras 1, 2 and 3).
  const char* strides_key =
      keras1_1d || (!ctx.has("strides") && ctx.has("stride")) ? "stride" : "strides";
  a.strides = ctx.has(strides_key) ? ctx.get_ints(strides_key, R) : a.pool_size;
  const std::string key = ctx.has("padding") ? "padding" : "border_mode";
  const std::string padding = lower(ctx.get_string(key, "valid"));
  if (padding != "valid" && padding != "same") {
    ctx.fail(ErrorCode::Unsupported, "config '" + key + "': padding '" + padding +
                                         "' is not supported (expected 'valid' or 'same')");
  }
  a.same_padding = padding == "same";
  a.channels_first = ctx.channels_first();
  check_input_rank(ctx, R);
  auto op = std::make_shared<ops::PoolOp>(std::move(a));
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add(op, {ctx.input(0)}).at(0)});
}

template <size_t R, PoolMode M>
void bind_global_pool(LayerContext& ctx) {
  ops::GlobalPoolAttrs a;
  a.kind = std::string(M == PoolMode::Max ? "GlobalMaxPooling" : "GlobalAveragePooling") +
           std::to_string(R) + "D";
  a.mode = M;
  a.spatial_rank = R;
  a.keepdims = ctx.get_bool("keepdims", false);  // tf.keras >= 2.6 and Keras 3; absent before
  a.channels_first = ctx.channels_first();
  // GlobalAveragePooling1D averages over the unmasked steps (Keras 2 and 3); its output carries
  // no mask (compute_mask returns None; the registry's default rule). Keras 3 files name the mask
  // as the call's `mask` keyword tensor; Keras 2 files leave it implicit (the input's mask). The
  // other pooling layers take no mask argument in either version: Keras computes over every step
  // and drops the mask.
  const bool takes_mask = R == 1 && M == PoolMode::Average;
  check_input_rank(ctx, R, takes_mask ? 2 : 1);
  std::optional<graph::ValueId> mask;
  if (takes_mask) {
    mask = ctx.input_mask(0);
    if (ctx.num_inputs() == 2) {
      const std::string name = ctx.input_names().at(1);
      if (name != "mask") {
        ctx.fail(ErrorCode::Unsupported, "call argument '" + name + "' is not supported");
      }
      mask = ctx.input(1);
    }
  }
  std::vector<graph::ValueId> inputs{ctx.input(0)};
  if (mask) {
    a.masked = true;
    a.mask_multiplies = ctx.dialect().major < 3;
    inputs.push_back(*mask);
  }
  auto op = std::make_shared<ops::GlobalPoolOp>(std::move(a));
  ctx.expect_all_weights_used();
  ctx.set_outputs({ctx.add(op, std::move(inputs)).at(0)});
}

constexpr LayerEntry kPoolingLayers[] = {
    {"AveragePooling1D", bind_pool<1, PoolMode::Average>},
    {"AveragePooling2D", bind_pool<2, PoolMode::Average>},
    {"AveragePooling3D", bind_pool<3, PoolMode::Average>},
    {"AvgPool1D", bind_pool<1, PoolMode::Average>},
    {"AvgPool2D", bind_pool<2, PoolMode::Average>},
    {"AvgPool3D", bind_pool<3, PoolMode::Average>},
    {"GlobalAveragePooling1D", bind_global_pool<1, PoolMode::Average>},
    {"GlobalAveragePooling2D", bind_global_pool<2, PoolMode::Average>},
    {"GlobalAveragePooling3D", bind_global_pool<3, PoolMode::Average>},
    {"GlobalAvgPool1D", bind_global_pool<1, PoolMode::Average>},
    {"GlobalAvgPool2D", bind_global_pool<2, PoolMode::Average>},
    {"GlobalAvgPool3D", bind_global_pool<3, PoolMode::Average>},
    {"GlobalMaxPool1D", bind_global_pool<1, PoolMode::Max>},
    {"GlobalMaxPool2D", bind_global_pool<2, PoolMode::Max>},
    {"GlobalMaxPool3D", bind_global_pool<3, PoolMode::Max>},
    {"GlobalMaxPooling1D", bind_global_pool<1, PoolMode::Max>},
    {"GlobalMaxPooling2D", bind_global_pool<2, PoolMode::Max>},
    {"GlobalMaxPooling3D", bind_global_pool<3, PoolMode::Max>},
    {"MaxPool1D", bind_pool<1, PoolMode::Max>},
    {"MaxPool2D", bind_pool<2, PoolMode::Max>},
    {"MaxPool3D", bind_pool<3, PoolMode::Max>},
    {"MaxPooling1D", bind_pool<1, PoolMode::Max>},
    {"MaxPooling2D", bind_pool<2, PoolMode::Max>},
    {"MaxPooling3D", bind_pool<3, PoolMode::Max>},
};

}  // namespace

std::span<const LayerEntry> pooling_layers() {
  return kPoolingLayers;
}

}  // namespace kerasrt::keras
