#include "ops/pooling.h"

#include <algorithm>
#include <array>
#include <limits>
#include <oneapi/dnnl/dnnl.hpp>
#include <utility>

#include "kerasrt/error.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidModel, what);
}

size_t channel_axis(bool channels_first, size_t rank) {
  return channels_first ? 1 : rank - 1;
}
size_t spatial_dim(bool channels_first, size_t axis) {
  return channels_first ? axis + 2 : axis + 1;
}

void check_rank(const std::string& kind, std::span<const Shape> inputs, size_t spatial_rank) {
  if (inputs.size() != 1)
    invalid(kind + ": expected 1 input, got " + std::to_string(inputs.size()));
  if (inputs[0].size() != spatial_rank + 2) {
    invalid(kind + ": expected an input of rank " + std::to_string(spatial_rank + 2) + ", got " +
            shape_to_string(inputs[0]));
  }
}

int64_t pool_output_length(const PoolAttrs& attrs, size_t axis, int64_t length) {
  if (length < 0) return kUnknownDim;
  const int64_t k = attrs.pool_size[axis];
  const int64_t s = attrs.strides[axis];
  if (attrs.same_padding) return (length + s - 1) / s;
  if (length < k) {
    invalid(attrs.kind + ": input length " + std::to_string(length) + " on spatial axis " +
            std::to_string(axis) + " is smaller than pool_size " + std::to_string(k) +
            " with padding 'valid'");
  }
  return (length - k) / s + 1;
}

// Padding before the first window (TF 'same': the smaller half of the total).
int64_t pool_pad_before(const PoolAttrs& attrs, size_t axis, int64_t length) {
  if (!attrs.same_padding) return 0;
  const int64_t out = pool_output_length(attrs, axis, length);
  const int64_t total =
      std::max<int64_t>((out - 1) * attrs.strides[axis] + attrs.pool_size[axis] - length, 0);
  return total / 2;
}

class PoolKernel final : public Kernel {
 public:
  PoolKernel(dnnl::primitive prim, dnnl::memory::desc src, dnnl::memory::desc dst,
             dnnl::memory::desc scratch)
      : prim_(std::move(prim)),
        src_md_(std::move(src)),
        dst_md_(std::move(dst)),
        scratch_md_(std::move(scratch)) {}

  size_t scratch_bytes() const override { return scratch_md_.get_size(); }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const dnnl::engine& eng = *ctx.engine;
    // Per-call memory handles over the caller's buffers, passed through the C API's argument
    // array: no std::unordered_map on the hot path.
    const dnnl::memory src(src_md_, eng, const_cast<float*>(inputs[0]));
    const dnnl::memory dst(dst_md_, eng, outputs[0]);
    dnnl::memory scratch;
    std::array<dnnl_exec_arg_t, 3> args{};
    int n = 0;
    args[n++] = {DNNL_ARG_SRC, src.get()};
    args[n++] = {DNNL_ARG_DST, dst.get()};
    if (scratch_md_.get_size() > 0) {
      scratch = dnnl::memory(scratch_md_, eng, ctx.scratch);
      args[n++] = {DNNL_ARG_SCRATCHPAD, scratch.get()};
    }
    if (dnnl_primitive_execute(prim_.get(), ctx.stream->get(), n, args.data()) != dnnl_success) {
      throw Error(ErrorCode::Internal, "oneDNN pooling failed to execute");
    }
    ctx.stream->wait();
  }

 private:
  dnnl::primitive prim_;
  dnnl::memory::desc src_md_, dst_md_, scratch_md_;
};

// A oneDNN pooling over activations `in` -> `out` (both in Keras layout, `out` may drop the
// spatial axes: a global pooling's (N, C) has the memory of (N, 1..., C) and (N, C, 1...)).
std::unique_ptr<Kernel> make_pool_kernel(const std::string& kind, PoolMode mode,
                                         bool channels_first, const Shape& in,
                                         const Shape& out_full, dnnl::memory::dims kernel,
                                         dnnl::memory::dims strides, dnnl::memory::dims pad_l,
                                         dnnl::memory::dims pad_r, const PrepareContext& ctx) {
  const dnnl::engine& eng = *ctx.engine;
  dnnl::memory::desc src_md = detail::activation_desc(in, channels_first);
  dnnl::memory::desc dst_md = detail::activation_desc(out_full, channels_first);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  try {
    dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_inference,
                                     mode == PoolMode::Max
                                         ? dnnl::algorithm::pooling_max
                                         : dnnl::algorithm::pooling_avg_exclude_padding,
                                     src_md, dst_md, strides, kernel, pad_l, pad_r);
    dnnl::pooling_forward::primitive_desc pd(desc, attr, eng);
    return std::make_unique<PoolKernel>(dnnl::pooling_forward(pd), src_md, dst_md,
                                        pd.scratchpad_desc());
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::Unsupported, kind + ": oneDNN has no kernel for input " +
                                            shape_to_string(in) + " (" + e.what() + ")");
  }
}

