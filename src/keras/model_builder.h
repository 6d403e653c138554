// Turns a Keras model config (Sequential or Functional, nested to any depth) plus a weight source
// into the graph IR, calling one binder per layer call.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "keras/json.h"
#include "keras/layer_context.h"
#include "keras/weight_source.h"

namespace kerasrt::keras {

struct LayerSummary {
  std::string name;
  std::string class_name;
  std::vector<Shape> output_shapes;  // of the layer's first call
  int64_t params = 0;                // elements in the layer's stored weights
  uint64_t weight_bytes = 0;         // bytes of those weights in the file
};

struct InputSpec {
  std::string name;
  Shape shape;        // batch first, -1 for None
  std::string dtype;  // as the InputLayer declares it ("float32", "int32", ...)
};

struct BuiltModel {
  graph::Graph graph;
  std::vector<InputSpec> inputs;
  std::vector<LayerSummary> layers;  // the top model's layers, in config order
  int64_t params = 0;
  uint64_t weight_bytes = 0;
};

// `model_config` is the envelope {"class_name": ..., "config": ...}. Throws Error(Unsupported)
// listing every unsupported layer at once, and Error(InvalidModel) when config and weights
// disagree.
BuiltModel build_model(const Json& model_config, const WeightSource& weights,
                       const Dialect& dialect, const std::string& file_name);

// True for the class names of models that can appear as layers (Sequential, Functional, Model).
bool is_model_class(const std::string& class_name);

}  // namespace kerasrt::keras
