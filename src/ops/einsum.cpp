#include "ops/einsum.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <oneapi/dnnl/dnnl.hpp>

#include "kerasrt/error.h"
#include "ops/core_util.h"
#include "ops/weight_packs.h"

namespace kerasrt::ops {

namespace {

using dnnl::memory;

[[noreturn]] void bad(const std::string& equation, const std::string& what) {
  throw Error(ErrorCode::InvalidModel, "EinsumDense: equation '" + equation + "': " + what);
}

// Letters of `spec` that satisfy pred, in spec order.
template <class Pred>
std::string letters_where(const std::string& spec, Pred pred) {
  std::string out;
  for (char c : spec) {
    if (pred(c)) out.push_back(c);
  }
  return out;
}

bool has(const std::string& s, char c) {
  return s.find(c) != std::string::npos;
}

int64_t product(const std::string& letters, const std::map<char, int64_t>& sizes) {
  int64_t n = 1;
  for (char c : letters) n *= sizes.at(c);
  return n;
}

// Row-major strides of a tensor laid out in `order`, looked up per letter.
std::map<char, int64_t> strides_of(const std::string& order, const std::map<char, int64_t>& sizes) {
  std::map<char, int64_t> st;
  int64_t s = 1;
  for (size_t i = order.size(); i-- > 0;) {
    st[order[i]] = s;
    s *= sizes.at(order[i]);
  }
  return st;
}

// A strided walk: dst is contiguous over `dims`; src offsets follow `src_strides`; `red_dims`
// (with `red_strides`) are summed over. Used for the input/output relayouts.
struct StridedCopy {
  std::vector<int64_t> dims, src_strides, red_dims, red_strides;

  int64_t total() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }

  void run(const float* src, float* dst) const {
    if (dims.empty()) {
      dst[0] = src[0];
      return;
    }
    const int64_t inner = dims.empty() ? 1 : dims.back();
    const int64_t inner_stride = dims.empty() ? 0 : src_strides.back();
    const int64_t rows = inner == 0 ? 0 : total() / inner;
    int64_t red_total = 1;
    for (int64_t d : red_dims) red_total *= d;
    const size_t nd = dims.size();
#pragma omp parallel for schedule(static) if (rows * inner * red_total > detail::kParallelThreshold)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t base = 0, rem = r;
      for (size_t i = nd - 1; i-- > 0;) {
        base += (rem % dims[i]) * src_strides[i];
        rem /= dims[i];
      }
      float* out = dst + r * inner;
      if (red_dims.empty()) {
        for (int64_t j = 0; j < inner; ++j) out[j] = src[base + j * inner_stride];
        continue;
      }
      for (int64_t j = 0; j < inner; ++j) {
        float acc = 0.0f;
        for (int64_t q = 0; q < red_total; ++q) {
          int64_t off = 0, rq = q;
          for (size_t i = red_dims.size(); i-- > 0;) {
            off += (rq % red_dims[i]) * red_strides[i];
            rq /= red_dims[i];
          }
          acc += src[base + j * inner_stride + off];
        }
        out[j] = acc;
      }
    }
  }
};

// Per output dim, the bias stride (0 where the bias broadcasts).
std::vector<int64_t> bias_strides(const Shape& bias_shape, size_t out_rank) {
  std::vector<int64_t> st(out_rank, 0);
  int64_t s = 1;
  for (size_t j = bias_shape.size(); j-- > 0;) {
    size_t dim = out_rank - bias_shape.size() + j;
    if (bias_shape[j] != 1) st[dim] = s;
    s *= bias_shape[j];
  }
  return st;
}

size_t align64(size_t n) {
  return (n + 63) / 64 * 64;
}

