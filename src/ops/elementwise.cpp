#include "ops/elementwise.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

#include "kerasrt/error.h"
#include "ops/broadcast.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

namespace {

using dnnl::algorithm;

constexpr float kSeluAlpha = 1.6732632423543772f;
constexpr float kSeluScale = 1.0507009873554805f;

// TF's softplus (tensorflow/core/kernels/softplus_op.h): exp(x) may overflow or underflow where
// the result is within machine epsilon of x or exp(x); threshold = log(FLT_EPSILON) + 2.
inline float softplus_f(float x) {
  constexpr float kThreshold = -13.942384719848633f;  // logf(1.1920929e-07f) + 2
  if (x > -kThreshold) return x;
  if (x < kThreshold) return std::exp(x);
  return std::log1p(std::exp(x));
}

inline float sigmoid_f(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

inline float relu6p3_over6(float x) {
  return std::min(std::max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
}

// Keras ReLU.static_call (keras/src/activations/activations.py; tf_keras/backend.py::relu).
inline float keras_relu(const UnaryAttrs& a, float x) {
  const float slope = a.alpha, max_value = a.beta, threshold = a.gamma;
  if (slope != 0 && !a.has_max && threshold == 0) return x > 0 ? x : slope * x;  // leaky_relu
  float negative_part = 0;
  if (slope != 0) negative_part = std::max(threshold != 0 ? -x + threshold : -x, 0.0f);
  bool clip_max = a.has_max;
  float y;
  if (threshold != 0) {
    y = x > threshold ? x : 0.0f;
  } else if (a.has_max && max_value == 6) {
    y = std::min(std::max(x, 0.0f), 6.0f);
    clip_max = false;
  } else {
    y = std::max(x, 0.0f);
  }
  if (clip_max) y = std::min(std::max(y, 0.0f), max_value);
  if (slope != 0) y -= slope * negative_part;
  return y;
}

template <class F>
void map_loop(const float* x, float* y, int64_t n, F f) {
  if (n >= detail::kParallelThreshold) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  }
}

void run_loop(const UnaryAttrs& a, const float* x, float* y, int64_t n) {
  const float alpha = a.alpha, beta = a.beta;
  switch (a.kind) {
    case UnaryKind::Relu:
      map_loop(x, y, n, [a](float v) { return keras_relu(a, v); });
      return;
    case UnaryKind::Sigmoid:
      map_loop(x, y, n, [](float v) { return sigmoid_f(v); });
      return;
    case UnaryKind::HardSigmoid:
      map_loop(x, y, n, [=](float v) { return std::min(std::max(alpha * v + beta, 0.0f), 1.0f); });
      return;
    case UnaryKind::HardSigmoidRelu6:
      map_loop(x, y, n, [](float v) { return relu6p3_over6(v); });
      return;
    case UnaryKind::HardSilu:
      map_loop(x, y, n, [](float v) { return v * relu6p3_over6(v); });
      return;
    case UnaryKind::Tanh:
      map_loop(x, y, n, [](float v) { return std::tanh(v); });
      return;
    case UnaryKind::Softplus:
      map_loop(x, y, n, [](float v) { return softplus_f(v); });
      return;
    case UnaryKind::Softsign:
      map_loop(x, y, n, [](float v) { return v / (1.0f + std::fabs(v)); });
      return;
    case UnaryKind::Elu:
      map_loop(x, y, n, [=](float v) { return v > 0 ? v : alpha * std::expm1(v); });
      return;
    case UnaryKind::Selu:
      map_loop(x, y, n, [](float v) {
        return v > 0 ? kSeluScale * v : kSeluScale * kSeluAlpha * std::expm1(v);
      });
      return;
    case UnaryKind::GeluErf:
      map_loop(x, y, n,
               [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); });
      return;
    case UnaryKind::GeluTanh:
      map_loop(x, y, n, [](float v) {
        return 0.5f * v * (1.0f + std::tanh(0.79788456080286536f * (v + 0.044715f * v * v * v)));
      });
      return;
    case UnaryKind::Silu:
      map_loop(x, y, n, [](float v) { return v * sigmoid_f(v); });
      return;
    case UnaryKind::Mish:
      map_loop(x, y, n, [](float v) { return v * std::tanh(softplus_f(v)); });
      return;
    case UnaryKind::Exp:
      map_loop(x, y, n, [](float v) { return std::exp(v); });
      return;
    case UnaryKind::LogSigmoid:
      map_loop(x, y, n, [](float v) { return -softplus_f(-v); });
      return;
    case UnaryKind::ThresholdedRelu:
      map_loop(x, y, n, [=](float v) { return v > alpha ? v : 0.0f; });
      return;
    case UnaryKind::HardTanh:
      map_loop(x, y, n, [](float v) { return std::min(std::max(v, -1.0f), 1.0f); });
      return;
    case UnaryKind::TanhShrink:
      map_loop(x, y, n, [](float v) { return v - std::tanh(v); });
      return;
    case UnaryKind::SoftShrink:
      map_loop(x, y, n, [=](float v) {
        return v > alpha ? v - alpha : v < -alpha ? v + alpha : 0.0f;
      });
      return;
    case UnaryKind::HardShrink:
      map_loop(x, y, n, [=](float v) { return std::fabs(v) > alpha ? v : 0.0f; });
      return;
    case UnaryKind::Celu:
      map_loop(x, y, n, [=](float v) {
        return std::max(v, 0.0f) + alpha * std::expm1(std::min(v, 0.0f) / alpha);
      });
      return;
    case UnaryKind::Squareplus:
      map_loop(x, y, n, [=](float v) { return (v + std::sqrt(v * v + alpha)) / 2.0f; });
      return;
    case UnaryKind::SparsePlus:
      map_loop(x, y, n, [](float v) {
        return v <= -1.0f ? 0.0f : v >= 1.0f ? v : (v + 1.0f) * (v + 1.0f) / 4.0f;
      });
      return;
    case UnaryKind::SparseSigmoid:
      map_loop(x, y, n, [](float v) {
        return v <= -1.0f ? 0.0f : v >= 1.0f ? 1.0f : 0.5f * (v + 1.0f);
      });
      return;
  }
}

class LoopKernel final : public Kernel {
 public:
  LoopKernel(UnaryAttrs attrs, int64_t n) : attrs_(attrs), n_(n) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    run_loop(attrs_, inputs[0], outputs[0], n_);
  }

