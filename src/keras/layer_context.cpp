#include "keras/layer_context.h"

#include <cmath>

#include "keras/registry.h"

namespace kerasrt::keras {

void LayerContext::fail(ErrorCode code, const std::string& what) const {
  throw Error(code, "layer '" + name() + "' (" + class_name() + "): " + what);
}

std::optional<size_t> LayerContext::keyword_input(std::string_view name) const {
  const std::vector<std::string> names = input_names();
  for (size_t i = 0; i < names.size() && i < num_inputs(); ++i) {
    if (names[i] == name) return i;
  }
  return std::nullopt;
}

std::optional<graph::ValueId> LayerContext::call_mask() const {
  if (std::optional<size_t> i = keyword_input("mask")) return input(*i);
  if (num_inputs() == 0) return std::nullopt;
  return input_mask(0);
}

void LayerContext::expect_inputs(size_t min, size_t max) const {
  size_t n = num_inputs();
  if (n < min || n > max) {
    std::string want =
        min == max ? std::to_string(min) : std::to_string(min) + " to " + std::to_string(max);
    fail(ErrorCode::InvalidModel, "expects " + want + " input(s), got " + std::to_string(n));
  }
}

bool LayerContext::has(std::string_view key) const {
  const Json* j = get(key);
  return j != nullptr && !j->is_null();
}

int64_t LayerContext::get_int(std::string_view key) const {
  const Json* j = get(key);
  if (j == nullptr || j->is_null())
    fail(ErrorCode::InvalidModel, "config '" + std::string(key) + "' is missing");
  if (!j->is_integer()) {
    fail(ErrorCode::InvalidModel,
         "config '" + std::string(key) + "': expected an integer, got " + j->dump());
  }
  return static_cast<int64_t>(j->as_number());
}

int64_t LayerContext::get_int(std::string_view key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double LayerContext::get_float(std::string_view key, double fallback) const {
  const Json* j = get(key);
  if (j == nullptr || j->is_null()) return fallback;
  if (!j->is_number()) {
    fail(ErrorCode::InvalidModel,
         "config '" + std::string(key) + "': expected a number, got " + j->dump());
  }
  return j->as_number();
}

bool LayerContext::get_bool(std::string_view key, bool fallback) const {
  const Json* j = get(key);
  if (j == nullptr || j->is_null()) return fallback;
  if (j->is_bool()) return j->as_bool();
  if (j->is_number()) return j->as_number() != 0;  // Keras 1 configs sometimes store 0/1
  fail(ErrorCode::InvalidModel,
       "config '" + std::string(key) + "': expected true or false, got " + j->dump());
}

std::string LayerContext::get_string(std::string_view key, std::string_view fallback) const {
  const Json* j = get(key);
  if (j == nullptr || j->is_null()) return std::string(fallback);
  if (!j->is_string()) {
    fail(ErrorCode::InvalidModel,
         "config '" + std::string(key) + "': expected a string, got " + j->dump());
  }
  return j->as_string();
}

std::vector<int64_t> LayerContext::get_int_list(std::string_view key) const {
  const Json* j = get(key);
  if (j == nullptr || j->is_null())
    fail(ErrorCode::InvalidModel, "config '" + std::string(key) + "' is missing");
  std::vector<int64_t> out;
  if (j->is_integer()) {
    out.push_back(static_cast<int64_t>(j->as_number()));
    return out;
  }
  if (!j->is_array()) {
    fail(ErrorCode::InvalidModel,
         "config '" + std::string(key) + "': expected an integer or a list, got " + j->dump());
  }
  for (const Json& item : j->items()) {
    if (!item.is_integer()) {
      fail(ErrorCode::InvalidModel,
           "config '" + std::string(key) + "': expected integers, got " + j->dump());
    }
    out.push_back(static_cast<int64_t>(item.as_number()));
  }
  return out;
}

std::vector<int64_t> LayerContext::get_ints(std::string_view key, size_t n,
                                            std::optional<int64_t> fallback) const {
  if (!has(key)) {
    if (!fallback) fail(ErrorCode::InvalidModel, "config '" + std::string(key) + "' is missing");
    return std::vector<int64_t>(n, *fallback);
  }
  std::vector<int64_t> v = get_int_list(key);
  if (v.size() == 1 && n > 1) v.assign(n, v[0]);
  if (v.size() != n) {
    fail(ErrorCode::InvalidModel, "config '" + std::string(key) + "': expected " +
                                      std::to_string(n) + " values, got " + get(key)->dump());
  }
  return v;
}

bool LayerContext::channels_first() const {
  if (has("data_format")) {
    std::string f = get_string("data_format", "channels_last");
    if (f == "channels_first") return true;
    if (f == "channels_last") return false;
    fail(ErrorCode::InvalidModel, "config 'data_format': unknown value '" + f + "'");
  }
  if (has("dim_ordering")) {  // Keras 1
    std::string f = get_string("dim_ordering", "tf");
    if (f == "th") return true;
    if (f == "tf" || f == "default") return false;
    fail(ErrorCode::InvalidModel, "config 'dim_ordering': unknown value '" + f + "'");
  }
  return false;
}

std::optional<Tensor> LayerContext::optional_weight(std::string_view role,
                                                    const Shape& expected) const {
  auto weights = stored_weights();
  if (weight_used_.size() != weights.size()) weight_used_.assign(weights.size(), false);
  for (size_t i = 0; i < weights.size(); ++i) {
    const StoredWeight& w = weights[i];
    if (w.role != role || weight_used_[i]) continue;
    if (!expected.empty() && w.shape != expected) {
      fail(ErrorCode::InvalidModel, "weight '" + std::string(role) + "' (stored as '" + w.name +
                                        "'): expected shape " + shape_to_string(expected) +
                                        ", got " + shape_to_string(w.shape));
    }
    weight_used_[i] = true;
    return w.load();
  }
  return std::nullopt;
}

Tensor LayerContext::weight(std::string_view role, const Shape& expected) const {
  std::optional<Tensor> t = optional_weight(role, expected);
  if (!t) {
    std::string have;
    for (const StoredWeight& w : stored_weights()) have += (have.empty() ? "" : ", ") + w.name;
    fail(ErrorCode::InvalidModel, "weight '" + std::string(role) + "' is missing (stored: " +
                                      (have.empty() ? "none" : have) + ")");
  }
  return *t;
}

void LayerContext::mark_weight_used(size_t index) const {
  auto weights = stored_weights();
  if (weight_used_.size() != weights.size()) weight_used_.assign(weights.size(), false);
  if (index >= weights.size()) fail(ErrorCode::Internal, "weight index out of range");
  weight_used_[index] = true;
}

void LayerContext::expect_all_weights_used() const {
  auto weights = stored_weights();
  if (weight_used_.size() != weights.size()) weight_used_.assign(weights.size(), false);
  std::string unused;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!weight_used_[i]) unused += (unused.empty() ? "" : ", ") + weights[i].name;
  }
  if (!unused.empty()) {
    fail(ErrorCode::InvalidModel, "stored weights not used by this layer's config: " + unused);
  }
}

