// What the graph passes (src/graph/passes.cpp) fold into a conv or dense op: a
// BatchNormalization after it, as a per-output-channel scale of the kernel applied while the
// kernel is packed (no extra copy of the weights; the BN shift goes into the bias), and an
// activation after it, as oneDNN eltwise post-ops on the primitive's output.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <vector>

#include "ops/elementwise.h"
#include "ops/weight_packs.h"

namespace kerasrt::ops {

struct Epilogue {
  std::vector<float> kernel_scale;  // one per output channel; empty = unscaled
  std::vector<EltwiseStep> post_ops;

  bool empty() const { return kernel_scale.empty() && post_ops.empty(); }
};

// A primitive attribute with the user scratchpad and `ep`'s post-ops.
dnnl::primitive_attr epilogue_attr(const Epilogue& ep);

// The weight-pack slot of a kernel: "kernel", or "kernel*scale" for a scaled one, so that a pack
// of the unscaled kernel (a .krt written before the passes folded it) is never taken for it.
std::string kernel_slot(const Epilogue& ep);

// reorder_fill, multiplying the weights of output channel c by ep.kernel_scale[c] in the same
// reorder (oneDNN output scales; one rounding of w * s). `oc_mask` marks the dims of `packed`
// that index the output channel (flattened in order: (G, OC/G) for a grouped conv).
PackFill kernel_fill(const Epilogue& ep, const dnnl::memory::desc& source_desc,
                     const dnnl::memory::desc& packed, const float* source, int oc_mask);

}  // namespace kerasrt::ops
