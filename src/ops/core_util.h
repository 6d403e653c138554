// Small helpers shared by the core op families (dense, elementwise, softmax, merge, shape ops,
// embedding): running a oneDNN primitive with the kernel's user scratchpad, and the size above
// which a plain loop is worth handing to OpenMP (oneDNN's own pool; never another one).
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

}  // namespace kerasrt::ops::detail
