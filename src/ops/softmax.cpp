#include "ops/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <oneapi/dnnl/dnnl.hpp>

#include "kerasrt/error.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

namespace {

std::vector<int> normalized_axes(const SoftmaxAttrs& attrs, size_t rank, const std::string& ctx) {
  std::vector<int> axes;
  for (int64_t a : attrs.axes) axes.push_back(normalize_axis(a, rank, ctx));
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  if (axes.empty()) throw Error(ErrorCode::InvalidModel, ctx + ": no axis given");
  return axes;
}

// Contiguous axes collapse to (outer, reduced, inner): oneDNN's softmax over the middle axis.
class DnnlSoftmaxKernel final : public Kernel {
 public:
  DnnlSoftmaxKernel(bool log, int64_t outer, int64_t red, int64_t inner, const dnnl::engine& engine)
      : md_(detail::plain_md({outer, red, inner})) {
    dnnl::primitive_attr attr = detail::user_scratchpad_attr();
    if (log) {
      dnnl::logsoftmax_forward::desc d(dnnl::prop_kind::forward_inference, md_, 1);
      dnnl::logsoftmax_forward::primitive_desc pd(d, attr, engine);
      scratch_md_ = pd.scratchpad_desc();
      prim_ = dnnl::logsoftmax_forward(pd);
    } else {
      dnnl::softmax_forward::desc d(dnnl::prop_kind::forward_inference, md_, 1);
      dnnl::softmax_forward::primitive_desc pd(d, attr, engine);
      scratch_md_ = pd.scratchpad_desc();
      prim_ = dnnl::softmax_forward(pd);
    }
  }
  size_t scratch_bytes() const override { return scratch_md_.get_size(); }
  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    dnnl::memory src(md_, *ctx.engine, const_cast<float*>(inputs[0]));
    dnnl::memory dst(md_, *ctx.engine, outputs[0]);
    detail::execute(prim_, scratch_md_, ctx, {{DNNL_ARG_SRC, &src}, {DNNL_ARG_DST, &dst}});
  }

 private:
  dnnl::memory::desc md_;
  dnnl::memory::desc scratch_md_;
  dnnl::primitive prim_;
};

// Non-contiguous axes (e.g. Softmax(axis=[1, 3])): offset tables for the kept and the reduced
// index sets, then max / sum of exp / normalise per kept index.
class LoopSoftmaxKernel final : public Kernel {
 public:
  LoopSoftmaxKernel(bool log, const Shape& in, const std::vector<int>& axes) : log_(log) {
    std::vector<int64_t> strides(in.size(), 1);
    for (size_t i = in.size(); i-- > 1;) strides[i - 1] = strides[i] * in[i];
    std::vector<bool> reduced(in.size(), false);
    for (int a : axes) reduced[static_cast<size_t>(a)] = true;
    kept_ = {0};
    red_ = {0};
    for (size_t d = 0; d < in.size(); ++d) {
      std::vector<int64_t>& table = reduced[d] ? red_ : kept_;
      std::vector<int64_t> next;
      next.reserve(table.size() * static_cast<size_t>(in[d]));
      for (int64_t base : table) {
        for (int64_t i = 0; i < in[d]; ++i) next.push_back(base + i * strides[d]);
      }
      table = std::move(next);
    }
  }
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    const int64_t nk = static_cast<int64_t>(kept_.size());
    const int64_t nr = static_cast<int64_t>(red_.size());
    auto one = [&](int64_t k) {
      const int64_t base = kept_[static_cast<size_t>(k)];
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t r = 0; r < nr; ++r) m = std::max(m, x[base + red_[static_cast<size_t>(r)]]);
      float sum = 0;
      for (int64_t r = 0; r < nr; ++r) sum += std::exp(x[base + red_[static_cast<size_t>(r)]] - m);
      if (log_) {
        const float lse = std::log(sum);
        for (int64_t r = 0; r < nr; ++r) {
          const int64_t o = base + red_[static_cast<size_t>(r)];
          y[o] = x[o] - m - lse;
        }
      } else {
        for (int64_t r = 0; r < nr; ++r) {
          const int64_t o = base + red_[static_cast<size_t>(r)];
          y[o] = std::exp(x[o] - m) / sum;
        }
      }
    };
    if (nk * nr >= detail::kParallelThreshold && nk > 1) {
#pragma omp parallel for schedule(static)
      for (int64_t k = 0; k < nk; ++k) one(k);
    } else {
      for (int64_t k = 0; k < nk; ++k) one(k);
    }
  }

 private:
  bool log_;
  std::vector<int64_t> kept_;
  std::vector<int64_t> red_;
};

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

}  // namespace

std::vector<Shape> SoftmaxOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) {
    throw Error(ErrorCode::InvalidModel,
                kind() + ": expected 1 input, got " + std::to_string(inputs.size()));
  }
  normalized_axes(attrs_, inputs[0].size(), kind());
  return {inputs[0]};
}

