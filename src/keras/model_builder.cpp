// Config -> graph. The config formats are in keras-format.md §3: Sequential as a bare list
// (Keras 1, 2.0-2.2.2) or {"layers": [...]}; Functional with per-layer "inbound_nodes" in the
// Keras 1 ([name, node, tensor]), Keras 2 ([name, node, tensor, kwargs]) or Keras 3
// ({"args": [...], "kwargs": {...}} with "__keras_tensor__" objects) spelling.
#include "keras/model_builder.h"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "keras/registry.h"
#include "ops/elementwise.h"
#include "ops/logical.h"
#include "ops/merge.h"
#include "ops/shape_ops.h"

namespace kerasrt::keras {

namespace {
// A Keras 3 operation node, not a layer: module keras.src.ops.* in a .keras config; the legacy
// .h5 writer drops the module, but an operation's config is only its name (and arguments), never
// the "trainable"/"dtype" that every Layer.get_config() writes.
bool is_keras_operation(const Json& layer) {
  if (const Json* module = layer.find("module"); module != nullptr && module->is_string()) {
    const std::string& m = module->as_string();
    if (m.rfind("keras.src.ops", 0) == 0 || m.rfind("keras.ops", 0) == 0) return true;
  }
  const Json* nodes = layer.find("inbound_nodes");
  const Json* config = layer.find("config");
  if (nodes == nullptr || !nodes->is_array() || nodes->size() == 0 || !(*nodes)[0].is_object()) {
    return false;  // Keras 1/2 nodes: no operations there
  }
  // Layer configs hold "trainable" and a dtype (a few, like SpatialDropout1D's, only a dtype
  // name); an operation's holds its own arguments, at most a dtype name
  // (ops.zeros_like(x, dtype="bool")), and such operations are no layer class.
  if (config == nullptr || !config->is_object() || config->find("trainable") != nullptr) {
    return false;
  }
  const Json* dtype = config->find("dtype");
  if (dtype == nullptr) return true;
  const Json* cls = layer.find("class_name");
  return dtype->is_string() && cls != nullptr && cls->is_string() &&
         find_layer(cls->as_string()) == nullptr;
}
}  // namespace

bool is_model_class(const std::string& class_name) {
  return class_name == "Sequential" || class_name == "Functional" || class_name == "Model";
}

namespace {

struct TensorRef {
  std::string layer;
  int64_t node_index = 0;
  int64_t tensor_index = 0;
};

const Json& member_or_null(const Json& j, std::string_view key) {
  static const Json kNull;
  const Json* m = j.find(key);
  return m ? *m : kNull;
}

std::string layer_name_of(const Json& layer) {
  if (const Json* n = layer.find("name"); n && n->is_string()) return n->as_string();
  const Json& cfg = member_or_null(layer, "config");
  if (const Json* n = cfg.find("name"); n && n->is_string()) return n->as_string();
  return "";
}

std::string class_name_of(const Json& layer) {
  const Json* c = layer.find("class_name");
  return c && c->is_string() ? c->as_string() : "";
}

// The model-level config of a model entry ({"class_name", "config"}).
const Json& model_config_of(const Json& model) {
  return member_or_null(model, "config");
}

const Json& sequential_layers(const Json& config) {
  if (config.is_array()) return config;  // Keras 1 and 2.0-2.2.2
  return member_or_null(config, "layers");
}

// A triple [name, node_index, tensor_index] (Keras 2 adds kwargs as a fourth item).
std::optional<TensorRef> as_ref(const Json& j) {
  if (!j.is_array() || j.size() < 3 || !j[0].is_string() || !j[1].is_integer() ||
      !j[2].is_integer()) {
    return std::nullopt;
  }
  return TensorRef{j[0].as_string(), static_cast<int64_t>(j[1].as_number()),
                   static_cast<int64_t>(j[2].as_number())};
}

// Collects Keras 3 "__keras_tensor__" references in a call's args, depth first.
void collect_keras3_tensors(const Json& j, std::vector<TensorRef>& out) {
  if (j.is_object()) {
    const Json* cls = j.find("class_name");
    if (cls && cls->is_string() && cls->as_string() == "__keras_tensor__") {
      const Json& history = member_or_null(member_or_null(j, "config"), "keras_history");
      if (auto r = as_ref(history)) out.push_back(*r);
      return;
    }
    for (const auto& [k, v] : j.members()) collect_keras3_tensors(v, out);
  } else if (j.is_array()) {
    for (const Json& item : j.items()) collect_keras3_tensors(item, out);
  }
}

const Json kNullJson;  // absent call kwargs or args

// Keras 2 keyword tensors: a [name, node, tensor] triple or a list of them.
void collect_keras2_tensors(const Json& j, std::vector<TensorRef>& out) {
  if (auto r = as_ref(j)) {
    out.push_back(*r);
  } else if (j.is_array()) {
    for (const Json& item : j.items()) collect_keras2_tensors(item, out);
  }
}

// The keyword arguments of one serialized call: Keras 3 "kwargs"; Keras 1/2 the fourth item of
// the first entry (tf.keras writes the same dict into every entry). Null when there are none.
const Json& node_kwargs(const Json& node) {
  if (node.is_object()) return member_or_null(node, "kwargs");
  if (node.is_array() && node.size() > 0 && node[0].is_array() && node[0].size() >= 4 &&
      node[0][3].is_object()) {
    return node[0][3];
  }
  static const Json kNull;
  return kNull;
}

// The input tensors of one serialized call (an entry of "inbound_nodes"): the positional
// tensors, then the tensors passed by keyword (MultiHeadAttention's key= / attention_mask=,
// Keras 3 RNN initial_state=), keyword by keyword in file order. With `names`, each input's
// keyword ("" for positional ones) is appended there.
std::vector<TensorRef> node_inputs(const Json& node, const std::string& layer,
                                   std::vector<std::string>* names = nullptr) {
  std::vector<TensorRef> refs;
  auto add_kwargs = [&](bool keras3) {
    const Json& kwargs = node_kwargs(node);
    if (names) names->resize(refs.size());
    if (!kwargs.is_object()) return;
    for (const auto& [key, value] : kwargs.members()) {
      if (keras3) {
        collect_keras3_tensors(value, refs);
      } else {
        collect_keras2_tensors(value, refs);
      }
      if (names) names->resize(refs.size(), key);
    }
  };
  if (node.is_object()) {  // Keras 3
    collect_keras3_tensors(member_or_null(node, "args"), refs);
    add_kwargs(true);
    return refs;
  }
  if (node.is_array()) {  // Keras 1/2: a list of [name, node, tensor(, kwargs)]
    for (const Json& entry : node.items()) {
      auto r = as_ref(entry);
      if (!r) {
        throw Error(ErrorCode::InvalidModel, "layer '" + layer + "': inbound node entry " +
                                                 entry.dump() + " is not a tensor reference");
      }
      refs.push_back(*r);
    }
    add_kwargs(false);
    return refs;
  }
  throw Error(ErrorCode::InvalidModel,
              "layer '" + layer + "': unrecognised inbound node " + node.dump());
}

// input_layers / output_layers: a triple, a list of triples, or a dict of triples.
std::vector<TensorRef> io_refs(const Json& j, const std::string& what) {
  std::vector<TensorRef> refs;
  if (auto r = as_ref(j)) {
    refs.push_back(*r);
    return refs;
  }
  if (j.is_array()) {
    for (const Json& item : j.items()) {
      auto nested = io_refs(item, what);
      refs.insert(refs.end(), nested.begin(), nested.end());
    }
    return refs;
  }
  if (j.is_object()) {
    for (const auto& [k, v] : j.members()) {
      auto nested = io_refs(v, what);
      refs.insert(refs.end(), nested.begin(), nested.end());
    }
    return refs;
  }
  throw Error(ErrorCode::InvalidModel, "model '" + what + "' is not a list of tensor references");
}

// Shape from an InputLayer's or first layer's config, batch first.
std::optional<Shape> declared_input_shape(const Json& layer_config) {
  for (const char* key : {"batch_shape", "batch_input_shape"}) {
    const Json* s = layer_config.find(key);
    if (s && s->is_array()) {
      Shape shape;
      for (const Json& d : s->items()) {
        shape.push_back(d.is_integer() ? static_cast<int64_t>(d.as_number()) : kUnknownDim);
      }
      if (!shape.empty()) shape[0] = kUnknownDim;  // predict decides the batch
      return shape;
    }
  }
  if (const Json* s = layer_config.find("input_shape"); s && s->is_array()) {
    Shape shape{kUnknownDim};
    for (const Json& d : s->items()) {
      shape.push_back(d.is_integer() ? static_cast<int64_t>(d.as_number()) : kUnknownDim);
    }
    return shape;
  }
  // Keras 1 Dense(input_dim=...) stores input_dim alongside batch_input_shape; rely on the latter.
  return std::nullopt;
}

std::string declared_dtype(const Json& layer_config) {
  for (const char* key : {"dtype", "input_dtype"}) {
    const Json* d = layer_config.find(key);
    if (d == nullptr) continue;
    if (d->is_string()) return d->as_string();
    if (d->is_object()) {  // Keras 3 DTypePolicy / tf.keras Policy dict
      const Json& name = member_or_null(member_or_null(*d, "config"), "name");
      if (name.is_string()) return name.as_string();
    }
  }
  return "float32";
}

class Builder;

// Masks carried beside values (see LayerContext::input_mask): value -> its mask.
using MaskMap = std::map<graph::ValueId, graph::ValueId>;

class BinderContext final : public LayerContext {
 public:
  BinderContext(Builder& builder, graph::Graph& graph, MaskMap& masks, MaskRule mask_rule,
                const Json& layer, const Dialect& dialect, std::vector<graph::ValueId> inputs,
                std::vector<StoredWeight> weights, std::string node_prefix,
                std::vector<std::string> input_names, const Json& call_kwargs)
      : builder_(builder),
        graph_(graph),
        masks_(masks),
        mask_rule_(mask_rule),
        config_(member_or_null(layer, "config")),
        dialect_(dialect),
        name_(layer_name_of(layer)),
        class_name_(class_name_of(layer)),
        node_prefix_(node_prefix.empty() ? name_ : node_prefix + "/" + name_),
        inputs_(std::move(inputs)),
        weights_(std::move(weights)),
        input_names_(std::move(input_names)),
        call_kwargs_(call_kwargs),
        first_new_value_(static_cast<graph::ValueId>(graph.values.size())) {
    input_names_.resize(inputs_.size());
  }

