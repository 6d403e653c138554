#include "ops/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kerasrt/error.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

namespace {

[[noreturn]] void invalid(const std::string& who, const std::string& what) {
  throw Error(ErrorCode::InvalidModel, who + ": " + what);
}

std::vector<int64_t> row_major_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

bool dims_match(int64_t a, int64_t b) {
  return a < 0 || b < 0 || a == b;
}

// Offsets of every multi-index over `axes` of `shape`, row-major in the order of `axes`.
std::vector<int64_t> offsets(const Shape& shape, const std::vector<int>& axes,
                             const std::vector<int64_t>& strides) {
  std::vector<int64_t> out{0};
  for (int a : axes) {
    std::vector<int64_t> next;
    next.reserve(out.size() * static_cast<size_t>(shape[static_cast<size_t>(a)]));
    for (int64_t base : out) {
      for (int64_t i = 0; i < shape[static_cast<size_t>(a)]; ++i) {
        next.push_back(base + i * strides[static_cast<size_t>(a)]);
      }
    }
    out = std::move(next);
  }
  return out;
}

// The layout facts of one MultiHeadAttentionOp call, shared by the kernel and the reference.
struct MhaLayout {
  int64_t G = 1, T = 1, S = 1, Dk = 0, Dv = 0, B = 1, Nq = 1, rep = 1;
  std::vector<int64_t> q_g, k_g, v_g, o_g;  // per batch-group offsets
  std::vector<int64_t> q_t, o_t, k_s, v_s;  // per attention position offsets
  std::vector<int64_t> g_batch, g_head;     // batch index and query head of each group
  Shape am_shape;                           // attention mask as 4-D (B|1, H|1, T|1, S|1)

  MhaLayout(const MultiHeadAttentionAttrs& a, std::span<const Shape> in) {
    const Shape &q = in[0], &k = in[1], &v = in[2];
    const int r = static_cast<int>(q.size());
    std::vector<int> batch_axes;
    for (int i = 0; i < r - 1; ++i) {
      if (std::find(a.attention_axes.begin(), a.attention_axes.end(), i) ==
          a.attention_axes.end()) {
        batch_axes.push_back(i);
      }
    }
    Dk = q[static_cast<size_t>(r - 1)];
    Dv = v[static_cast<size_t>(r - 1)];
    B = q[0];
    Nq = q[static_cast<size_t>(r - 2)];
    rep = Nq / k[static_cast<size_t>(r - 2)];
    auto qs = row_major_strides(q), ks = row_major_strides(k), vs = row_major_strides(v);
    Shape o = q;
    o.back() = Dv;
    auto os = row_major_strides(o);
    // Batch groups: walk Q's batch axes; K/V use the same indices with the head mapped h/rep.
    std::vector<int64_t> idx(batch_axes.size(), 0);
    G = 1;
    for (int ax : batch_axes) G *= q[static_cast<size_t>(ax)];
    for (int64_t g = 0; g < G; ++g) {
      int64_t rem = g;
      for (size_t i = batch_axes.size(); i-- > 0;) {
        idx[i] = rem % q[static_cast<size_t>(batch_axes[i])];
        rem /= q[static_cast<size_t>(batch_axes[i])];
      }
      int64_t qo = 0, ko = 0, vo = 0, oo = 0, head = 0, batch = 0;
      for (size_t i = 0; i < batch_axes.size(); ++i) {
        size_t ax = static_cast<size_t>(batch_axes[i]);
        int64_t kv_i = idx[i];
        if (static_cast<int>(ax) == r - 2) {
          head = idx[i];
          kv_i = idx[i] / rep;
        }
        if (ax == 0) batch = idx[i];
        qo += idx[i] * qs[ax];
        oo += idx[i] * os[ax];
        ko += kv_i * ks[ax];
        vo += kv_i * vs[ax];
      }
      q_g.push_back(qo);
      o_g.push_back(oo);
      k_g.push_back(ko);
      v_g.push_back(vo);
      g_batch.push_back(batch);
      g_head.push_back(head);
    }
    q_t = offsets(q, a.attention_axes, qs);
    o_t = offsets(o, a.attention_axes, os);
    k_s = offsets(k, a.attention_axes, ks);
    v_s = offsets(v, a.attention_axes, vs);
    T = static_cast<int64_t>(q_t.size());
    S = static_cast<int64_t>(k_s.size());
    if (a.has_attention_mask) {
      const Shape& m = in[3 + (a.has_query_mask ? 1 : 0) + (a.has_value_mask ? 1 : 0) +
                          (a.has_key_mask ? 1 : 0)];
      am_shape = m.size() == 4 ? m : Shape{m[0], 1, m[1], m[2]};
    }
  }

