#include "ops/merge.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

#include "kerasrt/error.h"
#include "ops/broadcast.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidModel, what);
}

// Keras's rank equalisation: size-1 dims inserted after the batch (base_merge.py, call()).
Shape expand_after_batch(const Shape& s, size_t rank) {
  Shape out = s;
  if (out.empty()) return Shape(rank, 1);
  out.insert(out.begin() + 1, rank - s.size(), 1);
  return out;
}

size_t max_rank(std::span<const Shape> inputs) {
  size_t r = 0;
  for (const Shape& s : inputs) r = std::max(r, s.size());
  return r;
}

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

template <class F>
void fold(const std::vector<detail::BroadcastPlan>& plans, std::span<const float* const> x,
          float* y, F f) {
  // plans[0]: x0 op x1 -> y; plans[i]: y op x(i+1) -> y.
  detail::broadcast_apply(plans[0], x[0], x[1], y, f);
  for (size_t i = 1; i < plans.size(); ++i) detail::broadcast_apply(plans[i], y, x[i + 1], y, f);
}

class MergeKernel final : public Kernel {
 public:
  MergeKernel(MergeMode mode, std::span<const Shape> inputs, const Shape& out)
      : mode_(mode), n_inputs_(inputs.size()) {
    const size_t rank = out.size();
    if (inputs.size() == 1) {
      copy_plan_ = detail::make_broadcast_plan(out, expand_after_batch(inputs[0], rank),
                                               expand_after_batch(inputs[0], rank));
      return;
    }
    plans_.push_back(detail::make_broadcast_plan(out, expand_after_batch(inputs[0], rank),
                                                 expand_after_batch(inputs[1], rank)));
    for (size_t i = 2; i < inputs.size(); ++i) {
      plans_.push_back(detail::make_broadcast_plan(out, out, expand_after_batch(inputs[i], rank)));
    }
    numel_ = shape_numel(out);
  }

  void run(const RunContext&, std::span<const float* const> x,
           std::span<float* const> outputs) const override {
    float* y = outputs[0];
    if (n_inputs_ == 1) {
      detail::broadcast_apply(copy_plan_, x[0], x[0], y, [](float a, float) { return a; });
      return;
    }
    switch (mode_) {
      case MergeMode::Add:
      case MergeMode::Average:
        fold(plans_, x, y, [](float a, float b) { return a + b; });
        break;
      case MergeMode::Subtract:
        fold(plans_, x, y, [](float a, float b) { return a - b; });
        break;
      case MergeMode::Multiply:
        fold(plans_, x, y, [](float a, float b) { return a * b; });
        break;
      case MergeMode::Maximum:
        fold(plans_, x, y, [](float a, float b) { return std::max(a, b); });
        break;
      case MergeMode::Minimum:
        fold(plans_, x, y, [](float a, float b) { return std::min(a, b); });
        break;
    }
    if (mode_ == MergeMode::Average) {
      // Keras divides the sum by the count (not a multiply by 1/n).
      const float n = static_cast<float>(n_inputs_);
      for (int64_t i = 0; i < numel_; ++i) y[i] = y[i] / n;
    }
  }

 private:
  MergeMode mode_;
  size_t n_inputs_;
  detail::BroadcastPlan copy_plan_;
  std::vector<detail::BroadcastPlan> plans_;
  int64_t numel_ = 0;
};

}  // namespace

std::string merge_mode_name(MergeMode mode) {
  switch (mode) {
    case MergeMode::Add:
      return "Add";
    case MergeMode::Subtract:
      return "Subtract";
    case MergeMode::Multiply:
      return "Multiply";
    case MergeMode::Average:
      return "Average";
    case MergeMode::Maximum:
      return "Maximum";
    case MergeMode::Minimum:
      return "Minimum";
  }
  return "Merge";
}

std::vector<Shape> MergeOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.empty()) invalid(kind() + ": expected at least 1 input, got 0");
  if (mode_ == MergeMode::Subtract && inputs.size() != 2) {
    invalid("Subtract: expected exactly 2 inputs, got " + std::to_string(inputs.size()));
  }
  const size_t rank = max_rank(inputs);
  Shape out = expand_after_batch(inputs[0], rank);
  for (size_t i = 1; i < inputs.size(); ++i) {
    out = detail::broadcast_shapes(out, expand_after_batch(inputs[i], rank), kind());
  }
  return {out};
}

