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

namespace reference {

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
