// Numpy-style broadcasting for the core families: merge layers (Add, Multiply, ... with inputs
// of different shapes, Keras 3 base_merge.py), PReLU's shared axes and Rescaling's per-channel
// scale. Plain loops: these ops are memory-bound and oneDNN's binary primitive would need one
// primitive per shape pair for no gain.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/core_util.h"

namespace kerasrt::ops::detail {

// The broadcast of two shapes of equal rank (numpy rules; -1 = unknown propagates unless the
// other dim decides it). Throws Error(InvalidModel) naming `context` for incompatible dims.
Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& context);

// Left-pads `s` with 1s to `rank`.
Shape pad_rank(const Shape& s, size_t rank);

// A broadcast binary operation over concrete shapes, with adjacent dims collapsed so that the
// innermost loop is as long as possible. a_strides/b_strides are 0 along broadcast dims.
struct BroadcastPlan {
  std::vector<int64_t> dims;  // collapsed output dims (at least one)
  std::vector<int64_t> a_strides;
  std::vector<int64_t> b_strides;
  int64_t numel = 0;
};

// out: the output shape; a, b: operand shapes of the same rank, each dim equal to out's or 1.
BroadcastPlan make_broadcast_plan(const Shape& out, const Shape& a, const Shape& b);

// y[i] = f(a[ia], b[ib]) over the plan. y may alias a or b when that operand is not broadcast.
template <class F>
void broadcast_apply(const BroadcastPlan& p, const float* a, const float* b, float* y, F f) {
  const size_t rank = p.dims.size();
  const int64_t inner = p.dims[rank - 1];
  const int64_t sa = p.a_strides[rank - 1];
  const int64_t sb = p.b_strides[rank - 1];
  const int64_t outer = inner == 0 ? 0 : p.numel / inner;
  auto row = [&](int64_t o) {
    // Decompose the outer index into the collapsed dims (all but the innermost).
    int64_t oa = 0, ob = 0, rem = o;
    for (size_t d = rank - 1; d-- > 0;) {
      int64_t i = rem % p.dims[d];
      rem /= p.dims[d];
      oa += i * p.a_strides[d];
      ob += i * p.b_strides[d];
    }
    const float* pa = a + oa;
    const float* pb = b + ob;
    float* py = y + o * inner;
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i], pb[i]);
    } else if (sa == 1) {
      const float vb = pb[0];
      for (int64_t i = 0; i < inner; ++i) py[i] = f(pa[i], vb);
    } else if (sb == 1) {
      const float va = pa[0];
      for (int64_t i = 0; i < inner; ++i) py[i] = f(va, pb[i]);
    } else {
      const float v = f(pa[0], pb[0]);
      for (int64_t i = 0; i < inner; ++i) py[i] = v;
    }
  };
  if (p.numel >= kParallelThreshold && outer > 1) {
#pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < outer; ++o) row(o);
  } else {
    for (int64_t o = 0; o < outer; ++o) row(o);
  }
}

// A constant `c` of shape `c_shape` broadcast against the trailing dims of a concrete per-sample
// shape `sample` (right-aligned, numpy rules), expanded to the shortest trailing block of
// `sample` that covers every non-1 dim of `c_shape`. Returns the expanded block; element i of a
// sample then pairs with block[i % block.size()]. Throws Error(InvalidModel) naming `context`
// when the shapes do not broadcast.
std::vector<float> expand_trailing(std::span<const float> c, const Shape& c_shape,
                                   const Shape& sample, const std::string& context);

}  // namespace kerasrt::ops::detail
