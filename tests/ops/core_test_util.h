// Test helpers of the core op families (dense, elementwise, softmax, merge, shape ops,
// embedding): random data, prepare + run of one op on a real oneDNN engine, the project's
// tolerance, and a minimal LayerContext that runs a binder and interprets the graph it builds
// (until the loader's own context exists, this is how binders are tested end to end).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "graph/graph.h"
#include "keras/layer_context.h"
#include "keras/registry.h"
#include "ops/op.h"

namespace kerasrt::testing {

inline std::vector<float> random_values(size_t n, uint32_t seed, float lo = -3.0f,
                                        float hi = 3.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline Tensor random_tensor(Shape shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  int64_t n = shape_numel(shape);
  return Tensor(std::move(shape), random_values(static_cast<size_t>(n), seed, lo, hi));
}

struct Engine {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
};

inline Engine& engine() {
  static Engine e;
  return e;
}

// Aligned scratch memory for one kernel run.
struct Scratch {
  explicit Scratch(size_t bytes) {
    size_t n = (bytes + 63) / 64 * 64;
    if (n == 0) n = 64;
    p = static_cast<std::byte*>(std::aligned_alloc(64, n));
  }
  ~Scratch() { std::free(p); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  std::byte* p = nullptr;
};

// infer_shapes + prepare + run; returns every output.
inline std::vector<std::vector<float>> run_op(const ops::Op& op, const std::vector<Shape>& shapes,
                                              const std::vector<std::vector<float>>& inputs,
                                              std::vector<Shape>* out_shapes = nullptr) {
  std::vector<Shape> outs = op.infer_shapes(shapes);
  ops::PrepareContext pc{&engine().engine, 1};
  std::unique_ptr<ops::Kernel> k = op.prepare(shapes, outs, pc);
  dnnl::stream stream(engine().engine);
  Scratch scratch(k->scratch_bytes());
  ops::RunContext rc{&engine().engine, &stream, scratch.p};
  std::vector<const float*> in;
  for (const auto& v : inputs) in.push_back(v.data());
  std::vector<std::vector<float>> out;
  std::vector<float*> outp;
  for (const Shape& s : outs) out.emplace_back(static_cast<size_t>(shape_numel(s)), -12345.0f);
  for (auto& v : out) outp.push_back(v.data());
  k->run(rc, in, outp);
  if (out_shapes) *out_shapes = outs;
  return out;
}

// The project's tolerance: |a - b| <= tol * max(1, |b|) per element.
inline ::testing::AssertionResult near(const std::vector<float>& got,
                                       const std::vector<float>& want, float tol = 1e-5f) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != expected " << want.size();
  }
  for (size_t i = 0; i < got.size(); ++i) {
    float b = want[i];
    bool ok = (std::isnan(b) && std::isnan(got[i])) || (std::isinf(b) && got[i] == b) ||
              std::fabs(got[i] - b) <= tol * std::max(1.0f, std::fabs(b));
    if (!ok) {
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", expected " << b;
    }
  }
  return ::testing::AssertionSuccess();
}

inline std::string str(const Shape& s) {
  return shape_to_string(s);
}

// ---------------------------------------------------------------------------------------------
// A LayerContext over a graph::Graph, for binder tests.

class FakeLayerContext final : public keras::LayerContext {
 public:
  FakeLayerContext(std::string class_name, const std::string& config_json, int major,
                   graph::Graph& g, std::vector<graph::ValueId> inputs,
                   std::map<std::string, Tensor> weights = {}, std::string name = "layer")
      : name_(std::move(name)),
        class_(std::move(class_name)),
        config_(keras::Json::parse(config_json, "test config")),
        g_(g),
        inputs_(std::move(inputs)) {
    dialect_.major = major;
    for (auto& [role, t] : weights) {
      keras::StoredWeight w;
      w.name = name_ + "/" + role + ":0";
      w.role = role;
      w.shape = t.shape();
      Tensor copy = t;
      w.load = [copy]() -> Tensor { return copy; };
      weights_.push_back(std::move(w));
    }
  }
  const std::string& name() const override { return name_; }
  const std::string& class_name() const override { return class_; }
  const keras::Json& config() const override { return config_; }
  const keras::Dialect& dialect() const override { return dialect_; }
  size_t num_inputs() const override { return inputs_.size(); }
  graph::ValueId input(size_t i) const override { return inputs_.at(i); }
  const Shape& input_shape(size_t i) const override {
    return g_.values.at(static_cast<size_t>(inputs_.at(i))).shape;
  }
  std::span<const keras::StoredWeight> stored_weights() const override { return weights_; }
  std::vector<graph::ValueId> add(std::shared_ptr<const ops::Op> op,
                                  std::vector<graph::ValueId> inputs,
                                  std::string_view suffix) override {
    std::string n = name_;
    if (!suffix.empty()) n += "/" + std::string(suffix);
    return g_.add_node(n, class_, std::move(op), std::move(inputs));
  }
  const Shape& shape_of(graph::ValueId v) const override {
    return g_.values.at(static_cast<size_t>(v)).shape;
  }
  void set_outputs(std::vector<graph::ValueId> outputs) override { outputs_ = std::move(outputs); }
  std::vector<graph::ValueId> bind_inner(const keras::Json&, std::vector<graph::ValueId>,
                                         std::vector<keras::StoredWeight>) override {
    throw Error(ErrorCode::Unsupported, "FakeLayerContext: no inner layers");
  }
  std::optional<graph::ValueId> input_mask(size_t) const override { return std::nullopt; }
  void set_output_mask(size_t output, graph::ValueId mask) override { masks_[output] = mask; }
  void drop_output_masks() override { masks_.clear(); }
  const std::map<size_t, graph::ValueId>& output_masks() const { return masks_; }
  const std::vector<graph::ValueId>& outputs() const { return outputs_; }

