// One table maps each Keras class name to its binder (style-anchors.md §6: no self-registering
// statics). Families list their entries in src/keras/layers/<family>.cpp; registry.cpp joins them.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "keras/layer_context.h"

namespace kerasrt::keras {

using BindFn = void (*)(LayerContext&);

// What a layer's outputs carry of the Keras mask its first input carries (LayerContext masks).
// Keras decides this per layer class, in Layer.__call__ (Keras 3 keras/src/layers/layer.py,
// _set_mask_metadata; tf-keras keras/engine/base_layer.py): a layer that does not declare
// supports_masking (and does not override compute_mask) drops the mask; one that declares it
// with the default compute_mask passes the mask of its first input on to its first output; a
// few compute their own. The rule of each class is in its family table, checked against both
// Keras versions' source:
//
//   kPass (Keras 1/2/3): Activation, ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU,
//     Dense, TimeDistributedDense, Dropout, AlphaDropout, GaussianDropout, GaussianNoise,
//     SpatialDropout1D/2D/3D (Dropout subclasses), ActivityRegularization, BatchNormalization,
//     LayerNormalization, GroupNormalization, UnitNormalization.
//   kPassKeras3 (Keras 3 declares supports_masking; tf-keras's classes do not, so they drop):
//     Identity, Rescaling, Normalization.
//   kDrop (no supports_masking in either version): Flatten, Reshape, Permute, RepeatVector,
//     EinsumDense, LayerScale, CustomScaleLayer, every Conv* / Depthwise* / Separable* /
//     Conv*Transpose, every pooling layer (GlobalAveragePooling1D reads the mask; its
//     compute_mask returns None), Cropping*, ZeroPadding*, UpSampling*, CenterCrop, Resizing,
//     RMSNormalization, Dot (compute_mask returns None).
//   kBinder (own compute_mask, settled by the binder): Masking and Embedding(mask_zero) make
//     one; LSTM/GRU/SimpleRNN/RNN/ConvLSTM*D/Bidirectional keep it on sequence outputs only;
//     TimeDistributed (Keras 3 passes it; tf-keras asks the inner layer); Attention,
//     AdditiveAttention, MultiHeadAttention, GroupedQueryAttention keep the query's; the merges
//     (Add, Subtract, Average, Multiply, Maximum, Minimum, Concatenate, Keras 1 Merge) combine
//     their inputs' masks, differently in Keras 3 (OR) and tf-keras (AND).
//   Softmax is kPass but also applies the mask to its input, which kerasrt does not implement:
//     its binder refuses a masked input. BatchNormalization, GlobalAveragePooling1D, the RNNs
//     and TimeDistributed take the mask as a call argument, which Keras 3 files record as a
//     mask= keyword input (LayerContext::call_mask).
//
// Keras 1 and standalone Keras 2 raise when a mask reaches a layer without supports_masking, so
// their files only ever have masks where a layer passes or computes one, as tf-keras does.
// A nested Functional/Sequential model is no layer here: its inner layers see and set masks
// themselves (tf-keras Functional.compute_mask returns the inner outputs' masks).
enum class MaskRule : uint8_t {
  kDrop,        // the Keras default: the outputs carry no mask
  kPass,        // output 0 carries the first input's mask
  kPassKeras3,  // kPass in Keras 3 files, kDrop in Keras 1/2 (tf-keras) files
  kBinder,      // the binder calls set_output_mask() or drop_output_masks() (it must)
};

struct LayerEntry {
  std::string_view class_name;  // exact Keras class name, e.g. "Conv2D"
  BindFn bind;
  MaskRule masks = MaskRule::kDrop;
};

// nullptr when the class is not supported.
const LayerEntry* find_layer(std::string_view class_name);
// find_layer(class_name)->bind, or nullptr.
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
