// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
#include "ops/normalization.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kerasrt/error.h"

namespace kerasrt::ops {

namespace {

// Below this many elements a kernel runs on the calling thread: forking the OpenMP team costs
// more than the work.
constexpr int64_t kParallelMinElements = int64_t{1} << 15;

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidModel, what);
}

// Keras axes (possibly negative, any order) -> sorted, distinct, non-negative.
std::vector<int> sorted_axes(std::span<const int64_t> axes, size_t rank, const std::string& op) {
  std::vector<int> out;
  out.reserve(axes.size());
  for (int64_t a : axes) out.push_back(normalize_axis(a, rank, op));
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    invalid(op + ": axis list has a repeated axis");
  }
  return out;
}

// Product of the dims on `axes`; -1 when one is unknown.
int64_t dims_product(const Shape& shape, const std::vector<int>& axes) {
  int64_t n = 1;
  for (int a : axes) {
    if (shape[static_cast<size_t>(a)] < 0) return -1;
    n *= shape[static_cast<size_t>(a)];
  }
  return n;
}

int64_t product(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= shape[i];
  return n;
}

// C-order strides of a concrete shape.
std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

// Every position of the sub-grid spanned by `dims` (C order), as sum(index_k * strides[k]).
std::vector<int64_t> enumerate_offsets(const std::vector<int64_t>& dims,
                                       const std::vector<int64_t>& strides) {
  int64_t count = 1;
  for (int64_t d : dims) count *= d;
  std::vector<int64_t> out(static_cast<size_t>(count));
  std::vector<int64_t> idx(dims.size(), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < count; ++i) {
    out[static_cast<size_t>(i)] = offset;
    for (size_t k = dims.size(); k-- > 0;) {
      offset += strides[k];
      if (++idx[k] < dims[k]) break;
      offset -= strides[k] * dims[k];
      idx[k] = 0;
    }
  }
  return out;
}

// Per-index parameters over a set of axes, laid out for a [outer, span, inner] walk: span
// covers the dims from the first to the last parameter axis, and span_param[s] is the parameter
// index at span position s (the identity when the axes are contiguous).
struct SpanLayout {
  int64_t outer = 1;
  int64_t span = 1;
  int64_t inner = 1;
  std::vector<int64_t> span_param;
};

SpanLayout span_layout(const Shape& shape, const std::vector<int>& axes) {
  SpanLayout l;
  if (axes.empty()) {  // one scalar parameter
    l.inner = product(shape, 0, shape.size());
    l.span_param = {0};
    return l;
  }
  size_t first = static_cast<size_t>(axes.front());
  size_t last = static_cast<size_t>(axes.back());
  l.outer = product(shape, 0, first);
  l.span = product(shape, first, last + 1);
  l.inner = product(shape, last + 1, shape.size());
  // Parameter strides inside the span: C order over the parameter axes only, 0 elsewhere.
  std::vector<int64_t> dims(shape.begin() + static_cast<std::ptrdiff_t>(first),
                            shape.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  std::vector<int64_t> pstride(dims.size(), 0);
  int64_t s = 1;
  for (size_t k = dims.size(); k-- > 0;) {
    if (std::binary_search(axes.begin(), axes.end(), static_cast<int>(first + k))) {
      pstride[k] = s;
      s *= dims[k];
    }
  }
  l.span_param = enumerate_offsets(dims, pstride);
  return l;
}

// Expands parameters to the span positions.
std::vector<float> expand(std::span<const float> params, const std::vector<int64_t>& span_param) {
  std::vector<float> out(span_param.size());
  for (size_t i = 0; i < out.size(); ++i) out[i] = params[static_cast<size_t>(span_param[i])];
  return out;
}

// Shared shape check of the per-index ops: same shape out, parameter count matches the axes.
std::vector<Shape> check_param_axes(std::span<const Shape> inputs, std::span<const int64_t> axes,
                                    int64_t param_count, const std::string& op) {
  if (inputs.size() != 1) invalid(op + ": expects 1 input, got " + std::to_string(inputs.size()));
  const Shape& in = inputs[0];
  std::vector<int> sorted = sorted_axes(axes, in.size(), op + " on input " + shape_to_string(in));
  int64_t n = dims_product(in, sorted);
  if (n >= 0 && n != param_count) {
    invalid(op + ": input " + shape_to_string(in) + " has " + std::to_string(n) +
            " positions on the parameter axes, the parameters have " + std::to_string(param_count));
  }
  return {in};
}

// Index tables of a reduction: position m of the kept grid starts at kept_offset[m]; position n
// of the reduced grid adds reduce_offset[n]. The parameter index of (m, n) is
// kept_param[m] + reduce_param[n] (empty tables: parameter index n).
struct ReduceLayout {
  std::vector<int64_t> kept_offset;
  std::vector<int64_t> reduce_offset;
  std::vector<int64_t> kept_param;
  std::vector<int64_t> reduce_param;
  bool contiguous = false;  // reduce_offset[n] == n
  int64_t kept() const { return static_cast<int64_t>(kept_offset.size()); }
  int64_t reduced() const { return static_cast<int64_t>(reduce_offset.size()); }
};

// Reduction over `axes` (sorted) of a concrete shape; parameters indexed over the reduced axes.
ReduceLayout reduce_layout(const Shape& shape, const std::vector<int>& axes) {
  std::vector<int64_t> strides = strides_of(shape);
  std::vector<int64_t> kdims, kstr, rdims, rstr;
  for (size_t a = 0; a < shape.size(); ++a) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), static_cast<int>(a));
    (reduced ? rdims : kdims).push_back(shape[a]);
    (reduced ? rstr : kstr).push_back(strides[a]);
  }
  ReduceLayout l;
  l.kept_offset = enumerate_offsets(kdims, kstr);
  l.reduce_offset = enumerate_offsets(rdims, rstr);
  l.contiguous = true;
  for (size_t n = 0; n < l.reduce_offset.size(); ++n) {
    if (l.reduce_offset[n] != static_cast<int64_t>(n)) {
      l.contiguous = false;
      break;
    }
  }
  return l;
}

