// Entry point of the Keras stage: opens a model file, detects its format and Keras version, and
// builds the graph with weights bound.
//
// Formats, told apart by content (never by file name):
//   keras-h5        whole-model .h5 of Keras 1, 2, tf.keras or Keras 3's legacy writer
//   keras-zip       Keras 3 .keras archive (config.json + model.weights.h5, read in place)
//   json+h5         an architecture JSON (model.to_json(), or a .keras config.json) together
//                   with a weights file: legacy save_weights() .h5, or Keras-v3 .weights.h5
//   krt             kerasrt's own packed file (`kerasrt convert`): the source's config and
//                   weights as the builder read them (krt_weights.cpp), bound the same way
#pragma once

#include <memory>
#include <string>

#include "keras/json.h"
#include "keras/layer_context.h"
#include "keras/model_builder.h"
#include "keras/weight_source.h"

namespace kerasrt::krt {
class File;
class Writer;
}  // namespace kerasrt::krt

namespace kerasrt::keras {

struct KerasModel {
  BuiltModel model;
  Dialect dialect;
  std::string format;
  // Keeps the files the weights were read from alive (views into them may be held).
  std::shared_ptr<const void> storage;
  // The architecture JSON the model was built from, verbatim, and parsed (kept with the model:
  // tens of thousands of nodes for a large config, whose freeing is no part of loading).
  std::string config_text;
  std::shared_ptr<const Json> config;
  // What the builder read of the weights (KerasLoadOptions::record_weights; for conversion).
  std::shared_ptr<const WeightRecord> weights_read;
  // A model loaded from a .krt: the container and its parsed index (the runtime reads its packs).
  std::shared_ptr<const krt::File> krt;
  std::shared_ptr<const Json> krt_index;
};

struct KerasLoadOptions {
  // Required for an architecture JSON, refused for a whole model.
  std::string weights_path;
  // Keep KerasModel::weights_read (what `kerasrt convert` writes).
  bool record_weights = false;
  // .krt: verify the checksum of every weight array as it is bound (the header, index and config
  // are always verified; packed weights when first used).
  bool verify_checksums = false;
};

// Throws kerasrt::Error: Io (cannot open), InvalidFile (not a Keras file, corrupt container),
// Unsupported (layers/formats not implemented, all listed), InvalidModel (config vs weights).
KerasModel load_keras_model(const std::string& path, const KerasLoadOptions& options = {});

// Writes the Keras part of a .krt (sections "config" and "weights") from a model loaded with
// record_weights; returns the JSON object the index holds under "keras".
std::string write_krt_keras(const KerasModel& model, krt::Writer& writer);
// Builds the model of an opened .krt; `index` is its parsed index section.
KerasModel load_krt_keras(std::shared_ptr<const krt::File> file, std::shared_ptr<const Json> index,
                          bool verify_checksums);

}  // namespace kerasrt::keras
