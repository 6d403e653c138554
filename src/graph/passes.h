// Graph passes: rewrite the graph the Keras builder produced, once, before any plan is compiled
// (Model::load and convert_model run them). Each pass keeps the model's outputs equal to the
// unfused graph's within float rounding (the conformance tolerance holds; tests/graph/).
//
//   BatchNorm folding   Conv / Dense -> BatchNormalization over the output channels: the BN scale
//                       multiplies the kernel per output channel while the kernel is packed (no
//                       copy of the weights at load), the bias becomes bias * scale + shift.
//   Activation fusion   Conv / Dense -> activation: the activation runs as oneDNN post-ops of the
//                       primitive, where oneDNN computes Keras's formula (ops::post_op_chain);
//                       BatchNormalization -> relu / relu6 / leaky relu / hard_tanh: in the BN
//                       loop.
//
// A node is folded into its producer only when the value between them has no other consumer and
// is not a model output. The fused node is named "<producer>+<consumer>[+<activation>]" (so its
// packed weights have their own key: the pack key is the node name and index; see
// runtime/plan.cpp) and keeps the producer's layer class.
#pragma once

#include "graph/graph.h"

namespace kerasrt::graph {

struct PassStats {
  int batch_norms_folded = 0;
  int activations_fused = 0;
};

// Runs every pass on `g` in place. Node order stays topological; values no node reads or writes
// any more are dropped (ids are renumbered).
PassStats optimize(Graph& g);

}  // namespace kerasrt::graph