  // Whether position (g, t, s) may attend, from the masks (masks only exist for rank-4 Q with a
  // single attention axis, so t and s are plain sequence positions).
  bool allowed(const MultiHeadAttentionAttrs& a, const float* qm, const float* vm, const float* km,
               const float* am, int64_t g, int64_t t, int64_t s) const {
    int64_t b = g_batch[static_cast<size_t>(g)];
    if (qm && qm[b * T + t] == 0.0f) return false;
    if (vm && vm[b * S + s] == 0.0f) return false;
    if (km && km[b * S + s] == 0.0f) return false;
    if (a.causal && s > t) return false;
    if (a.sliding_window > 0 && std::llabs(t - s) >= a.sliding_window) return false;
    if (am) {
      const Shape& m = am_shape;
      int64_t h = g_head[static_cast<size_t>(g)];
      int64_t off = (m[0] == 1 ? 0 : b);
      off = off * m[1] + (m[1] == 1 ? 0 : h);
      off = off * m[2] + (m[2] == 1 ? 0 : t);
      off = off * m[3] + (m[3] == 1 ? 0 : s);
      if (am[off] == 0.0f) return false;
    }
    return true;
  }
};

// Softmax of one score row in place, masked as `fill` says. `masked[j]` true = masked.
template <class Real>
void masked_softmax_row(MaskFill fill, Real* x, const bool* masked, int64_t n, bool any_mask) {
  if (any_mask && fill == MaskFill::kAdd) {
    for (int64_t j = 0; j < n; ++j) {
      if (masked[j]) x[j] = static_cast<Real>(static_cast<float>(x[j]) + -1e9f);
    }
    any_mask = false;
  }
  Real mx = -std::numeric_limits<Real>::infinity();
  bool any_active = false;
  for (int64_t j = 0; j < n; ++j) {
    if (any_mask && masked[j]) continue;
    mx = std::max(mx, x[j]);
    any_active = true;
  }
  if (!any_active) {
    Real v = fill == MaskFill::kUniform ? Real(1) / static_cast<Real>(n) : Real(0);
    for (int64_t j = 0; j < n; ++j) x[j] = v;
    return;
  }
  Real sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    if (any_mask && masked[j]) {
      x[j] = 0;
      continue;
    }
    x[j] = std::exp(x[j] - mx);
    sum += x[j];
  }
  for (int64_t j = 0; j < n; ++j) x[j] /= sum;
}

size_t align64(size_t n) {
  return (n + 63) / 64 * 64;
}

struct MaskPtrs {
  const float *qm = nullptr, *vm = nullptr, *km = nullptr, *am = nullptr;
  bool any() const { return qm || vm || km || am; }
};

MaskPtrs mask_ptrs(const MultiHeadAttentionAttrs& a, std::span<const float* const> in) {
  MaskPtrs m;
  size_t i = 3;
  if (a.has_query_mask) m.qm = in[i++];
  if (a.has_value_mask) m.vm = in[i++];
  if (a.has_key_mask) m.km = in[i++];
  if (a.has_attention_mask) m.am = in[i++];
  return m;
}

