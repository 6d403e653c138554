#include "ops/conv_lstm.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "kerasrt/error.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidModel, what);
}

bool dims_agree(int64_t a, int64_t b) {
  return a < 0 || b < 0 || a == b;
}

// The input conv's attributes: the layer's geometry, 4 * filters outputs (gates i, f, c, o).
ConvAttrs input_conv_attrs(const ConvAttrs& layer) {
  ConvAttrs a = layer;
  a.filters = 4 * layer.filters;
  return a;
}

// The recurrent conv: same kernel size, stride 1, no dilation, 'same' padding (ConvLSTMCell.
// recurrent_conv in both Keras versions).
ConvAttrs recurrent_conv_attrs(const ConvAttrs& layer) {
  ConvAttrs a = input_conv_attrs(layer);
  a.kind = layer.kind + " (recurrent conv)";
  a.strides.assign(layer.spatial_rank(), 1);
  a.dilation.assign(layer.spatial_rank(), 1);
  a.padding = ConvPadding::Same;
  return a;
}

size_t floats_of(size_t bytes) {
  return (bytes + sizeof(float) - 1) / sizeof(float);
}

// Gate layout. Per sample, the state (S positions x F filters in the layer's layout) splits into
// chunks of `block` contiguous values: channels_last has one chunk per position (block = F),
// channels_first one chunk (block = F * S). The conv output for chunk q holds the four gate
// blocks of that chunk one after another at q * 4 * block, so every gate of state element
// q * block + j is at q * 4 * block + g * block + j.
class ConvLstmKernel final : public Kernel {
 public:
  ConvLstmKernel(const ConvLstmAttrs& attrs, std::unique_ptr<Kernel> input_conv,
                 std::unique_ptr<Kernel> recurrent_conv, int64_t batch, int64_t time,
                 int64_t positions, int threads)
      : attrs_(attrs),
        input_conv_(std::move(input_conv)),
        recurrent_conv_(std::move(recurrent_conv)),
        batch_(batch),
        time_(time),
        filters_(attrs.conv.filters),
        positions_(positions),
        threads_(threads) {
    const int64_t n = positions_ * filters_;  // one sample's state
    block_ = attrs_.conv.channels_first ? n : filters_;
    // channels_first: split the one large chunk so that the gate loop has work to share.
    piece_ = std::min<int64_t>(block_, 4096);
    pieces_per_block_ = (block_ + piece_ - 1) / piece_;
    size_t off = 0;
    auto take = [&](size_t count) {
      size_t at = off;
      off += (count + 15) / 16 * 16;  // keep each buffer 64-byte aligned
      return at;
    };
    take(floats_of(
        std::max(input_conv_->scratch_bytes(), recurrent_conv_->scratch_bytes())));  // at 0
    xz_ = take(static_cast<size_t>(batch_ * time_ * 4 * n));
    z_ = take(static_cast<size_t>(batch_ * 4 * n));
    h_ = take(static_cast<size_t>(batch_ * n));
    c_ = take(static_cast<size_t>(batch_ * n));
    if (attrs_.has_mask) prev_out_ = take(static_cast<size_t>(batch_ * n));
    floats_ = off;
  }

  size_t scratch_bytes() const override { return floats_ * sizeof(float); }
  size_t state_bytes() const override {
    return attrs_.stateful ? static_cast<size_t>(2 * batch_ * positions_ * filters_) * sizeof(float)
                           : 0;
  }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    float* scratch = reinterpret_cast<float*>(ctx.scratch);
    const ConvLstmAttrs& at = attrs_;
    const int64_t B = batch_, T = time_, n = positions_ * filters_;
    const size_t sample_bytes = static_cast<size_t>(n) * sizeof(float);
    const size_t state_bytes_all = static_cast<size_t>(B) * sample_bytes;
    float* xz = scratch + xz_;
    float* z = scratch + z_;
    float* h = scratch + h_;
    float* c = scratch + c_;
    float* prev = at.has_mask ? scratch + prev_out_ : nullptr;
    const float* mask = at.has_mask ? inputs[inputs.size() - 1] : nullptr;

    // The two convolutions share the scratch region's head for their oneDNN scratchpads.
    RunContext conv_ctx = ctx;
    conv_ctx.state = nullptr;

    // x * kernel + bias for every step at once: x is (batch * time) samples of one step.
    {
      const float* in[] = {inputs[0]};
      float* out[] = {xz};
      input_conv_->run(conv_ctx, in, out);
    }

