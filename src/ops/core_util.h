// Small helpers shared by the op families: running a oneDNN primitive with the kernel's user
// scratchpad, describing Keras-layout activations to oneDNN, and the size above which a plain
// loop is worth handing to OpenMP (oneDNN's own pool; never another one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <oneapi/dnnl/dnnl.hpp>

#include "ops/op.h"

namespace kerasrt::ops::detail {

// Elements of work below which a plain loop stays on the calling thread: waking the OpenMP team
// costs more than it saves for small tensors.
inline constexpr int64_t kParallelThreshold = 1 << 15;

// A primitive attribute with a user-managed scratchpad (the runtime plans it into the arena).
inline dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// A dense activation in Keras's layout: N, spatial..., C (channels_last) or N, C, spatial...,
// described by oneDNN's logical (N, C, spatial...) dims. Rank 3 to 5.
inline dnnl::memory::desc activation_desc(const Shape& shape, bool channels_first) {
  using tag = dnnl::memory::format_tag;
  dnnl::memory::dims dims(shape.begin(), shape.end());
  if (!channels_first) {
    dims.insert(dims.begin() + 1, dims.back());
    dims.pop_back();
  }
  static constexpr tag kLast[] = {tag::nwc, tag::nhwc, tag::ndhwc};
  static constexpr tag kFirst[] = {tag::ncw, tag::nchw, tag::ncdhw};
  const size_t r = shape.size() - 3;
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32,
                            channels_first ? kFirst[r] : kLast[r]);
}

struct Arg {
  int arg;
  const dnnl::memory* mem;
};

// Executes `prim` on ctx.stream with `args` plus ctx.scratch as the scratchpad (when the
// primitive wants one), and waits. Goes through the C API with a stack array of arguments so the
// hot path allocates nothing beyond the per-call dnnl::memory handles the caller built.
inline void execute(const dnnl::primitive& prim, const dnnl::memory::desc& scratch_md,
                    const RunContext& ctx, std::initializer_list<Arg> args) {
  dnnl_exec_arg_t c_args[8];
  int n = 0;
  for (const Arg& a : args) c_args[n++] = {a.arg, a.mem->get()};
  dnnl::memory scratch;
  if (scratch_md.get_size() > 0) {
    scratch = dnnl::memory(scratch_md, *ctx.engine, ctx.scratch);
    c_args[n++] = {DNNL_ARG_SCRATCHPAD, scratch.get()};
  }
  dnnl::error::wrap_c_api(dnnl_primitive_execute(prim.get(), ctx.stream->get(), n, c_args),
                          "could not execute a primitive");
  ctx.stream->wait();
}

// A plain (C-order) f32 memory descriptor.
inline dnnl::memory::desc plain_md(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) strides[i - 1] = strides[i] * dims[i];
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

// Runs a matmul primitive over plain src/dst buffers with weights in the layout it was created
// for (a pack) and an optional bias (`bias` null when the primitive has none): Dense and
// EinsumDense share it.
inline void execute_matmul(const dnnl::primitive& prim, const dnnl::memory::desc& scratch_md,
                           const RunContext& ctx, const dnnl::memory::desc& src_md,
                           const float* src, const dnnl::memory::desc& weights_md,
                           const void* weights, const dnnl::memory::desc& bias_md,
                           const float* bias, const dnnl::memory::desc& dst_md, float* dst) {
  const dnnl::engine& eng = *ctx.engine;
  dnnl::memory src_m(src_md, eng, const_cast<float*>(src));
  dnnl::memory dst_m(dst_md, eng, dst);
  dnnl::memory weights_m(weights_md, eng, const_cast<void*>(weights));
  if (bias == nullptr) {
    execute(prim, scratch_md, ctx,
            {{DNNL_ARG_SRC, &src_m}, {DNNL_ARG_WEIGHTS, &weights_m}, {DNNL_ARG_DST, &dst_m}});
    return;
  }
  dnnl::memory bias_m(bias_md, eng, const_cast<float*>(bias));
  execute(prim, scratch_md, ctx,
          {{DNNL_ARG_SRC, &src_m},
           {DNNL_ARG_WEIGHTS, &weights_m},
           {DNNL_ARG_BIAS, &bias_m},
           {DNNL_ARG_DST, &dst_m}});
}

}  // namespace kerasrt::ops::detail
