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
  // config.json): a legacy save_weights() .h5, a Keras-v3 .weights.h5 or sharded .weights.json.
  std::string weights_path;
  // When the model is compiled for its declared input shapes with batch 1 (oneDNN primitives
  // created, weights packed): Lazy at the first predict call with those shapes (load returns
  // sooner), Eager during load, followed by one prediction on zeros so that the first call is
  // as fast as the rest (stateful models are reset after it). A .krt is prepared for the shapes
  // its weights were packed for. Other shapes are compiled at their first call. Models with
  // unknown non-batch input dims (and no such shapes) are always lazy.
  enum class Prepare { Lazy, Eager };
  Prepare prepare = Prepare::Lazy;
  // .krt files: verify every weight checksum during load (reads all the weights). Without it the
  // header, index and config are verified at load and packed weights at their first use.
  bool verify_checksums = false;
};

struct ConvertOptions {
  // As in LoadOptions.
  std::string weights_path;
  int num_threads = 0;
  // Input shapes (batch included) to pre-pack the weights for; empty: the model's declared input
  // shapes with batch 1 (a model with other unknown dims then gets no pre-packed weights).
  std::vector<std::vector<int64_t>> input_shapes;
};

struct ConvertResult {
  uint64_t file_bytes = 0;
  uint64_t weight_bytes = 0;                     // Keras-layout float32 arrays
  uint64_t packed_bytes = 0;                     // pre-packed arrays
  std::vector<std::vector<int64_t>> packed_for;  // the input shapes they were packed for
};

// `kerasrt convert`: loads `model_path` (any file Model::load reads) and writes it as a .krt at
// `out_path`: kerasrt's packed format, which Model::load maps and uses in place. Throws Error.
ConvertResult convert_model(const std::string& model_path, const std::string& out_path,
                            const ConvertOptions& options = {});

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