    // Initial states: given as inputs, else carried from the last call (stateful), else zero.
    const float* carried = at.stateful ? reinterpret_cast<const float*>(ctx.state) : nullptr;
    if (at.has_initial_states) {
      std::memcpy(h, inputs[1], state_bytes_all);
      std::memcpy(c, inputs[2], state_bytes_all);
    } else if (carried != nullptr) {
      std::memcpy(h, carried, state_bytes_all);
      std::memcpy(c, carried + B * n, state_bytes_all);
    } else {
      std::fill(h, h + B * n, 0.0f);
      std::fill(c, c + B * n, 0.0f);
    }
    if (prev != nullptr) std::fill(prev, prev + B * n, 0.0f);

    float* y = outputs[0];
    const int64_t chunks = n / block_;
    const int64_t units = B * chunks * pieces_per_block_;
    const bool par = threads_ > 1 && B * 4 * n >= detail::kParallelThreshold;
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = at.go_backwards ? T - 1 - s : s;
      {
        const float* in[] = {h};
        float* out[] = {z};
        recurrent_conv_->run(conv_ctx, in, out);
      }
      // Masked samples keep their states: their gates are not computed at all.
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
      for (int64_t u = 0; u < units; ++u) {
        const int64_t b = u / (chunks * pieces_per_block_);
        if (mask != nullptr && mask[b * T + t] == 0.0f) continue;
        const int64_t rest = u % (chunks * pieces_per_block_);
        const int64_t q = rest / pieces_per_block_;
        const int64_t off = (rest % pieces_per_block_) * piece_;
        const int64_t len = std::min(piece_, block_ - off);
        float* zq = z + b * 4 * n + q * 4 * block_ + off;
        const float* xq = xz + (b * T + t) * 4 * n + q * 4 * block_ + off;
        const int64_t sq = b * n + q * block_ + off;
        gates(zq, xq, h + sq, c + sq, len);
      }
      for (int64_t b = 0; b < B; ++b) {
        const float* out_b = h + b * n;
        if (prev != nullptr) {
          float* pb = prev + b * n;
          if (mask[b * T + t] != 0.0f) {
            std::memcpy(pb, out_b, sample_bytes);
          } else if (at.zero_output_for_mask) {
            std::fill(pb, pb + n, 0.0f);
          }
          out_b = pb;
        }
        if (at.return_sequences) std::memcpy(y + (b * T + s) * n, out_b, sample_bytes);
      }
    }
    if (!at.return_sequences) std::memcpy(y, prev != nullptr ? prev : h, state_bytes_all);
    if (at.stateful) {
      float* keep = reinterpret_cast<float*>(ctx.state);
      std::memcpy(keep, h, state_bytes_all);
      std::memcpy(keep + B * n, c, state_bytes_all);
    }
    if (at.return_state) {
      std::memcpy(outputs[1], h, state_bytes_all);
      std::memcpy(outputs[2], c, state_bytes_all);
    }
  }

 private:
  // One run of `len` state elements: z holds the recurrent conv's gate pre-activations (gate g
  // at z + g * block_), x the input conv's; h and c are updated in place.
  void gates(float* z, const float* x, float* h, float* c, int64_t len) const {
    const ConvLstmAttrs& at = attrs_;
    for (int g = 0; g < 4; ++g) {
      float* zg = z + g * block_;
      const float* xg = x + g * block_;
      for (int64_t j = 0; j < len; ++j) zg[j] += xg[j];
    }
    float* zi = z;
    float* zf = z + block_;
    float* zc = z + 2 * block_;
    float* zo = z + 3 * block_;
    activate_in_place(at.recurrent_activation, zi, len);
    activate_in_place(at.recurrent_activation, zf, len);
    activate_in_place(at.activation, zc, len);
    activate_in_place(at.recurrent_activation, zo, len);
    for (int64_t j = 0; j < len; ++j) {
      c[j] = zf[j] * c[j] + zi[j] * zc[j];
      h[j] = c[j];
    }
    activate_in_place(at.activation, h, len);
    for (int64_t j = 0; j < len; ++j) h[j] *= zo[j];
  }

  ConvLstmAttrs attrs_;
  std::unique_ptr<Kernel> input_conv_, recurrent_conv_;
  int64_t batch_, time_, filters_, positions_;
  int threads_;
  int64_t block_ = 0, piece_ = 0, pieces_per_block_ = 0;
  size_t xz_ = 0, z_ = 0, h_ = 0, c_ = 0, prev_out_ = 0, floats_ = 0;
};

}  // namespace

