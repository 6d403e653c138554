// Entry point of the Keras stage: opens a model file, detects its format and Keras version, and
// builds the graph with weights bound.
#pragma once

#include <string>

#include "keras/layer_context.h"
#include "keras/model_builder.h"

namespace kerasrt::keras {

struct KerasModel {
  BuiltModel model;
  Dialect dialect;
  std::string format;  // "keras-h5" (whole-model legacy .h5)
};

// Throws kerasrt::Error: Io (cannot open), InvalidFile (not a Keras file, corrupt container),
// Unsupported (layers/formats not implemented, all listed), InvalidModel (config vs weights).
KerasModel load_keras_model(const std::string& path);

}  // namespace kerasrt::keras
