#include "ops/shape_ops.h"

#include <algorithm>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

#include "kerasrt/error.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidModel, what);
}

const Shape& single_input(std::span<const Shape> inputs, const std::string& kind) {
  if (inputs.size() != 1) {
    invalid(kind + ": expected 1 input, got " + std::to_string(inputs.size()));
  }
  return inputs[0];
}

class CopyKernel final : public Kernel {
 public:
  explicit CopyKernel(int64_t n) : bytes_(static_cast<size_t>(n) * sizeof(float)) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    if (inputs[0] != outputs[0]) std::memcpy(outputs[0], inputs[0], bytes_);
  }

 private:
  size_t bytes_;
};

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reshape

ReshapeOp::ReshapeOp(std::vector<int64_t> target, std::string kind)
    : target_(std::move(target)), kind_(std::move(kind)) {
  int unknown = 0;
  for (int64_t d : target_) {
    if (d == -1) {
      ++unknown;
    } else if (d < 0) {
      invalid(kind_ + ": target_shape " + shape_to_string(target_) + " has a negative dim");
    }
  }
  if (unknown > 1) {
    invalid(kind_ + ": target_shape " + shape_to_string(target_) + " has more than one -1");
  }
}

std::vector<Shape> ReshapeOp::infer_shapes(std::span<const Shape> inputs) const {
  const Shape& in = single_input(inputs, kind_);
  if (in.empty()) invalid(kind_ + ": input has no batch dim");
  Shape sample(in.begin() + 1, in.end());
  const int64_t n = shape_numel(sample);  // -1 when unknown
  int64_t known = 1;
  int free_at = -1;
  for (size_t i = 0; i < target_.size(); ++i) {
    if (target_[i] == -1) {
      free_at = static_cast<int>(i);
    } else {
      known *= target_[i];
    }
  }
  Shape out = {in[0]};
  out.insert(out.end(), target_.begin(), target_.end());
  if (free_at >= 0) {
    if (n < 0) {
      out[static_cast<size_t>(free_at) + 1] = kUnknownDim;  // decided at plan time
    } else if (known == 0 ? n != 0 : n % known != 0) {
      invalid(kind_ + ": cannot reshape " + shape_to_string(in) + " to (None, " +
              shape_to_string(target_).substr(1));
    } else {
      out[static_cast<size_t>(free_at) + 1] = known == 0 ? 0 : n / known;
    }
  } else if (n >= 0 && n != known) {
    invalid(kind_ + ": cannot reshape " + shape_to_string(in) + " (" + std::to_string(n) +
            " values per sample) to target_shape " + shape_to_string(target_) + " (" +
            std::to_string(known) + ")");
  }
  return {out};
}

std::unique_ptr<Kernel> ReshapeOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                           const PrepareContext&) const {
  Shape out = infer_shapes(inputs)[0];
  if (!shape_is_concrete(out))
    invalid(kind_ + ": shape " + shape_to_string(out) + " is not concrete");
  return std::make_unique<CopyKernel>(shape_numel(inputs[0]));
}

// ---------------------------------------------------------------------------------------------
// Transpose

namespace {

class ReorderKernel final : public Kernel {
 public:
  ReorderKernel(const dnnl::memory::desc& src, const dnnl::memory::desc& dst,
                const dnnl::engine& engine)
      : src_md_(src), dst_md_(dst) {
    dnnl::reorder::primitive_desc pd(engine, src_md_, engine, dst_md_,
                                     detail::user_scratchpad_attr());
    scratch_md_ = pd.scratchpad_desc();
    prim_ = dnnl::reorder(pd);
  }
  size_t scratch_bytes() const override { return scratch_md_.get_size(); }
  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    dnnl::memory src(src_md_, *ctx.engine, const_cast<float*>(inputs[0]));
    dnnl::memory dst(dst_md_, *ctx.engine, outputs[0]);
    detail::execute(prim_, scratch_md_, ctx, {{DNNL_ARG_FROM, &src}, {DNNL_ARG_TO, &dst}});
  }

 private:
  dnnl::memory::desc src_md_, dst_md_, scratch_md_;
  dnnl::primitive prim_;
};

// Strided gather for shapes oneDNN cannot describe (more than DNNL_MAX_NDIMS dims after
// collapsing) or when no engine is given.
class LoopTransposeKernel final : public Kernel {
 public:
  LoopTransposeKernel(std::vector<int64_t> dims, std::vector<int64_t> src_strides)
      : dims_(std::move(dims)), src_strides_(std::move(src_strides)) {
    n_ = 1;
    for (int64_t d : dims_) n_ *= d;
  }
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    for (int64_t i = 0; i < n_; ++i) {
      int64_t rem = i, off = 0;
      for (size_t d = dims_.size(); d-- > 0;) {
        off += (rem % dims_[d]) * src_strides_[d];
        rem /= dims_[d];
      }
      y[i] = x[off];
    }
  }

 private:
  std::vector<int64_t> dims_, src_strides_;
  int64_t n_ = 0;
};

}  // namespace