ConvLstmOp::ConvLstmOp(ConvLstmAttrs attrs, Tensor kernel, Tensor recurrent_kernel, Tensor bias)
    : attrs_(std::move(attrs)) {
  const ConvAttrs& cv = attrs_.conv;
  validate_conv_attrs(cv);
  if (cv.transpose || cv.groups != 1 || cv.padding == ConvPadding::Causal) {
    invalid(cv.kind + ": expected a forward conv without groups, padding 'valid' or 'same'");
  }
  const size_t r = cv.spatial_rank();
  if (kernel.shape().size() != r + 2) {
    invalid(cv.kind + ": kernel: expected rank " + std::to_string(r + 2) + ", got " +
            shape_to_string(kernel.shape()));
  }
  in_channels_ = kernel.shape()[r];
  // ConvOp checks the kernel, recurrent kernel and bias shapes against the attributes, and owns
  // the weights from here on.
  input_conv_ = std::make_shared<ConvOp>(input_conv_attrs(cv), in_channels_, std::move(kernel),
                                         std::move(bias));
  recurrent_conv_ = std::make_shared<ConvOp>(recurrent_conv_attrs(cv), cv.filters,
                                             std::move(recurrent_kernel), Tensor());
}

Shape ConvLstmOp::step_shape(const Shape& x) const {
  const ConvAttrs& cv = attrs_.conv;
  const size_t r = cv.spatial_rank();
  Shape out{x[0]};
  if (cv.channels_first) out.push_back(cv.filters);
  for (size_t a = 0; a < r; ++a) {
    out.push_back(conv_output_length(cv, a, x[(cv.channels_first ? 3 : 2) + a]));
  }
  if (!cv.channels_first) out.push_back(cv.filters);
  return out;
}

std::vector<Shape> ConvLstmOp::infer_shapes(std::span<const Shape> inputs) const {
  const ConvAttrs& cv = attrs_.conv;
  const size_t r = cv.spatial_rank();
  const size_t want = 1 + (attrs_.has_initial_states ? 2 : 0) + (attrs_.has_mask ? 1 : 0);
  if (inputs.size() != want) {
    invalid(cv.kind + ": expected " + std::to_string(want) + " inputs, got " +
            std::to_string(inputs.size()));
  }
  const Shape& x = inputs[0];
  if (x.size() != r + 3) {
    invalid(cv.kind + ": expected an input of rank " + std::to_string(r + 3) +
            " (batch, time, spatial..., channels), got " + shape_to_string(x));
  }
  const int64_t ch = x[cv.channels_first ? 2 : r + 2];
  if (!dims_agree(ch, in_channels_)) {
    invalid(cv.kind + ": the kernel expects " + std::to_string(in_channels_) +
            " input channels, the input " + shape_to_string(x) + " has " + std::to_string(ch));
  }
  const Shape state = step_shape(x);
  if (attrs_.has_initial_states) {
    for (size_t i = 1; i <= 2; ++i) {
      const Shape& s = inputs[i];
      bool ok = s.size() == state.size();
      for (size_t d = 0; ok && d < s.size(); ++d) ok = dims_agree(s[d], state[d]);
      if (!ok) {
        invalid(cv.kind + ": initial state " + std::to_string(i - 1) + ": expected " +
                shape_to_string(state) + ", got " + shape_to_string(s));
      }
    }
  }
  if (attrs_.has_mask) {
    const Shape& m = inputs.back();
    if (m.size() != 2 || !dims_agree(m[0], x[0]) || !dims_agree(m[1], x[1])) {
      invalid(cv.kind + ": mask: expected (batch, time) of input " + shape_to_string(x) + ", got " +
              shape_to_string(m));
    }
  }
  std::vector<Shape> out;
  if (attrs_.return_sequences) {
    Shape y = state;
    y.insert(y.begin() + 1, x[1]);
    out.push_back(y);
  } else {
    out.push_back(state);
  }
  if (attrs_.return_state) {
    out.push_back(state);
    out.push_back(state);
  }
  return out;
}