class EinsumKernel final : public Kernel {
 public:
  EinsumKernel(const EinsumDenseOp& op, const Shape& in_shape, const Shape& out_shape,
               const PrepareContext& ctx) {
    const dnnl::engine& engine = *ctx.engine;
    const EinsumSpec& sp = op.spec();
    std::map<char, int64_t> sizes;
    for (size_t i = 0; i < sp.input.size(); ++i) sizes[sp.input[i]] = in_shape[i];
    for (size_t i = 0; i < sp.kernel.size(); ++i) sizes[sp.kernel[i]] = op.kernel().shape()[i];
    const std::string g_l =
        letters_where(sp.output, [&](char c) { return has(sp.input, c) && has(sp.kernel, c); });
    const std::string m_l =
        letters_where(sp.output, [&](char c) { return has(sp.input, c) && !has(sp.kernel, c); });
    const std::string k_l =
        letters_where(sp.input, [&](char c) { return has(sp.kernel, c) && !has(sp.output, c); });
    const std::string n_l =
        letters_where(sp.output, [&](char c) { return has(sp.kernel, c) && !has(sp.input, c); });
    const std::string r_l =
        letters_where(sp.input, [&](char c) { return !has(sp.kernel, c) && !has(sp.output, c); });
    g_ = product(g_l, sizes);
    m_ = product(m_l, sizes);
    k_ = product(k_l, sizes);
    n_ = product(n_l, sizes);

    // Input relayout into [G, M, K] (summing R) unless the input already is in that order.
    const std::string gmk = g_l + m_l + k_l;
    copy_in_ = gmk != sp.input || !r_l.empty();
    if (copy_in_) {
      auto st = strides_of(sp.input, sizes);
      for (char c : gmk) {
        in_copy_.dims.push_back(sizes[c]);
        in_copy_.src_strides.push_back(st[c]);
      }
      for (char c : r_l) {
        in_copy_.red_dims.push_back(sizes[c]);
        in_copy_.red_strides.push_back(st[c]);
      }
    }
    // Output relayout from [G, M, N] unless the output is in that order.
    const std::string gmn = g_l + m_l + n_l;
    copy_out_ = gmn != sp.output;
    if (copy_out_) {
      auto st = strides_of(gmn, sizes);
      for (char c : sp.output) {
        out_copy_.dims.push_back(sizes[c]);
        out_copy_.src_strides.push_back(st[c]);
      }
    }

    // Bias: a [1, N] matmul bias when it varies over N letters only; otherwise added after.
    std::vector<int64_t> bst;
    if (!op.bias().empty()) {
      bst = bias_strides(op.bias().shape(), sp.output.size());
      bool n_only = true;
      for (size_t i = 0; i < sp.output.size(); ++i) {
        if (bst[i] != 0 && !has(n_l, sp.output[i])) n_only = false;
      }
      if (n_only) {
        // Expand the broadcast bias to one value per N index (N letters in output order).
        std::vector<float> full(static_cast<size_t>(n_));
        std::map<char, int64_t> bias_stride_of;
        for (size_t i = 0; i < sp.output.size(); ++i) bias_stride_of[sp.output[i]] = bst[i];
        for (int64_t j = 0; j < n_; ++j) {
          int64_t rem = j, off = 0;
          for (size_t i = n_l.size(); i-- > 0;) {
            off += (rem % sizes[n_l[i]]) * bias_stride_of[n_l[i]];
            rem /= sizes[n_l[i]];
          }
          full[static_cast<size_t>(j)] = op.bias().data()[off];
        }
        mm_bias_ = Tensor({n_}, std::move(full));
      } else {
        post_bias_ = op.bias();
        bias_add_.dims = out_shape;
        bias_add_.src_strides = bst;
      }
    }

    // The matmul, weights packed once.
    const bool batched = g_ > 1 || !g_l.empty();
    memory::dims src_d = batched ? memory::dims{g_, m_, k_} : memory::dims{m_, k_};
    memory::dims wei_d = batched ? memory::dims{g_, k_, n_} : memory::dims{k_, n_};
    memory::dims dst_d = batched ? memory::dims{g_, m_, n_} : memory::dims{m_, n_};
    memory::dims bias_d = batched ? memory::dims{1, 1, n_} : memory::dims{1, n_};
    src_md_ = detail::plain_md(src_d);
    dst_md_ = detail::plain_md(dst_d);
    memory::desc w_any(wei_d, memory::data_type::f32, memory::format_tag::any);
    has_mm_bias_ = !mm_bias_.empty();
    if (has_mm_bias_) bias_md_ = detail::plain_md(bias_d);
    dnnl::primitive_attr attr = detail::user_scratchpad_attr();
    dnnl::matmul::desc d = has_mm_bias_ ? dnnl::matmul::desc(src_md_, w_any, bias_md_, dst_md_)
                                        : dnnl::matmul::desc(src_md_, w_any, dst_md_);
    dnnl::matmul::primitive_desc pd(d, attr, engine);
    scratch_md_ = pd.scratchpad_desc();
    prim_ = dnnl::matmul(pd);

    // Kernel in Keras layout -> [G, K, N] plain -> the primitive's layout.
    StridedCopy kc;
    auto kst = strides_of(sp.kernel, sizes);
    for (char c : g_l + k_l + n_l) {
      kc.dims.push_back(sizes[c]);
      kc.src_strides.push_back(kst[c]);
    }
    const memory::desc packed_md = pd.weights_desc();
    const memory::desc gkn_md = detail::plain_md(wei_d);
    PackFill fill = [kc, gkn_md, packed_md, kernel = op.kernel(), n = g_ * k_ * n_](
                        const dnnl::engine& eng, void* dst) {
      std::vector<float> gkn(static_cast<size_t>(n));
      if (kc.dims.empty()) {
        gkn[0] = kernel.data()[0];
      } else {
        kc.run(kernel.data(), gkn.data());
      }
      reorder_fill(gkn_md, packed_md, gkn.data())(eng, dst);
    };
    weights_ = packed_weight(ctx, "kernel", packed_md, std::move(fill), op.kernel());

    in_bytes_ = copy_in_ ? align64(static_cast<size_t>(g_ * m_ * k_) * sizeof(float)) : 0;
    out_bytes_ = copy_out_ ? align64(static_cast<size_t>(g_ * m_ * n_) * sizeof(float)) : 0;
    dnnl_bytes_ = align64(scratch_md_.get_size());
  }

