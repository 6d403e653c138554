// Entry point of the Keras stage: opens a model file, detects its format and Keras version, and
// builds the graph with weights bound.
//
// Formats, told apart by content (never by file name):
//   keras-h5        whole-model .h5 of Keras 1, 2, tf.keras or Keras 3's legacy writer
//   keras-zip       Keras 3 .keras archive (config.json + model.weights.h5, read in place)
//   json+h5         an architecture JSON (model.to_json(), or a .keras config.json) together
//                   with a weights file: legacy save_weights() .h5, or Keras-v3 .weights.h5
#pragma once

#include <memory>
#include <string>

#include "keras/layer_context.h"
#include "keras/model_builder.h"

namespace kerasrt::keras {

struct KerasModel {
  BuiltModel model;
  Dialect dialect;
  std::string format;
  // Keeps the files the weights were read from alive (views into them may be held).
  std::shared_ptr<const void> storage;
};

// `weights_path` is required for an architecture JSON and refused for a whole model.
// Throws kerasrt::Error: Io (cannot open), InvalidFile (not a Keras file, corrupt container),
// Unsupported (layers/formats not implemented, all listed), InvalidModel (config vs weights).
KerasModel load_keras_model(const std::string& path, const std::string& weights_path = {});

}  // namespace kerasrt::keras
