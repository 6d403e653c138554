// A compiled execution plan: the graph's nodes in order with kernels prepared for one set of
// concrete input shapes, and every activation and scratch buffer placed at a fixed offset of one
// arena (TFLite's lifetime-planned arena: buffers whose lifetimes do not overlap share memory).
// Immutable once built; many threads run it at once, each with its own arena.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "base/tensor.h"
#include "graph/graph.h"
#include "ops/op.h"

namespace kerasrt::runtime {

struct PlanStep {
  const graph::Node* node = nullptr;
  std::unique_ptr<ops::Kernel> kernel;
  std::vector<size_t> inputs;   // byte offsets in the arena
  std::vector<size_t> outputs;  // byte offsets in the arena
  size_t scratch = 0;           // byte offset of the kernel's scratch
  size_t state = 0;             // byte offset of the kernel's state in the plan's state buffer
};

struct Plan {
  std::vector<PlanStep> steps;
  std::vector<Shape> input_shapes;
  std::vector<size_t> input_offsets;
  std::vector<Shape> output_shapes;
  std::vector<size_t> output_offsets;
  size_t arena_bytes = 0;
  size_t state_bytes = 0;  // persistent state of all kernels (0 for a stateless model)
};

// Infers concrete shapes for `input_shapes`, prepares every kernel and plans the arena.
// Throws Error(InvalidArgument) when the inputs do not fit the model, naming the layer.
std::unique_ptr<Plan> compile_plan(const graph::Graph& graph,
                                   const std::vector<Shape>& input_shapes,
                                   const ops::PrepareContext& ctx);

struct Interval {
  size_t bytes = 0;
  int first = 0;  // first step that writes or reads the buffer (-1: before the first step)
  int last = 0;   // last step that reads it
};

// Greedy by-size placement (largest first, each at the lowest offset free for its lifetime).
// Returns one offset per interval and the arena size; offsets are 64-byte aligned.
std::vector<size_t> place_buffers(const std::vector<Interval>& intervals, size_t* arena_bytes);

}  // namespace kerasrt::runtime