  std::vector<std::string> input_names() const override { return input_names_; }
  const Json& call_kwargs() const override { return call_kwargs_; }

  std::vector<graph::ValueId> bind_inner(const Json& inner, std::vector<graph::ValueId> inputs,
                                         std::vector<StoredWeight> weights) override;

  std::optional<graph::ValueId> input_mask(size_t i) const override {
    return mask_of(inputs_.at(i));
  }
  std::optional<graph::ValueId> mask_of(graph::ValueId v) const override {
    auto it = masks_.find(v);
    if (it == masks_.end()) return std::nullopt;
    return it->second;
  }
  void attach_mask(graph::ValueId value, graph::ValueId mask) override { masks_[value] = mask; }
  void set_output_mask(size_t output, graph::ValueId mask) override {
    explicit_masks_ = true;
    pending_masks_.emplace_back(output, mask);
  }
  void drop_output_masks() override { explicit_masks_ = true; }

  // Records the masks of this call's outputs by the layer's MaskRule (registry.h): the
  // binder's own, the first input's on output 0, or none. An output that is a value from before
  // the call (a layer that only acts while training returns its input) but is to carry another
  // mask than that value's becomes a copy, so that the input keeps its own.
  void finish_masks(std::vector<graph::ValueId>& outputs) {
    std::vector<std::optional<graph::ValueId>> want(outputs.size());
    if (explicit_masks_) {
      for (const auto& [index, mask] : pending_masks_) {
        if (index >= outputs.size()) fail(ErrorCode::Internal, "mask for a missing output");
        want[index] = mask;
      }
    } else if (mask_rule_ == MaskRule::kBinder) {
      fail(ErrorCode::Internal, "the binder did not settle its output masks");
    } else if (mask_rule_ == MaskRule::kPass ||
               (mask_rule_ == MaskRule::kPassKeras3 && dialect_.major >= 3)) {
      // Keras zips the outputs with the one mask compute_mask returns: only the first gets it.
      if (!inputs_.empty() && !outputs.empty()) want[0] = input_mask(0);
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i] < first_new_value_ && mask_of(outputs[i]) != want[i]) {
        std::vector<int> identity(shape_of(outputs[i]).size());
        for (size_t d = 0; d < identity.size(); ++d) identity[d] = static_cast<int>(d);
        outputs[i] = add(std::make_shared<ops::TransposeOp>(std::move(identity), "Identity"),
                         {outputs[i]}, "output" + std::to_string(i))
                         .at(0);
      }
      if (want[i]) masks_[outputs[i]] = *want[i];
    }
  }