  size_t scratch_bytes() const override { return dnnl_bytes_ + in_bytes_ + out_bytes_; }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* src_p = inputs[0];
    float* in_buf = reinterpret_cast<float*>(ctx.scratch + dnnl_bytes_);
    float* out_buf = reinterpret_cast<float*>(ctx.scratch + dnnl_bytes_ + in_bytes_);
    if (copy_in_) {
      in_copy_.run(inputs[0], in_buf);
      src_p = in_buf;
    }
    float* dst_p = copy_out_ ? out_buf : outputs[0];
    detail::execute_matmul(prim_, scratch_md_, ctx, src_md_, src_p, weights_->desc, weights_->data,
                           bias_md_, has_mm_bias_ ? mm_bias_.data() : nullptr, dst_md_, dst_p);
    if (copy_out_) out_copy_.run(out_buf, outputs[0]);
    if (!post_bias_.empty()) add_post_bias(outputs[0]);
  }

 private:
  void add_post_bias(float* y) const {
    const auto& dims = bias_add_.dims;
    const auto& st = bias_add_.src_strides;
    int64_t total = 1;
    for (int64_t d : dims) total *= d;
    const float* b = post_bias_.data();
    for (int64_t i = 0; i < total; ++i) {
      int64_t rem = i, off = 0;
      for (size_t d = dims.size(); d-- > 0;) {
        off += (rem % dims[d]) * st[d];
        rem /= dims[d];
      }
      y[i] += b[off];
    }
  }

  int64_t g_ = 1, m_ = 1, k_ = 1, n_ = 1;
  bool copy_in_ = false, copy_out_ = false, has_mm_bias_ = false;
  StridedCopy in_copy_, out_copy_, bias_add_;
  Tensor mm_bias_, post_bias_;
  memory::desc src_md_, dst_md_, bias_md_, scratch_md_;
  dnnl::primitive prim_;
  std::shared_ptr<const PackedWeight> weights_;
  size_t in_bytes_ = 0, out_bytes_ = 0, dnnl_bytes_ = 0;
};

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

}  // namespace