std::unique_ptr<Kernel> ConvLstmOp::prepare(std::span<const Shape> inputs,
                                            std::span<const Shape> outputs,
                                            const PrepareContext& ctx) const {
  std::vector<Shape> want = infer_shapes(inputs);
  const Shape& x = inputs[0];
  if (!shape_is_concrete(x) || std::vector<Shape>(outputs.begin(), outputs.end()) != want) {
    throw Error(ErrorCode::Internal, attrs_.conv.kind + ": prepare() needs concrete shapes from " +
                                         "infer_shapes(), got input " + shape_to_string(x));
  }
  if (x[1] < 1) {
    invalid(attrs_.conv.kind + ": expected at least one time step, got input " +
            shape_to_string(x));
  }
  // The input conv sees (batch * time) samples of one step; the recurrent conv one state.
  Shape folded(x.begin() + 1, x.end());
  folded[0] = x[0] * x[1];
  const Shape state = step_shape(x);
  const Shape gates_in = input_conv_->infer_shapes(std::span<const Shape>(&folded, 1)).at(0);
  const Shape gates_rec = recurrent_conv_->infer_shapes(std::span<const Shape>(&state, 1)).at(0);
  // Each conv packs its kernel under its own key: with as many input channels as filters the two
  // packed layouts are alike, and one key would hand both convs the same pack.
  PrepareContext in_ctx = ctx, rec_ctx = ctx;
  in_ctx.weight_key = ctx.weight_key + "/input_conv";
  rec_ctx.weight_key = ctx.weight_key + "/recurrent_conv";
  std::unique_ptr<Kernel> in_k =
      input_conv_->prepare(std::span<const Shape>(&folded, 1), std::span(&gates_in, 1), in_ctx);
  std::unique_ptr<Kernel> rec_k = recurrent_conv_->prepare(std::span<const Shape>(&state, 1),
                                                           std::span(&gates_rec, 1), rec_ctx);
  const int64_t positions = shape_numel(state) / (x[0] * attrs_.conv.filters);
  return std::make_unique<ConvLstmKernel>(attrs_, std::move(in_k), std::move(rec_k), x[0], x[1],
                                          positions, ctx.threads);
}

namespace reference {

namespace {

// One sample's convolution with up to 3 spatial axes (unused leading axes have size 1), in the
// layer's layout, accumulating in double.
struct Geometry {
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1},
      pad{0, 0, 0};
  int64_t cin = 1, cout = 1;
  bool channels_first = false;

  int64_t in_positions() const { return in[0] * in[1] * in[2]; }
  int64_t out_positions() const { return out[0] * out[1] * out[2]; }
};

template <typename T>
std::vector<double> conv(const Geometry& g, const T* x, const float* w) {
  const int64_t S_in = g.in_positions(), S_out = g.out_positions();
  std::vector<double> y(static_cast<size_t>(S_out * g.cout), 0.0);
  for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
    for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
      for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
        const int64_t po = (o0 * g.out[1] + o1) * g.out[2] + o2;
        for (int64_t k0 = 0; k0 < g.k[0]; ++k0) {
          const int64_t i0 = o0 * g.s[0] + k0 * g.d[0] - g.pad[0];
          if (i0 < 0 || i0 >= g.in[0]) continue;
          for (int64_t k1 = 0; k1 < g.k[1]; ++k1) {
            const int64_t i1 = o1 * g.s[1] + k1 * g.d[1] - g.pad[1];
            if (i1 < 0 || i1 >= g.in[1]) continue;
            for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
              const int64_t i2 = o2 * g.s[2] + k2 * g.d[2] - g.pad[2];
              if (i2 < 0 || i2 >= g.in[2]) continue;
              const int64_t pi = (i0 * g.in[1] + i1) * g.in[2] + i2;
              const float* wk = w + ((k0 * g.k[1] + k1) * g.k[2] + k2) * g.cin * g.cout;
              for (int64_t ci = 0; ci < g.cin; ++ci) {
                const double xv =
                    static_cast<double>(g.channels_first ? x[ci * S_in + pi] : x[pi * g.cin + ci]);
                for (int64_t co = 0; co < g.cout; ++co) {
                  const size_t yo =
                      static_cast<size_t>(g.channels_first ? co * S_out + po : po * g.cout + co);
                  y[yo] += xv * static_cast<double>(wk[ci * g.cout + co]);
                }
              }
            }
          }
        }
      }
    }
  }
  return y;
}

double act(const std::optional<UnaryAttrs>& a, double v) {
  return a ? static_cast<double>(unary(*a, static_cast<float>(v))) : v;
}

}  // namespace