// Masked mean over the steps of (batch, steps, channels) or (batch, channels, steps): oneDNN has
// no masked reduction, and the work is one pass over the input.
class MaskedMeanKernel final : public Kernel {
 public:
  MaskedMeanKernel(int64_t batch, int64_t steps, int64_t channels, bool channels_first,
                   bool multiplies)
      : batch_(batch),
        steps_(steps),
        channels_(channels),
        channels_first_(channels_first),
        multiplies_(multiplies) {}

  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    const float* mask = inputs[1];
    float* y = outputs[0];
    const int64_t work = batch_ * steps_ * channels_;
#pragma omp parallel for if (work > (1 << 16))
    for (int64_t n = 0; n < batch_; ++n) {
      float* out = y + n * channels_;
      const float* m = mask + n * steps_;
      const float* xn = x + n * steps_ * channels_;
      float count = 0;
      for (int64_t t = 0; t < steps_; ++t) count += m[t] != 0.0f ? 1.0f : 0.0f;
      for (int64_t c = 0; c < channels_; ++c) out[c] = 0.0f;
      // Keras 3: where(mask, x, 0) summed; tf-keras: x * mask summed (a masked step adds 0,
      // or NaN when it holds inf/NaN). Divided by the count of unmasked steps (0/0 = NaN when
      // every step is masked, as in Keras).
      if (channels_first_) {
        for (int64_t c = 0; c < channels_; ++c) {
          float acc = 0.0f;
          for (int64_t t = 0; t < steps_; ++t) {
            if (m[t] != 0.0f) {
              acc += xn[c * steps_ + t];
            } else if (multiplies_) {
              acc += xn[c * steps_ + t] * 0.0f;
            }
          }
          out[c] = acc;
        }
      } else {
        for (int64_t t = 0; t < steps_; ++t) {
          const float* row = xn + t * channels_;
          if (m[t] != 0.0f) {
            for (int64_t c = 0; c < channels_; ++c) out[c] += row[c];
          } else if (multiplies_) {
            for (int64_t c = 0; c < channels_; ++c) out[c] += row[c] * 0.0f;
          }
        }
      }
      for (int64_t c = 0; c < channels_; ++c) out[c] /= count;
    }
  }

 private:
  int64_t batch_, steps_, channels_;
  bool channels_first_;
  bool multiplies_;
};

void check_prepare(const std::string& kind, const std::vector<Shape>& want,
                   std::span<const Shape> inputs, std::span<const Shape> outputs) {
  if (outputs.size() != 1 || outputs[0] != want[0] || !shape_is_concrete(inputs[0])) {
    throw Error(ErrorCode::Internal, kind + ": prepare() needs the concrete shapes of " +
                                         "infer_shapes(), got input " + shape_to_string(inputs[0]));
  }
}

}  // namespace

// --- window pooling ---

PoolOp::PoolOp(PoolAttrs attrs) : attrs_(std::move(attrs)) {
  const size_t r = attrs_.spatial_rank();
  if (r < 1 || r > 3 || attrs_.strides.size() != r) {
    invalid(attrs_.kind + ": expected 1 to 3 spatial axes with as many strides, got pool_size " +
            shape_to_string(attrs_.pool_size) + " and strides " + shape_to_string(attrs_.strides));
  }
  for (size_t a = 0; a < r; ++a) {
    if (attrs_.pool_size[a] < 1 || attrs_.strides[a] < 1) {
      invalid(attrs_.kind + ": pool_size and strides must be >= 1, got " +
              shape_to_string(attrs_.pool_size) + " and " + shape_to_string(attrs_.strides));
    }
  }
}

std::vector<Shape> PoolOp::infer_shapes(std::span<const Shape> inputs) const {
  check_rank(attrs_.kind, inputs, attrs_.spatial_rank());
  Shape out = inputs[0];
  for (size_t a = 0; a < attrs_.spatial_rank(); ++a) {
    const size_t d = spatial_dim(attrs_.channels_first, a);
    out[d] = pool_output_length(attrs_, a, inputs[0][d]);
  }
  return {out};
}