std::unique_ptr<Kernel> SoftmaxOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                           const PrepareContext& ctx) const {
  const Shape& in = inputs[0];
  std::vector<int> axes = normalized_axes(attrs_, in.size(), kind());
  if (shape_numel(in) == 0) return std::make_unique<NoopKernel>();
  bool contiguous = axes.back() - axes.front() + 1 == static_cast<int>(axes.size());
  if (contiguous && ctx.engine != nullptr) {
    int64_t outer = 1, red = 1, inner = 1;
    for (int d = 0; d < static_cast<int>(in.size()); ++d) {
      int64_t v = in[static_cast<size_t>(d)];
      if (d < axes.front()) {
        outer *= v;
      } else if (d <= axes.back()) {
        red *= v;
      } else {
        inner *= v;
      }
    }
    return std::make_unique<DnnlSoftmaxKernel>(attrs_.log, outer, red, inner, *ctx.engine);
  }
  return std::make_unique<LoopSoftmaxKernel>(attrs_.log, in, axes);
}

// ---------------------------------------------------------------------------------------------
// glu, crelu, sparsemax

namespace {

struct AxisGeometry {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisGeometry axis_geometry(const Shape& in, int axis) {
  AxisGeometry g;
  for (int d = 0; d < static_cast<int>(in.size()); ++d) {
    int64_t v = in[static_cast<size_t>(d)];
    if (d < axis) {
      g.outer *= v;
    } else if (d == axis) {
      g.n = v;
    } else {
      g.inner *= v;
    }
  }
  return g;
}

// One line along the axis: x[i * stride], i < n; y likewise with the output's own length.
// `work` holds 2 * n floats (sparsemax's sorted values and cumsum).
void axis_line(AxisFnKind kind, const float* x, float* y, int64_t n, int64_t stride, float* work) {
  switch (kind) {
    case AxisFnKind::Glu: {
      const int64_t h = n / 2;
      for (int64_t i = 0; i < h; ++i) {
        float b = x[(i + h) * stride];
        y[i * stride] = x[i * stride] * (1.0f / (1.0f + std::exp(-b)));
      }
      return;
    }
    case AxisFnKind::Crelu:
      for (int64_t i = 0; i < n; ++i) {
        float v = x[i * stride];
        y[i * stride] = std::max(v, 0.0f);
        y[(i + n) * stride] = std::max(-v, 0.0f);
      }
      return;
    case AxisFnKind::Sparsemax: {
      float* sorted = work;
      float* cum = work + n;
      for (int64_t i = 0; i < n; ++i) sorted[i] = x[i * stride];
      std::sort(sorted, sorted + n, [](float a, float b) { return a > b; });
      float acc = 0, k = 0, cum_support = 0;
      for (int64_t i = 0; i < n; ++i) {
        acc += sorted[i];
        cum[i] = acc;
        if (sorted[i] - (cum[i] - 1.0f) / static_cast<float>(i + 1) > 0) {
          k += 1;
          cum_support += cum[i];
        }
      }
      const float tau = (cum_support - 1.0f) / k;
      for (int64_t i = 0; i < n; ++i) y[i * stride] = std::max(x[i * stride] - tau, 0.0f);
      return;
    }
  }
}

class AxisFnKernel final : public Kernel {
 public:
  AxisFnKernel(AxisFnKind kind, AxisGeometry g) : kind_(kind), g_(g) {}
  size_t scratch_bytes() const override {
    return kind_ == AxisFnKind::Sparsemax ? static_cast<size_t>(2 * g_.n) * sizeof(float) : 0;
  }
  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const int64_t out_n = kind_ == AxisFnKind::Glu     ? g_.n / 2
                          : kind_ == AxisFnKind::Crelu ? 2 * g_.n
                                                       : g_.n;
    float* work = reinterpret_cast<float*>(ctx.scratch);
    for (int64_t o = 0; o < g_.outer; ++o) {
      for (int64_t i = 0; i < g_.inner; ++i) {
        axis_line(kind_, inputs[0] + o * g_.n * g_.inner + i, outputs[0] + o * out_n * g_.inner + i,
                  g_.n, g_.inner, work);
      }
    }
  }

 private:
  AxisFnKind kind_;
  AxisGeometry g_;
};

}  // namespace

std::string AxisFnOp::kind() const {
  switch (attrs_.kind) {
    case AxisFnKind::Glu:
      return "Activation(glu)";
    case AxisFnKind::Crelu:
      return "Activation(crelu)";
    case AxisFnKind::Sparsemax:
      return "Activation(sparsemax)";
  }
  return "Activation";
}