EinsumSpec EinsumSpec::parse(const std::string& equation, size_t input_rank) {
  std::string eq;
  for (char c : equation) {
    if (c != ' ') eq.push_back(c);
  }
  size_t arrow = eq.find("->");
  size_t comma = eq.find(',');
  if (arrow == std::string::npos || comma == std::string::npos || comma > arrow) {
    bad(equation, "expected the form '<input>,<kernel>-><output>'");
  }
  std::string in = eq.substr(0, comma);
  std::string w = eq.substr(comma + 1, arrow - comma - 1);
  std::string out = eq.substr(arrow + 2);
  EinsumSpec s;
  const std::string dots = "...";
  bool left = in.rfind(dots, 0) == 0 && out.rfind(dots, 0) == 0;
  auto ends = [&](const std::string& x) {
    return x.size() >= 3 && x.compare(x.size() - 3, 3, dots) == 0;
  };
  bool right = !left && ends(in) && ends(out);
  if (left) {
    in = in.substr(3);
    out = out.substr(3);
  } else if (right) {
    in.resize(in.size() - 3);
    out.resize(out.size() - 3);
    if (in.size() < 2) bad(equation, "a right ellipsis needs at least 2 input letters (Keras)");
  }
  for (const std::string* part : {&in, &w, &out}) {
    if (part->empty()) bad(equation, "an empty operand");
    for (char c : *part) {
      if (!std::isalpha(static_cast<unsigned char>(c))) {
        bad(equation, "unsupported character '" + std::string(1, c) +
                          "' (Keras accepts letters and one '...' on the left or right of the "
                          "input and output)");
      }
      if (std::count(part->begin(), part->end(), c) != 1) {
        bad(equation, "letter '" + std::string(1, c) + "' repeats within one operand");
      }
    }
  }
  if (input_rank < in.size() || ((left || right) == false && input_rank != in.size())) {
    bad(equation, "the input has rank " + std::to_string(input_rank) + ", the equation names " +
                      std::to_string(in.size()) + " input dims");
  }
  s.elided = input_rank - in.size();
  s.right_elided = right;
  // Private letters for elided dims: digits never occur in a valid equation.
  if (s.elided > 10) bad(equation, "more than 10 elided dims");
  std::string extra;
  for (size_t i = 0; i < s.elided; ++i) extra.push_back(static_cast<char>('0' + i));
  s.input = right ? in + extra : extra + in;
  s.output = right ? out + extra : extra + out;
  s.kernel = w;
  for (char c : s.output) {
    if (!has(s.input, c) && !has(s.kernel, c)) {
      bad(equation,
          "output letter '" + std::string(1, c) + "' is in neither the input nor the kernel");
    }
  }
  for (char c : s.kernel) {
    if (!has(s.input, c) && !has(s.output, c)) {
      bad(equation,
          "kernel letter '" + std::string(1, c) + "' is in neither the input nor the output");
    }
  }
  return s;
}

Shape EinsumSpec::bias_shape(const std::string& bias_axes, const Shape& output_shape) const {
  size_t first = output.size();
  for (char c : bias_axes) {
    size_t p = output.find(c);
    if (p == std::string::npos || !std::isalpha(static_cast<unsigned char>(c))) {
      throw Error(ErrorCode::InvalidModel, "EinsumDense: bias axis '" + std::string(1, c) +
                                               "' is not in the output spec '" + output + "'");
    }
    first = std::min(first, p);
  }
  Shape b;
  for (size_t i = first; i < output.size(); ++i) {
    b.push_back(has(bias_axes, output[i]) ? output_shape[i] : 1);
  }
  return b;
}

EinsumDenseOp::EinsumDenseOp(const std::string& equation, size_t input_rank, Tensor kernel,
                             Tensor bias)
    : equation_(equation),
      spec_(EinsumSpec::parse(equation, input_rank)),
      kernel_(std::move(kernel)),
      bias_(std::move(bias)) {
  if (kernel_.shape().size() != spec_.kernel.size()) {
    bad(equation, "kernel of rank " + std::to_string(spec_.kernel.size()) + " expected, got " +
                      shape_to_string(kernel_.shape()));
  }
  if (!bias_.empty() && bias_.shape().size() > spec_.output.size()) {
    bad(equation, "bias " + shape_to_string(bias_.shape()) + " has more dims than the output");
  }
}