// -- kernels ----------------------------------------------------------------------------------

// y = act(x * a[s] + b[s]) over [outer, span, inner] (BatchNormalization; `act` a folded
// piecewise-linear activation or the identity).
template <class Act>
class AffineKernel : public Kernel {
 public:
  AffineKernel(SpanLayout layout, std::vector<float> a, std::vector<float> b, int threads, Act act)
      : l_(std::move(layout)), a_(std::move(a)), b_(std::move(b)), threads_(threads), act_(act) {}

  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    const int64_t outer = l_.outer, span = l_.span, inner = l_.inner;
    const float* a = a_.data();
    const float* b = b_.data();
    const Act act = act_;
    const bool par = outer * span * inner >= kParallelMinElements && threads_ > 1;
    if (inner == 1) {
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
      for (int64_t o = 0; o < outer; ++o) {
        const float* xr = x + o * span;
        float* yr = y + o * span;
        for (int64_t s = 0; s < span; ++s) yr[s] = act(xr[s] * a[s] + b[s]);
      }
    } else {
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
      for (int64_t r = 0; r < outer * span; ++r) {
        const float as = a[r % span], bs = b[r % span];
        const float* xr = x + r * inner;
        float* yr = y + r * inner;
        for (int64_t i = 0; i < inner; ++i) yr[i] = act(xr[i] * as + bs);
      }
    }
  }

 private:
  SpanLayout l_;
  std::vector<float> a_, b_;
  int threads_;
  Act act_;
};

template <class Act>
std::unique_ptr<Kernel> make_affine_kernel(SpanLayout l, std::vector<float> a, std::vector<float> b,
                                           int threads, Act act) {
  return std::make_unique<AffineKernel<Act>>(std::move(l), std::move(a), std::move(b), threads,
                                             act);
}

// (x - mean[s]) / denom[s], or mean[s] + x * denom[s] with invert (Normalization).
class StandardizeKernel : public Kernel {
 public:
  StandardizeKernel(SpanLayout layout, std::vector<float> mean, std::vector<float> denom,
                    bool invert, int threads)
      : l_(std::move(layout)),
        mean_(std::move(mean)),
        denom_(std::move(denom)),
        invert_(invert),
        threads_(threads) {}

  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    const int64_t outer = l_.outer, span = l_.span, inner = l_.inner;
    const float* m = mean_.data();
    const float* d = denom_.data();
    const bool par = outer * span * inner >= kParallelMinElements && threads_ > 1;
    const bool invert = invert_;
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
    for (int64_t r = 0; r < outer * span; ++r) {
      const float ms = m[r % span], ds = d[r % span];
      const float* xr = x + r * inner;
      float* yr = y + r * inner;
      // The division (not a multiply by the reciprocal) matches TF's rounding.
      if (invert) {
        for (int64_t i = 0; i < inner; ++i) yr[i] = ms + xr[i] * ds;
      } else {
        for (int64_t i = 0; i < inner; ++i) yr[i] = (xr[i] - ms) / ds;
      }
    }
  }

 private:
  SpanLayout l_;
  std::vector<float> mean_, denom_;
  bool invert_;
  int threads_;
};