std::unique_ptr<Kernel> MergeOp::prepare(std::span<const Shape> inputs,
                                         std::span<const Shape> outputs,
                                         const PrepareContext&) const {
  Shape out = infer_shapes(inputs)[0];
  if (!outputs.empty()) out = outputs[0];
  for (size_t i = 0; i < inputs.size(); ++i) {
    Shape e = expand_after_batch(inputs[i], out.size());
    for (size_t d = 0; d < out.size(); ++d) {
      if (e[d] != 1 && e[d] != out[d]) {
        invalid(kind() + ": input " + shape_to_string(inputs[i]) + " does not broadcast to " +
                shape_to_string(out));
      }
    }
  }
  if (shape_numel(out) == 0) return std::make_unique<NoopKernel>();
  return std::make_unique<MergeKernel>(mode_, inputs, out);
}

// ---------------------------------------------------------------------------------------------
// Concatenate

namespace {

class ConcatKernel final : public Kernel {
 public:
  ConcatKernel(std::span<const Shape> inputs, int axis) {
    outer_ = 1;
    for (int d = 0; d < axis; ++d) outer_ *= inputs[0][static_cast<size_t>(d)];
    for (const Shape& s : inputs) {
      int64_t chunk = 1;
      for (size_t d = static_cast<size_t>(axis); d < s.size(); ++d) chunk *= s[d];
      chunks_.push_back(chunk);
      row_ += chunk;
    }
  }
  void run(const RunContext&, std::span<const float* const> x,
           std::span<float* const> outputs) const override {
    float* y = outputs[0];
    auto one = [&](int64_t o) {
      float* dst = y + o * row_;
      for (size_t i = 0; i < chunks_.size(); ++i) {
        std::memcpy(dst, x[i] + o * chunks_[i], static_cast<size_t>(chunks_[i]) * sizeof(float));
        dst += chunks_[i];
      }
    };
    if (outer_ * row_ >= detail::kParallelThreshold && outer_ > 1) {
#pragma omp parallel for schedule(static)
      for (int64_t o = 0; o < outer_; ++o) one(o);
    } else {
      for (int64_t o = 0; o < outer_; ++o) one(o);
    }
  }

 private:
  int64_t outer_ = 1;
  int64_t row_ = 0;
  std::vector<int64_t> chunks_;
};

}  // namespace

std::vector<Shape> ConcatOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.empty()) invalid("Concatenate: expected at least 1 input, got 0");
  const size_t rank = inputs[0].size();
  int axis = normalize_axis(axis_, rank, "Concatenate");
  Shape out = inputs[0];
  for (size_t i = 1; i < inputs.size(); ++i) {
    const Shape& s = inputs[i];
    if (s.size() != rank) {
      invalid("Concatenate: inputs must have the same rank, got " + shape_to_string(inputs[0]) +
              " and " + shape_to_string(s));
    }
    for (size_t d = 0; d < rank; ++d) {
      if (static_cast<int>(d) == axis) {
        out[d] = (out[d] < 0 || s[d] < 0) ? kUnknownDim : out[d] + s[d];
      } else if (out[d] < 0) {
        out[d] = s[d];
      } else if (s[d] >= 0 && s[d] != out[d]) {
        invalid("Concatenate: shapes " + shape_to_string(inputs[0]) + " and " + shape_to_string(s) +
                " differ outside axis " + std::to_string(axis_));
      }
    }
  }
  return {out};
}

std::unique_ptr<Kernel> ConcatOp::prepare(std::span<const Shape> inputs,
                                          std::span<const Shape> outputs,
                                          const PrepareContext&) const {
  Shape out = infer_shapes(inputs)[0];
  (void)outputs;
  if (shape_numel(out) == 0) return std::make_unique<NoopKernel>();
  return std::make_unique<ConcatKernel>(inputs, normalize_axis(axis_, out.size(), "Concatenate"));
}

// ---------------------------------------------------------------------------------------------
// Dot