std::vector<Shape> EinsumDenseOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) {
    throw Error(ErrorCode::InvalidModel,
                "EinsumDense: expected 1 input, got " + std::to_string(inputs.size()));
  }
  const Shape& in = inputs[0];
  if (in.size() != spec_.input.size()) {
    bad(equation_, "expected an input of rank " + std::to_string(spec_.input.size()) + ", got " +
                       shape_to_string(in));
  }
  std::map<char, int64_t> sizes;
  for (size_t i = 0; i < spec_.kernel.size(); ++i) sizes[spec_.kernel[i]] = kernel_.shape()[i];
  for (size_t i = 0; i < spec_.input.size(); ++i) {
    char c = spec_.input[i];
    auto it = sizes.find(c);
    if (it != sizes.end() && in[i] >= 0 && in[i] != it->second) {
      bad(equation_, "input " + shape_to_string(in) + " dim " + std::to_string(i) + " ('" +
                         std::string(1, c) + "') is " + std::to_string(in[i]) +
                         ", the kernel has " + std::to_string(it->second));
    }
    if (it == sizes.end()) sizes[c] = in[i];
  }
  Shape out;
  for (char c : spec_.output) out.push_back(sizes.at(c));
  if (!bias_.empty()) {
    // Each bias dim is 1 or the output dim it lines up with (from the end).
    const Shape& b = bias_.shape();
    for (size_t j = 0; j < b.size(); ++j) {
      int64_t o = out[out.size() - b.size() + j];
      if (b[j] != 1 && o >= 0 && b[j] != o) {
        bad(equation_, "bias " + shape_to_string(b) + " does not broadcast to the output " +
                           shape_to_string(out));
      }
    }
  }
  return {out};
}

std::unique_ptr<Kernel> EinsumDenseOp::prepare(std::span<const Shape> inputs,
                                               std::span<const Shape> outputs,
                                               const PrepareContext& ctx) const {
  std::vector<Shape> outs = infer_shapes(inputs);
  (void)outputs;
  if (shape_numel(inputs[0]) == 0 || shape_numel(outs[0]) == 0 || kernel_.numel() == 0) {
    return std::make_unique<NoopKernel>();
  }
  if (ctx.engine == nullptr) throw Error(ErrorCode::Internal, "EinsumDense: no oneDNN engine");
  return std::make_unique<EinsumKernel>(*this, inputs[0], outs[0], ctx);
}

namespace reference {

void einsum_dense(const EinsumDenseOp& op, const Shape& input_shape, std::span<const float> x,
                  std::span<float> y) {
  const EinsumSpec& sp = op.spec();
  std::map<char, int64_t> sizes;
  for (size_t i = 0; i < sp.input.size(); ++i) sizes[sp.input[i]] = input_shape[i];
  for (size_t i = 0; i < sp.kernel.size(); ++i) sizes[sp.kernel[i]] = op.kernel().shape()[i];
  Shape out_shape;
  for (char c : sp.output) out_shape.push_back(sizes[c]);
  // Summed letters: everything of the input and kernel not in the output.
  std::string summed;
  for (char c : sp.input + sp.kernel) {
    if (!has(sp.output, c) && !has(summed, c)) summed.push_back(c);
  }
  auto in_st = strides_of(sp.input, sizes);
  auto k_st = strides_of(sp.kernel, sizes);
  std::vector<int64_t> bst;
  if (!op.bias().empty()) bst = bias_strides(op.bias().shape(), sp.output.size());
  const int64_t total = shape_numel(out_shape);
  const int64_t sum_total = product(summed, sizes);
  std::map<char, int64_t> idx;
  for (int64_t o = 0; o < total; ++o) {
    int64_t rem = o, boff = 0;
    for (size_t i = sp.output.size(); i-- > 0;) {
      int64_t v = rem % out_shape[i];
      rem /= out_shape[i];
      idx[sp.output[i]] = v;
      if (!bst.empty()) boff += v * bst[i];
    }
    double acc = 0;
    for (int64_t s = 0; s < sum_total; ++s) {
      int64_t r = s;
      for (size_t i = summed.size(); i-- > 0;) {
        idx[summed[i]] = r % sizes[summed[i]];
        r /= sizes[summed[i]];
      }
      int64_t xo = 0, ko = 0;
      for (char c : sp.input) xo += idx[c] * in_st[c];
      for (char c : sp.kernel) ko += idx[c] * k_st[c];
      acc += static_cast<double>(x[static_cast<size_t>(xo)]) * op.kernel().data()[ko];
    }
    if (!bst.empty()) acc += op.bias().data()[boff];
    y[static_cast<size_t>(o)] = static_cast<float>(acc);
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
