#include "runtime/plan.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "kerasrt/error.h"
#include "ops/weight_packs.h"

namespace kerasrt::runtime {

namespace {

size_t round_up_64(size_t n) {
  return (n + 63) / 64 * 64;
}

}  // namespace

std::vector<size_t> place_buffers(const std::vector<Interval>& intervals, size_t* arena_bytes) {
  std::vector<size_t> order(intervals.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return intervals[a].bytes > intervals[b].bytes; });
  std::vector<size_t> offsets(intervals.size(), 0);
  std::vector<size_t> placed;
  size_t total = 0;
  for (size_t i : order) {
    const Interval& cur = intervals[i];
    size_t need = round_up_64(cur.bytes);
    // Buffers alive at the same time as this one, by offset.
    std::vector<size_t> live;
    for (size_t j : placed) {
      const Interval& other = intervals[j];
      if (other.first <= cur.last && cur.first <= other.last) live.push_back(j);
    }
    std::sort(live.begin(), live.end(),
              [&](size_t a, size_t b) { return offsets[a] < offsets[b]; });
    size_t offset = 0;
    for (size_t j : live) {
      if (offsets[j] >= offset + need) break;  // fits in the gap before j
      offset = std::max(offset, offsets[j] + round_up_64(intervals[j].bytes));
    }
    offsets[i] = offset;
    placed.push_back(i);
    total = std::max(total, offset + need);
  }
  *arena_bytes = total;
  return offsets;
}

std::unique_ptr<Plan> compile_plan(const graph::Graph& graph,
                                   const std::vector<Shape>& input_shapes,
                                   const ops::PrepareContext& ctx) {
  if (input_shapes.size() != graph.inputs.size()) {
    throw Error(ErrorCode::InvalidArgument,
                "the model takes " + std::to_string(graph.inputs.size()) + " inputs, got " +
                    std::to_string(input_shapes.size()));
  }
  // Packs requested by a compilation that failed half-way were never filled: forget them.
  if (ctx.packs != nullptr) ctx.packs->discard_pending();
  auto plan = std::make_unique<Plan>();
  std::vector<Shape> shapes(graph.values.size());
  std::vector<bool> known(graph.values.size(), false);
  for (size_t i = 0; i < graph.inputs.size(); ++i) {
    shapes[static_cast<size_t>(graph.inputs[i])] = input_shapes[i];
    known[static_cast<size_t>(graph.inputs[i])] = true;
  }

  const int num_steps = static_cast<int>(graph.nodes.size());
  std::vector<Interval> intervals(graph.values.size());
  for (size_t v = 0; v < graph.values.size(); ++v) {
    intervals[v].first = graph.values[v].producer;  // -1 for graph inputs
    intervals[v].last = intervals[v].first;
  }
  plan->steps.resize(graph.nodes.size());
  std::vector<size_t> scratch_interval(graph.nodes.size());
  // A node's packed weights are keyed by the first node running the same op (a shared layer
  // packs once), named so that the key is the same in every process that builds this graph.
  std::map<const ops::Op*, std::string> weight_keys;
  ops::PrepareContext node_ctx = ctx;
  for (int s = 0; s < num_steps; ++s) {
    const graph::Node& node = graph.nodes[static_cast<size_t>(s)];
    node_ctx.weight_key =
        weight_keys.try_emplace(node.op.get(), node.name + "#" + std::to_string(s)).first->second;
    std::vector<Shape> in_shapes;
    for (graph::ValueId v : node.inputs) {
      if (!known[static_cast<size_t>(v)]) {
        throw Error(ErrorCode::Internal,
                    "layer '" + node.name + "' reads a value before it is produced");
      }
      in_shapes.push_back(shapes[static_cast<size_t>(v)]);
      intervals[static_cast<size_t>(v)].last = std::max(intervals[static_cast<size_t>(v)].last, s);
    }
    std::vector<Shape> out_shapes;
    try {
      out_shapes = node.op->infer_shapes(in_shapes);
      for (const Shape& sh : out_shapes) {
        if (!shape_is_concrete(sh)) {
          throw Error(ErrorCode::Internal,
                      "output shape " + shape_to_string(sh) + " is not concrete");
        }
      }
      if (out_shapes.size() != node.outputs.size()) {
        throw Error(ErrorCode::Internal, "op returned " + std::to_string(out_shapes.size()) +
                                             " shapes for " + std::to_string(node.outputs.size()) +
                                             " outputs");
      }
      plan->steps[static_cast<size_t>(s)].kernel =
          node.op->prepare(in_shapes, out_shapes, node_ctx);
    } catch (const Error& e) {
      ErrorCode code = e.code() == ErrorCode::InvalidModel ? ErrorCode::InvalidArgument : e.code();
      throw Error(code, "layer '" + node.name + "' (" + node.layer_class + "): " + e.what());
    }
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      size_t v = static_cast<size_t>(node.outputs[o]);
      shapes[v] = out_shapes[o];
      known[v] = true;
    }
    plan->steps[static_cast<size_t>(s)].node = &node;
    scratch_interval[static_cast<size_t>(s)] = intervals.size();
    intervals.push_back(
        Interval{plan->steps[static_cast<size_t>(s)].kernel->scratch_bytes(), s, s});
  }
  for (graph::ValueId v : graph.outputs) intervals[static_cast<size_t>(v)].last = num_steps;
  for (size_t v = 0; v < graph.values.size(); ++v) {
    if (!known[v]) continue;  // never produced (cannot happen for a valid graph)
    int64_t n = shape_numel(shapes[v]);
    intervals[v].bytes = static_cast<size_t>(n) * sizeof(float);
  }

  // Every weight this plan packs, in one pass into one block, before any kernel runs.
  if (ctx.packs != nullptr) ctx.packs->fill_pending(*ctx.engine);

  std::vector<size_t> offsets = place_buffers(intervals, &plan->arena_bytes);
  for (int s = 0; s < num_steps; ++s) {
    PlanStep& step = plan->steps[static_cast<size_t>(s)];
    for (graph::ValueId v : step.node->inputs)
      step.inputs.push_back(offsets[static_cast<size_t>(v)]);
    for (graph::ValueId v : step.node->outputs)
      step.outputs.push_back(offsets[static_cast<size_t>(v)]);
    step.scratch = offsets[scratch_interval[static_cast<size_t>(s)]];
    step.state = plan->state_bytes;
    plan->state_bytes += (step.kernel->state_bytes() + 63) / 64 * 64;
  }
  for (graph::ValueId v : graph.inputs) {
    plan->input_shapes.push_back(shapes[static_cast<size_t>(v)]);
    plan->input_offsets.push_back(offsets[static_cast<size_t>(v)]);
  }
  for (graph::ValueId v : graph.outputs) {
    plan->output_shapes.push_back(shapes[static_cast<size_t>(v)]);
    plan->output_offsets.push_back(offsets[static_cast<size_t>(v)]);
  }
  return plan;
}

}  // namespace kerasrt::runtime