  const std::string& name() const override { return name_; }
  const std::string& class_name() const override { return class_name_; }
  const Json& config() const override { return config_; }
  const Dialect& dialect() const override { return dialect_; }
  size_t num_inputs() const override { return inputs_.size(); }
  graph::ValueId input(size_t i) const override { return inputs_.at(i); }
  const Shape& input_shape(size_t i) const override { return shape_of(inputs_.at(i)); }
  std::span<const StoredWeight> stored_weights() const override { return weights_; }
  const Shape& shape_of(graph::ValueId v) const override {
    return graph_.values.at(static_cast<size_t>(v)).shape;
  }

  std::vector<graph::ValueId> add(std::shared_ptr<const ops::Op> op,
                                  std::vector<graph::ValueId> inputs,
                                  std::string_view suffix) override {
    std::string node_name =
        suffix.empty() ? node_prefix_ : node_prefix_ + "/" + std::string(suffix);
    return graph_.add_node(std::move(node_name), class_name_, std::move(op), std::move(inputs));
  }

  void set_outputs(std::vector<graph::ValueId> outputs) override {
    if (outputs_set_) fail(ErrorCode::Internal, "binder set its outputs twice");
    outputs_ = std::move(outputs);
    outputs_set_ = true;
  }

  std::vector<graph::ValueId> take_outputs() {
    if (!outputs_set_) fail(ErrorCode::Internal, "binder did not set its outputs");
    return std::move(outputs_);
  }

 private:
  Builder& builder_;
  graph::Graph& graph_;
  MaskMap& masks_;
  MaskRule mask_rule_;
  const Json& config_;
  const Dialect& dialect_;
  std::string name_;
  std::string class_name_;
  std::string node_prefix_;
  bool explicit_masks_ = false;
  std::vector<std::pair<size_t, graph::ValueId>> pending_masks_;
  std::vector<graph::ValueId> inputs_;
  std::vector<StoredWeight> weights_;
  std::vector<std::string> input_names_;
  const Json& call_kwargs_;
  graph::ValueId first_new_value_;  // values from here on were made by this call
  std::vector<graph::ValueId> outputs_;
  bool outputs_set_ = false;
};

class Builder {
 public:
  Builder(const WeightSource& weights, const Dialect& dialect, const std::string& file_name)
      : weights_(weights), dialect_(dialect), file_name_(file_name) {}

  BuiltModel build(const Json& model) {
    check_supported(model);
    BuiltModel result;
    graph_ = &result.graph;
    summaries_ = &result.layers;
    std::vector<graph::ValueId> outputs = bind_model(model, nullptr, {}, &result.inputs);
    result.graph.outputs = outputs;
    result.graph.output_names = output_layer_names(model);
    if (result.graph.output_names.size() != outputs.size()) {
      throw Error(ErrorCode::Internal, file_name_ + ": output names do not match outputs");
    }
    for (const InputSpec& in : result.inputs) result.graph.input_names.push_back(in.name);
    check_all_weights_bound(result.layers);
    for (const LayerSummary& s : result.layers) {
      result.params += s.params;
      result.weight_bytes += s.weight_bytes;
    }
    return result;
  }

 private:
  // Keras names model outputs after the layers producing them.
  std::vector<std::string> output_layer_names(const Json& model) {
    const Json& cfg = model_config_of(model);
    std::vector<std::string> names;
    if (class_name_of(model) == "Sequential") {
      const Json& layers = sequential_layers(cfg);
      names.push_back(layer_name_of(layers[layers.size() - 1]));
      return names;
    }
    for (const TensorRef& r : io_refs(member_or_null(cfg, "output_layers"), "output_layers")) {
      names.push_back(r.layer);
    }
    return names;
  }

  // -- support check: every unsupported layer at once
  void check_supported(const Json& model) {
    std::vector<std::string> problems;
    std::string lambda_note;
    collect_unsupported(model, problems, lambda_note);
    if (problems.empty()) return;
    std::string msg = file_name_ + ": unsupported layer" + (problems.size() > 1 ? "s" : "") + ": ";
    for (size_t i = 0; i < problems.size(); ++i) msg += (i ? ", " : "") + problems[i];
    msg += lambda_note;
    throw Error(ErrorCode::Unsupported, msg);
  }