// The statistics of one kept position, in double (TF's float reductions differ from an exact
// result by their own rounding; double keeps ours at the exact value).
enum class Stat { MeanVariance, MeanSquare, SumSquare };

struct Moments {
  double mean = 0;
  double second = 0;  // variance, mean square or sum of squares
};

// Sum of (x[i] - shift) or of its square over n contiguous floats. Float lanes over blocks of
// 256 (so the compiler vectorizes and each lane adds at most 16 values), blocks added in double:
// the rounding stays near float epsilon however long the row.
template <bool kSquare>
double contiguous_sum(const float* x, int64_t n, float shift) {
  constexpr int64_t kBlock = 256, kLanes = 16;
  double total = 0;
  for (int64_t b = 0; b < n; b += kBlock) {
    const int64_t e = std::min(n, b + kBlock);
    float lanes[kLanes] = {};
    int64_t i = b;
    for (; i + kLanes <= e; i += kLanes) {
      for (int64_t j = 0; j < kLanes; ++j) {
        const float d = x[i + j] - shift;
        lanes[j] += kSquare ? d * d : d;
      }
    }
    double block = 0;
    for (; i < e; ++i) {
      const float d = x[i] - shift;
      block += kSquare ? d * d : d;
    }
    for (int64_t j = 0; j < kLanes; ++j) block += lanes[j];
    total += block;
  }
  return total;
}

inline Moments moments(const float* base, const ReduceLayout& l, Stat stat) {
  const int64_t n = l.reduced();
  const int64_t* off = l.reduce_offset.data();
  const double dn = static_cast<double>(n);
  Moments m;
  if (l.contiguous) {
    if (stat == Stat::MeanVariance) {
      m.mean = contiguous_sum<false>(base, n, 0.0f) / dn;
      // Two passes: the squares are taken about the mean, no cancellation.
      m.second = contiguous_sum<true>(base, n, static_cast<float>(m.mean)) / dn;
    } else {
      const double sq = contiguous_sum<true>(base, n, 0.0f);
      m.second = stat == Stat::MeanSquare ? sq / dn : sq;
    }
    return m;
  }
  if (stat == Stat::MeanVariance) {
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += base[off[i]];
    m.mean = sum / dn;
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double d = base[off[i]] - m.mean;
      sq += d * d;
    }
    m.second = sq / dn;
  } else {
    double sq = 0;
    for (int64_t i = 0; i < n; ++i) sq += static_cast<double>(base[off[i]]) * base[off[i]];
    m.second = stat == Stat::MeanSquare ? sq / dn : sq;
  }
  return m;
}