namespace {

struct DotGeometry {
  int a0 = 0, a1 = 0;
  int64_t batch = 0, k = 0;
  std::vector<int64_t> px, qy;  // offsets of the non-contracted positions within one sample
  int64_t xks = 0, yks = 0;     // strides of the contracted axis
  int64_t xbs = 0, ybs = 0;     // per-sample sizes
};

std::vector<int64_t> plain_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// Offsets of every index of `s` over dims [1, rank) except `skip`, in C order.
std::vector<int64_t> offsets_except(const Shape& s, int skip) {
  std::vector<int64_t> st = plain_strides(s);
  std::vector<int64_t> table = {0};
  for (size_t d = 1; d < s.size(); ++d) {
    if (static_cast<int>(d) == skip) continue;
    std::vector<int64_t> next;
    next.reserve(table.size() * static_cast<size_t>(s[d]));
    for (int64_t base : table) {
      for (int64_t i = 0; i < s[d]; ++i) next.push_back(base + i * st[d]);
    }
    table = std::move(next);
  }
  return table;
}

std::pair<int, int> dot_axes(const DotAttrs& attrs, const Shape& xs, const Shape& ys) {
  if (xs.size() < 2 || ys.size() < 2) {
    invalid("Dot: inputs must have rank >= 2, got " + shape_to_string(xs) + " and " +
            shape_to_string(ys));
  }
  int a0 = normalize_axis(attrs.axes[0], xs.size(), "Dot");
  int a1 = normalize_axis(attrs.axes[1], ys.size(), "Dot");
  if (a0 == 0 || a1 == 0) invalid("Dot: cannot contract over the batch axis");
  return {a0, a1};
}

DotGeometry dot_geometry(const DotAttrs& attrs, const Shape& xs, const Shape& ys) {
  DotGeometry g;
  std::tie(g.a0, g.a1) = dot_axes(attrs, xs, ys);
  g.batch = xs[0];
  g.k = xs[static_cast<size_t>(g.a0)];
  g.px = offsets_except(xs, g.a0);
  g.qy = offsets_except(ys, g.a1);
  g.xks = plain_strides(xs)[static_cast<size_t>(g.a0)];
  g.yks = plain_strides(ys)[static_cast<size_t>(g.a1)];
  g.xbs = shape_numel(xs) / std::max<int64_t>(xs[0], 1);
  g.ybs = shape_numel(ys) / std::max<int64_t>(ys[0], 1);
  return g;
}

// x * min(rsqrt(sum x^2 along the contracted axis), max_inv) for every non-contracted position.
void l2_normalize(const float* x, float* out, int64_t batch, int64_t sample,
                  const std::vector<int64_t>& offsets, int64_t k, int64_t ks, float max_inv) {
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t base : offsets) {
      const float* xb = x + b * sample + base;
      float* ob = out + b * sample + base;
      float ss = 0;
      for (int64_t i = 0; i < k; ++i) ss += xb[i * ks] * xb[i * ks];
      float inv = std::min(1.0f / std::sqrt(ss), max_inv);
      for (int64_t i = 0; i < k; ++i) ob[i * ks] = xb[i * ks] * inv;
    }
  }
}

class DotKernel final : public Kernel {
 public:
  DotKernel(const DotAttrs& attrs, const Shape& xs, const Shape& ys, const dnnl::engine* engine)
      : attrs_(attrs), g_(dot_geometry(attrs, xs, ys)) {
    if (attrs_.normalize) {
      // Scratch: normalised x, then normalised y, then the matmul's own scratchpad.
      y_offset_ = round64(static_cast<size_t>(shape_numel(xs)) * sizeof(float));
      mm_offset_ = y_offset_ + round64(static_cast<size_t>(shape_numel(ys)) * sizeof(float));
    }
    if (engine != nullptr) try_matmul(xs, ys, *engine);
  }

  size_t scratch_bytes() const override {
    return mm_offset_ + (use_matmul_ ? scratch_md_.get_size() : 0);
  }

