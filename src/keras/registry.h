// One table maps each Keras class name to its binder (style-anchors.md §6: no self-registering
// statics). Families list their entries in src/keras/layers/<family>.cpp; registry.cpp joins them.
#pragma once

#include <span>
#include <string_view>

#include "keras/layer_context.h"

namespace kerasrt::keras {

using BindFn = void (*)(LayerContext&);

struct LayerEntry {
  std::string_view class_name;  // exact Keras class name, e.g. "Conv2D"
  BindFn bind;
};

// nullptr when the class is not supported.
BindFn find_binder(std::string_view class_name);

// Family tables, one per file in src/keras/layers/.
std::span<const LayerEntry> core_layers();           // core.cpp: Dense, Flatten, Reshape, ...
std::span<const LayerEntry> activation_layers();     // activation.cpp: Activation, ReLU, ...
std::span<const LayerEntry> conv_layers();           // conv.cpp: Conv*, Depthwise*, Separable*
std::span<const LayerEntry> pooling_layers();        // pooling.cpp
std::span<const LayerEntry> normalization_layers();  // normalization.cpp
std::span<const LayerEntry> merge_layers();          // merge.cpp: Add, Concatenate, Dot, ...
std::span<const LayerEntry> image_layers();          // image.cpp: padding, cropping, resizing
std::span<const LayerEntry> recurrent_layers();      // recurrent.cpp: LSTM, GRU, wrappers, ...
std::span<const LayerEntry> attention_layers();      // attention.cpp: MultiHeadAttention, ...
std::span<const LayerEntry> conv_lstm_layers();      // conv_lstm.cpp: ConvLSTM1D/2D/3D

}  // namespace kerasrt::keras