  void collect_unsupported(const Json& model, std::vector<std::string>& problems,
                           std::string& lambda_note) {
    const Json& cfg = model_config_of(model);
    const Json& layers = class_name_of(model) == "Sequential" ? sequential_layers(cfg)
                                                              : member_or_null(cfg, "layers");
    if (!is_model_class(class_name_of(model))) {
      throw Error(ErrorCode::Unsupported,
                  file_name_ + ": the model is a subclassed Keras model (class '" +
                      class_name_of(model) +
                      "'): its forward pass is Python code, which kerasrt never runs; rebuild it "
                      "as a Functional or Sequential model to export it");
    }
    if (!layers.is_array()) {
      throw Error(ErrorCode::InvalidModel, file_name_ + ": model '" + layer_name_of(model) + "' (" +
                                               class_name_of(model) +
                                               ") has no layer list in its config");
    }
    for (const Json& layer : layers.items()) {
      std::string cls = class_name_of(layer);
      if (is_model_class(cls)) {
        collect_unsupported(layer, problems, lambda_note);
        continue;
      }
      if (is_keras_operation(layer)) {
        // Keras 3 saves calls of keras.ops functions in a functional model (x + 3.0,
        // ops.not_equal(x, 0), ...) as operation nodes whose class names clash with layers (Add,
        // Multiply); bind_operation() runs the arithmetic ones, with their constant arguments.
        static const std::set<std::string> kOperations = {
            "Add",        "Subtract",   "Multiply",   "Maximum",   "Minimum",      "Divide",
            "TrueDivide", "Equal",      "NotEqual",   "Greater",   "GreaterEqual", "Less",
            "LessEqual",  "Any",        "All",        "LogicalOr", "LogicalAnd",   "ZerosLike",
            "OnesLike",   "ExpandDims", "Concatenate"};
        if (!kOperations.count(cls)) {
          problems.push_back("'" + layer_name_of(layer) + "' (" + cls + ", a keras.ops operation)");
        }
        continue;
      }
      if (cls == "InputLayer" || find_binder(cls) != nullptr) continue;
      // Built with append: GCC 12 -O3 reports a false -Wrestrict on "'" + std::string&& here.
      problems.push_back(
          std::string("'").append(layer_name_of(layer)).append("' (").append(cls).append(")"));
      // A wrapper's inner layers (Bidirectional, TimeDistributed, RNN cells) are named too, so
      // the list shows everything that would still be missing once the wrapper exists.
      for (const char* key : {"layer", "backward_layer", "cell"}) {
        const Json& inner = member_or_null(member_or_null(layer, "config"), key);
        std::string inner_cls = class_name_of(inner);
        if (!inner_cls.empty() && find_binder(inner_cls) == nullptr) {
          problems.push_back("'" + layer_name_of(inner) + "' (" + inner_cls + ", inside '" +
                             layer_name_of(layer) + "')");
        }
      }
      if ((cls == "Lambda" || cls == "TFOpLambda" || cls == "SlicingOpLambda") &&
          lambda_note.empty()) {
        lambda_note =
            ". A " + cls +
            " layer holds Python code (or a TensorFlow op name), and kerasrt never executes code "
            "from a model file: rebuild the model with built-in Keras layers in place of the "
            "Lambda (e.g. Rescaling, Reshape, Cropping2D, Activation) and save it again";
      }
    }
  }

  // -- models
  // Binds a Sequential/Functional model. `provided` are the caller's input values for a nested
  // model, or null for the top model (whose inputs become graph inputs, described in `specs`).
  std::vector<graph::ValueId> bind_model(const Json& model,
                                         const std::vector<graph::ValueId>* provided,
                                         const LayerPath& prefix, std::vector<InputSpec>* specs) {
    std::vector<std::string> leaves;
    if (!prefix.names.empty()) collect_leaf_names(model, leaves);
    if (class_name_of(model) == "Sequential") {
      return bind_sequential(model, provided, prefix, specs, leaves);
    }
    return bind_functional(model, provided, prefix, specs, leaves);
  }

  void collect_leaf_names(const Json& model, std::vector<std::string>& out) {
    const Json& cfg = model_config_of(model);
    const Json& layers = class_name_of(model) == "Sequential" ? sequential_layers(cfg)
                                                              : member_or_null(cfg, "layers");
    for (const Json& layer : layers.items()) {
      if (is_model_class(class_name_of(layer))) {
        collect_leaf_names(layer, out);
      } else {
        out.push_back(layer_name_of(layer));
      }
    }
  }

  std::vector<graph::ValueId> bind_sequential(const Json& model,
                                              const std::vector<graph::ValueId>* provided,
                                              const LayerPath& prefix,
                                              std::vector<InputSpec>* specs,
                                              const std::vector<std::string>& leaves) {
    const Json& cfg = model_config_of(model);
    const Json& layers = sequential_layers(cfg);
    if (layers.size() == 0) {
      throw Error(ErrorCode::InvalidModel,
                  file_name_ + ": Sequential model '" + layer_name_of(model) + "' has no layers");
    }
    graph::ValueId current = -1;
    if (provided != nullptr) {
      if (provided->size() != 1) {
        throw Error(ErrorCode::InvalidModel, file_name_ + ": Sequential model '" +
                                                 layer_name_of(model) + "' called with " +
                                                 std::to_string(provided->size()) + " inputs");
      }
      current = provided->front();
    } else {
      const Json& first = layers[0];
      const Json& first_cfg = member_or_null(first, "config");
      std::optional<Shape> shape = declared_input_shape(first_cfg);
      if (!shape) {
        if (const Json* b = cfg.find("build_input_shape"); b && b->is_array()) {
          shape = Shape{};
          for (const Json& d : b->items()) {
            shape->push_back(d.is_integer() ? static_cast<int64_t>(d.as_number()) : kUnknownDim);
          }
          if (!shape->empty()) (*shape)[0] = kUnknownDim;
        }
      }
      if (!shape) {
        throw Error(ErrorCode::InvalidModel,
                    file_name_ + ": Sequential model '" + layer_name_of(model) +
                        "' declares no input shape (no InputLayer, batch_input_shape or "
                        "build_input_shape)");
      }
      std::string input_name = class_name_of(first) == "InputLayer"
                                   ? layer_name_of(first)
                                   : layer_name_of(first) + "_input";
      current = graph_->add_input(input_name, *shape);
      specs->push_back(InputSpec{input_name, *shape, declared_dtype(first_cfg)});
    }
    for (const Json& layer : layers.items()) {
      if (class_name_of(layer) == "InputLayer") continue;
      std::vector<graph::ValueId> out = bind_call(layer, {current}, prefix, leaves, true);
      if (out.size() != 1) {
        throw Error(ErrorCode::InvalidModel, file_name_ + ": layer '" + layer_name_of(layer) +
                                                 "' in a Sequential model has " +
                                                 std::to_string(out.size()) + " outputs");
      }
      current = out[0];
    }
    return {current};
  }

