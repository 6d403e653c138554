// The graph IR: values (tensors flowing between nodes) and nodes (one op each), in topological
// order. Built by the Keras dialects (src/keras/), rewritten by passes (src/graph/), compiled into
// a plan by the runtime (src/runtime/). It knows no Keras version and no file format.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::graph {

using ValueId = int;

struct Value {
  std::string name;   // "<layer>" or "<layer>:<output index>", for messages and plans
  Shape shape;        // inferred at build time; -1 where unknown until predict
  int producer = -1;  // node index, -1 for a graph input
};

struct Node {
  std::string name;         // the Keras layer name (a split activation gets "<layer>/activation")
  std::string layer_class;  // the Keras class name, verbatim
  std::shared_ptr<const ops::Op> op;
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;  // topological order
  std::vector<ValueId> inputs;
  std::vector<ValueId> outputs;
  std::vector<std::string> input_names;   // Keras input layer names, in model-input order
  std::vector<std::string> output_names;  // Keras output layer names, in model-output order

  ValueId add_input(std::string name, Shape shape);
  // Appends a node, inferring its output shapes with op->infer_shapes(); returns the outputs.
  // Errors from shape inference are rethrown with the layer name and class in front.
  std::vector<ValueId> add_node(std::string name, std::string layer_class,
                                std::shared_ptr<const ops::Op> op, std::vector<ValueId> inputs);
};

}  // namespace kerasrt::graph