class MhaKernel final : public Kernel {
 public:
  MhaKernel(const MultiHeadAttentionAttrs& a, std::span<const Shape> in) : a_(a), l_(a, in) {
    scores_bytes_ = a_.return_scores ? 0 : align64(static_cast<size_t>(l_.G * l_.T * l_.S) * 4);
    masked_bytes_ = align64(static_cast<size_t>(l_.G * l_.T * l_.S));
  }
  size_t scratch_bytes() const override { return scores_bytes_ + masked_bytes_; }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float *q = inputs[0], *k = inputs[1], *v = inputs[2];
    MaskPtrs m = mask_ptrs(a_, inputs);
    const bool any_mask = m.any() || a_.causal || a_.sliding_window > 0;
    float* o = outputs[0];
    float* scores = a_.return_scores ? outputs[1] : reinterpret_cast<float*>(ctx.scratch);
    bool* masked = reinterpret_cast<bool*>(ctx.scratch + scores_bytes_);
    const int64_t G = l_.G, T = l_.T, S = l_.S, Dk = l_.Dk, Dv = l_.Dv;
    const int64_t rows = G * T;
#pragma omp parallel for schedule(static) if (rows * S * (Dk + Dv) > detail::kParallelThreshold)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t g = row / T, t = row % T;
      float* x = scores + row * S;
      bool* mk = masked + row * S;
      const float* qr = q + l_.q_g[static_cast<size_t>(g)] + l_.q_t[static_cast<size_t>(t)];
      for (int64_t s = 0; s < S; ++s) {
        const float* kr = k + l_.k_g[static_cast<size_t>(g)] + l_.k_s[static_cast<size_t>(s)];
        float acc = 0.0f;
        for (int64_t d = 0; d < Dk; ++d) acc += qr[d] * kr[d];
        x[s] = acc * a_.scale;
        mk[s] = any_mask && !l_.allowed(a_, m.qm, m.vm, m.km, m.am, g, t, s);
      }
      masked_softmax_row<float>(a_.fill, x, mk, S, any_mask);
      float* orow = o + l_.o_g[static_cast<size_t>(g)] + l_.o_t[static_cast<size_t>(t)];
      for (int64_t d = 0; d < Dv; ++d) orow[d] = 0.0f;
      for (int64_t s = 0; s < S; ++s) {
        const float p = x[s];
        if (p == 0.0f) continue;
        const float* vr = v + l_.v_g[static_cast<size_t>(g)] + l_.v_s[static_cast<size_t>(s)];
        for (int64_t d = 0; d < Dv; ++d) orow[d] += p * vr[d];
      }
    }
  }

 private:
  MultiHeadAttentionAttrs a_;
  MhaLayout l_;
  size_t scores_bytes_ = 0, masked_bytes_ = 0;
};

// -- DenseAttention

struct DenseDims {
  int64_t B, Tq, Tv, D, Dv;
};

DenseDims dense_dims(std::span<const Shape> in) {
  return {in[0][0], in[0][1], in[1][1], in[0][2], in[1][2]};
}

template <class Real>
Real dense_score(const DenseAttentionAttrs& a, const float* qr, const float* kr, int64_t D) {
  Real acc = 0;
  switch (a.mode) {
    case ScoreMode::kDot:
      for (int64_t d = 0; d < D; ++d) acc += static_cast<Real>(qr[d]) * kr[d];
      if (a.has_scale) acc *= a.scale;
      return acc;
    case ScoreMode::kConcat:
      for (int64_t d = 0; d < D; ++d) {
        Real sum = static_cast<Real>(qr[d]) + kr[d];
        acc += std::tanh(a.has_scale ? static_cast<Real>(a.scale) * sum : sum);
      }
      return static_cast<Real>(a.concat_weight) * acc;
    case ScoreMode::kAdditive:
      for (int64_t d = 0; d < D; ++d) {
        Real th = std::tanh(static_cast<Real>(qr[d]) + kr[d]);
        acc += a.has_scale ? static_cast<Real>(a.scale_vector[static_cast<size_t>(d)]) * th : th;
      }
      return acc;
  }
  return acc;
}

class DenseAttentionKernel final : public Kernel {
 public:
  DenseAttentionKernel(const DenseAttentionAttrs& a, std::span<const Shape> in)
      : a_(a), d_(dense_dims(in)) {}
  size_t scratch_bytes() const override {
    return a_.return_scores ? 0 : static_cast<size_t>(d_.B * d_.Tq * d_.Tv) * sizeof(float);
  }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float *q = inputs[0], *v = inputs[1], *k = inputs[2];
    size_t i = 3;
    const float* qm = a_.has_query_mask ? inputs[i++] : nullptr;
    const float* vm = a_.has_value_mask ? inputs[i++] : nullptr;
    float* scores = a_.return_scores ? outputs[1] : reinterpret_cast<float*>(ctx.scratch);
    const DenseDims d = d_;
    const int64_t rows = d.B * d.Tq;
#pragma omp parallel for schedule(static) if (rows * d.Tv * (d.D + d.Dv) > \
                                              detail::kParallelThreshold)
    for (int64_t row = 0; row < rows; ++row) {
      const int64_t b = row / d.Tq, t = row % d.Tq;
      const float* qr = q + row * d.D;
      float* x = scores + row * d.Tv;
      for (int64_t s = 0; s < d.Tv; ++s) {
        x[s] = dense_score<float>(a_, qr, k + (b * d.Tv + s) * d.D, d.D);
        bool keep = (!vm || vm[b * d.Tv + s] != 0.0f) && (!a_.causal || s <= t);
        if (!keep) x[s] -= 1.0e9f;  // Keras: scores - 1e9 where padded
      }
      masked_softmax_row<float>(MaskFill::kZero, x, nullptr, d.Tv, false);
      float* orow = outputs[0] + row * d.Dv;
      for (int64_t c = 0; c < d.Dv; ++c) orow[c] = 0.0f;
      if (qm && qm[row] == 0.0f) continue;  // Keras zeroes the rows of masked queries
      for (int64_t s = 0; s < d.Tv; ++s) {
        const float p = x[s];
        if (p == 0.0f) continue;
        const float* vr = v + (b * d.Tv + s) * d.Dv;
        for (int64_t c = 0; c < d.Dv; ++c) orow[c] += p * vr[c];
      }
    }
  }

 private:
  DenseAttentionAttrs a_;
  DenseDims d_;
};

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

}  // namespace

