// The weights of a legacy (Keras 1/2, tf.keras, Keras 3 legacy writer) .h5 file.
//
// Layout (keras-format.md §1.4-§1.6): a group per layer named after the layer, holding the
// attribute weight_names (the layer's arrays in Keras's assignment order) and the datasets at
// those relative paths. A nested model's group holds the weights of all its sub-layers; they are
// told apart by the first path component that names a sub-layer (§1.5).
#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "keras/weight_source.h"

namespace kerasrt::keras {

Tensor tensor_from_dataset(const hdf5::Dataset& ds, const Shape& shape) {
  const hdf5::Datatype& t = ds.dtype();
  if (t.cls == hdf5::TypeClass::Float && t.size == sizeof(float) && !t.big_endian &&
      shape_numel(shape) > 0) {
    std::optional<std::span<const std::byte>> bytes = ds.contiguous_bytes();
    if (bytes && bytes->size() == static_cast<size_t>(shape_numel(shape)) * sizeof(float) &&
        reinterpret_cast<uintptr_t>(bytes->data()) % alignof(float) == 0) {
      // The dataset handle keeps the file's mapping alive for as long as the view lives.
      return Tensor::view(shape, reinterpret_cast<const float*>(bytes->data()),
                          std::make_shared<const hdf5::Dataset>(ds));
    }
  }
  Tensor out(shape);
  ds.read_float32(std::span<float>(out.mutable_data(), static_cast<size_t>(out.numel())));
  return out;
}

std::optional<std::vector<std::string>> read_string_list_attribute(const hdf5::Object& object,
                                                                   const std::string& name) {
  auto read_one = [](const hdf5::Attribute& a) -> std::vector<std::string> {
    if (a.space().num_elements() == 0) return {};
    if (a.dtype().cls != hdf5::TypeClass::String) {
      throw Error(ErrorCode::InvalidModel, "attribute '" + a.name() + "' is not a string list");
    }
    return a.read_strings();
  };
  if (auto attr = object.attribute(name)) return read_one(*attr);
  if (!object.has_attribute(name + "0")) return std::nullopt;
  std::vector<std::string> all;
  for (int i = 0;; ++i) {
    auto piece = object.attribute(name + std::to_string(i));
    if (!piece) break;
    auto part = read_one(*piece);
    all.insert(all.end(), part.begin(), part.end());
  }
  return all;
}

namespace {

std::vector<std::string> split_path(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) parts.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// "dense_1/kernel:0" -> "kernel"; Keras 1 "dense_1_W:0" -> "W" (prefix = the layer name).
std::string weight_role(const std::string& stored, const std::string& layer_name) {
  std::vector<std::string> parts = split_path(stored);
  std::string last = parts.empty() ? stored : parts.back();
  if (size_t colon = last.rfind(':'); colon != std::string::npos) {
    bool digits = colon + 1 < last.size();
    for (size_t i = colon + 1; i < last.size(); ++i) digits &= (last[i] >= '0' && last[i] <= '9');
    if (digits) last = last.substr(0, colon);
  }
  if (last.size() > layer_name.size() + 1 && last.compare(0, layer_name.size(), layer_name) == 0 &&
      last[layer_name.size()] == '_') {
    last = last.substr(layer_name.size() + 1);
  }
  return last;
}

class LegacyH5Weights final : public WeightSource {
 public:
  LegacyH5Weights(hdf5::Group group, std::string file_name)
      : group_(std::move(group)), file_name_(std::move(file_name)) {
    auto names = read_string_list_attribute(group_, "layer_names");
    if (!names) {
      throw Error(ErrorCode::InvalidModel,
                  file_name_ + ": " + group_.path() + " has no 'layer_names' attribute");
    }
    layer_names_ = std::move(*names);
  }

  std::vector<std::string> weighted_layer_names() const override {
    std::vector<std::string> out;
    for (const std::string& n : layer_names_) {
      auto g = group_.try_open(n);
      if (!g || g->kind() != hdf5::ObjectKind::Group) continue;
      auto w = read_string_list_attribute(*g, "weight_names");
      if (w && !w->empty()) out.push_back(n);
    }
    return out;
  }

  // The builder asks twice for most layers (to bind them, and for the model summary): the
  // second answer comes from here instead of walking the HDF5 groups again.
  std::vector<StoredWeight> weights_for(const LayerPath& path,
                                        const std::vector<std::string>& sibling_leaves,
                                        const Dialect&) const override {
    std::string key;
    for (const auto* list : {&path.names, &sibling_leaves}) {
      for (const std::string& n : *list) key += n + '\x1f';
      key += '\x1e';
    }
    auto it = answers_.find(key);
    if (it == answers_.end()) it = answers_.emplace(key, read_weights(path, sibling_leaves)).first;
    return it->second;
  }

 private:
  std::vector<StoredWeight> read_weights(const LayerPath& path,
                                         const std::vector<std::string>& sibling_leaves) const {
    const std::string& top = path.names.front();
    auto object = group_.try_open(top);
    if (!object || object->kind() != hdf5::ObjectKind::Group) return {};
    hdf5::Group layer_group = group_.open_group(top);
    auto names = read_string_list_attribute(layer_group, "weight_names");
    if (!names) return {};
    const std::string& leaf = path.names.back();
    std::vector<StoredWeight> out;
    for (const std::string& stored : *names) {
      if (path.names.size() > 1) {
        // Inside a nested model: the weight belongs to the first path component that names one
        // of the nested model's leaf layers (keras-format.md §1.5).
        std::vector<std::string> parts = split_path(stored);
        std::string owner;
        for (size_t i = 0; i + 1 < parts.size(); ++i) {
          if (std::find(sibling_leaves.begin(), sibling_leaves.end(), parts[i]) !=
              sibling_leaves.end()) {
            owner = parts[i];
            break;
          }
        }
        if (owner != leaf) continue;
      }
      hdf5::Dataset ds = layer_group.open_dataset(stored);
      StoredWeight w;
      w.name = stored;
      w.role = weight_role(stored, leaf);
      for (uint64_t d : ds.space().dims) w.shape.push_back(static_cast<int64_t>(d));
      w.stored_bytes = ds.stored_bytes();
      w.load = [ds, shape = w.shape]() { return tensor_from_dataset(ds, shape); };
      out.push_back(std::move(w));
    }
    return out;
  }

  hdf5::Group group_;
  std::string file_name_;
  std::vector<std::string> layer_names_;
  mutable std::map<std::string, std::vector<StoredWeight>> answers_;
};

}  // namespace

std::unique_ptr<WeightSource> make_legacy_h5_weights(const hdf5::Group& group,
                                                     const std::string& file_name) {
  return std::make_unique<LegacyH5Weights>(group, file_name);
}

}  // namespace kerasrt::keras
