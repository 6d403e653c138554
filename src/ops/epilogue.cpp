#include "ops/epilogue.h"

#include <utility>

namespace kerasrt::ops {

dnnl::primitive_attr epilogue_attr(const Epilogue& ep) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (!ep.post_ops.empty()) {
    dnnl::post_ops po;
    for (const EltwiseStep& s : ep.post_ops) po.append_eltwise(1.0f, s.alg, s.alpha, s.beta);
    attr.set_post_ops(po);
  }
  return attr;
}

std::string kernel_slot(const Epilogue& ep) {
  return ep.kernel_scale.empty() ? "kernel" : "kernel*scale";
}

PackFill kernel_fill(const Epilogue& ep, const dnnl::memory::desc& source_desc,
                     const dnnl::memory::desc& packed, const float* source, int oc_mask) {
  if (ep.kernel_scale.empty()) return reorder_fill(source_desc, packed, source);
  return [source_desc, packed, source, scales = ep.kernel_scale, oc_mask](
             const dnnl::engine& engine, void* dst) {
    dnnl::primitive_attr attr;
    attr.set_output_scales(oc_mask, scales);
    dnnl::memory src(source_desc, engine, const_cast<float*>(source));
    dnnl::memory out(packed, engine, dst);
    dnnl::stream stream(engine);
    dnnl::reorder(dnnl::reorder::primitive_desc(engine, source_desc, engine, packed, attr))
        .execute(stream, src, out);
    stream.wait();
  };
}

}  // namespace kerasrt::ops
