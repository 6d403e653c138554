// The Keras-v3 weights layout (`model.weights.h5` inside a `.keras` zip, or a standalone
// `x.weights.h5`), keras-format.md §2.2 and §2.4:
//
//   /layers/<key>/vars/0, 1, ...          a layer's own variables, in creation order
//   /layers/<key>/<attribute>/vars/...    sub-objects: an RNN's `cell`, a wrapper's `layer`,
//                                         `forward_layer`, `backward_layer`
//   /layers/<key>/layers/<key>/...        a nested model
//   /layers/<key>/cell/cells/<key>/vars/  StackedRNNCells: one group per cell of the list
//
// Sharded weights (save_weights("x.weights.json", max_shard_size=...), §2.2): a JSON index whose
// weight_map names the shard files; each shard holds a part of this same tree, and one vars
// group may be split over shards (its variables keep their global numbers).
//
// Keys are not layer names: each container's layers get to_snake_case(class name), made unique
// with a per-key counter (dense, dense_1, ...). Variables carry no names either, so their roles
// come from the class's variable order (kVariableOrder below, Keras 3's own creation order). The
// weights handed to binders are named "<sub path>/<role>" (e.g. "cell/kernel",
// "forward_layer/cell/bias") so that wrappers can tell their inner layers' weights apart.
#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "keras/model_builder.h"
#include "keras/weight_source.h"