// -- MultiHeadAttentionOp

MultiHeadAttentionOp::MultiHeadAttentionOp(MultiHeadAttentionAttrs attrs)
    : attrs_(std::move(attrs)) {
  std::sort(attrs_.attention_axes.begin(), attrs_.attention_axes.end());
  if (attrs_.attention_axes.empty()) invalid("MultiHeadAttention", "no attention axes");
}

size_t MultiHeadAttentionOp::num_mask_inputs() const {
  return (attrs_.has_query_mask ? 1 : 0) + (attrs_.has_value_mask ? 1 : 0) +
         (attrs_.has_key_mask ? 1 : 0) + (attrs_.has_attention_mask ? 1 : 0);
}

std::vector<Shape> MultiHeadAttentionOp::infer_shapes(std::span<const Shape> in) const {
  const std::string who = "MultiHeadAttention";
  if (in.size() != 3 + num_mask_inputs()) {
    invalid(who, "expected " + std::to_string(3 + num_mask_inputs()) + " inputs, got " +
                     std::to_string(in.size()));
  }
  const Shape &q = in[0], &k = in[1], &v = in[2];
  const size_t r = q.size();
  if (r < 4 || k.size() != r || v.size() != r) {
    invalid(who, "projected query/key/value must have equal rank >= 4, got " + shape_to_string(q) +
                     ", " + shape_to_string(k) + ", " + shape_to_string(v));
  }
  for (int ax : attrs_.attention_axes) {
    if (ax < 1 || static_cast<size_t>(ax) > r - 3) {
      invalid(who,
              "attention axis " + std::to_string(ax) + " out of range for " + shape_to_string(q));
    }
  }
  auto is_attn = [&](size_t i) {
    return std::find(attrs_.attention_axes.begin(), attrs_.attention_axes.end(),
                     static_cast<int>(i)) != attrs_.attention_axes.end();
  };
  for (size_t i = 0; i + 1 < r; ++i) {
    if (!dims_match(k[i], v[i])) {
      invalid(who, "key " + shape_to_string(k) + " and value " + shape_to_string(v) +
                       " differ outside the last dim");
    }
    if (i == r - 2 || is_attn(i)) continue;
    if (!dims_match(q[i], k[i])) {
      invalid(who, "query " + shape_to_string(q) + " and key " + shape_to_string(k) +
                       " differ in non-attention dim " + std::to_string(i));
    }
  }
  if (!dims_match(q[r - 1], k[r - 1])) {
    invalid(who,
            "query and key head sizes differ: " + shape_to_string(q) + " vs " + shape_to_string(k));
  }
  const int64_t nq = q[r - 2], nkv = k[r - 2];
  if (nq > 0 && nkv > 0 && (nkv > nq || nq % nkv != 0)) {
    invalid(who, std::to_string(nq) + " query heads are not a multiple of " + std::to_string(nkv) +
                     " key/value heads");
  }
  if (num_mask_inputs() > 0 || attrs_.causal || attrs_.sliding_window > 0) {
    if (r != 4 || attrs_.attention_axes != std::vector<int>{1}) {
      invalid(who, "masks are supported for attention over one sequence axis only");
    }
  }
  // Mask shapes.
  size_t mi = 3;
  auto check_seq_mask = [&](const char* what, int64_t len) {
    const Shape& m = in[mi++];
    if (m.size() != 2 || !dims_match(m[0], q[0]) || !dims_match(m[1], len)) {
      invalid(who, std::string(what) + " must be (batch, " + std::to_string(len) + "), got " +
                       shape_to_string(m));
    }
  };
  if (attrs_.has_query_mask) check_seq_mask("query mask", q[1]);
  if (attrs_.has_value_mask) check_seq_mask("value mask", k[1]);
  if (attrs_.has_key_mask) check_seq_mask("key mask", k[1]);
  if (attrs_.has_attention_mask) {
    const Shape& m = in[mi++];
    Shape want = m.size() == 3 ? Shape{q[0], q[1], k[1]} : Shape{q[0], nq, q[1], k[1]};
    bool ok = m.size() == 3 || m.size() == 4;
    for (size_t i = 0; ok && i < m.size(); ++i) {
      ok = m[i] == 1 || dims_match(m[i], want[i]);
    }
    if (!ok) {
      invalid(who, "attention_mask " + shape_to_string(m) + " does not broadcast to " +
                       shape_to_string(want));
    }
  }
  Shape o = q;
  o.back() = v.back();
  std::vector<Shape> outs{o};
  if (attrs_.return_scores) {
    Shape s;
    for (size_t i = 0; i + 1 < r; ++i) {
      if (!is_attn(i)) s.push_back(q[i]);
    }
    for (int ax : attrs_.attention_axes) s.push_back(q[static_cast<size_t>(ax)]);
    for (int ax : attrs_.attention_axes) s.push_back(k[static_cast<size_t>(ax)]);
    outs.push_back(s);
  }
  return outs;
}