 private:
  UnaryAttrs attrs_;
  int64_t n_;
};

class EltwiseKernel final : public Kernel {
 public:
  EltwiseKernel(const std::vector<EltwiseStep>& chain, int64_t n, const dnnl::engine& engine)
      : md_({n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::a) {
    dnnl::primitive_attr attr = detail::user_scratchpad_attr();
    for (const EltwiseStep& s : chain) {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, s.alg, md_, s.alpha,
                                    s.beta);
      dnnl::eltwise_forward::primitive_desc pd(d, attr, engine);
      scratch_mds_.push_back(pd.scratchpad_desc());
      scratch_ = std::max(scratch_, pd.scratchpad_desc().get_size());
      prims_.emplace_back(pd);
    }
  }
  size_t scratch_bytes() const override { return scratch_; }
  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    dnnl::memory src(md_, *ctx.engine, const_cast<float*>(inputs[0]));
    dnnl::memory dst(md_, *ctx.engine, outputs[0]);
    for (size_t i = 0; i < prims_.size(); ++i) {
      // Later steps run in place on the output.
      detail::execute(prims_[i], scratch_mds_[i], ctx,
                      {{DNNL_ARG_SRC, i == 0 ? &src : &dst}, {DNNL_ARG_DST, &dst}});
    }
  }

 private:
  dnnl::memory::desc md_;
  std::vector<dnnl::eltwise_forward> prims_;
  std::vector<dnnl::memory::desc> scratch_mds_;
  size_t scratch_ = 0;
};

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

const Shape& single_input(std::span<const Shape> inputs, const std::string& kind) {
  if (inputs.size() != 1) {
    throw Error(ErrorCode::InvalidModel,
                kind + ": expected 1 input, got " + std::to_string(inputs.size()));
  }
  return inputs[0];
}

Shape sample_shape(const Shape& in) {
  return Shape(in.begin() + 1, in.end());
}

