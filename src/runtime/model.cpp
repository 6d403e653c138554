// kerasrt::Model: the loaded graph, a cache of plans by input shapes, and a pool of arenas so
// that concurrent predict calls never share activation memory.
#include "kerasrt/model.h"

#include <omp.h>

#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <filesystem>
#include <map>
#include <mutex>

#include "graph/passes.h"
#include "keras/loader.h"
#include "krt/krt_file.h"
#include "ops/weight_packs.h"
#include "runtime/krt.h"
#include "runtime/plan.h"

namespace kerasrt {

using runtime::read_krt_runtime;
using runtime::write_krt_runtime;

int64_t Array::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

struct Arena {
  std::byte* data = nullptr;
  size_t bytes = 0;
  ~Arena() { std::free(data); }
  void reserve(size_t n) {
    if (n <= bytes) return;
    std::free(data);
    data = static_cast<std::byte*>(std::aligned_alloc(64, (n + 63) / 64 * 64));
    if (data == nullptr) {
      bytes = 0;
      throw Error(ErrorCode::ResourceExhausted,
                  "cannot allocate " + std::to_string(n) + " bytes of activation memory");
    }
    bytes = n;
  }
};

std::vector<int64_t> to_public(const Shape& s) {
  return s;
}

}  // namespace

struct ModelImpl {
  keras::KerasModel keras;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  int threads = 1;
  std::vector<TensorInfo> inputs;
  std::vector<TensorInfo> outputs;
  std::vector<LayerInfo> layers;

  std::mutex plans_mu;
  std::map<std::vector<Shape>, std::shared_ptr<const runtime::Plan>> plans;
  ops::WeightPacks packs;  // shared by all plans; guarded by plans_mu
  std::mutex arenas_mu;
  std::vector<std::unique_ptr<Arena>> arenas;
  // Persistent kernel state per plan (stateful RNNs); calls that use it run one at a time.
  std::mutex state_mu;
  std::map<const runtime::Plan*, std::unique_ptr<Arena>> states;

  std::shared_ptr<const runtime::Plan> plan_for(const std::vector<Shape>& shapes) {
    std::lock_guard<std::mutex> lock(plans_mu);
    auto it = plans.find(shapes);
    if (it != plans.end()) return it->second;
    ops::PrepareContext ctx{&engine, threads, &packs, {}};
    std::shared_ptr<const runtime::Plan> plan =
        runtime::compile_plan(keras.model.graph, shapes, ctx);
    plans.emplace(shapes, plan);
    return plan;
  }

  // The model's declared input shapes with batch 1; empty when another dim is unknown.
  std::vector<Shape> default_shapes() const {
    std::vector<Shape> shapes;
    for (const TensorInfo& in : inputs) {
      Shape s = in.shape;
      if (!s.empty() && s[0] < 0) s[0] = 1;
      if (!shape_is_concrete(s)) return {};
      shapes.push_back(std::move(s));
    }
    return shapes;
  }

  void describe() {
    const graph::Graph& g = keras.model.graph;
    for (const keras::InputSpec& in : keras.model.inputs) {
      inputs.push_back(TensorInfo{in.name, to_public(in.shape), in.dtype});
    }
    for (size_t i = 0; i < g.outputs.size(); ++i) {
      outputs.push_back(TensorInfo{g.output_names[i],
                                   to_public(g.values[static_cast<size_t>(g.outputs[i])].shape),
                                   "float32"});
    }
    for (const keras::LayerSummary& s : keras.model.layers) {
      LayerInfo info{s.name, s.class_name, {}, s.params};
      for (const Shape& sh : s.output_shapes) info.output_shapes.push_back(to_public(sh));
      layers.push_back(std::move(info));
    }
  }

  std::unique_ptr<Arena> take_arena() {
    std::lock_guard<std::mutex> lock(arenas_mu);
    if (arenas.empty()) return std::make_unique<Arena>();
    auto a = std::move(arenas.back());
    arenas.pop_back();
    return a;
  }
  void give_arena(std::unique_ptr<Arena> a) {
    std::lock_guard<std::mutex> lock(arenas_mu);
    arenas.push_back(std::move(a));
  }
};