std::unique_ptr<Kernel> MultiHeadAttentionOp::prepare(std::span<const Shape> inputs,
                                                      std::span<const Shape>,
                                                      const PrepareContext&) const {
  std::vector<Shape> outs = infer_shapes(inputs);
  for (const Shape& s : outs) {
    if (shape_numel(s) == 0) return std::make_unique<NoopKernel>();
  }
  if (shape_numel(inputs[1]) == 0) {
    // S == 0: Keras's softmax over an empty axis gives an empty row; the output is all zeros.
    invalid("MultiHeadAttention", "empty key/value sequence");
  }
  return std::make_unique<MhaKernel>(attrs_, inputs);
}

// -- DenseAttentionOp

DenseAttentionOp::DenseAttentionOp(DenseAttentionAttrs attrs) : attrs_(std::move(attrs)) {}

std::vector<Shape> DenseAttentionOp::infer_shapes(std::span<const Shape> in) const {
  const std::string who = kind();
  size_t want = 3 + (attrs_.has_query_mask ? 1 : 0) + (attrs_.has_value_mask ? 1 : 0);
  if (in.size() != want) {
    invalid(who, "expected " + std::to_string(want) + " inputs, got " + std::to_string(in.size()));
  }
  const Shape &q = in[0], &v = in[1], &k = in[2];
  if (q.size() != 3 || v.size() != 3 || k.size() != 3) {
    invalid(who, "query, value and key must be (batch, time, dim), got " + shape_to_string(q) +
                     ", " + shape_to_string(v) + ", " + shape_to_string(k));
  }
  if (!dims_match(q[0], v[0]) || !dims_match(q[0], k[0]) || !dims_match(v[1], k[1]) ||
      !dims_match(q[2], k[2])) {
    invalid(who, "query " + shape_to_string(q) + ", value " + shape_to_string(v) + " and key " +
                     shape_to_string(k) + " do not fit together");
  }
  if (attrs_.mode == ScoreMode::kAdditive && attrs_.has_scale && q[2] >= 0 &&
      static_cast<int64_t>(attrs_.scale_vector.size()) != q[2]) {
    invalid(who, "scale has " + std::to_string(attrs_.scale_vector.size()) +
                     " values, the query dim is " + std::to_string(q[2]));
  }
  size_t i = 3;
  if (attrs_.has_query_mask) {
    const Shape& m = in[i++];
    if (m.size() != 2 || !dims_match(m[1], q[1])) {
      invalid(who, "query mask must be (batch, " + std::to_string(q[1]) + "), got " +
                       shape_to_string(m));
    }
  }
  if (attrs_.has_value_mask) {
    const Shape& m = in[i++];
    if (m.size() != 2 || !dims_match(m[1], v[1])) {
      invalid(who, "value mask must be (batch, " + std::to_string(v[1]) + "), got " +
                       shape_to_string(m));
    }
  }
  std::vector<Shape> outs{{q[0], q[1], v[2]}};
  if (attrs_.return_scores) outs.push_back({q[0], q[1], v[1]});
  return outs;
}