// Layer / group / RMS normalization: per kept position m,
//   y = (x - center) * inv * gamma[p] + beta[p]
// where center is the mean (Standard, group) or 0 (RMS modes). Absent gamma/beta are ones and
// zeros, which leave the value unchanged exactly.
class NormKernel : public Kernel {
 public:
  NormKernel(ReduceLayout layout, Stat stat, bool subtract_mean, double epsilon,
             std::vector<float> gamma, std::vector<float> beta, int threads)
      : l_(std::move(layout)),
        stat_(stat),
        subtract_mean_(subtract_mean),
        epsilon_(epsilon),
        gamma_(std::move(gamma)),
        beta_(std::move(beta)),
        threads_(threads) {
    size_t params = static_cast<size_t>(l_.reduced());
    if (!l_.reduce_param.empty()) {
      int64_t last = 0;
      for (int64_t p : l_.kept_param) last = std::max(last, p);
      int64_t rlast = 0;
      for (int64_t p : l_.reduce_param) rlast = std::max(rlast, p);
      params = static_cast<size_t>(last + rlast + 1);
    }
    if (gamma_.empty()) gamma_.assign(params, 1.0f);
    if (beta_.empty()) beta_.assign(params, 0.0f);
  }

  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    const int64_t kept = l_.kept(), n = l_.reduced();
    const bool par = kept * n >= kParallelMinElements && kept > 1 && threads_ > 1;
    const bool param_tables = !l_.reduce_param.empty();
    const float* g = gamma_.data();
    const float* b = beta_.data();
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
    for (int64_t m = 0; m < kept; ++m) {
      const int64_t base = l_.kept_offset[static_cast<size_t>(m)];
      Moments mo = moments(x + base, l_, stat_);
      // Keras: inv = rsqrt(var + epsilon) (UnitNormalization: rsqrt(max(sumsq, epsilon))).
      const double denom_sq =
          stat_ == Stat::SumSquare ? std::max(mo.second, epsilon_) : mo.second + epsilon_;
      const float inv = static_cast<float>(1.0 / std::sqrt(denom_sq));
      const float center = subtract_mean_ ? static_cast<float>(mo.mean) : 0.0f;
      if (l_.contiguous && !param_tables) {
        const float* xr = x + base;
        float* yr = y + base;
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - center) * inv * g[i] + b[i];
        continue;
      }
      const int64_t pbase = param_tables ? l_.kept_param[static_cast<size_t>(m)] : 0;
      for (int64_t i = 0; i < n; ++i) {
        const size_t ui = static_cast<size_t>(i);
        const int64_t off = base + (l_.contiguous ? i : l_.reduce_offset[ui]);
        const int64_t p = param_tables ? pbase + l_.reduce_param[ui] : i;
        y[off] = (x[off] - center) * inv * g[p] + b[p];
      }
    }
  }

 private:
  ReduceLayout l_;
  Stat stat_;
  bool subtract_mean_;
  double epsilon_;
  std::vector<float> gamma_, beta_;
  int threads_;
};

std::vector<float> to_vector(const Tensor& t) {
  if (t.empty()) return {};
  return std::vector<float>(t.values().begin(), t.values().end());
}

void require_one(std::span<const Shape> inputs, const std::string& op) {
  if (inputs.size() != 1) invalid(op + ": expects 1 input, got " + std::to_string(inputs.size()));
}

}  // namespace

// -- BatchNormalization -------------------------------------------------------------------------

void fold_batch_norm(std::span<const float> gamma, std::span<const float> beta,
                     std::span<const float> mean, std::span<const float> variance, double epsilon,
                     std::span<float> scale, std::span<float> shift) {
  for (size_t i = 0; i < mean.size(); ++i) {
    double s = 1.0 / std::sqrt(static_cast<double>(variance[i]) + epsilon);
    if (!gamma.empty()) s *= gamma[i];
    scale[i] = static_cast<float>(s);
    shift[i] = static_cast<float>((beta.empty() ? 0.0 : beta[i]) - mean[i] * s);
  }
}

void fold_batch_norm_std(std::span<const float> gamma, std::span<const float> beta,
                         std::span<const float> mean, std::span<const float> stddev, double epsilon,
                         std::span<float> scale, std::span<float> shift) {
  for (size_t i = 0; i < mean.size(); ++i) {
    double s = 1.0 / (static_cast<double>(stddev[i]) + epsilon);
    if (!gamma.empty()) s *= gamma[i];
    scale[i] = static_cast<float>(s);
    shift[i] = static_cast<float>((beta.empty() ? 0.0 : beta[i]) - mean[i] * s);
  }
}

BatchNormOp::BatchNormOp(BatchNormAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.scale.numel() != attrs_.shift.numel() || attrs_.scale.empty()) {
    throw Error(ErrorCode::Internal, "BatchNormalization: scale and shift must match");
  }
}

std::vector<Shape> BatchNormOp::infer_shapes(std::span<const Shape> inputs) const {
  return check_param_axes(inputs, attrs_.axes, attrs_.scale.numel(), kind());
}

std::unique_ptr<Kernel> BatchNormOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                             const PrepareContext& ctx) const {
  infer_shapes(inputs);
  SpanLayout l = span_layout(inputs[0], sorted_axes(attrs_.axes, inputs[0].size(), kind()));
  std::vector<float> a = expand(attrs_.scale.values(), l.span_param);
  std::vector<float> b = expand(attrs_.shift.values(), l.span_param);
  const int threads = std::max(1, ctx.threads);
  switch (attrs_.activation) {
    case BatchNormActivation::None:
      break;
    case BatchNormActivation::Clip:
      // As elementwise.cpp's keras_relu: max first, then min (a NaN stays NaN).
      return make_affine_kernel(
          std::move(l), std::move(a), std::move(b), threads,
          [lo = attrs_.lo, hi = attrs_.hi](float v) { return std::min(std::max(v, lo), hi); });
    case BatchNormActivation::Leaky:
      return make_affine_kernel(std::move(l), std::move(a), std::move(b), threads,
                                [slope = attrs_.slope](float v) { return v > 0 ? v : slope * v; });
  }
  return make_affine_kernel(std::move(l), std::move(a), std::move(b), threads,
                            [](float v) { return v; });
}