std::unique_ptr<Kernel> PoolOp::prepare(std::span<const Shape> inputs,
                                        std::span<const Shape> outputs,
                                        const PrepareContext& ctx) const {
  check_prepare(attrs_.kind, infer_shapes(inputs), inputs, outputs);
  const size_t r = attrs_.spatial_rank();
  const Shape& in = inputs[0];
  dnnl::memory::dims pad_l(r);
  dnnl::memory::dims pad_r(r);
  for (size_t a = 0; a < r; ++a) {
    const int64_t length = in[spatial_dim(attrs_.channels_first, a)];
    const int64_t out = pool_output_length(attrs_, a, length);
    pad_l[a] = pool_pad_before(attrs_, a, length);
    // oneDNN checks the output size with floor division, so trailing inputs no window reaches
    // ('valid') need no negative padding.
    pad_r[a] = std::max<int64_t>(
        (out - 1) * attrs_.strides[a] + attrs_.pool_size[a] - length - pad_l[a], 0);
  }
  return make_pool_kernel(attrs_.kind, attrs_.mode, attrs_.channels_first, in, outputs[0],
                          dnnl::memory::dims(attrs_.pool_size.begin(), attrs_.pool_size.end()),
                          dnnl::memory::dims(attrs_.strides.begin(), attrs_.strides.end()), pad_l,
                          pad_r, ctx);
}

// --- global pooling ---

GlobalPoolOp::GlobalPoolOp(GlobalPoolAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.spatial_rank < 1 || attrs_.spatial_rank > 3) {
    invalid(attrs_.kind + ": expected 1 to 3 spatial axes, got " +
            std::to_string(attrs_.spatial_rank));
  }
  if (attrs_.masked && (attrs_.spatial_rank != 1 || attrs_.mode != PoolMode::Average)) {
    invalid(attrs_.kind + ": only the 1D global average pooling takes a mask");
  }
}

std::vector<Shape> GlobalPoolOp::infer_shapes(std::span<const Shape> inputs) const {
  if (attrs_.masked) {
    if (inputs.size() != 2) {
      invalid(attrs_.kind + ": expected an input and a mask, got " + std::to_string(inputs.size()) +
              " inputs");
    }
    const Shape& in = inputs[0];
    const Shape& mask = inputs[1];
    const size_t steps = spatial_dim(attrs_.channels_first, 0);
    auto same = [](int64_t a, int64_t b) { return a == kUnknownDim || b == kUnknownDim || a == b; };
    if (in.size() != 3 || mask.size() != 2 || !same(mask[0], in[0]) || !same(mask[1], in[steps])) {
      invalid(attrs_.kind + ": expected a mask of shape (batch, steps) for input " +
              shape_to_string(in) + ", got " + shape_to_string(mask));
    }
    inputs = inputs.first(1);
  }
  check_rank(attrs_.kind, inputs, attrs_.spatial_rank);
  const Shape& in = inputs[0];
  for (size_t a = 0; a < attrs_.spatial_rank; ++a) {
    if (in[spatial_dim(attrs_.channels_first, a)] == 0) {
      invalid(attrs_.kind + ": cannot pool over an empty spatial axis, input " +
              shape_to_string(in));
    }
  }
  const int64_t c = in[channel_axis(attrs_.channels_first, in.size())];
  if (!attrs_.keepdims) return {Shape{in[0], c}};
  Shape out(in.size(), 1);
  out[0] = in[0];
  out[channel_axis(attrs_.channels_first, in.size())] = c;
  return {out};
}

std::unique_ptr<Kernel> GlobalPoolOp::prepare(std::span<const Shape> inputs,
                                              std::span<const Shape> outputs,
                                              const PrepareContext& ctx) const {
  check_prepare(attrs_.kind, infer_shapes(inputs), inputs, outputs);
  if (attrs_.masked) {
    const Shape& in = inputs[0];
    return std::make_unique<MaskedMeanKernel>(in[0], attrs_.channels_first ? in[2] : in[1],
                                              attrs_.channels_first ? in[1] : in[2],
                                              attrs_.channels_first, attrs_.mask_multiplies);
  }
  const size_t r = attrs_.spatial_rank;
  const Shape& in = inputs[0];
  Shape out_full(in.size(), 1);
  out_full[0] = in[0];
  out_full[channel_axis(attrs_.channels_first, in.size())] =
      in[channel_axis(attrs_.channels_first, in.size())];
  dnnl::memory::dims kernel(r);
  for (size_t a = 0; a < r; ++a) kernel[a] = in[spatial_dim(attrs_.channels_first, a)];
  // pooling (not reduction): oneDNN 2.6's reduction picks a slow reference kernel
  // (compute-backend.md §3).
  return make_pool_kernel(attrs_.kind, attrs_.mode, attrs_.channels_first, in, out_full, kernel,
                          dnnl::memory::dims(r, 1), dnnl::memory::dims(r, 0),
                          dnnl::memory::dims(r, 0), ctx);
}

// --- reference ---