  std::vector<graph::ValueId> bind_functional(const Json& model,
                                              const std::vector<graph::ValueId>* provided,
                                              const LayerPath& prefix,
                                              std::vector<InputSpec>* specs,
                                              const std::vector<std::string>& leaves) {
    const Json& cfg = model_config_of(model);
    const Json& layers = member_or_null(cfg, "layers");
    std::string model_name = layer_name_of(model);
    std::vector<TensorRef> input_refs =
        io_refs(member_or_null(cfg, "input_layers"), "input_layers");
    std::vector<TensorRef> output_refs =
        io_refs(member_or_null(cfg, "output_layers"), "output_layers");

    std::map<std::string, const Json*> by_name;
    for (const Json& layer : layers.items()) by_name[layer_name_of(layer)] = &layer;

    // Node indices of nested models (keras-format.md §3.3). Keras 1/2 count a nested model's own
    // internal call as its node 0, so references to its calls start at 1: a model layer whose
    // references never use index 0 is offset by 1. Keras 3 ({"args": ...} nodes) writes the raw
    // call index in keras_history, but input_layers/output_layers still count the internal node
    // for a Functional (functional_from_config's get_tensor subtracts 1).
    bool keras3_nodes = false;
    std::map<std::string, int64_t> min_ref;
    auto note_ref = [&](const TensorRef& r) {
      auto [it, inserted] = min_ref.emplace(r.layer, r.node_index);
      if (!inserted) it->second = std::min(it->second, r.node_index);
    };
    for (const Json& layer : layers.items()) {
      const Json& nodes = member_or_null(layer, "inbound_nodes");
      for (const Json& node : nodes.items()) {
        keras3_nodes |= node.is_object();
        for (const TensorRef& r : node_inputs(node, layer_name_of(layer))) note_ref(r);
      }
    }
    if (!keras3_nodes) {
      for (const TensorRef& r : output_refs) note_ref(r);
    }

    std::map<std::string, std::vector<std::vector<graph::ValueId>>> produced;
    auto resolve = [&](const TensorRef& r, bool io_ref) -> std::optional<graph::ValueId> {
      auto it = produced.find(r.layer);
      if (it == produced.end()) return std::nullopt;
      int64_t index = r.node_index;
      auto layer_it = by_name.find(r.layer);
      const std::string cls =
          layer_it != by_name.end() ? class_name_of(*layer_it->second) : std::string();
      if (is_model_class(cls)) {
        if (!keras3_nodes) {
          if (min_ref[r.layer] >= 1) index -= 1;
        } else if (io_ref &&
                   (cls != "Sequential" || index >= static_cast<int64_t>(it->second.size()))) {
          index -= 1;
        }
      }
      if (index < 0 || index >= static_cast<int64_t>(it->second.size())) return std::nullopt;
      const auto& outs = it->second[static_cast<size_t>(index)];
      if (r.tensor_index < 0 || r.tensor_index >= static_cast<int64_t>(outs.size())) {
        throw Error(ErrorCode::InvalidModel, file_name_ + ": reference to output " +
                                                 std::to_string(r.tensor_index) + " of layer '" +
                                                 r.layer + "', which has " +
                                                 std::to_string(outs.size()) + " outputs");
      }
      return outs[static_cast<size_t>(r.tensor_index)];
    };

    // Inputs.
    if (provided != nullptr && provided->size() != input_refs.size()) {
      throw Error(ErrorCode::InvalidModel, file_name_ + ": model '" + model_name + "' has " +
                                               std::to_string(input_refs.size()) +
                                               " inputs but is called with " +
                                               std::to_string(provided->size()));
    }
    for (size_t i = 0; i < input_refs.size(); ++i) {
      const TensorRef& r = input_refs[i];
      auto it = by_name.find(r.layer);
      if (it == by_name.end()) {
        throw Error(ErrorCode::InvalidModel,
                    file_name_ + ": input layer '" + r.layer + "' is not in the model");
      }
      graph::ValueId v;
      if (provided != nullptr) {
        v = (*provided)[i];
      } else {
        const Json& in_cfg = member_or_null(*it->second, "config");
        std::optional<Shape> shape = declared_input_shape(in_cfg);
        if (!shape) {
          throw Error(ErrorCode::InvalidModel,
                      file_name_ + ": input layer '" + r.layer + "' declares no shape");
        }
        v = graph_->add_input(r.layer, *shape);
        specs->push_back(InputSpec{r.layer, *shape, declared_dtype(in_cfg)});
      }
      produced[r.layer].push_back({v});
    }

    // Layer calls, in dependency order: a call waits until all its inputs exist (a shared layer's
    // later call may depend on layers listed after it).
    struct Pending {
      const Json* layer;
      size_t next = 0;
    };
    std::vector<Pending> pending;
    for (const Json& layer : layers.items()) {
      if (class_name_of(layer) == "InputLayer") continue;
      pending.push_back(Pending{&layer});
    }
    bool progress = true;
    while (progress) {
      progress = false;
      for (Pending& p : pending) {
        const Json& nodes = member_or_null(*p.layer, "inbound_nodes");
        while (p.next < nodes.size()) {
          std::vector<std::string> names;
          std::vector<TensorRef> refs = node_inputs(nodes[p.next], layer_name_of(*p.layer), &names);
          std::vector<graph::ValueId> ins;
          bool ready = true;
          for (const TensorRef& r : refs) {
            auto v = resolve(r, false);
            if (!v) {
              ready = false;
              break;
            }
            ins.push_back(*v);
          }
          if (!ready) break;
          std::vector<graph::ValueId> outs =
              bind_call(*p.layer, ins, prefix, leaves, p.next == 0, names,
                        node_kwargs(nodes[p.next]), &nodes[p.next]);
          produced[layer_name_of(*p.layer)].push_back(std::move(outs));
          ++p.next;
          progress = true;
        }
      }
    }
    for (const Pending& p : pending) {
      const Json& nodes = member_or_null(*p.layer, "inbound_nodes");
      if (p.next < nodes.size()) {
        throw Error(ErrorCode::InvalidModel,
                    file_name_ + ": layer '" + layer_name_of(*p.layer) +
                        "': the inputs of its call " + std::to_string(p.next) +
                        " are never produced (a reference to a missing layer or a cycle)");
      }
    }

    std::vector<graph::ValueId> outputs;
    for (const TensorRef& r : output_refs) {
      auto v = resolve(r, true);
      if (!v) {
        throw Error(ErrorCode::InvalidModel, file_name_ + ": output '" + r.layer + "' (node " +
                                                 std::to_string(r.node_index) +
                                                 ") is not produced by the model");
      }
      outputs.push_back(*v);
    }
    return outputs;
  }