 private:
  std::string name_, class_;
  keras::Json config_;
  keras::Dialect dialect_;
  graph::Graph& g_;
  std::vector<graph::ValueId> inputs_;
  std::vector<keras::StoredWeight> weights_;
  std::vector<graph::ValueId> outputs_;
  std::map<size_t, graph::ValueId> masks_;
};

// Runs a graph with concrete input shapes (values given per graph input) and returns the
// values of `wanted`, in order.
inline std::vector<std::vector<float>> run_graph(const graph::Graph& g,
                                                 const std::vector<Shape>& input_shapes,
                                                 const std::vector<std::vector<float>>& inputs,
                                                 const std::vector<graph::ValueId>& wanted,
                                                 std::vector<Shape>* wanted_shapes = nullptr) {
  std::map<graph::ValueId, std::vector<float>> vals;
  std::map<graph::ValueId, Shape> shapes;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    vals[g.inputs[i]] = inputs[i];
    shapes[g.inputs[i]] = input_shapes[i];
  }
  for (const graph::Node& n : g.nodes) {
    std::vector<Shape> in_shapes;
    std::vector<std::vector<float>> in_vals;
    for (graph::ValueId v : n.inputs) {
      in_shapes.push_back(shapes.at(v));
      in_vals.push_back(vals.at(v));
    }
    std::vector<Shape> out_shapes;
    auto outs = run_op(*n.op, in_shapes, in_vals, &out_shapes);
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      vals[n.outputs[i]] = std::move(outs[i]);
      shapes[n.outputs[i]] = out_shapes[i];
    }
  }
  std::vector<std::vector<float>> result;
  for (graph::ValueId v : wanted) {
    result.push_back(vals.at(v));
    if (wanted_shapes) wanted_shapes->push_back(shapes.at(v));
  }
  return result;
}

// Binds one layer on graph inputs of the given build-time shapes; returns the layer outputs.
struct BoundLayer {
  graph::Graph g;
  std::vector<graph::ValueId> outputs;
  std::map<size_t, graph::ValueId> masks;
  size_t nodes = 0;
};

inline std::unique_ptr<BoundLayer> bind_layer(const std::string& class_name,
                                              const std::string& config, int major,
                                              const std::vector<Shape>& input_shapes,
                                              std::map<std::string, Tensor> weights = {}) {
  auto b = std::make_unique<BoundLayer>();
  std::vector<graph::ValueId> in;
  for (size_t i = 0; i < input_shapes.size(); ++i) {
    in.push_back(b->g.add_input("in" + std::to_string(i), input_shapes[i]));
  }
  FakeLayerContext ctx(class_name, config, major, b->g, in, std::move(weights));
  keras::BindFn fn = keras::find_binder(class_name);
  if (fn == nullptr) throw Error(ErrorCode::Unsupported, "no binder for " + class_name);
  fn(ctx);
  b->outputs = ctx.outputs();
  b->masks = ctx.output_masks();
  b->nodes = b->g.nodes.size();
  return b;
}

}  // namespace kerasrt::testing
