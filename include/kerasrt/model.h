// kerasrt C++ API: load a Keras model file and predict with it.
//
//   kerasrt::Model model = kerasrt::Model::load("model.h5");
//   std::vector<kerasrt::Array> out = model.predict({kerasrt::Array({1, 28, 28, 1}, pixels)});
//
// A loaded Model is immutable and safe to call from many threads at once. Errors are thrown as
// kerasrt::Error (kerasrt/error.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kerasrt/error.h"

namespace kerasrt {

// A dense float32 array in C order; shape includes the batch dimension.
struct Array {
  std::vector<int64_t> shape;
  std::vector<float> data;

  Array() = default;
  Array(std::vector<int64_t> s, std::vector<float> d) : shape(std::move(s)), data(std::move(d)) {}
  int64_t size() const;  // product of shape
};

struct TensorInfo {
  std::string name;            // the Keras input/output layer name
  std::vector<int64_t> shape;  // batch first; -1 where the model accepts any size
  std::string dtype;           // as the model declares it ("float32", "int32", ...)
};

struct LayerInfo {
  std::string name;
  std::string class_name;
  std::vector<std::vector<int64_t>> output_shapes;  // -1 for unknown dims
  int64_t params = 0;
};

struct LoadOptions {
  // Threads for one predict call (oneDNN's OpenMP pool); 0 = one per core.
  int num_threads = 0;
  // The weights file, when `path` is an architecture JSON (model.to_json() or a .keras
  // config.json): a legacy save_weights() .h5 or a Keras-v3 .weights.h5.
  std::string weights_path;
};

class Model {
 public:
  // Loads a Keras model: a whole-model .h5 (Keras 1/2/3, tf.keras), a Keras 3 .keras archive, or
  // an architecture JSON with options.weights_path. The format is told by content. Throws
  // kerasrt::Error.
  static Model load(const std::string& path, const LoadOptions& options = {});

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const std::vector<TensorInfo>& inputs() const;
  const std::vector<TensorInfo>& outputs() const;
  const std::vector<LayerInfo>& layers() const;
  const std::string& keras_version() const;
  const std::string& format() const;
  int64_t params() const;
  uint64_t weight_bytes() const;

  // Runs the model. `inputs` in model-input order, each with the batch dimension; all inputs
  // must have the same batch size. Returns one Array per model output. Throws
  // Error(InvalidArgument) on a count or shape mismatch.
  std::vector<Array> predict(const std::vector<Array>& inputs) const;

  // Stateful models (layers saved with stateful=True) carry their RNN states from one predict
  // call to the next, as Keras does; calls on such a model run one at a time. This zeroes the
  // carried states, like Keras's model.reset_states().
  void reset_states();

 private:
  Model() = default;
  std::shared_ptr<struct ModelImpl> impl_;
};

}  // namespace kerasrt