std::string activation_name(const Json& spec, const LayerContext& ctx) {
  if (spec.is_null()) return "linear";
  if (spec.is_string()) return spec.as_string();
  if (spec.is_object()) {
    // Keras 3: {"module": "keras.activations", "class_name": "function", "config": "relu"};
    // object activations: {"class_name": "ReLU", "config": {...}} are layers, not functions.
    const Json* cls = spec.find("class_name");
    const Json* cfg = spec.find("config");
    if (cls && cls->is_string() && cls->as_string() == "function" && cfg && cfg->is_string()) {
      return cfg->as_string();
    }
    if (cfg && cfg->is_object()) {
      if (const Json* n = cfg->find("name"); n && n->is_string()) return n->as_string();
    }
    if (cls && cls->is_string()) return cls->as_string();
  }
  ctx.fail(ErrorCode::Unsupported, "activation " + spec.dump() + " is not a built-in activation");
}

graph::ValueId LayerContext::add_activation(graph::ValueId in, std::string_view key) {
  const Json* spec = get(key);
  if (spec == nullptr) return in;
  // tf.keras serializes activation=layers.LeakyReLU(0.2) as the layer object itself: bind it as
  // an inner layer so its parameters are kept.
  if (spec->is_object()) {
    const Json* cls = spec->find("class_name");
    const Json* cfg = spec->find("config");
    if (cls && cls->is_string() && cls->as_string() != "function" && cfg && cfg->is_object() &&
        find_binder(cls->as_string()) != nullptr) {
      return bind_inner(*spec, {in}, {}).at(0);
    }
  }
  std::string act = activation_name(*spec, *this);
  std::shared_ptr<const ops::Op> op = make_activation_op(act, dialect(), *this);
  if (!op) return in;
  return add(std::move(op), {in}, "activation").at(0);
}

}  // namespace kerasrt::keras