// Checks at build time that a constant of shape `c` broadcasts against the input's trailing dims.
void check_trailing_broadcast(const Shape& c, const Shape& in, const std::string& what) {
  Shape sample = sample_shape(in);
  for (size_t i = 0; i < c.size(); ++i) {
    int64_t cd = c[c.size() - 1 - i];
    if (cd == 1) continue;
    if (i >= sample.size()) {
      throw Error(ErrorCode::InvalidModel, what + ": shape " + shape_to_string(c) +
                                               " does not broadcast against input " +
                                               shape_to_string(in));
    }
    int64_t sd = sample[sample.size() - 1 - i];
    if (sd >= 0 && sd != cd) {
      throw Error(ErrorCode::InvalidModel, what + ": shape " + shape_to_string(c) +
                                               " does not broadcast against input " +
                                               shape_to_string(in));
    }
  }
}

}  // namespace

// Computes `a` exactly (same function, oneDNN's accuracy). Piecewise-linear kinds stay loops:
// the compiler vectorises them and they are memory-bound anyway.
std::vector<EltwiseStep> eltwise_chain(const UnaryAttrs& a) {
  switch (a.kind) {
    case UnaryKind::Relu:
      // Plain and leaky relu: oneDNN relu is x > 0 ? x : alpha * x, as tf.nn.leaky_relu.
      if (!a.has_max && a.gamma == 0) return {{algorithm::eltwise_relu, a.alpha, 0}};
      return {};
    case UnaryKind::Sigmoid:
      return {{algorithm::eltwise_logistic, 0, 0}};
    case UnaryKind::Tanh:
      return {{algorithm::eltwise_tanh, 0, 0}};
    case UnaryKind::Elu:
      return {{algorithm::eltwise_elu, a.alpha, 0}};
    case UnaryKind::Selu:
      return {{algorithm::eltwise_elu, kSeluAlpha, 0}, {algorithm::eltwise_linear, kSeluScale, 0}};
    case UnaryKind::GeluErf:
      return {{algorithm::eltwise_gelu_erf, 0, 0}};
    case UnaryKind::GeluTanh:
      return {{algorithm::eltwise_gelu_tanh, 0, 0}};
    case UnaryKind::Silu:
      return {{algorithm::eltwise_swish, 1.0f, 0}};
    case UnaryKind::Mish:
      return {{algorithm::eltwise_mish, 0, 0}};
    case UnaryKind::Exp:
      return {{algorithm::eltwise_exp, 0, 0}};
    case UnaryKind::LogSigmoid:
      return {{algorithm::eltwise_logsigmoid, 0, 0}};
    case UnaryKind::HardSilu:
      return {{algorithm::eltwise_hardswish, 0, 0}};
    case UnaryKind::Softplus:
      return {{algorithm::eltwise_soft_relu, 0, 0}};
    default:
      return {};
  }
}

std::vector<EltwiseStep> post_op_chain(const UnaryAttrs& a) {
  if (std::vector<EltwiseStep> chain = eltwise_chain(a); !chain.empty()) return chain;
  switch (a.kind) {
    case UnaryKind::Relu:
      // keras_relu without slope and threshold: clip(max(x, 0), 0, max_value); max_value >= 0.
      if (a.has_max && a.alpha == 0 && a.gamma == 0 && a.beta >= 0) {
        return {{algorithm::eltwise_clip, 0.0f, a.beta}};
      }
      return {};
    case UnaryKind::HardTanh:
      return {{algorithm::eltwise_clip, -1.0f, 1.0f}};
    case UnaryKind::HardSigmoid:
      return {{algorithm::eltwise_linear, a.alpha, a.beta}, {algorithm::eltwise_clip, 0.0f, 1.0f}};
    case UnaryKind::HardSigmoidRelu6:
      // relu6(x + 3) / 6 as clip(x / 6 + 0.5, 0, 1). Not the literal three steps: with two
      // eltwise_linear post-ops in one chain oneDNN 2.6 (brgemm matmul, avx512_core) applies the
      // first one's alpha and beta twice. No chain here repeats an algorithm.
      return {{algorithm::eltwise_linear, 1.0f / 6.0f, 0.5f},
              {algorithm::eltwise_clip, 0.0f, 1.0f}};
    default:
      return {};
  }
}