namespace kerasrt::keras {

namespace {

const Json& member_or_null(const Json& j, std::string_view key) {
  static const Json kNull;
  const Json* m = j.find(key);
  return m ? *m : kNull;
}

std::string string_member(const Json& j, std::string_view key) {
  const Json& m = member_or_null(j, key);
  return m.is_string() ? m.as_string() : "";
}

std::string layer_name(const Json& layer) {
  std::string n = string_member(layer, "name");
  return n.empty() ? string_member(member_or_null(layer, "config"), "name") : n;
}

bool config_flag(const Json& config, std::string_view key, bool fallback) {
  const Json& m = member_or_null(config, key);
  return m.is_bool() ? m.as_bool() : fallback;
}

// keras/src/utils/naming.py to_snake_case.
std::string to_snake_case(const std::string& name) {
  static const std::regex non_word(R"(\W+)");
  static const std::regex word_start("(.)([A-Z][a-z]+)");
  static const std::regex lower_upper("([a-z])([A-Z])");
  std::string s = std::regex_replace(name, non_word, "");
  s = std::regex_replace(s, word_start, "$1_$2");
  s = std::regex_replace(s, lower_upper, "$1_$2");
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// saving_lib._get_unique_name: the first use of a key as is, then key_1, key_2, ...
std::string unique_key(std::string key, std::map<std::string, int>& used) {
  // append, not "_" + std::string&&: GCC 12 -O3 reports a false -Wrestrict on the latter.
  if (int& n = used[key]; n++ > 0) key.append("_").append(std::to_string(n - 1));
  return key;
}

// The roles of a layer's own variables, in Keras 3's creation order; nullopt for a class whose
// layout is not known here.
std::optional<std::vector<std::string>> variable_order(const std::string& cls, const Json& config) {
  const bool bias = config_flag(config, "use_bias", true);
  auto with_bias = [&](std::vector<std::string> roles) {
    if (bias) roles.push_back("bias");
    return roles;
  };
  if (cls == "Dense" || cls == "Conv1D" || cls == "Conv2D" || cls == "Conv3D" ||
      cls == "Conv1DTranspose" || cls == "Conv2DTranspose" || cls == "Conv3DTranspose" ||
      cls == "DepthwiseConv1D" || cls == "DepthwiseConv2D") {
    return with_bias({"kernel"});
  }
  if (cls == "SeparableConv1D" || cls == "SeparableConv2D") {
    return with_bias({"depthwise_kernel", "pointwise_kernel"});
  }
  if (cls == "EinsumDense") {
    std::vector<std::string> roles{"kernel"};
    if (member_or_null(config, "bias_axes").is_string()) roles.push_back("bias");
    return roles;
  }
  if (cls == "BatchNormalization") {
    std::vector<std::string> roles;
    if (config_flag(config, "scale", true)) roles.push_back("gamma");
    if (config_flag(config, "center", true)) roles.push_back("beta");
    roles.insert(roles.end(), {"moving_mean", "moving_variance"});
    return roles;
  }
  if (cls == "LayerNormalization") {
    // rms_scaling keeps only the scale (keras/src/layers/normalization/layer_normalization.py).
    std::vector<std::string> roles;
    bool rms = config_flag(config, "rms_scaling", false);
    if (config_flag(config, "scale", true) || rms) roles.push_back("gamma");
    if (config_flag(config, "center", true) && !rms) roles.push_back("beta");
    return roles;
  }
  if (cls == "GroupNormalization") {
    std::vector<std::string> roles;
    if (config_flag(config, "scale", true)) roles.push_back("gamma");
    if (config_flag(config, "center", true)) roles.push_back("beta");
    return roles;
  }
  if (cls == "RMSNormalization") return std::vector<std::string>{"scale"};
  // keras/src/layers/attention/attention.py build(): scale, then concat_score_weight.
  if (cls == "Attention") {
    std::vector<std::string> roles;
    if (config_flag(config, "use_scale", false)) roles.push_back("scale");
    if (string_member(config, "score_mode") == "concat") roles.push_back("concat_score_weight");
    return roles;
  }
  if (cls == "AdditiveAttention") {
    if (config_flag(config, "use_scale", true)) return std::vector<std::string>{"scale"};
    return std::vector<std::string>{};
  }
  if (cls == "Embedding") return std::vector<std::string>{"embeddings"};
  if (cls == "PReLU") return std::vector<std::string>{"alpha"};
  if (cls == "LayerScale") return std::vector<std::string>{"gamma"};  // keras.applications.convnext
  if (cls == "Normalization") return std::vector<std::string>{"mean", "variance", "count"};
  // RNN cells (an RNN layer's own vars group is empty; its cell holds the weights).
  if (cls == "LSTMCell" || cls == "GRUCell" || cls == "SimpleRNNCell" || cls == "ConvLSTMCell") {
    return with_bias({"kernel", "recurrent_kernel"});
  }
  return std::nullopt;
}

// The class and config of a sub-object found under a layer's group.
std::optional<std::pair<std::string, const Json*>> sub_object(const std::string& cls,
                                                              const Json& config,
                                                              const std::string& attribute) {
  static const std::map<std::string, std::string> kCellOf = {
      {"LSTM", "LSTMCell"},           {"GRU", "GRUCell"},
      {"SimpleRNN", "SimpleRNNCell"}, {"ConvLSTM1D", "ConvLSTMCell"},
      {"ConvLSTM2D", "ConvLSTMCell"}, {"ConvLSTM3D", "ConvLSTMCell"}};
  if (attribute == "cell") {
    if (auto it = kCellOf.find(cls); it != kCellOf.end()) {
      return std::make_pair(it->second, &config);
    }
    const Json& cell = member_or_null(config, "cell");  // keras.layers.RNN(cell)
    if (cell.is_object()) {
      return std::make_pair(string_member(cell, "class_name"), &member_or_null(cell, "config"));
    }
  }
  // MultiHeadAttention / GroupedQueryAttention keep their projections in EinsumDense
  // sub-layers: public properties query_dense... since Keras 3.1 (MHA only), the private
  // attributes _query_dense... in 3.0 and for GQA; _gate_dense with use_gate.
  if (cls == "MultiHeadAttention" || cls == "GroupedQueryAttention" ||
      cls == "GroupQueryAttention") {
    static const std::set<std::string> kProjections = {
        "query_dense", "key_dense",    "value_dense",   "output_dense", "_query_dense",
        "_key_dense",  "_value_dense", "_output_dense", "_gate_dense"};
    if (kProjections.count(attribute)) {
      static const Json kWithBias = Json::parse(R"({"bias_axes": "x"})", "EinsumDense");
      static const Json kNoBias = Json::parse("{}", "EinsumDense");
      return std::make_pair(std::string("EinsumDense"),
                            config_flag(config, "use_bias", true) ? &kWithBias : &kNoBias);
    }
  }
  if (attribute == "layer" || attribute == "forward_layer" || attribute == "backward_layer") {
    const Json* inner = &member_or_null(config, "layer");
    if (attribute == "backward_layer" && member_or_null(config, "backward_layer").is_object()) {
      inner = &member_or_null(config, "backward_layer");
    }
    if (inner->is_object()) {
      return std::make_pair(string_member(*inner, "class_name"), &member_or_null(*inner, "config"));
    }
  }
  return std::nullopt;
}

// A layer of the config with the HDF5 group holding its variables.
struct Placed {
  std::string group;  // e.g. "layers/dense_1"
  const Json* layer = nullptr;
  std::map<std::string, Placed> children;  // nested model layers, by layer name
};

// One Keras-v3 weights tree, possibly split over several files (sharded weights: each shard
// holds a part of the tree, and one vars group may have variables in more than one shard).
class KerasV3Weights final : public WeightSource {
 public:
  KerasV3Weights(std::vector<hdf5::Group> shards, const Json& model, std::string file_name)
      : shards_(std::move(shards)), file_name_(std::move(file_name)) {
    place_model(model, layers_group_name(""), top_);
  }

  std::vector<std::string> weighted_layer_names() const override {
    std::vector<std::string> names;
    for (const auto& [name, placed] : top_) {
      if (!collect(placed).empty()) names.push_back(name);
    }
    return names;
  }

  std::vector<StoredWeight> weights_for(const LayerPath& path, const std::vector<std::string>&,
                                        const Dialect&) const override {
    const std::map<std::string, Placed>* level = &top_;
    const Placed* placed = nullptr;
    for (const std::string& name : path.names) {
      auto it = level->find(name);
      if (it == level->end()) return {};
      placed = &it->second;
      level = &placed->children;
    }
    return placed ? collect(*placed) : std::vector<StoredWeight>{};
  }

 private:
  // The group at `path` in every shard that has one (at most one for an unsharded file).
  std::vector<hdf5::Group> groups_at(const std::string& path) const {
    std::vector<hdf5::Group> out;
    for (const hdf5::Group& root : shards_) {
      if (auto o = root.try_open(path); o && o->kind() == hdf5::ObjectKind::Group) {
        out.push_back(root.open_group(path));
      }
    }
    return out;
  }

  // The names under `path`, over all shards, in byte order (h5py's order).
  static std::set<std::string> child_names(const std::vector<hdf5::Group>& groups) {
    std::set<std::string> names;
    for (const hdf5::Group& g : groups) {
      for (std::string& n : g.child_names()) names.insert(std::move(n));
    }
    return names;
  }

  std::string layers_group_name(const std::string& prefix) const {
    std::string base = prefix.empty() ? "" : prefix + "/";
    // keras 2.13 wrote "_layer_checkpoint_dependencies" where Keras 3 writes "layers".
    if (groups_at(base + "layers").empty() &&
        !groups_at(base + "_layer_checkpoint_dependencies").empty()) {
      return base + "_layer_checkpoint_dependencies";
    }
    return base + "layers";
  }

  void place_model(const Json& model, const std::string& layers_group,
                   std::map<std::string, Placed>& out) {
    const Json& config = member_or_null(model, "config");
    const bool sequential = string_member(model, "class_name") == "Sequential";
    const Json& layers = config.is_array() ? config : member_or_null(config, "layers");
    std::map<std::string, int> used;
    for (const Json& layer : layers.items()) {
      std::string cls = string_member(layer, "class_name");
      // Sequential's model.layers omits the InputLayer; a Functional's keeps it.
      if (sequential && cls == "InputLayer") continue;
      // The key comes from the Python class, which a few registered names alias
      // (keras.layers.GroupQueryAttention is class GroupedQueryAttention).
      std::string key = to_snake_case(cls == "GroupQueryAttention" ? "GroupedQueryAttention" : cls);
      key = unique_key(std::move(key), used);
      Placed p{layers_group + "/" + key, &layer, {}};
      if (is_model_class(cls)) place_model(layer, layers_group_name(p.group), p.children);
      out[layer_name(layer)] = std::move(p);
    }
  }

  // All variables of a layer: its own vars, then those of its sub-objects, named "<sub>/<role>".
  std::vector<StoredWeight> collect(const Placed& placed) const {
    if (placed.children.size()) {
      std::vector<StoredWeight> all;
      for (const auto& [n, child] : placed.children) {
        auto w = collect(child);
        all.insert(all.end(), w.begin(), w.end());
      }
      return all;
    }
    const Json& layer = *placed.layer;
    std::vector<StoredWeight> out;
    collect_object(placed.group, string_member(layer, "class_name"),
                   member_or_null(layer, "config"), "", layer_name(layer), out);
    return out;
  }

  struct Var {
    uint64_t index;  // the name as a number
    std::string name;
    hdf5::Group vars;  // the vars group holding it (of one shard)
  };

  // The variables in group/vars over every shard, in numeric order (0, 1, 2, ..., 10).
  std::vector<Var> vars_of(const std::string& group) const {
    std::vector<Var> names;
    for (const hdf5::Group& vg : groups_at(group + "/vars")) {
      for (const std::string& n : vg.child_names()) {
        if (n.empty() || n.size() > 9 || !std::all_of(n.begin(), n.end(), ::isdigit)) {
          throw Error(ErrorCode::InvalidModel,
                      file_name_ + ": " + group + "/vars: unexpected variable name '" + n + "'");
        }
        names.push_back(Var{std::stoull(n), n, vg});
      }
    }
    std::sort(names.begin(), names.end(),
              [](const Var& a, const Var& b) { return a.index < b.index; });
    for (size_t i = 1; i < names.size(); ++i) {
      if (names[i].index == names[i - 1].index) {
        throw Error(ErrorCode::InvalidFile, file_name_ + ": " + group + "/vars/" + names[i].name +
                                                " is stored in more than one shard");
      }
    }
    return names;
  }

  void collect_object(const std::string& group, const std::string& cls, const Json& config,
                      const std::string& sub_path, const std::string& layer,
                      std::vector<StoredWeight>& out) const {
    const std::vector<hdf5::Group> groups = groups_at(group);
    if (groups.empty()) return;
    if (const std::vector<Var> names = vars_of(group); !names.empty()) {
      auto roles = variable_order(cls, config);
      if (!roles) {
        throw Error(ErrorCode::Unsupported,
                    file_name_ + ": layer '" + layer + "' (" + cls +
                        "): the variable layout of this class in Keras-v3 weights is not known");
      }
      if (roles->size() != names.size()) {
        throw Error(ErrorCode::InvalidModel,
                    file_name_ + ": layer '" + layer + "' (" + cls + "): " + group +
                        "/vars holds " + std::to_string(names.size()) +
                        " variables, its config implies " + std::to_string(roles->size()));
      }
      for (size_t i = 0; i < names.size(); ++i) {
        hdf5::Dataset ds = names[i].vars.open_dataset(names[i].name);
        StoredWeight w;
        w.role = (*roles)[i];
        w.name = sub_path.empty() ? w.role : sub_path + "/" + w.role;
        for (uint64_t d : ds.space().dims) w.shape.push_back(static_cast<int64_t>(d));
        w.stored_bytes = ds.stored_bytes();
        w.load = [ds, shape = w.shape]() { return tensor_from_dataset(ds, shape); };
        out.push_back(std::move(w));
      }
    }
    for (const std::string& child : child_names(groups)) {
      if (child == "vars") continue;
      if (cls == "StackedRNNCells" && child == "cells") {
        collect_cells(group + "/cells", config, sub_path.empty() ? child : sub_path + "/" + child,
                      layer, out);
        continue;
      }
      auto sub = sub_object(cls, config, child);
      if (!sub) {
        // Keras saves empty groups for sub-objects without variables; only those with data
        // would be lost.
        if (holds_data(group + "/" + child)) {
          throw Error(ErrorCode::Unsupported,
                      file_name_ + ": layer '" + layer + "' (" + cls + "): sub-object '" + child +
                          "' holds variables that kerasrt does not know how to assign");
        }
        continue;
      }
      collect_object(group + "/" + child, sub->first, *sub->second,
                     sub_path.empty() ? child : sub_path + "/" + child, layer, out);
    }
  }

  // StackedRNNCells.cells is a list: saving_lib._save_container_state keys its items by
  // to_snake_case(class name) with a per-list counter (lstm_cell, gru_cell, lstm_cell_1, ...).
  // The cells are collected in list order, not the file's alphabetical one, because the RNN
  // binder hands each cell the next unused weights of each role.
  void collect_cells(const std::string& group, const Json& config, const std::string& sub_path,
                     const std::string& layer, std::vector<StoredWeight>& out) const {
    const Json& cells = member_or_null(config, "cells");
    if (!cells.is_array()) {
      throw Error(ErrorCode::InvalidModel, file_name_ + ": layer '" + layer +
                                               "': StackedRNNCells config has no 'cells' list");
    }
    std::set<std::string> keys;
    std::map<std::string, int> used;
    for (const Json& cell : cells.items()) {
      std::string key = unique_key(to_snake_case(string_member(cell, "class_name")), used);
      keys.insert(key);
      collect_object(group + "/" + key, string_member(cell, "class_name"),
                     member_or_null(cell, "config"), sub_path + "/" + key, layer, out);
    }
    for (const std::string& child : child_names(groups_at(group))) {
      if (!keys.count(child) && holds_data(group + "/" + child)) {
        throw Error(ErrorCode::InvalidModel,
                    file_name_ + ": layer '" + layer + "': " + group + "/" + child +
                        " holds variables but the StackedRNNCells config has no such cell");
      }
    }
  }

  // Whether `path` is a dataset or a group with a dataset below it, in any shard.
  bool holds_data(const std::string& path) const {
    for (const hdf5::Group& root : shards_) {
      auto o = root.try_open(path);
      if (!o) continue;
      if (o->kind() == hdf5::ObjectKind::Dataset) return true;
      if (o->kind() == hdf5::ObjectKind::Group && holds_data(root.open_group(path), 0)) return true;
    }
    return false;
  }

  static bool holds_data(const hdf5::Group& g, int depth) {
    if (depth > 16) return true;
    for (const hdf5::Link& link : g.links()) {
      auto o = g.try_open(link.name);
      if (!o) continue;
      if (o->kind() == hdf5::ObjectKind::Dataset) return true;
      if (o->kind() == hdf5::ObjectKind::Group && holds_data(g.open_group(link.name), depth + 1)) {
        return true;
      }
    }
    return false;
  }

  std::vector<hdf5::Group> shards_;
  std::string file_name_;
  std::map<std::string, Placed> top_;
};

}  // namespace

std::unique_ptr<WeightSource> make_keras3_weights(const hdf5::Group& root, const Json& model,
                                                  const std::string& file_name) {
  return std::make_unique<KerasV3Weights>(std::vector<hdf5::Group>{root}, model, file_name);
}

std::unique_ptr<WeightSource> make_keras3_sharded_weights(const Json& index, const Json& model,
                                                          const std::string& index_path) {
  const Json* map = index.is_object() ? index.find("weight_map") : nullptr;
  if (map == nullptr || !map->is_object()) {
    throw Error(ErrorCode::InvalidFile,
                index_path +
                    ": not a Keras sharded-weights index (no \"weight_map\" object; expected "
                    "the x.weights.json of model.save_weights(..., max_shard_size=...))");
  }
  // weight_map: "/layers/dense/vars" -> a shard file name, or a list of them when the group's
  // variables were split (keras/src/saving/saving_lib.py ShardedH5IOStore). Keras opens each
  // name next to the index (Path.with_name), so a name is a plain file name.
  std::vector<std::string> files;
  auto add = [&](const std::string& vars, const Json& f) {
    if (!f.is_string() || f.as_string().empty() ||
        f.as_string().find_first_of(std::string("/\\\0", 3)) != std::string::npos) {
      throw Error(ErrorCode::InvalidFile, index_path + ": weight_map[\"" + vars +
                                              "\"]: expected a shard file name, got " + f.dump());
    }
    if (std::find(files.begin(), files.end(), f.as_string()) == files.end()) {
      files.push_back(f.as_string());
    }
  };
  for (const auto& [vars, where] : map->members()) {
    if (where.is_array()) {
      for (const Json& f : where.items()) add(vars, f);
    } else {
      add(vars, where);
    }
  }
  const size_t slash = index_path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "" : index_path.substr(0, slash + 1);
  std::vector<hdf5::Group> shards;
  for (const std::string& f : files) {
    try {
      shards.push_back(hdf5::File::open(dir + f).root());
    } catch (const Error& e) {
      throw Error(e.code(), index_path + ": shard '" + f +
                                "' (named in its weight_map): " + std::string(e.what()));
    }
  }
  return std::make_unique<KerasV3Weights>(std::move(shards), model, index_path);
}

}  // namespace kerasrt::keras
