// Where a layer's stored weights come from. One implementation per file format:
//   LegacyH5Weights  the model_weights group of a whole-model .h5, or the root of a legacy
//                    save_weights() file (keras-format.md §1.4-§1.6, §2.1)
//   KerasV3Weights   the Keras 3 layout (§2.2): model.weights.h5 of a .keras zip, x.weights.h5,
//                    or the shards of a sharded x.weights.json
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hdf5/hdf5.h"
#include "keras/json.h"
#include "keras/layer_context.h"

namespace kerasrt::keras {

// A layer's position in the model: the names from the top-level layer down to the layer itself
// (length 1 for a layer of the top model; longer inside nested models).
struct LayerPath {
  std::vector<std::string> names;
  std::vector<std::string> classes;
};

class WeightSource {
 public:
  virtual ~WeightSource() = default;
  // The stored weights of the layer at `path`, in stored order. Empty when it has none.
  virtual std::vector<StoredWeight> weights_for(const LayerPath& path,
                                                const std::vector<std::string>& sibling_leaves,
                                                const Dialect& dialect) const = 0;
  // Names of the top-level layers that have stored weights (to report groups nobody used).
  virtual std::vector<std::string> weighted_layer_names() const = 0;
};

// `group` is /model_weights (whole-model file) or / (legacy weights-only file).
std::unique_ptr<WeightSource> make_legacy_h5_weights(const hdf5::Group& group,
                                                     const std::string& file_name);

// `root` is the root of a Keras-v3 weights file (model.weights.h5 of a .keras zip, or
// x.weights.h5); `model` the model config envelope its layers come from.
std::unique_ptr<WeightSource> make_keras3_weights(const hdf5::Group& root, const Json& model,
                                                  const std::string& file_name);

// Keras 3 sharded weights: `index` is the parsed x.weights.json at `index_path`; its weight_map
// names the shard files (x_00000.weights.h5, ...), opened from the index's folder. Throws
// Error(Io) naming the index and the shard when a shard cannot be opened.
std::unique_ptr<WeightSource> make_keras3_sharded_weights(const Json& index, const Json& model,
                                                          const std::string& index_path);

// A dataset's elements as a float32 tensor: a view into the mapped file when they are stored as
// contiguous, unfiltered, 4-byte aligned little-endian float32 (no copy, no page touched until a
// kernel reads them), else converted into fresh storage. `shape` is the dataset's shape.
Tensor tensor_from_dataset(const hdf5::Dataset& ds, const Shape& shape);

// What the model builder read of a weight source, call by call (for `kerasrt convert`).
struct WeightRecord {
  struct Call {
    LayerPath path;
    std::vector<std::string> sibling_leaves;
    std::vector<StoredWeight> weights;
  };
  std::vector<Call> calls;
  std::vector<std::string> weighted_layer_names;
};

// Answers from `inner` and appends every distinct question and answer to `record`.
std::unique_ptr<WeightSource> make_recording_weights(const WeightSource& inner,
                                                     WeightRecord* record);

// Reads a Keras list-of-strings attribute that may be split into name0, name1, ... (§1.6); an
// empty numeric array (Keras's empty list) reads as an empty list. nullopt when absent.
std::optional<std::vector<std::string>> read_string_list_attribute(const hdf5::Object& object,
                                                                   const std::string& name);

}  // namespace kerasrt::keras