std::string unary_kind_name(UnaryKind kind) {
  switch (kind) {
    case UnaryKind::Relu:
      return "relu";
    case UnaryKind::Sigmoid:
      return "sigmoid";
    case UnaryKind::HardSigmoid:
      return "hard_sigmoid";
    case UnaryKind::HardSigmoidRelu6:
      return "hard_sigmoid(relu6)";
    case UnaryKind::HardSilu:
      return "hard_silu";
    case UnaryKind::Tanh:
      return "tanh";
    case UnaryKind::Softplus:
      return "softplus";
    case UnaryKind::Softsign:
      return "softsign";
    case UnaryKind::Elu:
      return "elu";
    case UnaryKind::Selu:
      return "selu";
    case UnaryKind::GeluErf:
      return "gelu";
    case UnaryKind::GeluTanh:
      return "gelu(approximate)";
    case UnaryKind::Silu:
      return "silu";
    case UnaryKind::Mish:
      return "mish";
    case UnaryKind::Exp:
      return "exponential";
    case UnaryKind::LogSigmoid:
      return "log_sigmoid";
    case UnaryKind::ThresholdedRelu:
      return "thresholded_relu";
    case UnaryKind::HardTanh:
      return "hard_tanh";
    case UnaryKind::TanhShrink:
      return "tanh_shrink";
    case UnaryKind::SoftShrink:
      return "soft_shrink";
    case UnaryKind::HardShrink:
      return "hard_shrink";
    case UnaryKind::Celu:
      return "celu";
    case UnaryKind::Squareplus:
      return "squareplus";
    case UnaryKind::SparsePlus:
      return "sparse_plus";
    case UnaryKind::SparseSigmoid:
      return "sparse_sigmoid";
  }
  return "unknown";
}

std::string UnaryOp::kind() const {
  return "Activation(" + unary_kind_name(attrs_.kind) + ")";
}

std::vector<Shape> UnaryOp::infer_shapes(std::span<const Shape> inputs) const {
  return {single_input(inputs, kind())};
}

std::unique_ptr<Kernel> UnaryOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                         const PrepareContext& ctx) const {
  int64_t n = shape_numel(single_input(inputs, kind()));
  if (n == 0) return std::make_unique<NoopKernel>();
  std::vector<EltwiseStep> chain = eltwise_chain(attrs_);
  if (!chain.empty() && ctx.engine != nullptr) {
    return std::make_unique<EltwiseKernel>(chain, n, *ctx.engine);
  }
  return std::make_unique<LoopKernel>(attrs_, n);
}

// ---------------------------------------------------------------------------------------------
// PReLU

namespace {

class PReluKernel final : public Kernel {
 public:
  PReluKernel(std::vector<float> alpha, int64_t n) : alpha_(std::move(alpha)), n_(n) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    const int64_t p = static_cast<int64_t>(alpha_.size());
    const int64_t blocks = n_ / p;
    const float* a = alpha_.data();
    auto block = [&](int64_t b) {
      const float* xb = x + b * p;
      float* yb = y + b * p;
      for (int64_t j = 0; j < p; ++j) yb[j] = xb[j] > 0 ? xb[j] : a[j] * xb[j];
    };
    if (n_ >= detail::kParallelThreshold && blocks > 1) {
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < blocks; ++b) block(b);
    } else {
      for (int64_t b = 0; b < blocks; ++b) block(b);
    }
  }

 private:
  std::vector<float> alpha_;
  int64_t n_;
};

}  // namespace

std::vector<Shape> PReluOp::infer_shapes(std::span<const Shape> inputs) const {
  const Shape& in = single_input(inputs, kind());
  check_trailing_broadcast(alpha_.shape(), in, "PReLU alpha");
  return {in};
}

std::unique_ptr<Kernel> PReluOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                         const PrepareContext&) const {
  const Shape& in = single_input(inputs, kind());
  int64_t n = shape_numel(in);
  if (n == 0) return std::make_unique<NoopKernel>();
  return std::make_unique<PReluKernel>(
      detail::expand_trailing(alpha_.values(), alpha_.shape(), sample_shape(in), "PReLU alpha"), n);
}

// ---------------------------------------------------------------------------------------------
// Rescaling

namespace {

class AffineKernel final : public Kernel {
 public:
  AffineKernel(std::vector<float> scale, std::vector<float> offset, int64_t n)
      : scale_(std::move(scale)), offset_(std::move(offset)), n_(n) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    const int64_t p = static_cast<int64_t>(scale_.size());
    const float* s = scale_.data();
    const float* o = offset_.data();
    if (p == 1) {
      const float sv = s[0], ov = o[0];
      map_loop(x, y, n_, [=](float v) {
        float t = v * sv;  // two roundings like TF's x * scale + offset (no fused multiply-add)
        return t + ov;
      });
      return;
    }
    const int64_t blocks = n_ / p;
    auto block = [&](int64_t b) {
      const float* xb = x + b * p;
      float* yb = y + b * p;
      for (int64_t j = 0; j < p; ++j) {
        float t = xb[j] * s[j];
        yb[j] = t + o[j];
      }
    };
    if (n_ >= detail::kParallelThreshold && blocks > 1) {
#pragma omp parallel for schedule(static)
      for (int64_t b = 0; b < blocks; ++b) block(b);
    } else {
      for (int64_t b = 0; b < blocks; ++b) block(b);
    }
  }

