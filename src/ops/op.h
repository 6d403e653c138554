// The op interface: what every layer family implements (TFLite's prepare/eval split).
//
//   Op       immutable attributes + bound weights of one graph node, created by a Keras binder
//            (src/keras/layers/). infer_shapes() works with unknown dims (-1) at build time and
//            with concrete shapes at plan time.
//   Kernel   what prepare() returns for concrete input shapes: oneDNN primitives created, weights
//            packed. run() is const and may be called from many threads at once on different
//            buffers; it does not allocate from the heap on the hot path and does not throw for
//            shapes prepare() accepted.
//
// Layout: activations are dense float32 in C order with the batch first, exactly the layout Keras
// uses (channels_last or channels_first as the layer's data_format says).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"

namespace dnnl {
struct engine;
struct stream;
}  // namespace dnnl

namespace kerasrt::ops {

class WeightPacks;

struct PrepareContext {
  dnnl::engine* engine = nullptr;  // the model's CPU engine
  int threads = 1;                 // threads the plan runs with (fixed at load)
  // The model's packed-weight store and this node's key in it (see ops/weight_packs.h); null
  // for an op prepared on its own, whose packs are then made right away.
  WeightPacks* packs = nullptr;
  std::string weight_key;
};

struct RunContext {
  dnnl::engine* engine = nullptr;
  dnnl::stream* stream = nullptr;  // one per predict call
  // This kernel's scratch region for this call: Kernel::scratch_bytes() bytes, 64-byte aligned.
  std::byte* scratch = nullptr;
  // This kernel's persistent state (Kernel::state_bytes(), 64-byte aligned): kept from one
  // predict call to the next on the same model and input shapes, zero at first and after
  // Model::reset_states(). Calls of a model with state are serialised by the runtime.
  std::byte* state = nullptr;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // Per-call scratch (oneDNN user scratchpad, temporaries), planned into the activation arena.
  virtual size_t scratch_bytes() const { return 0; }
  // Per-model persistent state (a stateful RNN's carried states); see RunContext::state.
  virtual size_t state_bytes() const { return 0; }
  // inputs/outputs: one pointer per op input/output, buffers of the shapes given to prepare().
  virtual void run(const RunContext& ctx, std::span<const float* const> inputs,
                   std::span<float* const> outputs) const = 0;
};

class Op {
 public:
  virtual ~Op() = default;
  // A short name of the op family and variant, for plans and errors ("Conv2D", "Dense", "Add").
  virtual std::string kind() const = 0;
  // Output shapes for the given input shapes (batch first; -1 = unknown and must propagate).
  // Throws Error(InvalidModel) when the inputs cannot feed this op.
  virtual std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const = 0;
  // Prepares a kernel for concrete shapes. Called once per plan (per distinct input shapes).
  virtual std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs,
                                          std::span<const Shape> outputs,
                                          const PrepareContext& ctx) const = 0;
};

}  // namespace kerasrt::ops