void conv_lstm(const ConvLstmAttrs& attrs, const Tensor& kernel, const Tensor& recurrent_kernel,
               const Tensor& bias, std::span<const Shape> shapes,
               std::span<const std::span<const float>> inputs,
               std::span<const std::span<float>> outputs) {
  const ConvAttrs& cv = attrs.conv;
  const size_t r = cv.spatial_rank();
  const Shape& xs = shapes[0];
  const int64_t B = xs[0], T = xs[1], F = cv.filters;
  Geometry gi, gr;
  gi.channels_first = gr.channels_first = cv.channels_first;
  gi.cin = xs[cv.channels_first ? 2 : r + 2];
  gi.cout = gr.cout = 4 * F;
  gr.cin = F;
  for (size_t a = 0; a < r; ++a) {
    const size_t p = 3 - r + a;  // right-align the spatial axes
    const int64_t len = xs[(cv.channels_first ? 3 : 2) + a];
    gi.in[p] = len;
    gi.out[p] = conv_output_length(cv, a, len);
    gi.k[p] = gr.k[p] = cv.kernel_size[a];
    gi.s[p] = cv.strides[a];
    gi.d[p] = cv.dilation[a];
    gi.pad[p] = conv_axis_padding(cv, a, len).before;
    gr.in[p] = gr.out[p] = gi.out[p];
    gr.pad[p] = (cv.kernel_size[a] - 1) / 2;  // 'same' at stride 1: the extra pad goes after
  }
  const int64_t S = gi.out_positions(), n = S * F, step_in = shape_numel(xs) / (B * T);
  const bool cf = cv.channels_first;
  // State element (position p, filter j) and the pre-activation of gate g for it.
  auto st = [&](int64_t p, int64_t j) { return static_cast<size_t>(cf ? j * S + p : p * F + j); };
  auto gt = [&](int64_t p, int64_t g, int64_t j) {
    return static_cast<size_t>(cf ? (g * F + j) * S + p : p * 4 * F + g * F + j);
  };
  const float* mask = attrs.has_mask ? inputs[inputs.size() - 1].data() : nullptr;
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> h(static_cast<size_t>(n), 0.0), c(static_cast<size_t>(n), 0.0);
    if (attrs.has_initial_states) {
      for (int64_t e = 0; e < n; ++e) {
        h[static_cast<size_t>(e)] = inputs[1][static_cast<size_t>(b * n + e)];
        c[static_cast<size_t>(e)] = inputs[2][static_cast<size_t>(b * n + e)];
      }
    }
    std::vector<double> prev(static_cast<size_t>(n), 0.0);
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = attrs.go_backwards ? T - 1 - s : s;
      std::vector<double> zx = conv(gi, inputs[0].data() + (b * T + t) * step_in, kernel.data());
      std::vector<double> zh = conv(gr, h.data(), recurrent_kernel.data());
      const bool keep = mask == nullptr || mask[b * T + t] != 0.0f;
      if (keep) {
        for (int64_t p = 0; p < S; ++p) {
          for (int64_t j = 0; j < F; ++j) {
            double z[4];
            for (int64_t g = 0; g < 4; ++g) {
              z[g] = zx[gt(p, g, j)] + zh[gt(p, g, j)] +
                     (bias.empty() ? 0.0 : static_cast<double>(bias.data()[g * F + j]));
            }
            const double cn = act(attrs.recurrent_activation, z[1]) * c[st(p, j)] +
                              act(attrs.recurrent_activation, z[0]) * act(attrs.activation, z[2]);
            c[st(p, j)] = cn;
            h[st(p, j)] = act(attrs.recurrent_activation, z[3]) * act(attrs.activation, cn);
          }
        }
        prev = h;
      } else if (attrs.zero_output_for_mask) {
        std::fill(prev.begin(), prev.end(), 0.0);
      }
      if (attrs.return_sequences) {
        for (int64_t e = 0; e < n; ++e) {
          outputs[0][static_cast<size_t>((b * T + s) * n + e)] =
              static_cast<float>(prev[static_cast<size_t>(e)]);
        }
      }
    }
    for (int64_t e = 0; e < n; ++e) {
      const size_t i = static_cast<size_t>(b * n + e);
      if (!attrs.return_sequences) outputs[0][i] = static_cast<float>(prev[static_cast<size_t>(e)]);
      if (attrs.return_state) {
        outputs[1][i] = static_cast<float>(h[static_cast<size_t>(e)]);
        outputs[2][i] = static_cast<float>(c[static_cast<size_t>(e)]);
      }
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