 private:
  std::vector<float> scale_;
  std::vector<float> offset_;
  int64_t n_;
};

// Tiles `v` (a trailing block) up to `size` elements; `size` is a multiple of v.size().
std::vector<float> tile_to(const std::vector<float>& v, size_t size) {
  std::vector<float> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = v[i % v.size()];
  return out;
}

}  // namespace

std::vector<Shape> AffineOp::infer_shapes(std::span<const Shape> inputs) const {
  const Shape& in = single_input(inputs, kind());
  check_trailing_broadcast(scale_.shape(), in, "Rescaling scale");
  check_trailing_broadcast(offset_.shape(), in, "Rescaling offset");
  return {in};
}

std::unique_ptr<Kernel> AffineOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                          const PrepareContext&) const {
  const Shape& in = single_input(inputs, kind());
  int64_t n = shape_numel(in);
  if (n == 0) return std::make_unique<NoopKernel>();
  Shape sample = sample_shape(in);
  std::vector<float> s =
      detail::expand_trailing(scale_.values(), scale_.shape(), sample, "Rescaling scale");
  std::vector<float> o =
      detail::expand_trailing(offset_.values(), offset_.shape(), sample, "Rescaling offset");
  // Both are trailing blocks of the same sample, so the shorter length divides the longer.
  size_t p = std::max(s.size(), o.size());
  if (s.size() != p) s = tile_to(s, p);
  if (o.size() != p) o = tile_to(o, p);
  return std::make_unique<AffineKernel>(std::move(s), std::move(o), n);
}

// ---------------------------------------------------------------------------------------------
// Reference

namespace reference {

float unary(const UnaryAttrs& a, float xf) {
  const double x = xf;
  auto softplus = [](double v) {
    // The exact function; TF's thresholds only trade accuracy below float epsilon.
    return v > 30 ? v : std::log1p(std::exp(v));
  };
  auto relu6p3 = [](float v) { return std::min(std::max(v + 3.0f, 0.0f), 6.0f) / 6.0f; };
  switch (a.kind) {
    case UnaryKind::Relu: {
      // Written as the piecewise function ReLU.static_call computes.
      if (a.alpha != 0 && !a.has_max && a.gamma == 0) return xf > 0 ? xf : a.alpha * xf;
      float y = xf > a.gamma ? xf : 0.0f;
      if (a.gamma == 0) y = std::max(xf, 0.0f);
      if (a.has_max) y = std::min(std::max(y, 0.0f), a.beta);
      if (a.alpha != 0) y -= a.alpha * std::max(a.gamma - xf, 0.0f);
      return y;
    }
    case UnaryKind::Sigmoid:
      return static_cast<float>(1 / (1 + std::exp(-x)));
    case UnaryKind::HardSigmoid:
      return std::min(std::max(a.alpha * xf + a.beta, 0.0f), 1.0f);
    case UnaryKind::HardSigmoidRelu6:
      return relu6p3(xf);
    case UnaryKind::HardSilu:
      return xf * relu6p3(xf);
    case UnaryKind::Tanh:
      return static_cast<float>(std::tanh(x));
    case UnaryKind::Softplus:
      return static_cast<float>(softplus(x));
    case UnaryKind::Softsign:
      return static_cast<float>(x / (1 + std::fabs(x)));
    case UnaryKind::Elu:
      return static_cast<float>(x > 0 ? x : a.alpha * std::expm1(x));
    case UnaryKind::Selu:
      return static_cast<float>(1.0507009873554805 *
                                (x > 0 ? x : 1.6732632423543772 * std::expm1(x)));
    case UnaryKind::GeluErf:
      return static_cast<float>(0.5 * x * (1 + std::erf(x / std::sqrt(2.0))));
    case UnaryKind::GeluTanh:
      return static_cast<float>(0.5 * x *
                                (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))));
    case UnaryKind::Silu:
      return static_cast<float>(x / (1 + std::exp(-x)));
    case UnaryKind::Mish:
      return static_cast<float>(x * std::tanh(softplus(x)));
    case UnaryKind::Exp:
      return static_cast<float>(std::exp(x));
    case UnaryKind::LogSigmoid:
      return static_cast<float>(-softplus(-x));
    case UnaryKind::ThresholdedRelu:
      return xf > a.alpha ? xf : 0.0f;
    case UnaryKind::HardTanh:
      return std::min(std::max(xf, -1.0f), 1.0f);
    case UnaryKind::TanhShrink:
      return static_cast<float>(x - std::tanh(x));
    case UnaryKind::SoftShrink:
      return xf > a.alpha ? xf - a.alpha : xf < -a.alpha ? xf + a.alpha : 0.0f;
    case UnaryKind::HardShrink:
      return std::fabs(xf) > a.alpha ? xf : 0.0f;
    case UnaryKind::Celu:
      return static_cast<float>(std::max(x, 0.0) +
                                a.alpha * std::expm1(std::min(x, 0.0) / a.alpha));
    case UnaryKind::Squareplus:
      return static_cast<float>((x + std::sqrt(x * x + a.alpha)) / 2);
    case UnaryKind::SparsePlus:
      return static_cast<float>(x <= -1 ? 0 : x >= 1 ? x : (x + 1) * (x + 1) / 4);
    case UnaryKind::SparseSigmoid:
      return static_cast<float>(x <= -1 ? 0 : x >= 1 ? 1 : (x + 1) / 2);
  }
  return 0;
}