  void run(const RunContext& ctx, std::span<const float* const> in,
           std::span<float* const> outputs) const override {
    const float* x = in[0];
    const float* y = in[1];
    std::byte* scratch = ctx.scratch;
    if (attrs_.normalize) {
      float* xn = reinterpret_cast<float*>(scratch);
      float* yn = reinterpret_cast<float*>(scratch + y_offset_);
      l2_normalize(x, xn, g_.batch, g_.xbs, g_.px, g_.k, g_.xks, attrs_.max_inv_norm);
      l2_normalize(y, yn, g_.batch, g_.ybs, g_.qy, g_.k, g_.yks, attrs_.max_inv_norm);
      x = xn;
      y = yn;
      scratch += mm_offset_;
    }
    float* out = outputs[0];
    if (use_matmul_) {
      dnnl::memory src(src_md_, *ctx.engine, const_cast<float*>(x));
      dnnl::memory wei(wei_md_, *ctx.engine, const_cast<float*>(y));
      dnnl::memory dst(dst_md_, *ctx.engine, out);
      RunContext sub = ctx;
      sub.scratch = scratch;
      detail::execute(prim_, scratch_md_, sub,
                      {{DNNL_ARG_SRC, &src}, {DNNL_ARG_WEIGHTS, &wei}, {DNNL_ARG_DST, &dst}});
      return;
    }
    const int64_t np = static_cast<int64_t>(g_.px.size()), nq = static_cast<int64_t>(g_.qy.size());
    for (int64_t b = 0; b < g_.batch; ++b) {
      for (int64_t p = 0; p < np; ++p) {
        const float* xb = x + b * g_.xbs + g_.px[static_cast<size_t>(p)];
        for (int64_t q = 0; q < nq; ++q) {
          const float* yb = y + b * g_.ybs + g_.qy[static_cast<size_t>(q)];
          float acc = 0;
          for (int64_t i = 0; i < g_.k; ++i) acc += xb[i * g_.xks] * yb[i * g_.yks];
          out[(b * np + p) * nq + q] = acc;
        }
      }
    }
  }

 private:
  // The non-contracted dims of x form one strided axis when the contracted axis is the first or
  // the last non-batch axis (always so for rank 2 and 3); same for y. Then one batched oneDNN
  // matmul (B, P, K) x (B, K, Q) runs it.
  void try_matmul(const Shape& xs, const Shape& ys, const dnnl::engine& engine) {
    const int rx = static_cast<int>(xs.size()), ry = static_cast<int>(ys.size());
    const int64_t P = static_cast<int64_t>(g_.px.size()), Q = static_cast<int64_t>(g_.qy.size());
    const int64_t K = g_.k;
    int64_t ps, qs;
    if (g_.a0 == rx - 1) {
      ps = K;
    } else if (g_.a0 == 1) {
      ps = 1;
    } else {
      return;
    }
    if (g_.a1 == 1) {
      qs = 1;
    } else if (g_.a1 == ry - 1) {
      qs = K;
    } else {
      return;
    }
    using dnnl::memory;
    src_md_ =
        memory::desc({g_.batch, P, K}, memory::data_type::f32, memory::dims{g_.xbs, ps, g_.xks});
    wei_md_ =
        memory::desc({g_.batch, K, Q}, memory::data_type::f32, memory::dims{g_.ybs, g_.yks, qs});
    dst_md_ = detail::plain_md({g_.batch, P, Q});
    try {
      dnnl::matmul::desc d(src_md_, wei_md_, dst_md_);
      dnnl::matmul::primitive_desc pd(d, detail::user_scratchpad_attr(), engine);
      scratch_md_ = pd.scratchpad_desc();
      prim_ = dnnl::matmul(pd);
      use_matmul_ = true;
    } catch (const dnnl::error&) {
      use_matmul_ = false;  // an unusual stride pattern: the loop below handles every case
    }
  }

  DotAttrs attrs_;
  DotGeometry g_;
  static size_t round64(size_t n) { return (n + 63) / 64 * 64; }
  size_t y_offset_ = 0, mm_offset_ = 0;
  bool use_matmul_ = false;
  dnnl::memory::desc src_md_, wei_md_, dst_md_, scratch_md_;
  dnnl::primitive prim_;
};

}  // namespace

std::vector<Shape> DotOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 2) invalid("Dot: expected 2 inputs, got " + std::to_string(inputs.size()));
  const Shape& xs = inputs[0];
  const Shape& ys = inputs[1];
  auto [a0, a1] = dot_axes(attrs_, xs, ys);
  int64_t d0 = xs[static_cast<size_t>(a0)], d1 = ys[static_cast<size_t>(a1)];
  if (d0 >= 0 && d1 >= 0 && d0 != d1) {
    invalid("Dot: axis " + std::to_string(a0) + " of " + shape_to_string(xs) + " and axis " +
            std::to_string(a1) + " of " + shape_to_string(ys) + " differ");
  }
  if (xs[0] >= 0 && ys[0] >= 0 && xs[0] != ys[0]) {
    invalid("Dot: batch sizes differ: " + shape_to_string(xs) + " and " + shape_to_string(ys));
  }
  Shape out;
  for (size_t d = 0; d < xs.size(); ++d) {
    if (static_cast<int>(d) != a0) out.push_back(xs[d]);
  }
  if (out[0] < 0) out[0] = ys[0];
  for (size_t d = 1; d < ys.size(); ++d) {
    if (static_cast<int>(d) != a1) out.push_back(ys[d]);
  }
  if (out.size() == 1) out.push_back(1);
  return {out};
}

