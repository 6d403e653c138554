// The binder interface: how one Keras layer call becomes graph nodes.
//
// A binder (src/keras/layers/<family>.cpp) reads the layer's config through typed accessors whose
// defaults reproduce Keras's own defaults, fetches its weights by role with the expected shape,
// applies one-time transforms (gate order, kernel re-layout), creates ops (src/ops/) and adds them
// to the graph. Producer differences (Keras 1/2/3, tf.keras) are settled here, so ops and graph
// never see a Keras version. Activations are separate nodes: add_activation().
//
// Every error a binder raises goes through fail() or the accessors, and so names the file, layer
// and class: "model.h5: layer 'conv2d_3' (Conv2D): weight 'kernel': expected shape ..., got ...".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/tensor.h"
#include "graph/graph.h"
#include "keras/json.h"
#include "kerasrt/error.h"
#include "ops/op.h"

namespace kerasrt::keras {

// Which Keras wrote the model.
struct Dialect {
  int major = 2;              // 1, 2 or 3 (from keras_version; tf.keras "2.x.y-tf" is 2)
  std::string keras_version;  // verbatim, may be empty
  std::string backend;        // "tensorflow", "theano", "jax", ... may be empty
};

// One stored weight array of a layer, in weight_names order.
struct StoredWeight {
  std::string name;  // as stored, e.g. "dense_1/kernel:0"
  // Last path component without ":N", e.g. "kernel"; Keras 1 names "<layer>_W:0" lose the layer
  // prefix too, giving "W".
  std::string role;
  Shape shape;                // as stored (Keras layout)
  uint64_t stored_bytes = 0;  // size in the file (element size x count)
  // Reads the array as float32 (converting from the stored dtype).
  std::function<Tensor()> load;
};

class LayerContext {
 public:
  virtual ~LayerContext() = default;

  virtual const std::string& name() const = 0;
  virtual const std::string& class_name() const = 0;
  virtual const Json& config() const = 0;
  virtual const Dialect& dialect() const = 0;

  // -- inputs of this call
  virtual size_t num_inputs() const = 0;
  virtual graph::ValueId input(size_t i) const = 0;
  virtual const Shape& input_shape(size_t i) const = 0;
  // Throws unless the call has between min and max inputs.
  void expect_inputs(size_t min, size_t max) const;

  // -- typed config accessors (errors name the layer and the key)
  const Json* get(std::string_view key) const { return config().find(key); }
  bool has(std::string_view key) const;  // present and not null
  int64_t get_int(std::string_view key) const;
  int64_t get_int(std::string_view key, int64_t fallback) const;
  double get_float(std::string_view key, double fallback) const;
  bool get_bool(std::string_view key, bool fallback) const;
  std::string get_string(std::string_view key, std::string_view fallback) const;
  // An int or a list of n ints (Keras accepts kernel_size=3 for (3, 3)); `fallback` when absent.
  std::vector<int64_t> get_ints(std::string_view key, size_t n,
                                std::optional<int64_t> fallback = std::nullopt) const;
  // A list of ints of any length, or a single int as a one-element list.
  std::vector<int64_t> get_int_list(std::string_view key) const;
  // "channels_last" or "channels_first" (Keras 1's dim_ordering "tf"/"th" mapped).
  bool channels_first() const;

  // -- weights, bound by role (the stored name's last component without ":0")
  virtual std::span<const StoredWeight> stored_weights() const = 0;
  // The weight with this role; throws Error(InvalidModel) when it is missing or its stored shape
  // is not `expected` (an empty `expected` accepts any shape).
  Tensor weight(std::string_view role, const Shape& expected) const;
  std::optional<Tensor> optional_weight(std::string_view role, const Shape& expected) const;
  // Binders call this once they took what they need: throws when stored weights were not used
  // (a layer with more arrays than its config explains is a mismatch, not something to ignore).
  void expect_all_weights_used() const;

