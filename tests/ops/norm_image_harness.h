// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
//
// Test helpers of the normalization and image families: run an op (prepare + run, with guard
// values around the output), random data, closeness checks, and a LayerContext over a JSON
// config and in-memory weights so binders can be driven without a model file.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "keras/layer_context.h"
#include "keras/registry.h"
#include "ops/op.h"

namespace kerasrt::normimg_test {

struct Runner {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{eng};

  // Runs `op` on one input; returns the output and its shape.
  std::vector<float> run(const ops::Op& op, const Shape& in, const std::vector<float>& x,
                         Shape* out_shape, int threads = 1) {
    std::vector<Shape> outs = op.infer_shapes(std::span<const Shape>(&in, 1));
    *out_shape = outs.at(0);
    ops::PrepareContext pctx{&eng, threads};
    std::unique_ptr<ops::Kernel> k = op.prepare(std::span<const Shape>(&in, 1), outs, pctx);
    const size_t n_out = static_cast<size_t>(shape_numel(outs[0]));
    constexpr size_t kGuard = 16;
    constexpr float kSentinel = 12345.0f;
    std::vector<float> y(n_out + 2 * kGuard, kSentinel);
    const size_t bytes = ((k->scratch_bytes() + 63) / 64) * 64 + 64;
    std::byte* scratch = static_cast<std::byte*>(std::aligned_alloc(64, bytes));
    ops::RunContext rctx{&eng, &stream, scratch};
    const float* in_ptr = x.data();
    float* out_ptr = y.data() + kGuard;
    k->run(rctx, std::span<const float* const>(&in_ptr, 1), std::span<float* const>(&out_ptr, 1));
    std::free(scratch);
    for (size_t i = 0; i < kGuard; ++i) {
      EXPECT_EQ(y[i], kSentinel) << "write before the output";
      EXPECT_EQ(y[kGuard + n_out + i], kSentinel) << "write after the output";
    }
    return std::vector<float>(y.begin() + kGuard, y.begin() + static_cast<long>(kGuard + n_out));
  }
};

inline Runner& runner() {
  static Runner r;
  return r;
}

inline std::vector<float> random_values(std::mt19937& rng, int64_t n, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& f : v) f = dist(rng);
  return v;
}

inline Tensor random_tensor(std::mt19937& rng, Shape shape, float lo = -1.0f, float hi = 1.0f) {
  int64_t n = shape_numel(shape);
  return Tensor(std::move(shape), random_values(rng, n, lo, hi));
}

// The conformance tolerance: |a - b| <= tol * max(1, |b|).
inline ::testing::AssertionResult close(const std::vector<float>& got,
                                        const std::vector<float>& want, float tol = 1e-5f) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != expected " << want.size();
  }
  for (size_t i = 0; i < got.size(); ++i) {
    float lim = tol * std::max(1.0f, std::fabs(want[i]));
    if (!(std::fabs(got[i] - want[i]) <= lim)) {
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", expected " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

inline std::string str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(v[i]);
  }
  s += "]";
  return s;
}

// A LayerContext over a JSON config and in-memory weights; nodes go into its own graph.
class FakeLayerContext : public keras::LayerContext {
 public:
  FakeLayerContext(std::string class_name, const std::string& config,
                   std::vector<Shape> input_shapes,
                   std::vector<std::pair<std::string, Tensor>> weights = {},
                   keras::Dialect dialect = {3, "3.3.3", "tensorflow"})
      : class_name_(std::move(class_name)),
        config_(keras::Json::parse(config, "test config")),
        dialect_(std::move(dialect)) {
    for (size_t i = 0; i < input_shapes.size(); ++i) {
      inputs_.push_back(graph_.add_input("input_" + std::to_string(i), input_shapes[i]));
    }
    for (auto& [role, t] : weights) {
      keras::StoredWeight w;
      w.name = name_ + "/" + role + ":0";
      w.role = role;
      w.shape = t.shape();
      Tensor copy = t;
      w.load = [copy]() { return copy; };
      weights_.push_back(std::move(w));
    }
  }

  const std::string& name() const override { return name_; }
  const std::string& class_name() const override { return class_name_; }
  const keras::Json& config() const override { return config_; }
  const keras::Dialect& dialect() const override { return dialect_; }
  size_t num_inputs() const override { return inputs_.size(); }
  graph::ValueId input(size_t i) const override { return inputs_.at(i); }
  const Shape& input_shape(size_t i) const override {
    return graph_.values.at(static_cast<size_t>(inputs_.at(i))).shape;
  }
  std::span<const keras::StoredWeight> stored_weights() const override { return weights_; }
  std::vector<graph::ValueId> add(std::shared_ptr<const ops::Op> op,
                                  std::vector<graph::ValueId> inputs,
                                  std::string_view suffix = {}) override {
    std::string n = name_;
    if (!suffix.empty()) n += "/" + std::string(suffix);
    return graph_.add_node(n, class_name_, std::move(op), std::move(inputs));
  }
  const Shape& shape_of(graph::ValueId v) const override {
    return graph_.values.at(static_cast<size_t>(v)).shape;
  }
  void set_outputs(std::vector<graph::ValueId> outputs) override { outputs_ = std::move(outputs); }
  // These families wrap no layers and consume no masks.
  std::vector<graph::ValueId> bind_inner(const keras::Json&, std::vector<graph::ValueId>,
                                         std::vector<keras::StoredWeight>) override {
    fail(ErrorCode::Internal, "bind_inner is not available in this test context");
  }
  std::optional<graph::ValueId> input_mask(size_t) const override { return std::nullopt; }
  void set_output_mask(size_t, graph::ValueId) override {}
  void drop_output_masks() override {}

  // Binds with the registry's binder for the class.
  void bind() {
    keras::BindFn fn = keras::find_binder(class_name_);
    ASSERT_NE(fn, nullptr) << "no binder for " << class_name_;
    fn(*this);
  }

  const graph::Graph& graph() const { return graph_; }
  const std::vector<graph::ValueId>& outputs() const { return outputs_; }

  // Runs the bound graph (single input, single output, nodes in order) on a concrete input.
  std::vector<float> run(const Shape& in, const std::vector<float>& x, Shape* out_shape) {
    std::vector<std::vector<float>> values(graph_.values.size());
    std::vector<Shape> shapes(graph_.values.size());
    values[static_cast<size_t>(inputs_.at(0))] = x;
    shapes[static_cast<size_t>(inputs_.at(0))] = in;
    for (const graph::Node& node : graph_.nodes) {
      EXPECT_EQ(node.inputs.size(), 1u);
      size_t src = static_cast<size_t>(node.inputs[0]);
      Shape s;
      std::vector<float> y = runner().run(*node.op, shapes[src], values[src], &s);
      values[static_cast<size_t>(node.outputs[0])] = std::move(y);
      shapes[static_cast<size_t>(node.outputs[0])] = s;
    }
    size_t out = static_cast<size_t>(outputs_.at(0));
    *out_shape = shapes[out];
    return values[out];
  }

 private:
  std::string name_ = "layer";
  std::string class_name_;
  keras::Json config_;
  keras::Dialect dialect_;
  graph::Graph graph_;
  std::vector<graph::ValueId> inputs_;
  std::vector<keras::StoredWeight> weights_;
  std::vector<graph::ValueId> outputs_;
};

}  // namespace kerasrt::normimg_test
