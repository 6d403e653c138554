#include "graph/graph.h"

#include "kerasrt/error.h"

namespace kerasrt::graph {

ValueId Graph::add_input(std::string name, Shape shape) {
  values.push_back(Value{std::move(name), std::move(shape), -1});
  ValueId id = static_cast<ValueId>(values.size() - 1);
  inputs.push_back(id);
  return id;
}

std::vector<ValueId> Graph::add_node(std::string name, std::string layer_class,
                                     std::shared_ptr<const ops::Op> op,
                                     std::vector<ValueId> node_inputs) {
  std::vector<Shape> in_shapes;
  in_shapes.reserve(node_inputs.size());
  for (ValueId v : node_inputs) in_shapes.push_back(values.at(static_cast<size_t>(v)).shape);
  std::vector<Shape> out_shapes;
  try {
    out_shapes = op->infer_shapes(in_shapes);
  } catch (const Error& e) {
    throw Error(e.code(), "layer '" + name + "' (" + layer_class + "): " + e.what());
  }
  Node node{std::move(name), std::move(layer_class), std::move(op), std::move(node_inputs), {}};
  int node_index = static_cast<int>(nodes.size());
  for (size_t i = 0; i < out_shapes.size(); ++i) {
    std::string value_name =
        out_shapes.size() == 1 ? node.name : node.name + ":" + std::to_string(i);
    values.push_back(Value{std::move(value_name), std::move(out_shapes[i]), node_index});
    node.outputs.push_back(static_cast<ValueId>(values.size() - 1));
  }
  nodes.push_back(std::move(node));
  return nodes.back().outputs;
}

}  // namespace kerasrt::graph
