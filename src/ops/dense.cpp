#include "ops/dense.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "kerasrt/error.h"
#include "ops/core_util.h"
#include "ops/weight_packs.h"

namespace kerasrt::ops {

namespace {

using dnnl::memory;

class DenseKernel final : public Kernel {
 public:
  DenseKernel(const DenseOp& op, int64_t rows, const PrepareContext& ctx) {
    const dnnl::engine& engine = *ctx.engine;
    const int64_t k = op.in_features(), n = op.units();
    src_md_ = memory::desc({rows, k}, memory::data_type::f32, memory::format_tag::ab);
    dst_md_ = memory::desc({rows, n}, memory::data_type::f32, memory::format_tag::ab);
    memory::desc w_any({k, n}, memory::data_type::f32, memory::format_tag::any);
    has_bias_ = !op.bias().empty();
    if (has_bias_) {
      bias_md_ = memory::desc({1, n}, memory::data_type::f32, memory::format_tag::ab);
    }
    dnnl::primitive_attr attr = epilogue_attr(op.epilogue());
    dnnl::matmul::desc d = has_bias_ ? dnnl::matmul::desc(src_md_, w_any, bias_md_, dst_md_)
                                     : dnnl::matmul::desc(src_md_, w_any, dst_md_);
    dnnl::matmul::primitive_desc pd(d, attr, engine);
    scratch_md_ = pd.scratchpad_desc();
    prim_ = dnnl::matmul(pd);

    // Pack the kernel once into the primitive's preferred layout (compute-backend.md §3: unpacked
    // weights cost up to 2.5x at batch 1), scaled per unit (dim 1) by a folded BatchNormalization.
    memory::desc w_plain({k, n}, memory::data_type::f32, memory::format_tag::ab);
    weights_ = packed_weight(
        ctx, kernel_slot(op.epilogue()), pd.weights_desc(),
        kernel_fill(op.epilogue(), w_plain, pd.weights_desc(), op.kernel().data(), 0b10),
        op.kernel());
    if (has_bias_) bias_ = op.bias();
  }

  size_t scratch_bytes() const override { return scratch_md_.get_size(); }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    detail::execute_matmul(prim_, scratch_md_, ctx, src_md_, inputs[0], weights_->desc,
                           weights_->data, bias_md_, has_bias_ ? bias_.data() : nullptr, dst_md_,
                           outputs[0]);
  }

 private:
  memory::desc src_md_, dst_md_, bias_md_, scratch_md_;
  dnnl::primitive prim_;
  std::shared_ptr<const PackedWeight> weights_;
  Tensor bias_;
  bool has_bias_ = false;
};

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

}  // namespace

DenseOp::DenseOp(Tensor kernel, Tensor bias, Epilogue epilogue)
    : kernel_(std::move(kernel)), bias_(std::move(bias)), epilogue_(std::move(epilogue)) {
  if (kernel_.shape().size() != 2) {
    throw Error(ErrorCode::InvalidModel,
                "Dense: kernel must be (in, units), got " + shape_to_string(kernel_.shape()));
  }
  if (!bias_.empty() && bias_.shape() != Shape{units()}) {
    throw Error(ErrorCode::InvalidModel, "Dense: bias must be " + shape_to_string({units()}) +
                                             ", got " + shape_to_string(bias_.shape()));
  }
  if (!epilogue_.kernel_scale.empty() &&
      static_cast<int64_t>(epilogue_.kernel_scale.size()) != units()) {
    throw Error(ErrorCode::Internal, "Dense: a kernel scale per unit expected");
  }
}

std::vector<Shape> DenseOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) {
    throw Error(ErrorCode::InvalidModel,
                "Dense: expected 1 input, got " + std::to_string(inputs.size()));
  }
  const Shape& in = inputs[0];
  if (in.size() < 2 || (in.back() >= 0 && in.back() != in_features())) {
    throw Error(ErrorCode::InvalidModel, "Dense: expected an input (..., " +
                                             std::to_string(in_features()) + "), got " +
                                             shape_to_string(in));
  }
  Shape out = in;
  out.back() = units();
  return {out};
}

std::unique_ptr<Kernel> DenseOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                         const PrepareContext& ctx) const {
  infer_shapes(inputs);
  int64_t rows = shape_numel(inputs[0]) / in_features();
  if (rows == 0) return std::make_unique<NoopKernel>();
  if (ctx.engine == nullptr) throw Error(ErrorCode::Internal, "Dense: no oneDNN engine");
  return std::make_unique<DenseKernel>(*this, rows, ctx);
}

namespace reference {

void dense(int64_t rows, std::span<const float> x, const Tensor& kernel, const Tensor& bias,
           std::span<float> y) {
  const int64_t k = kernel.shape()[0], n = kernel.shape()[1];
  const float* w = kernel.data();
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = bias.empty() ? 0.0 : bias.data()[j];
      for (int64_t i = 0; i < k; ++i) {
        acc += static_cast<double>(x[static_cast<size_t>(r * k + i)]) * w[i * n + j];
      }
      y[static_cast<size_t>(r * n + j)] = static_cast<float>(acc);
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