std::unique_ptr<Kernel> DotOp::prepare(std::span<const Shape> inputs,
                                       std::span<const Shape> outputs,
                                       const PrepareContext& ctx) const {
  Shape out = infer_shapes(inputs)[0];
  (void)outputs;
  if (shape_numel(out) == 0) return std::make_unique<NoopKernel>();
  return std::make_unique<DotKernel>(attrs_, inputs[0], inputs[1], ctx.engine);
}

// ---------------------------------------------------------------------------------------------
// Reference

namespace reference {

void merge(MergeMode mode, std::span<const Shape> in, std::span<const float* const> x,
           const Shape& out, std::span<float> y) {
  const size_t rank = out.size();
  const int64_t n = shape_numel(out);
  std::vector<Shape> e;
  for (const Shape& s : in) e.push_back(expand_after_batch(s, rank));
  for (int64_t i = 0; i < n; ++i) {
    // Coordinates of output element i, then the (broadcast) source index per input.
    std::vector<int64_t> c(rank);
    int64_t rem = i;
    for (size_t d = rank; d-- > 0;) {
      c[d] = rem % out[d];
      rem /= out[d];
    }
    auto value = [&](size_t k) {
      int64_t idx = 0;
      for (size_t d = 0; d < rank; ++d) idx = idx * e[k][d] + (e[k][d] == 1 ? 0 : c[d]);
      return x[k][idx];
    };
    float acc = value(0);
    for (size_t k = 1; k < in.size(); ++k) {
      float v = value(k);
      switch (mode) {
        case MergeMode::Add:
        case MergeMode::Average:
          acc = acc + v;
          break;
        case MergeMode::Subtract:
          acc = acc - v;
          break;
        case MergeMode::Multiply:
          acc = acc * v;
          break;
        case MergeMode::Maximum:
          acc = std::max(acc, v);
          break;
        case MergeMode::Minimum:
          acc = std::min(acc, v);
          break;
      }
    }
    if (mode == MergeMode::Average) acc = acc / static_cast<float>(in.size());
    y[static_cast<size_t>(i)] = acc;
  }
}

void concat(int64_t axis, std::span<const Shape> in, std::span<const float* const> x,
            std::span<float> y) {
  const size_t rank = in[0].size();
  const int a = normalize_axis(axis, rank, "concat");
  int64_t outer = 1;
  for (int d = 0; d < a; ++d) outer *= in[0][static_cast<size_t>(d)];
  size_t pos = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < in.size(); ++k) {
      int64_t chunk = shape_numel(in[k]) / std::max<int64_t>(outer, 1);
      for (int64_t j = 0; j < chunk; ++j) y[pos++] = x[k][o * chunk + j];
    }
  }
}

void dot(const DotAttrs& attrs, const Shape& xs, std::span<const float> x, const Shape& ys,
         std::span<const float> y, std::span<float> out) {
  DotGeometry g = dot_geometry(attrs, xs, ys);
  std::vector<double> xn(x.begin(), x.end()), yn(y.begin(), y.end());
  auto normalize = [&](std::vector<double>& v, int64_t sample, const std::vector<int64_t>& offs,
                       int64_t ks) {
    for (int64_t b = 0; b < g.batch; ++b) {
      for (int64_t base : offs) {
        double ss = 0;
        for (int64_t i = 0; i < g.k; ++i)
          ss += v[b * sample + base + i * ks] * v[b * sample + base + i * ks];
        double inv = std::min(1 / std::sqrt(ss), static_cast<double>(attrs.max_inv_norm));
        for (int64_t i = 0; i < g.k; ++i) v[b * sample + base + i * ks] *= inv;
      }
    }
  };
  if (attrs.normalize) {
    normalize(xn, g.xbs, g.px, g.xks);
    normalize(yn, g.ybs, g.qy, g.yks);
  }
  size_t o = 0;
  for (int64_t b = 0; b < g.batch; ++b) {
    for (int64_t p : g.px) {
      for (int64_t q : g.qy) {
        double acc = 0;
        for (int64_t i = 0; i < g.k; ++i) {
          acc += xn[b * g.xbs + p + i * g.xks] * yn[b * g.ybs + q + i * g.yks];
        }
        out[o++] = static_cast<float>(acc);
      }
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