Model Model::load(const std::string& path, const LoadOptions& options) {
  auto impl = std::make_shared<ModelImpl>();
  keras::KerasLoadOptions keras_options;
  keras_options.weights_path = options.weights_path;
  keras_options.verify_checksums = options.verify_checksums;
  impl->keras = keras::load_keras_model(path, keras_options);
  graph::optimize(impl->keras.model.graph);
  impl->threads = options.num_threads > 0 ? options.num_threads : omp_get_num_procs();
  // A .krt's packs were made for particular input shapes: an eager load prepares those.
  std::vector<Shape> packed_for;
  if (impl->keras.krt) {
    packed_for = read_krt_runtime(impl->keras.krt, *impl->keras.krt_index, impl->packs,
                                  options.verify_checksums)
                     .plan_inputs;
  }
  impl->describe();
  std::vector<Shape> eager_shapes;
  if (options.prepare == LoadOptions::Prepare::Eager) {
    eager_shapes = packed_for.empty() ? impl->default_shapes() : packed_for;
  }
  Model m;
  m.impl_ = std::move(impl);
  if (!eager_shapes.empty()) {
    // One call on zeros: compiles the plan and also pays what oneDNN defers to a primitive's
    // first execution (GEMM kernels are generated then: ~30 ms for an LSTM) and the first touch
    // of the activation arena, so that the caller's first prediction costs what later ones do.
    std::vector<Array> zeros;
    for (const Shape& s : eager_shapes) {
      zeros.emplace_back(s, std::vector<float>(static_cast<size_t>(shape_numel(s)), 0.0f));
    }
    m.predict(zeros);
    m.reset_states();
  }
  return m;
}

ConvertResult convert_model(const std::string& model_path, const std::string& out_path,
                            const ConvertOptions& options) {
  ModelImpl impl;
  keras::KerasLoadOptions keras_options;
  keras_options.weights_path = options.weights_path;
  keras_options.record_weights = true;
  impl.keras = keras::load_keras_model(model_path, keras_options);
  graph::optimize(impl.keras.model.graph);
  if (impl.keras.krt) {
    throw Error(ErrorCode::InvalidArgument, model_path + ": already a .krt file");
  }
  impl.threads = options.num_threads > 0 ? options.num_threads : omp_get_num_procs();
  impl.describe();
  ConvertResult result;
  std::vector<Shape> shapes;
  for (const std::vector<int64_t>& s : options.input_shapes) shapes.push_back(s);
  if (shapes.empty()) shapes = impl.default_shapes();
  if (!shapes.empty()) {
    omp_set_num_threads(impl.threads);
    impl.plan_for(shapes);
    result.packed_for = shapes;
  }
  for (const auto& p : impl.packs.all()) result.packed_bytes += p->bytes();
  result.weight_bytes = impl.keras.model.weight_bytes;

  krt::Writer writer(out_path);
  std::string index = "{\"keras\":" + keras::write_krt_keras(impl.keras, writer);
  index += ",\"runtime\":" + write_krt_runtime(impl.packs, result.packed_for, writer) + "}";
  writer.begin_section("index");
  writer.append(std::as_bytes(std::span(index)));
  writer.finish();
  result.file_bytes = std::filesystem::file_size(out_path);
  return result;
}

void Model::reset_states() {
  std::lock_guard<std::mutex> lock(impl_->state_mu);
  for (auto& [plan, s] : impl_->states) std::memset(s->data, 0, plan->state_bytes);
}

Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

const std::vector<TensorInfo>& Model::inputs() const {
  return impl_->inputs;
}
const std::vector<TensorInfo>& Model::outputs() const {
  return impl_->outputs;
}
const std::vector<LayerInfo>& Model::layers() const {
  return impl_->layers;
}
const std::string& Model::keras_version() const {
  return impl_->keras.dialect.keras_version;
}
const std::string& Model::format() const {
  return impl_->keras.format;
}
int64_t Model::params() const {
  return impl_->keras.model.params;
}
uint64_t Model::weight_bytes() const {
  return impl_->keras.model.weight_bytes;
}