TransposeOp::TransposeOp(std::vector<int> perm, std::string kind)
    : perm_(std::move(perm)), kind_(std::move(kind)) {
  std::vector<int> sorted = perm_;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i] != static_cast<int>(i)) {
      invalid(kind_ + ": dims must be a permutation, got " +
              shape_to_string(Shape(perm_.begin(), perm_.end())));
    }
  }
}

std::vector<Shape> TransposeOp::infer_shapes(std::span<const Shape> inputs) const {
  const Shape& in = single_input(inputs, kind_);
  if (in.size() != perm_.size()) {
    invalid(kind_ + ": permutation of " + std::to_string(perm_.size()) +
            " axes cannot apply to input " + shape_to_string(in));
  }
  Shape out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = in[static_cast<size_t>(perm_[i])];
  return {out};
}

std::unique_ptr<Kernel> TransposeOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                             const PrepareContext& ctx) const {
  Shape out = infer_shapes(inputs)[0];
  const Shape& in = inputs[0];
  if (shape_numel(in) == 0) return std::make_unique<NoopKernel>();
  std::vector<int64_t> in_strides(in.size(), 1);
  for (size_t i = in.size(); i-- > 1;) in_strides[i - 1] = in_strides[i] * in[i];
  // Output dims with the input stride each one walks; drop size-1 dims and merge neighbours that
  // stay contiguous in the input (a run of axes the permutation keeps together).
  std::vector<int64_t> dims, strides;
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t d = out[i];
    int64_t s = in_strides[static_cast<size_t>(perm_[i])];
    if (d == 1) continue;
    if (!dims.empty() && strides.back() == s * d) {
      dims.back() *= d;
      strides.back() = s;
      continue;
    }
    dims.push_back(d);
    strides.push_back(s);
  }
  if (dims.size() <= 1 && (strides.empty() || strides[0] == 1)) {
    return std::make_unique<CopyKernel>(shape_numel(in));  // the identity in memory
  }
  if (ctx.engine == nullptr || dims.size() > DNNL_MAX_NDIMS) {
    return std::make_unique<LoopTransposeKernel>(dims, strides);
  }
  dnnl::memory::desc src(dims, dnnl::memory::data_type::f32, strides);
  return std::make_unique<ReorderKernel>(src, detail::plain_md(dims), *ctx.engine);
}

// ---------------------------------------------------------------------------------------------
// RepeatVector

namespace {

class RepeatKernel final : public Kernel {
 public:
  RepeatKernel(int64_t batch, int64_t n, int64_t features)
      : batch_(batch), n_(n), features_(features) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const size_t bytes = static_cast<size_t>(features_) * sizeof(float);
    for (int64_t b = 0; b < batch_; ++b) {
      const float* src = inputs[0] + b * features_;
      float* dst = outputs[0] + b * n_ * features_;
      for (int64_t i = 0; i < n_; ++i) std::memcpy(dst + i * features_, src, bytes);
    }
  }

 private:
  int64_t batch_, n_, features_;
};

}  // namespace

std::vector<Shape> RepeatVectorOp::infer_shapes(std::span<const Shape> inputs) const {
  const Shape& in = single_input(inputs, kind());
  if (in.size() != 2)
    invalid("RepeatVector: expected a (batch, features) input, got " + shape_to_string(in));
  if (n_ < 0) invalid("RepeatVector: n must be >= 0, got " + std::to_string(n_));
  return {{in[0], n_, in[1]}};
}

std::unique_ptr<Kernel> RepeatVectorOp::prepare(std::span<const Shape> inputs,
                                                std::span<const Shape>,
                                                const PrepareContext&) const {
  infer_shapes(inputs);
  const Shape& in = inputs[0];
  if (shape_numel(in) == 0 || n_ == 0) return std::make_unique<NoopKernel>();
  return std::make_unique<RepeatKernel>(in[0], n_, in[1]);
}

// ---------------------------------------------------------------------------------------------
// Reference

namespace reference {

void transpose(const Shape& in, const std::vector<int>& perm, std::span<const float> x,
               std::span<float> y) {
  const size_t r = in.size();
  std::vector<int64_t> st(r, 1);
  for (size_t i = r; i-- > 1;) st[i - 1] = st[i] * in[i];
  Shape out(r);
  for (size_t i = 0; i < r; ++i) out[i] = in[static_cast<size_t>(perm[i])];
  const int64_t n = shape_numel(in);
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, off = 0;
    for (size_t d = r; d-- > 0;) {
      off += (rem % out[d]) * st[static_cast<size_t>(perm[d])];
      rem /= out[d];
    }
    y[static_cast<size_t>(i)] = x[static_cast<size_t>(off)];
  }
}

void repeat_vector(const Shape& in, int64_t n, std::span<const float> x, std::span<float> y) {
  size_t o = 0;
  for (int64_t b = 0; b < in[0]; ++b) {
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t f = 0; f < in[1]; ++f) y[o++] = x[static_cast<size_t>(b * in[1] + f)];
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