  // A Keras 3 operation node (is_keras_operation): the arithmetic of keras.ops / Python operators
  // on tensors, with tensors and numbers as positional arguments ("args" of the node).
  std::vector<graph::ValueId> bind_operation(const std::string& name, const std::string& cls,
                                             const Json& layer_config, const Json* node,
                                             std::vector<graph::ValueId> inputs) {
    auto unsupported = [&](const std::string& why) -> Error {
      return Error(ErrorCode::Unsupported,
                   file_name_ + ": '" + name + "' (" + cls + ", a keras.ops operation): " + why);
    };
    const Json& args = node ? member_or_null(*node, "args") : kNullJson;
    auto add = [&](std::shared_ptr<const ops::Op> op, std::vector<graph::ValueId> in) {
      try {
        return graph_->add_node(name, cls, std::move(op), std::move(in));
      } catch (const Error& e) {
        throw Error(e.code(), file_name_ + ": " + e.what());
      }
    };
    if (auto out = bind_mask_operation(name, cls, layer_config, args, inputs, add)) return *out;
    // Each positional argument: a tensor (taken from `inputs` in order) or a number.
    std::vector<std::optional<double>> numbers;
    size_t tensors = 0;
    for (const Json& a : args.items()) {
      if (a.is_number()) {
        numbers.emplace_back(a.as_number());
      } else if (a.is_object() && class_name_of(a) == "__keras_tensor__") {
        numbers.emplace_back(std::nullopt);
        ++tensors;
      } else {
        throw unsupported("argument " + a.dump(80) + " is neither a tensor nor a number");
      }
    }
    if (tensors != inputs.size()) throw unsupported("unexpected arguments");
    // Reductions of booleans: ops.any(x, axis) / ops.all(x, axis).
    if ((cls == "Any" || cls == "All") && numbers.size() == 1 && tensors == 1) {
      const Json* cfg = layer_config.find("axis");
      if (cfg == nullptr || !cfg->is_integer()) throw unsupported("needs one integer axis");
      const Json* keep = layer_config.find("keepdims");
      auto op = std::make_shared<ops::ReduceBoolOp>(
          cls == "All", static_cast<int64_t>(cfg->as_number()),
          keep != nullptr && keep->is_bool() && keep->as_bool());
      try {
        return graph_->add_node(name, cls, std::move(op), std::move(inputs));
      } catch (const Error& e) {
        throw Error(e.code(), file_name_ + ": " + e.what());
      }
    }
    if (numbers.size() != 2) {
      throw unsupported(
          "only binary arithmetic and comparisons on tensors and numbers are supported");
    }
    static const std::map<std::string, ops::CompareMode> kCompare = {
        {"Equal", ops::CompareMode::Equal},     {"NotEqual", ops::CompareMode::NotEqual},
        {"Greater", ops::CompareMode::Greater}, {"GreaterEqual", ops::CompareMode::GreaterEqual},
        {"Less", ops::CompareMode::Less},       {"LessEqual", ops::CompareMode::LessEqual}};
    if (auto cmp = kCompare.find(cls); cmp != kCompare.end()) {
      if (tensors != 1 || !numbers[1].has_value()) {
        throw unsupported("only a comparison of a tensor with a number is supported");
      }
      auto op = std::make_shared<ops::CompareConstOp>(cmp->second, static_cast<float>(*numbers[1]));
      try {
        return graph_->add_node(name, cls, std::move(op), std::move(inputs));
      } catch (const Error& e) {
        throw Error(e.code(), file_name_ + ": " + e.what());
      }
    }
    std::shared_ptr<const ops::Op> op;
    std::vector<graph::ValueId> op_inputs = inputs;
    if (tensors == 2) {
      static const std::map<std::string, ops::MergeMode> kModes = {
          {"Add", ops::MergeMode::Add},
          {"Subtract", ops::MergeMode::Subtract},
          {"Multiply", ops::MergeMode::Multiply},
          {"Maximum", ops::MergeMode::Maximum},
          {"Minimum", ops::MergeMode::Minimum}};
      auto it = kModes.find(cls);
      if (it == kModes.end()) throw unsupported("not implemented for two tensors");
      op = std::make_shared<ops::MergeOp>(it->second);
    } else if (tensors == 1) {
      // x op c or c op x as an affine map y = x * scale + offset.
      const bool number_first = numbers[0].has_value();
      const float c = static_cast<float>(number_first ? *numbers[0] : *numbers[1]);
      float scale = 1, offset = 0;
      if (cls == "Add") {
        offset = c;
      } else if (cls == "Subtract") {
        scale = number_first ? -1.0f : 1.0f;
        offset = number_first ? c : -c;
      } else if (cls == "Multiply") {
        scale = c;
      } else if ((cls == "Divide" || cls == "TrueDivide") && !number_first && c != 0) {
        scale = 1.0f / c;
      } else {
        throw unsupported("not implemented with a constant");
      }
      op = std::make_shared<ops::AffineOp>(Tensor(Shape{}, {scale}), Tensor(Shape{}, {offset}));
    } else {
      throw unsupported("no tensor argument");
    }
    try {
      return graph_->add_node(name, cls, std::move(op), std::move(op_inputs));
    } catch (const Error& e) {
      throw Error(e.code(), file_name_ + ": " + e.what());
    }
  }