// -- Normalization ----------------------------------------------------------------------------

StandardizeOp::StandardizeOp(StandardizeAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.mean.numel() != attrs_.variance.numel() || attrs_.mean.empty()) {
    throw Error(ErrorCode::Internal, "Normalization: mean and variance must match");
  }
}

std::vector<Shape> StandardizeOp::infer_shapes(std::span<const Shape> inputs) const {
  return check_param_axes(inputs, attrs_.axes, attrs_.mean.numel(), kind());
}

std::unique_ptr<Kernel> StandardizeOp::prepare(std::span<const Shape> inputs,
                                               std::span<const Shape>,
                                               const PrepareContext& ctx) const {
  infer_shapes(inputs);
  SpanLayout l = span_layout(inputs[0], sorted_axes(attrs_.axes, inputs[0].size(), kind()));
  std::vector<float> mean = expand(attrs_.mean.values(), l.span_param);
  std::vector<float> denom = expand(attrs_.variance.values(), l.span_param);
  // max(sqrt(variance), epsilon) in float, as TF evaluates it.
  for (float& d : denom) d = std::max(std::sqrt(d), attrs_.epsilon);
  return std::make_unique<StandardizeKernel>(std::move(l), std::move(mean), std::move(denom),
                                             attrs_.invert, std::max(1, ctx.threads));
}

// -- LayerNormalization -----------------------------------------------------------------------

LayerNormOp::LayerNormOp(LayerNormAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.axes.empty()) throw Error(ErrorCode::Internal, "LayerNormalization: no axes");
}

std::vector<Shape> LayerNormOp::infer_shapes(std::span<const Shape> inputs) const {
  require_one(inputs, kind());
  const Shape& in = inputs[0];
  std::vector<int> axes =
      sorted_axes(attrs_.axes, in.size(), kind() + " on input " + shape_to_string(in));
  int64_t n = dims_product(in, axes);
  for (const Tensor* t : {&attrs_.gamma, &attrs_.beta}) {
    if (n >= 0 && !t->empty() && t->numel() != n) {
      invalid(kind() + ": input " + shape_to_string(in) + " has " + std::to_string(n) +
              " positions on the normalized axes, gamma/beta have " + std::to_string(t->numel()));
    }
  }
  return {in};
}

std::unique_ptr<Kernel> LayerNormOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                             const PrepareContext& ctx) const {
  infer_shapes(inputs);
  ReduceLayout l = reduce_layout(inputs[0], sorted_axes(attrs_.axes, inputs[0].size(), kind()));
  Stat stat = attrs_.mode == LayerNormMode::RmsMeanSquare ? Stat::MeanSquare : Stat::MeanVariance;
  bool subtract_mean = attrs_.mode == LayerNormMode::Standard;
  return std::make_unique<NormKernel>(std::move(l), stat, subtract_mean, attrs_.epsilon,
                                      to_vector(attrs_.gamma), to_vector(attrs_.beta),
                                      std::max(1, ctx.threads));
}

// -- UnitNormalization ------------------------------------------------------------------------

UnitNormOp::UnitNormOp(UnitNormAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.axes.empty()) throw Error(ErrorCode::Internal, "UnitNormalization: no axes");
}

std::vector<Shape> UnitNormOp::infer_shapes(std::span<const Shape> inputs) const {
  require_one(inputs, kind());
  sorted_axes(attrs_.axes, inputs[0].size(), kind() + " on input " + shape_to_string(inputs[0]));
  return {inputs[0]};
}

std::unique_ptr<Kernel> UnitNormOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                            const PrepareContext& ctx) const {
  infer_shapes(inputs);
  ReduceLayout l = reduce_layout(inputs[0], sorted_axes(attrs_.axes, inputs[0].size(), kind()));
  return std::make_unique<NormKernel>(std::move(l), Stat::SumSquare, false, attrs_.epsilon,
                                      std::vector<float>{}, std::vector<float>{},
                                      std::max(1, ctx.threads));
}