  // -- graph building
  // Adds a node running `op` on `inputs`, named after this layer (with `suffix` appended when
  // not empty, for layers that become several nodes). Returns the node's outputs.
  virtual std::vector<graph::ValueId> add(std::shared_ptr<const ops::Op> op,
                                          std::vector<graph::ValueId> inputs,
                                          std::string_view suffix = {}) = 0;
  virtual const Shape& shape_of(graph::ValueId v) const = 0;
  // Applies the Keras activation in config key `key` (a name or a serialized function) to `in`;
  // "linear" adds nothing and returns `in`.
  graph::ValueId add_activation(graph::ValueId in, std::string_view key = "activation");
  // The layer's outputs, in order (every binder must call this exactly once).
  virtual void set_outputs(std::vector<graph::ValueId> outputs) = 0;

  // -- wrappers (Bidirectional, TimeDistributed, RNN cells)
  // Binds a layer nested in this layer's config (`inner` = {"class_name", "config"}) on `inputs`
  // with the given stored weights (the wrapper picks which of its weights belong to the inner
  // layer and marks them used). The inner layer's nodes are named "<this layer>/<inner name>".
  virtual std::vector<graph::ValueId> bind_inner(const Json& inner,
                                                 std::vector<graph::ValueId> inputs,
                                                 std::vector<StoredWeight> weights) = 0;
  // Marks stored_weights()[index] as used (for weights handed to bind_inner).
  void mark_weight_used(size_t index) const;

  // -- Keras masks (Masking, Embedding(mask_zero=True)): a tensor of 0/1 carried beside a value,
  // with the value's dims but the last ((batch, time) for a sequence). What a layer's outputs
  // carry is its registry entry's MaskRule (registry.h, with the table of every class): drop
  // (the Keras default), pass the first input's mask to output 0, or, for kBinder layers, what
  // the binder says with set_output_mask() or drop_output_masks(). Any binder may read masks.
  virtual std::optional<graph::ValueId> input_mask(size_t i) const = 0;
  virtual void set_output_mask(size_t output, graph::ValueId mask) = 0;
  virtual void drop_output_masks() = 0;
  // For wrappers: the mask a value carries (e.g. an inner layer's output), and giving a value
  // the wrapper made (TimeDistributed's folded input) a mask its inner layer will see.
  virtual std::optional<graph::ValueId> mask_of(graph::ValueId) const { return std::nullopt; }
  virtual void attach_mask(graph::ValueId /*value*/, graph::ValueId /*mask*/) {
    fail(ErrorCode::Internal, "this context cannot attach masks");
  }
  // The mask a layer whose call takes `mask` computes with: the tensor passed as the call's
  // mask= keyword (Keras 3 files record the mask Layer.__call__ filled in from the input), else
  // the mask its first input carries (tf-keras files leave it implicit).
  std::optional<graph::ValueId> call_mask() const;
  // The index of the input passed by keyword `name`, if any.
  std::optional<size_t> keyword_input(std::string_view name) const;

  // -- keyword arguments of this call. Inputs are the call's positional tensors in order, then
  // the tensors it got by keyword (MultiHeadAttention(q, v, key=k, attention_mask=m)); Keras 2
  // keyword tensors likewise follow its node entries. input_names() gives "" for a positional
  // input and the keyword for a keyword input (one name per input). call_kwargs() is the call's
  // serialized keyword dict (Keras 3 node "kwargs", Keras 2 the entries' fourth item), e.g.
  // {"use_causal_mask": true}, or null. Contexts without calls (wrappers' inner layers) keep
  // these defaults.
  virtual std::vector<std::string> input_names() const {
    return std::vector<std::string>(num_inputs());
  }
  virtual const Json& call_kwargs() const {
    static const Json kNull;
    return kNull;
  }

  [[noreturn]] void fail(ErrorCode code, const std::string& what) const;

 protected:
  mutable std::vector<bool> weight_used_;
};

// Reads a Keras activation spec: a string ("relu"), or a serialized function/object
// ({"class_name": "function", "config": "relu"}, {"class_name": "ReLU", ...}); returns the
// canonical Keras 3 name ("relu", "hard_sigmoid", "silu", "gelu", ...).
std::string activation_name(const Json& spec, const LayerContext& ctx);

// The op computing a named Keras activation for this dialect (e.g. hard_sigmoid differs between
// Keras 2 and 3), or nullptr for "linear". Throws Error(Unsupported) for unknown names.
// Implemented in src/keras/layers/activation.cpp.
std::shared_ptr<const ops::Op> make_activation_op(const std::string& name, const Dialect& dialect,
                                                  const LayerContext& ctx);

}  // namespace kerasrt::keras