namespace reference {

namespace {

// Pools `x` (shape `in`) over windows [o * s - pad, o * s - pad + k) clipped to the input.
void pool_windows(PoolMode mode, bool channels_first, const Shape& in,
                  const std::array<int64_t, 3>& k, const std::array<int64_t, 3>& s,
                  const std::array<int64_t, 3>& pad, const std::array<int64_t, 3>& out,
                  std::span<const float> x, std::span<float> y) {
  const size_t r = in.size() - 2;
  std::array<int64_t, 3> len{1, 1, 1};
  for (size_t a = 0; a < r; ++a) len[3 - r + a] = in[spatial_dim(channels_first, a)];
  const int64_t n_batch = in[0];
  const int64_t c_count = in[channel_axis(channels_first, in.size())];
  auto at = [&](const std::array<int64_t, 3>& dims, int64_t n, int64_t c, int64_t z, int64_t yy,
                int64_t xx) {
    if (channels_first) return (((n * c_count + c) * dims[0] + z) * dims[1] + yy) * dims[2] + xx;
    return (((n * dims[0] + z) * dims[1] + yy) * dims[2] + xx) * c_count + c;
  };
  for (int64_t n = 0; n < n_batch; ++n)
    for (int64_t c = 0; c < c_count; ++c)
      for (int64_t oz = 0; oz < out[0]; ++oz)
        for (int64_t oy = 0; oy < out[1]; ++oy)
          for (int64_t ox = 0; ox < out[2]; ++ox) {
            double acc = mode == PoolMode::Max ? -std::numeric_limits<double>::infinity() : 0.0;
            int64_t count = 0;
            const std::array<int64_t, 3> o{oz, oy, ox};
            std::array<int64_t, 3> lo{}, hi{};
            for (int a = 0; a < 3; ++a) {
              lo[a] = std::max<int64_t>(o[a] * s[a] - pad[a], 0);
              hi[a] = std::min<int64_t>(o[a] * s[a] - pad[a] + k[a], len[a]);
            }
            for (int64_t z = lo[0]; z < hi[0]; ++z)
              for (int64_t yy = lo[1]; yy < hi[1]; ++yy)
                for (int64_t xx = lo[2]; xx < hi[2]; ++xx) {
                  const double v = x[at(len, n, c, z, yy, xx)];
                  acc = mode == PoolMode::Max ? std::max(acc, v) : acc + v;
                  ++count;
                }
            if (mode == PoolMode::Average) acc /= static_cast<double>(count);
            y[at(out, n, c, oz, oy, ox)] = static_cast<float>(acc);
          }
}

}  // namespace

void pool(const PoolAttrs& attrs, const Shape& in, std::span<const float> x, std::span<float> y) {
  const size_t r = attrs.spatial_rank();
  std::array<int64_t, 3> k{1, 1, 1}, s{1, 1, 1}, pad{0, 0, 0}, out{1, 1, 1};
  for (size_t a = 0; a < r; ++a) {
    const size_t j = 3 - r + a;
    const int64_t length = in[spatial_dim(attrs.channels_first, a)];
    k[j] = attrs.pool_size[a];
    s[j] = attrs.strides[a];
    pad[j] = pool_pad_before(attrs, a, length);
    out[j] = pool_output_length(attrs, a, length);
  }
  pool_windows(attrs.mode, attrs.channels_first, in, k, s, pad, out, x, y);
}

void global_pool(const GlobalPoolAttrs& attrs, const Shape& in, std::span<const float> x,
                 std::span<float> y, std::span<const float> mask) {
  const size_t r = attrs.spatial_rank;
  if (attrs.masked) {
    const int64_t steps = in[spatial_dim(attrs.channels_first, 0)];
    const int64_t channels = in[channel_axis(attrs.channels_first, in.size())];
    for (int64_t n = 0; n < in[0]; ++n)
      for (int64_t c = 0; c < channels; ++c) {
        double acc = 0.0;
        double count = 0.0;
        for (int64_t t = 0; t < steps; ++t) {
          const float v = x[attrs.channels_first ? (n * channels + c) * steps + t
                                                 : (n * steps + t) * channels + c];
          if (mask[n * steps + t] == 0.0f) {
            if (attrs.mask_multiplies) acc += v * 0.0;
            continue;
          }
          acc += v;
          count += 1.0;
        }
        y[n * channels + c] = static_cast<float>(acc / count);
      }
    return;
  }
  std::array<int64_t, 3> k{1, 1, 1};
  for (size_t a = 0; a < r; ++a) k[3 - r + a] = in[spatial_dim(attrs.channels_first, a)];
  pool_windows(attrs.mode, attrs.channels_first, in, k, {1, 1, 1}, {0, 0, 0}, {1, 1, 1}, x, y);
}

}  // namespace reference

}  // namespace kerasrt::ops