// -- GroupNormalization -----------------------------------------------------------------------

GroupNormOp::GroupNormOp(GroupNormAttrs attrs) : attrs_(std::move(attrs)) {}

std::vector<Shape> GroupNormOp::infer_shapes(std::span<const Shape> inputs) const {
  require_one(inputs, kind());
  const Shape& in = inputs[0];
  int axis = normalize_axis(attrs_.axis, in.size(), kind() + " on input " + shape_to_string(in));
  if (axis == 0) invalid(kind() + ": the channel axis cannot be the batch axis");
  int64_t c = in[static_cast<size_t>(axis)];
  if (c >= 0) {
    int64_t g = attrs_.groups == -1 ? c : attrs_.groups;
    if (g <= 0 || c % g != 0) {
      invalid(kind() + ": " + std::to_string(c) + " channels cannot be split into " +
              std::to_string(g) + " groups");
    }
    for (const Tensor* t : {&attrs_.gamma, &attrs_.beta}) {
      if (!t->empty() && t->numel() != c) {
        invalid(kind() + ": input has " + std::to_string(c) + " channels, gamma/beta have " +
                std::to_string(t->numel()));
      }
    }
  }
  return {in};
}

std::unique_ptr<Kernel> GroupNormOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                             const PrepareContext& ctx) const {
  infer_shapes(inputs);
  const Shape& in = inputs[0];
  const size_t axis = static_cast<size_t>(normalize_axis(attrs_.axis, in.size(), kind()));
  const int64_t c = in[axis];
  const int64_t g = attrs_.groups == -1 ? c : attrs_.groups;
  const int64_t cg = c / g;
  std::vector<int64_t> strides = strides_of(in);
  // Kept grid: (batch, group); reduced grid: every other axis with the channel axis narrowed to
  // the channels of one group (keras: reshape to [..., groups, C/groups, ...]).
  std::vector<int64_t> kdims{in[0], g}, kstr{strides[0], cg * strides[axis]}, kpar{0, cg};
  std::vector<int64_t> rdims, rstr, rpar;
  for (size_t a = 1; a < in.size(); ++a) {
    rdims.push_back(a == axis ? cg : in[a]);
    rstr.push_back(strides[a]);
    rpar.push_back(a == axis ? 1 : 0);
  }
  ReduceLayout l;
  l.kept_offset = enumerate_offsets(kdims, kstr);
  l.kept_param = enumerate_offsets(kdims, kpar);
  l.reduce_offset = enumerate_offsets(rdims, rstr);
  l.reduce_param = enumerate_offsets(rdims, rpar);
  l.contiguous = false;
  return std::make_unique<NormKernel>(std::move(l), Stat::MeanVariance, true, attrs_.epsilon,
                                      to_vector(attrs_.gamma), to_vector(attrs_.beta),
                                      std::max(1, ctx.threads));
}

// -- references ---------------------------------------------------------------------------------

namespace reference {

namespace {

// Multi-index of flat position i.
std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t k = shape.size(); k-- > 0;) {
    idx[k] = i % shape[k];
    i /= shape[k];
  }
  return idx;
}

// C-order index of `idx` restricted to `axes` (in_axes=true) or to the other axes.
int64_t sub_index(const std::vector<int64_t>& idx, const Shape& shape, const std::vector<int>& axes,
                  bool in_axes) {
  int64_t p = 0;
  for (size_t k = 0; k < shape.size(); ++k) {
    bool member = std::find(axes.begin(), axes.end(), static_cast<int>(k)) != axes.end();
    if (member == in_axes) p = p * shape[k] + idx[k];
  }
  return p;
}

}  // namespace

void batch_norm(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
                std::span<const float> scale, std::span<const float> shift, std::span<float> y) {
  std::vector<int> ax = sorted_axes(axes, shape.size(), "batch_norm");
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t p = sub_index(unravel(static_cast<int64_t>(i), shape), shape, ax, true);
    y[i] = x[i] * scale[static_cast<size_t>(p)] + shift[static_cast<size_t>(p)];
  }
}

void standardize(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
                 std::span<const float> mean, std::span<const float> variance, bool invert,
                 float epsilon, std::span<float> y) {
  std::vector<int> ax = sorted_axes(axes, shape.size(), "standardize");
  for (size_t i = 0; i < x.size(); ++i) {
    size_t p =
        static_cast<size_t>(sub_index(unravel(static_cast<int64_t>(i), shape), shape, ax, true));
    float d = std::max(std::sqrt(variance[p]), epsilon);
    y[i] = invert ? mean[p] + x[i] * d : (x[i] - mean[p]) / d;
  }
}