std::unique_ptr<Kernel> DenseAttentionOp::prepare(std::span<const Shape> inputs,
                                                  std::span<const Shape>,
                                                  const PrepareContext&) const {
  std::vector<Shape> outs = infer_shapes(inputs);
  if (shape_numel(outs[0]) == 0 && (!attrs_.return_scores || shape_numel(outs[1]) == 0)) {
    return std::make_unique<NoopKernel>();
  }
  return std::make_unique<DenseAttentionKernel>(attrs_, inputs);
}

// -- references

namespace reference {

void multi_head_attention(const MultiHeadAttentionAttrs& a, std::span<const Shape> shapes,
                          std::span<const std::span<const float>> inputs,
                          std::span<const std::span<float>> outputs) {
  MhaLayout l(a, shapes);
  std::vector<const float*> ptrs;
  for (auto s : inputs) ptrs.push_back(s.data());
  MaskPtrs m = mask_ptrs(a, ptrs);
  const bool any_mask = m.any() || a.causal || a.sliding_window > 0;
  std::vector<double> x(static_cast<size_t>(l.S));
  std::unique_ptr<bool[]> mk(new bool[static_cast<size_t>(l.S)]);
  for (int64_t g = 0; g < l.G; ++g) {
    for (int64_t t = 0; t < l.T; ++t) {
      for (int64_t s = 0; s < l.S; ++s) {
        double acc = 0;
        for (int64_t d = 0; d < l.Dk; ++d) {
          acc += static_cast<double>(inputs[0][static_cast<size_t>(l.q_g[g] + l.q_t[t] + d)]) *
                 inputs[1][static_cast<size_t>(l.k_g[g] + l.k_s[s] + d)];
        }
        x[static_cast<size_t>(s)] = acc * a.scale;
        mk[static_cast<size_t>(s)] = any_mask && !l.allowed(a, m.qm, m.vm, m.km, m.am, g, t, s);
      }
      masked_softmax_row<double>(a.fill, x.data(), mk.get(), l.S, any_mask);
      if (a.return_scores) {
        for (int64_t s = 0; s < l.S; ++s) {
          outputs[1][static_cast<size_t>((g * l.T + t) * l.S + s)] =
              static_cast<float>(x[static_cast<size_t>(s)]);
        }
      }
      for (int64_t d = 0; d < l.Dv; ++d) {
        double acc = 0;
        for (int64_t s = 0; s < l.S; ++s) {
          acc +=
              x[static_cast<size_t>(s)] * inputs[2][static_cast<size_t>(l.v_g[g] + l.v_s[s] + d)];
        }
        outputs[0][static_cast<size_t>(l.o_g[g] + l.o_t[t] + d)] = static_cast<float>(acc);
      }
    }
  }
}

void dense_attention(const DenseAttentionAttrs& a, std::span<const Shape> shapes,
                     std::span<const std::span<const float>> inputs,
                     std::span<const std::span<float>> outputs) {
  DenseDims d = dense_dims(shapes);
  size_t i = 3;
  const float* qm = a.has_query_mask ? inputs[i++].data() : nullptr;
  const float* vm = a.has_value_mask ? inputs[i++].data() : nullptr;
  std::vector<double> x(static_cast<size_t>(d.Tv));
  for (int64_t b = 0; b < d.B; ++b) {
    for (int64_t t = 0; t < d.Tq; ++t) {
      const float* qr = inputs[0].data() + (b * d.Tq + t) * d.D;
      for (int64_t s = 0; s < d.Tv; ++s) {
        double sc = dense_score<double>(a, qr, inputs[2].data() + (b * d.Tv + s) * d.D, d.D);
        if ((vm && vm[b * d.Tv + s] == 0.0f) || (a.causal && s > t)) sc -= 1.0e9;
        x[static_cast<size_t>(s)] = sc;
      }
      masked_softmax_row<double>(MaskFill::kZero, x.data(), nullptr, d.Tv, false);
      for (int64_t s = 0; s < d.Tv; ++s) {
        if (a.return_scores) {
          outputs[1][static_cast<size_t>((b * d.Tq + t) * d.Tv + s)] =
              static_cast<float>(x[static_cast<size_t>(s)]);
        }
      }
      bool zero = qm && qm[b * d.Tq + t] == 0.0f;
      for (int64_t c = 0; c < d.Dv; ++c) {
        double acc = 0;
        for (int64_t s = 0; s < d.Tv && !zero; ++s) {
          acc +=
              x[static_cast<size_t>(s)] * inputs[1][static_cast<size_t>((b * d.Tv + s) * d.Dv + c)];
        }
        outputs[0][static_cast<size_t>((b * d.Tq + t) * d.Dv + c)] = static_cast<float>(acc);
      }
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