void unary(const UnaryAttrs& attrs, std::span<const float> x, std::span<float> y) {
  for (size_t i = 0; i < x.size(); ++i) y[i] = unary(attrs, x[i]);
}

namespace {
// Index of the element of a constant of shape `c` (right-aligned, broadcast) paired with flat
// per-sample index `i` of a sample of shape `sample`.
int64_t broadcast_index(const Shape& c, const Shape& sample, int64_t i) {
  int64_t idx = 0, stride = 1;
  for (size_t k = 0; k < sample.size(); ++k) {
    size_t d = sample.size() - 1 - k;
    int64_t coord = i % sample[d];
    i /= sample[d];
    if (k < c.size()) {
      int64_t cd = c[c.size() - 1 - k];
      idx += (cd == 1 ? 0 : coord) * stride;
      stride *= cd;
    }
  }
  return idx;
}
}  // namespace

void prelu(const Shape& in, std::span<const float> x, const Tensor& alpha, std::span<float> y) {
  Shape sample(in.begin() + 1, in.end());
  int64_t per = shape_numel(sample);
  for (size_t i = 0; i < x.size(); ++i) {
    float a = alpha.data()[broadcast_index(alpha.shape(), sample, static_cast<int64_t>(i) % per)];
    y[i] = x[i] > 0 ? x[i] : a * x[i];
  }
}

void affine(const Shape& in, std::span<const float> x, const Tensor& scale, const Tensor& offset,
            std::span<float> y) {
  Shape sample(in.begin() + 1, in.end());
  int64_t per = shape_numel(sample);
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t j = static_cast<int64_t>(i) % per;
    float s = scale.data()[broadcast_index(scale.shape(), sample, j)];
    float o = offset.data()[broadcast_index(offset.shape(), sample, j)];
    y[i] = x[i] * s + o;
  }
}

}  // namespace reference

void activate_in_place(const std::optional<UnaryAttrs>& a, float* v, int64_t n) {
  if (!a) return;
  switch (a->kind) {
    case UnaryKind::Sigmoid:
      for (int64_t i = 0; i < n; ++i) v[i] = 1.0f / (1.0f + std::exp(-v[i]));
      return;
    case UnaryKind::Tanh:
      for (int64_t i = 0; i < n; ++i) v[i] = std::tanh(v[i]);
      return;
    case UnaryKind::HardSigmoid: {
      const float alpha = a->alpha, beta = a->beta;
      for (int64_t i = 0; i < n; ++i) v[i] = std::min(std::max(alpha * v[i] + beta, 0.0f), 1.0f);
      return;
    }
    default:
      for (int64_t i = 0; i < n; ++i) v[i] = reference::unary(*a, v[i]);
      return;
  }
}

}  // namespace kerasrt::ops