std::vector<Array> Model::predict(const std::vector<Array>& inputs) const {
  ModelImpl& impl = *impl_;
  if (inputs.size() != impl.inputs.size()) {
    throw Error(ErrorCode::InvalidArgument, "the model takes " +
                                                std::to_string(impl.inputs.size()) +
                                                " input(s), got " + std::to_string(inputs.size()));
  }
  std::vector<Shape> shapes;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Array& a = inputs[i];
    const TensorInfo& info = impl.inputs[i];
    bool ok = a.shape.size() == info.shape.size();
    for (size_t d = 0; ok && d < a.shape.size(); ++d) {
      ok = a.shape[d] >= 0 && (info.shape[d] < 0 || info.shape[d] == a.shape[d]);
    }
    if (!ok) {
      throw Error(ErrorCode::InvalidArgument, "input '" + info.name + "': expected shape " +
                                                  shape_to_string(info.shape) + ", got " +
                                                  shape_to_string(a.shape));
    }
    if (a.size() != static_cast<int64_t>(a.data.size())) {
      throw Error(ErrorCode::InvalidArgument,
                  "input '" + info.name + "': shape " + shape_to_string(a.shape) + " needs " +
                      std::to_string(a.size()) + " values, got " + std::to_string(a.data.size()));
    }
    if (i > 0 && !a.shape.empty() && !inputs[0].shape.empty() && a.shape[0] != inputs[0].shape[0]) {
      throw Error(ErrorCode::InvalidArgument, "inputs have different batch sizes (" +
                                                  std::to_string(inputs[0].shape[0]) + " and " +
                                                  std::to_string(a.shape[0]) + ")");
    }
    shapes.push_back(a.shape);
  }
  // The thread count is the calling thread's OpenMP setting: set it before the plan is compiled
  // too (weight packing runs in parallel).
  omp_set_num_threads(impl.threads);
  std::shared_ptr<const runtime::Plan> plan = impl.plan_for(shapes);

  std::unique_lock<std::mutex> state_lock(impl.state_mu, std::defer_lock);
  std::byte* state = nullptr;
  if (plan->state_bytes > 0) {
    state_lock.lock();
    std::unique_ptr<Arena>& s = impl.states[plan.get()];
    if (!s) {
      s = std::make_unique<Arena>();
      s->reserve(plan->state_bytes);
      std::memset(s->data, 0, plan->state_bytes);
    }
    state = s->data;
  }

  std::unique_ptr<Arena> arena = impl.take_arena();
  struct Return {
    ModelImpl& impl;
    std::unique_ptr<Arena>& arena;
    ~Return() { impl.give_arena(std::move(arena)); }
  } give_back{impl, arena};
  arena->reserve(plan->arena_bytes);
  std::byte* base = arena->data;
  // Empty arrays (a 0 dim) are legal inputs and outputs; memcpy must not see their null data.
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i].data.empty()) continue;
    std::memcpy(base + plan->input_offsets[i], inputs[i].data.data(),
                inputs[i].data.size() * sizeof(float));
  }
  try {
    dnnl::stream stream(impl.engine);
    std::vector<const float*> in_ptrs;
    std::vector<float*> out_ptrs;
    for (const runtime::PlanStep& step : plan->steps) {
      in_ptrs.clear();
      out_ptrs.clear();
      for (size_t off : step.inputs) in_ptrs.push_back(reinterpret_cast<const float*>(base + off));
      for (size_t off : step.outputs) out_ptrs.push_back(reinterpret_cast<float*>(base + off));
      ops::RunContext ctx{&impl.engine, &stream, base + step.scratch,
                          state ? state + step.state : nullptr};
      step.kernel->run(ctx, in_ptrs, out_ptrs);
    }
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::Internal, std::string("oneDNN failed: ") + e.what());
  }
  std::vector<Array> outputs;
  for (size_t i = 0; i < plan->output_offsets.size(); ++i) {
    Array out;
    out.shape = plan->output_shapes[i];
    out.data.resize(static_cast<size_t>(out.size()));
    if (!out.data.empty()) {
      std::memcpy(out.data.data(), base + plan->output_offsets[i], out.data.size() * sizeof(float));
    }
    outputs.push_back(std::move(out));
  }
  return outputs;
}

}  // namespace kerasrt