  // The operations Keras 3 saves when masks are combined (Concatenate.compute_mask,
  // base_merge.compute_mask: ops.logical_or, expand_dims, zeros_like/ones_like, concatenate);
  // nullopt for other operations. Booleans are float 0/1; logical_or/and read any nonzero
  // value as true, as numpy does.
  template <class AddFn>
  std::optional<std::vector<graph::ValueId>> bind_mask_operation(
      const std::string& name, const std::string& cls, const Json& config, const Json& args,
      const std::vector<graph::ValueId>& inputs, AddFn& add) {
    auto unsupported = [&](const std::string& why) -> Error {
      return Error(ErrorCode::Unsupported,
                   file_name_ + ": '" + name + "' (" + cls + ", a keras.ops operation): " + why);
    };
    auto int_config = [&](const char* key) {
      const Json* j = config.find(key);
      if (j == nullptr || !j->is_integer())
        throw unsupported(std::string("needs an integer ") + key);
      return static_cast<int64_t>(j->as_number());
    };
    if (cls == "Concatenate") {
      if (args.size() != 1 || !args[0].is_array() || args[0].size() != inputs.size()) {
        throw unsupported("expects one list of tensors");
      }
      return add(std::make_shared<ops::ConcatOp>(int_config("axis")), inputs);
    }
    if (cls != "LogicalOr" && cls != "LogicalAnd" && cls != "ZerosLike" && cls != "OnesLike" &&
        cls != "ExpandDims") {
      return std::nullopt;
    }
    for (const Json& a : args.items()) {
      if (!a.is_object() || class_name_of(a) != "__keras_tensor__") {
        throw unsupported("argument " + a.dump(80) + " is not a tensor");
      }
    }
    if (args.size() != inputs.size()) throw unsupported("unexpected arguments");
    const float nan = std::numeric_limits<float>::quiet_NaN();
    if (cls == "LogicalOr" || cls == "LogicalAnd") {
      if (inputs.size() != 2) throw unsupported("expects two tensors");
      std::vector<graph::ValueId> truth;
      for (size_t i = 0; i < 2; ++i) {
        truth.push_back(
            graph_
                ->add_node(name + "/bool" + std::to_string(i), cls,
                           std::make_shared<ops::CompareConstOp>(ops::CompareMode::NotEqual, 0.0f),
                           {inputs[i]})
                .at(0));
      }
      return add(std::make_shared<ops::MergeOp>(cls == "LogicalOr" ? ops::MergeMode::Maximum
                                                                   : ops::MergeMode::Minimum),
                 truth);
    }
    if (inputs.size() != 1) throw unsupported("expects one tensor");
    if (cls == "ZerosLike" || cls == "OnesLike") {
      // x == NaN is false and x != NaN true for every x: zeros/ones of x's shape.
      return add(
          std::make_shared<ops::CompareConstOp>(
              cls == "ZerosLike" ? ops::CompareMode::Equal : ops::CompareMode::NotEqual, nan),
          inputs);
    }
    // ExpandDims: a size-1 axis inserted (into the dims after the batch).
    const Shape& in = graph_->values.at(static_cast<size_t>(inputs[0])).shape;
    const auto rank = static_cast<int64_t>(in.size());
    int64_t axis = int_config("axis");
    if (axis < 0) axis += rank + 1;
    if (axis < 1 || axis > rank) throw unsupported("axis " + std::to_string(axis));
    std::vector<int64_t> target;
    int unknown = 0;
    for (int64_t d = 1; d <= rank; ++d) {
      if (d == axis) target.push_back(1);
      if (d < rank) {
        unknown += in[static_cast<size_t>(d)] < 0;
        target.push_back(in[static_cast<size_t>(d)] < 0 ? -1 : in[static_cast<size_t>(d)]);
      }
    }
    if (unknown > 1)
      throw unsupported("input " + shape_to_string(in) + " has several unknown dims");
    return add(std::make_shared<ops::ReshapeOp>(std::move(target)), inputs);
  }