void layer_norm(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
                std::span<const float> gamma, std::span<const float> beta, double epsilon,
                LayerNormMode mode, std::span<float> y) {
  std::vector<int> ax = sorted_axes(axes, shape.size(), "layer_norm");
  int64_t n = 1;
  for (int a : ax) n *= shape[static_cast<size_t>(a)];
  size_t kept = x.size() / static_cast<size_t>(n);
  std::vector<double> sum(kept, 0.0), sq(kept, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    size_t k =
        static_cast<size_t>(sub_index(unravel(static_cast<int64_t>(i), shape), shape, ax, false));
    sum[k] += x[i];
    sq[k] += static_cast<double>(x[i]) * x[i];
  }
  for (size_t i = 0; i < x.size(); ++i) {
    auto idx = unravel(static_cast<int64_t>(i), shape);
    size_t k = static_cast<size_t>(sub_index(idx, shape, ax, false));
    size_t p = static_cast<size_t>(sub_index(idx, shape, ax, true));
    double mean = sum[k] / static_cast<double>(n);
    double meansq = sq[k] / static_cast<double>(n);
    double var = std::max(meansq - mean * mean, 0.0);
    double v;
    if (mode == LayerNormMode::Standard) {
      v = (x[i] - mean) / std::sqrt(var + epsilon);
    } else if (mode == LayerNormMode::RmsVariance) {
      v = x[i] / std::sqrt(var + epsilon);
    } else {
      v = x[i] / std::sqrt(meansq + epsilon);
    }
    if (!gamma.empty()) v *= gamma[p];
    if (!beta.empty()) v += beta[p];
    y[i] = static_cast<float>(v);
  }
}

void unit_norm(const Shape& shape, std::span<const int64_t> axes, std::span<const float> x,
               double epsilon, std::span<float> y) {
  std::vector<int> ax = sorted_axes(axes, shape.size(), "unit_norm");
  int64_t n = 1;
  for (int a : ax) n *= shape[static_cast<size_t>(a)];
  std::vector<double> sq(x.size() / static_cast<size_t>(n), 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    sq[static_cast<size_t>(sub_index(unravel(static_cast<int64_t>(i), shape), shape, ax, false))] +=
        static_cast<double>(x[i]) * x[i];
  }
  for (size_t i = 0; i < x.size(); ++i) {
    size_t k =
        static_cast<size_t>(sub_index(unravel(static_cast<int64_t>(i), shape), shape, ax, false));
    y[i] = static_cast<float>(x[i] / std::sqrt(std::max(sq[k], epsilon)));
  }
}

void group_norm(const Shape& shape, int64_t axis, int64_t groups, std::span<const float> x,
                std::span<const float> gamma, std::span<const float> beta, double epsilon,
                std::span<float> y) {
  size_t a = static_cast<size_t>(normalize_axis(axis, shape.size(), "group_norm"));
  int64_t c = shape[a];
  int64_t g = groups == -1 ? c : groups;
  int64_t cg = c / g;
  size_t keys = static_cast<size_t>(shape[0] * g);
  std::vector<double> sum(keys, 0.0), cnt(keys, 0.0);
  auto key_of = [&](const std::vector<int64_t>& idx) {
    return static_cast<size_t>(idx[0] * g + idx[a] / cg);
  };
  for (size_t i = 0; i < x.size(); ++i) {
    size_t k = key_of(unravel(static_cast<int64_t>(i), shape));
    sum[k] += x[i];
    cnt[k] += 1;
  }
  std::vector<double> var(keys, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    size_t k = key_of(unravel(static_cast<int64_t>(i), shape));
    double d = x[i] - sum[k] / cnt[k];
    var[k] += d * d;
  }
  for (size_t i = 0; i < x.size(); ++i) {
    auto idx = unravel(static_cast<int64_t>(i), shape);
    size_t k = key_of(idx);
    size_t ch = static_cast<size_t>(idx[a]);
    double v = (x[i] - sum[k] / cnt[k]) / std::sqrt(var[k] / cnt[k] + epsilon);
    if (!gamma.empty()) v *= gamma[ch];
    if (!beta.empty()) v += beta[ch];
    y[i] = static_cast<float>(v);
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