std::vector<Shape> AxisFnOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) {
    throw Error(ErrorCode::InvalidModel,
                kind() + ": expected 1 input, got " + std::to_string(inputs.size()));
  }
  Shape out = inputs[0];
  auto a = static_cast<size_t>(normalize_axis(attrs_.axis, out.size(), kind()));
  if (attrs_.kind == AxisFnKind::Glu && out[a] >= 0) {
    if (out[a] % 2 != 0) {
      throw Error(ErrorCode::InvalidModel, kind() + ": axis " + std::to_string(attrs_.axis) +
                                               " of " + shape_to_string(out) + " is odd");
    }
    out[a] /= 2;
  } else if (attrs_.kind == AxisFnKind::Crelu && out[a] >= 0) {
    out[a] *= 2;
  }
  return {out};
}

std::unique_ptr<Kernel> AxisFnOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                          const PrepareContext&) const {
  Shape out = infer_shapes(inputs)[0];
  if (shape_numel(inputs[0]) == 0) return std::make_unique<NoopKernel>();
  int a = normalize_axis(attrs_.axis, out.size(), kind());
  return std::make_unique<AxisFnKernel>(attrs_.kind, axis_geometry(inputs[0], a));
}

namespace reference {

void axis_fn(const AxisFnAttrs& attrs, const Shape& in, std::span<const float> x,
             std::span<float> y) {
  AxisGeometry g = axis_geometry(in, normalize_axis(attrs.axis, in.size(), "axis_fn"));
  const int64_t out_n = attrs.kind == AxisFnKind::Glu     ? g.n / 2
                        : attrs.kind == AxisFnKind::Crelu ? 2 * g.n
                                                          : g.n;
  for (int64_t o = 0; o < g.outer; ++o) {
    for (int64_t i = 0; i < g.inner; ++i) {
      std::vector<double> v(static_cast<size_t>(g.n));
      for (int64_t j = 0; j < g.n; ++j)
        v[static_cast<size_t>(j)] = x[static_cast<size_t>((o * g.n + j) * g.inner + i)];
      auto out = [&](int64_t j) -> float& {
        return y[static_cast<size_t>((o * out_n + j) * g.inner + i)];
      };
      if (attrs.kind == AxisFnKind::Glu) {
        for (int64_t j = 0; j < out_n; ++j) {
          out(j) = static_cast<float>(v[static_cast<size_t>(j)] /
                                      (1 + std::exp(-v[static_cast<size_t>(j + out_n)])));
        }
      } else if (attrs.kind == AxisFnKind::Crelu) {
        for (int64_t j = 0; j < g.n; ++j) {
          out(j) = static_cast<float>(std::max(v[static_cast<size_t>(j)], 0.0));
          out(j + g.n) = static_cast<float>(std::max(-v[static_cast<size_t>(j)], 0.0));
        }
      } else {
        std::vector<double> s = v;
        std::sort(s.begin(), s.end(), std::greater<>());
        double c = 0, k = 0, cs = 0;
        for (size_t j = 0; j < s.size(); ++j) {
          c += s[j];
          if (s[j] - (c - 1) / static_cast<double>(j + 1) > 0) {
            k += 1;
            cs += c;
          }
        }
        double tau = (cs - 1) / k;
        for (int64_t j = 0; j < g.n; ++j)
          out(j) = static_cast<float>(std::max(v[static_cast<size_t>(j)] - tau, 0.0));
      }
    }
  }
}

void softmax(const SoftmaxAttrs& attrs, const Shape& in, std::span<const float> x,
             std::span<float> y) {
  std::vector<int> axes = normalized_axes(attrs, in.size(), "softmax");
  std::vector<bool> reduced(in.size(), false);
  for (int a : axes) reduced[static_cast<size_t>(a)] = true;
  const int64_t n = shape_numel(in);
  // Group elements by their kept coordinates: key = flat index with reduced coords zeroed.
  std::vector<int64_t> key(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t rem = i, k = 0, stride = 1;
    for (size_t d = in.size(); d-- > 0;) {
      int64_t c = rem % in[d];
      rem /= in[d];
      if (!reduced[d]) k += c * stride;
      stride *= in[d];
    }
    key[static_cast<size_t>(i)] = k;
  }
  std::vector<double> mx(static_cast<size_t>(n), -INFINITY), sum(static_cast<size_t>(n), 0);
  for (int64_t i = 0; i < n; ++i) {
    auto k = static_cast<size_t>(key[static_cast<size_t>(i)]);
    mx[k] = std::max(mx[k], static_cast<double>(x[static_cast<size_t>(i)]));
  }
  for (int64_t i = 0; i < n; ++i) {
    auto k = static_cast<size_t>(key[static_cast<size_t>(i)]);
    sum[k] += std::exp(static_cast<double>(x[static_cast<size_t>(i)]) - mx[k]);
  }
  for (int64_t i = 0; i < n; ++i) {
    auto k = static_cast<size_t>(key[static_cast<size_t>(i)]);
    double v = static_cast<double>(x[static_cast<size_t>(i)]) - mx[k];
    y[static_cast<size_t>(i)] =
        static_cast<float>(attrs.log ? v - std::log(sum[k]) : std::exp(v) / sum[k]);
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