  // The inputs of a nested model's call. Keras 3 records the mask its Functional.call gets as a
  // mask= keyword; Functional.call puts it on the inputs, so here it becomes their mask inside
  // the model (on a copy of the value where the value carries another one outside).
  std::vector<graph::ValueId> nested_model_inputs(const std::string& name,
                                                  const std::vector<graph::ValueId>& inputs,
                                                  const std::vector<std::string>& keywords) {
    std::vector<graph::ValueId> positional, masks;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const std::string kw = i < keywords.size() ? keywords[i] : "";
      if (kw.empty()) {
        positional.push_back(inputs[i]);
      } else if (kw == "mask") {
        masks.push_back(inputs[i]);
      } else {
        throw Error(ErrorCode::Unsupported, file_name_ + ": model '" + name +
                                                "' is called with keyword argument '" + kw + "'");
      }
    }
    if (masks.empty()) return positional;
    if (masks.size() != positional.size()) {
      throw Error(ErrorCode::Unsupported, file_name_ + ": model '" + name + "' is called with " +
                                              std::to_string(masks.size()) + " masks for " +
                                              std::to_string(positional.size()) + " inputs");
    }
    for (size_t i = 0; i < positional.size(); ++i) {
      auto it = masks_.find(positional[i]);
      if (it != masks_.end() && it->second == masks[i]) continue;
      if (it != masks_.end()) {
        const Shape& s = graph_->values.at(static_cast<size_t>(positional[i])).shape;
        std::vector<int> identity(s.size());
        for (size_t d = 0; d < identity.size(); ++d) identity[d] = static_cast<int>(d);
        positional[i] =
            graph_
                ->add_node(name + "/input" + std::to_string(i), "Identity",
                           std::make_shared<ops::TransposeOp>(std::move(identity), "Identity"),
                           {positional[i]})
                .at(0);
      }
      masks_[positional[i]] = masks[i];
    }
    return positional;
  }

  // One call of one layer (or nested model) on `inputs`.
  std::vector<graph::ValueId> bind_call(const Json& layer, std::vector<graph::ValueId> inputs,
                                        const LayerPath& prefix,
                                        const std::vector<std::string>& leaves, bool first_call,
                                        std::vector<std::string> input_names = {},
                                        const Json& call_kwargs = kNullJson,
                                        const Json* node = nullptr) {
    std::string name = layer_name_of(layer);
    std::string cls = class_name_of(layer);
    LayerPath path = prefix;
    path.names.push_back(name);
    path.classes.push_back(cls);
    std::vector<graph::ValueId> outputs;
    if (is_keras_operation(layer)) {
      outputs = bind_operation(name, cls, member_or_null(layer, "config"), node, std::move(inputs));
    } else if (is_model_class(cls)) {
      std::vector<graph::ValueId> positional = nested_model_inputs(name, inputs, input_names);
      outputs = bind_model(layer, &positional, path, nullptr);
    } else {
      const LayerEntry* entry = find_layer(cls);
      if (entry == nullptr) {  // check_supported() ran first; keep the guard for safety
        throw Error(ErrorCode::Unsupported,
                    file_name_ + ": unsupported layer '" + name + "' (" + cls + ")");
      }
      std::vector<StoredWeight> weights = weights_.weights_for(path, leaves, dialect_);
      try {
        outputs = bind_layer(*entry, layer, std::move(inputs), std::move(weights), "",
                             std::move(input_names), call_kwargs);
      } catch (const Error& e) {
        std::string what = e.what();
        if (what.rfind(file_name_, 0) == 0) throw;
        throw Error(e.code(), file_name_ + ": " + what);
      }
    }
    if (prefix.names.empty() && first_call) {
      LayerSummary s;
      s.name = name;
      s.class_name = cls;
      for (graph::ValueId v : outputs) {
        s.output_shapes.push_back(graph_->values[static_cast<size_t>(v)].shape);
      }
      for (const StoredWeight& w : weights_.weights_for(LayerPath{{name}, {cls}}, {}, dialect_)) {
        int64_t n = 1;
        for (int64_t d : w.shape) n *= d;
        s.params += n;
        s.weight_bytes += w.stored_bytes;
      }
      summaries_->push_back(std::move(s));
    }
    return outputs;
  }

  // Runs one binder; shared by top-level calls and wrappers' inner layers.
  std::vector<graph::ValueId> bind_layer(const LayerEntry& entry, const Json& layer,
                                         std::vector<graph::ValueId> inputs,
                                         std::vector<StoredWeight> weights,
                                         const std::string& node_prefix,
                                         std::vector<std::string> input_names = {},
                                         const Json& call_kwargs = kNullJson) {
    BinderContext ctx(*this, *graph_, masks_, entry.masks, layer, dialect_, std::move(inputs),
                      std::move(weights), node_prefix, std::move(input_names), call_kwargs);
    entry.bind(ctx);
    ctx.expect_all_weights_used();
    std::vector<graph::ValueId> outputs = ctx.take_outputs();
    ctx.finish_masks(outputs);
    return outputs;
  }

 public:
  std::vector<graph::ValueId> bind_inner_layer(const Json& inner,
                                               std::vector<graph::ValueId> inputs,
                                               std::vector<StoredWeight> weights,
                                               const std::string& node_prefix) {
    std::string cls = class_name_of(inner);
    const LayerEntry* entry = find_layer(cls);
    if (entry == nullptr) {
      throw Error(ErrorCode::Unsupported, "layer '" + node_prefix + "/" + layer_name_of(inner) +
                                              "': unsupported inner layer class " + cls);
    }
    return bind_layer(*entry, inner, std::move(inputs), std::move(weights), node_prefix);
  }

 private:
  void check_all_weights_bound(const std::vector<LayerSummary>& layers) {
    std::set<std::string> known;
    for (const LayerSummary& s : layers) known.insert(s.name);
    std::vector<std::string> orphans;
    for (const std::string& n : weights_.weighted_layer_names()) {
      if (!known.count(n)) orphans.push_back(n);
    }
    if (orphans.empty()) return;
    std::string list;
    for (const std::string& n : orphans) list += (list.empty() ? "'" : ", '") + n + "'";
    throw Error(ErrorCode::InvalidModel, file_name_ + ": the file has weights for layer(s) " +
                                             list + " that the model config does not contain");
  }

  const WeightSource& weights_;
  const Dialect& dialect_;
  const std::string& file_name_;
  graph::Graph* graph_ = nullptr;
  std::vector<LayerSummary>* summaries_ = nullptr;
  MaskMap masks_;
};

std::vector<graph::ValueId> BinderContext::bind_inner(const Json& inner,
                                                      std::vector<graph::ValueId> inputs,
                                                      std::vector<StoredWeight> weights) {
  return builder_.bind_inner_layer(inner, std::move(inputs), std::move(weights), node_prefix_);
}

}  // namespace

BuiltModel build_model(const Json& model_config, const WeightSource& weights,
                       const Dialect& dialect, const std::string& file_name) {
  return Builder(weights, dialect, file_name).build(model_config);
}

}  // namespace kerasrt::keras
