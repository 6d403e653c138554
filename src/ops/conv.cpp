#include "ops/conv.h"

#include <algorithm>
#include <array>
#include <oneapi/dnnl/dnnl.hpp>
#include <utility>

#include "kerasrt/error.h"
#include "ops/core_util.h"
#include "ops/weight_packs.h"

namespace kerasrt::ops {

namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidModel, what);
}

int64_t effective_kernel(const ConvAttrs& attrs, size_t axis) {
  return (attrs.kernel_size[axis] - 1) * attrs.dilation[axis] + 1;
}

// The channel axis of an activation of rank `rank`.
size_t channel_axis(const ConvAttrs& attrs, size_t rank) {
  return attrs.channels_first ? 1 : rank - 1;
}
// The position of spatial axis `axis` in an activation shape.
size_t spatial_dim(const ConvAttrs& attrs, size_t axis) {
  return attrs.channels_first ? axis + 2 : axis + 1;
}

}  // namespace

void validate_conv_attrs(const ConvAttrs& attrs) {
  const size_t r = attrs.spatial_rank();
  if (r < 1 || r > 3) {
    invalid(attrs.kind + ": expected 1 to 3 spatial axes, got " + std::to_string(r));
  }
  if (attrs.strides.size() != r || attrs.dilation.size() != r) {
    invalid(attrs.kind + ": kernel_size, strides and dilation_rate must have " + std::to_string(r) +
            " values each");
  }
  for (size_t i = 0; i < r; ++i) {
    if (attrs.kernel_size[i] < 1 || attrs.strides[i] < 1 || attrs.dilation[i] < 1) {
      invalid(attrs.kind + ": kernel_size, strides and dilation_rate must be >= 1, got " +
              shape_to_string(attrs.kernel_size) + ", " + shape_to_string(attrs.strides) + ", " +
              shape_to_string(attrs.dilation));
    }
  }
  if (attrs.filters < 1)
    invalid(attrs.kind + ": filters must be >= 1, got " + std::to_string(attrs.filters));
  if (attrs.groups < 1 || attrs.filters % attrs.groups != 0) {
    invalid(attrs.kind + ": filters (" + std::to_string(attrs.filters) +
            ") must be a multiple of groups (" + std::to_string(attrs.groups) + ")");
  }
  if (attrs.padding == ConvPadding::Causal && (r != 1 || attrs.transpose)) {
    invalid(attrs.kind + ": causal padding needs a forward conv over one spatial axis");
  }
  if (attrs.transpose) {
    if (attrs.groups != 1) invalid(attrs.kind + ": a transposed conv has no groups");
    if (!attrs.output_padding.empty()) {
      if (attrs.output_padding.size() != r) {
        invalid(attrs.kind + ": output_padding must have " + std::to_string(r) + " values");
      }
      for (size_t i = 0; i < r; ++i) {
        // Keras: "Strides must be greater than output padding" (conv_utils / base_conv_transpose).
        if (attrs.output_padding[i] < 0 || attrs.output_padding[i] >= attrs.strides[i]) {
          invalid(attrs.kind + ": output_padding " + shape_to_string(attrs.output_padding) +
                  " must be >= 0 and smaller than strides " + shape_to_string(attrs.strides));
        }
      }
    }
  } else if (!attrs.output_padding.empty()) {
    invalid(attrs.kind + ": output_padding applies to transposed convs only");
  }
}

Shape conv_kernel_shape(const ConvAttrs& attrs, int64_t in_channels) {
  Shape s(attrs.kernel_size.begin(), attrs.kernel_size.end());
  if (attrs.transpose) {
    s.push_back(attrs.filters);
    s.push_back(in_channels);
  } else {
    s.push_back(in_channels / attrs.groups);
    s.push_back(attrs.filters);
  }
  return s;
}

int64_t conv_output_length(const ConvAttrs& attrs, size_t axis, int64_t length) {
  if (length < 0) return kUnknownDim;
  const int64_t k = effective_kernel(attrs, axis);
  const int64_t s = attrs.strides[axis];
  if (attrs.transpose) {
    // keras/src/backend/common/backend_utils.py::_get_output_shape_given_tf_padding (tf-keras's
    // conv_utils.deconv_output_length gives the same numbers).
    const bool has_op = !attrs.output_padding.empty();
    if (attrs.padding == ConvPadding::Valid) {
      int64_t op = has_op ? attrs.output_padding[axis] : std::max(k, s) - k;
      return (length - 1) * s + k + op;
    }
    if (!has_op) return length * s;
    return (length - 1) * s + k % 2 + attrs.output_padding[axis];
  }
  switch (attrs.padding) {
    case ConvPadding::Valid:
      if (length < k) {
        invalid(attrs.kind + ": input length " + std::to_string(length) + " on spatial axis " +
                std::to_string(axis) + " is smaller than the dilated kernel (" + std::to_string(k) +
                ") with padding 'valid'");
      }
      return (length - k) / s + 1;
    case ConvPadding::Same:
    case ConvPadding::Causal:  // left pad (k - 1) * d, then valid: ceil(length / s)
      return (length + s - 1) / s;
  }
  return kUnknownDim;
}

AxisPadding conv_axis_padding(const ConvAttrs& attrs, size_t axis, int64_t length) {
  const int64_t k = effective_kernel(attrs, axis);
  const int64_t s = attrs.strides[axis];
  const int64_t out = conv_output_length(attrs, axis, length);
  AxisPadding p;
  if (attrs.transpose) {
    // TF computes conv_transpose as the input gradient of a forward conv from `out` to `length`
    // with the same padding name: SAME pads that conv by max((length-1)*s + k - out, 0), the
    // smaller half first (keras-format.md §4.3).
    const int64_t total = (length - 1) * s + k - out;
    if (attrs.padding == ConvPadding::Same) p.before = std::max<int64_t>(total, 0) / 2;
    p.after = total - p.before;
    return p;
  }
  switch (attrs.padding) {
    case ConvPadding::Valid:
      break;
    case ConvPadding::Same: {
      const int64_t total = std::max<int64_t>((out - 1) * s + k - length, 0);
      p.before = total / 2;  // TF: the extra element goes after (bottom/right)
      break;
    }
    case ConvPadding::Causal:
      p.before = (attrs.kernel_size[axis] - 1) * attrs.dilation[axis];
      break;
  }
  p.after = (out - 1) * s + k - length - p.before;
  return p;
}

ConvOp::ConvOp(ConvAttrs attrs, int64_t in_channels, Tensor kernel, Tensor bias, Epilogue epilogue)
    : attrs_(std::move(attrs)),
      in_channels_(in_channels),
      kernel_(std::move(kernel)),
      bias_(std::move(bias)),
      epilogue_(std::move(epilogue)) {
  validate_conv_attrs(attrs_);
  if (in_channels_ < 1 || (!attrs_.transpose && in_channels_ % attrs_.groups != 0)) {
    invalid(attrs_.kind + ": input channels (" + std::to_string(in_channels_) +
            ") must be a positive multiple of groups (" + std::to_string(attrs_.groups) + ")");
  }
  Shape want = conv_kernel_shape(attrs_, in_channels_);
  if (kernel_.shape() != want) {
    invalid(attrs_.kind + ": kernel: expected shape " + shape_to_string(want) + ", got " +
            shape_to_string(kernel_.shape()));
  }
  if (!bias_.empty() && bias_.shape() != Shape{attrs_.filters}) {
    invalid(attrs_.kind + ": bias: expected shape " + shape_to_string({attrs_.filters}) + ", got " +
            shape_to_string(bias_.shape()));
  }
  if (!epilogue_.kernel_scale.empty() &&
      static_cast<int64_t>(epilogue_.kernel_scale.size()) != attrs_.filters) {
    throw Error(ErrorCode::Internal, attrs_.kind + ": a kernel scale per output channel expected");
  }
}

std::vector<Shape> ConvOp::infer_shapes(std::span<const Shape> inputs) const {
  const size_t r = attrs_.spatial_rank();
  if (inputs.size() != 1) {
    invalid(attrs_.kind + ": expected 1 input, got " + std::to_string(inputs.size()));
  }
  const Shape& in = inputs[0];
  if (in.size() != r + 2) {
    invalid(attrs_.kind + ": expected an input of rank " + std::to_string(r + 2) + ", got " +
            shape_to_string(in));
  }
  const int64_t c = in[channel_axis(attrs_, in.size())];
  if (c != kUnknownDim && c != in_channels_) {
    invalid(attrs_.kind + ": expected " + std::to_string(in_channels_) +
            " input channels (from the kernel), got input shape " + shape_to_string(in));
  }
  Shape out(in.size());
  out[0] = in[0];
  out[channel_axis(attrs_, in.size())] = attrs_.filters;
  for (size_t a = 0; a < r; ++a) {
    out[spatial_dim(attrs_, a)] = conv_output_length(attrs_, a, in[spatial_dim(attrs_, a)]);
  }
  return {out};
}

namespace {

// oneDNN weights descriptor of the canonical Keras kernel memory, described by strides so that
// no copy is needed before the packing reorder.
dnnl::memory::desc keras_weights_desc(const ConvAttrs& attrs, int64_t in_channels) {
  const size_t r = attrs.spatial_rank();
  const int64_t cout = attrs.filters;
  // Strides of the spatial axes: row-major over (k..., inner) where inner = the two channel dims.
  const int64_t inner = attrs.transpose ? cout * in_channels : (in_channels / attrs.groups) * cout;
  std::vector<int64_t> spatial_strides(r);
  int64_t st = inner;
  for (size_t a = r; a-- > 0;) {
    spatial_strides[a] = st;
    st *= attrs.kernel_size[a];
  }
  dnnl::memory::dims dims;
  dnnl::memory::dims strides;
  if (attrs.transpose) {
    // oneDNN deconvolution weights are (OC, IC, k...); Keras stores (k..., OC, IC).
    dims = {cout, in_channels};
    strides = {in_channels, 1};
  } else if (attrs.groups == 1) {
    // (OC, IC, k...) over Keras (k..., IC, OC).
    dims = {cout, in_channels};
    strides = {1, cout};
  } else {
    // (G, OC/G, IC/G, k...) over Keras (k..., IC/G, G * OC/G): output channel g * OC/G + o.
    const int64_t oc_g = cout / attrs.groups;
    dims = {attrs.groups, oc_g, in_channels / attrs.groups};
    strides = {oc_g, 1, cout};
  }
  for (size_t a = 0; a < r; ++a) {
    dims.push_back(attrs.kernel_size[a]);
    strides.push_back(spatial_strides[a]);
  }
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

// Executes with the C API's argument array; oneDNN failing on shapes prepare() accepted is a bug.
void execute_or_throw(const dnnl::primitive& prim, dnnl::stream& stream, int n,
                      const dnnl_exec_arg_t* args) {
  if (dnnl_primitive_execute(prim.get(), stream.get(), n, args) != dnnl_success) {
    throw Error(ErrorCode::Internal, "oneDNN convolution failed to execute");
  }
}

class ConvKernel final : public Kernel {
 public:
  ConvKernel(dnnl::primitive prim, dnnl::memory::desc src, dnnl::memory::desc dst,
             dnnl::memory::desc scratch, std::shared_ptr<const PackedWeight> weights, Tensor bias)
      : prim_(std::move(prim)),
        src_md_(std::move(src)),
        dst_md_(std::move(dst)),
        scratch_md_(std::move(scratch)),
        weights_(std::move(weights)),
        bias_(std::move(bias)),
        bias_md_(bias_.empty() ? dnnl::memory::desc()
                               : dnnl::memory::desc({bias_.numel()}, dnnl::memory::data_type::f32,
                                                    dnnl::memory::format_tag::a)) {}

  size_t scratch_bytes() const override { return scratch_md_.get_size(); }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const dnnl::engine& eng = *ctx.engine;
    // Per-call memory handles over the caller's buffers (run() is called concurrently), passed
    // through the C API's argument array: no std::unordered_map on the hot path.
    const dnnl::memory src(src_md_, eng, const_cast<float*>(inputs[0]));
    const dnnl::memory weights(weights_->desc, eng, const_cast<void*>(weights_->data));
    const dnnl::memory dst(dst_md_, eng, outputs[0]);
    dnnl::memory bias;
    dnnl::memory scratch;
    std::array<dnnl_exec_arg_t, 5> args{};
    int n = 0;
    args[n++] = {DNNL_ARG_SRC, src.get()};
    args[n++] = {DNNL_ARG_WEIGHTS, weights.get()};
    args[n++] = {DNNL_ARG_DST, dst.get()};
    if (!bias_.empty()) {
      bias = dnnl::memory(bias_md_, eng, const_cast<float*>(bias_.data()));
      args[n++] = {DNNL_ARG_BIAS, bias.get()};
    }
    if (scratch_md_.get_size() > 0) {
      scratch = dnnl::memory(scratch_md_, eng, ctx.scratch);
      args[n++] = {DNNL_ARG_SCRATCHPAD, scratch.get()};
    }
    execute_or_throw(prim_, *ctx.stream, n, args.data());
    ctx.stream->wait();
  }

 private:
  dnnl::primitive prim_;
  dnnl::memory::desc src_md_, dst_md_, scratch_md_;
  std::shared_ptr<const PackedWeight> weights_;
  Tensor bias_;
  dnnl::memory::desc bias_md_;
};

}  // namespace

std::unique_ptr<Kernel> ConvOp::prepare(std::span<const Shape> inputs,
                                        std::span<const Shape> outputs,
                                        const PrepareContext& ctx) const {
  std::vector<Shape> want = infer_shapes(inputs);
  if (outputs.size() != 1 || outputs[0] != want[0] || !shape_is_concrete(inputs[0])) {
    throw Error(ErrorCode::Internal, attrs_.kind + ": prepare() needs concrete shapes from " +
                                         "infer_shapes(), got input " + shape_to_string(inputs[0]));
  }
  const Shape& in = inputs[0];
  const Shape& out = outputs[0];
  const size_t r = attrs_.spatial_rank();
  const dnnl::engine& eng = *ctx.engine;

  dnnl::memory::desc src_md = detail::activation_desc(in, attrs_.channels_first);
  dnnl::memory::desc dst_md = detail::activation_desc(out, attrs_.channels_first);
  dnnl::memory::desc user_weights_md = keras_weights_desc(attrs_, in_channels_);
  dnnl::memory::desc any_weights_md(user_weights_md.dims(), dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::any);
  dnnl::memory::desc bias_md;
  if (!bias_.empty()) {
    bias_md = dnnl::memory::desc({attrs_.filters}, dnnl::memory::data_type::f32,
                                 dnnl::memory::format_tag::a);
  }

  dnnl::memory::dims strides(attrs_.strides.begin(), attrs_.strides.end());
  dnnl::memory::dims dilates(r);
  dnnl::memory::dims pad_l(r);
  dnnl::memory::dims pad_r(r);
  for (size_t a = 0; a < r; ++a) {
    dilates[a] = attrs_.dilation[a] - 1;  // oneDNN counts the gaps: 0 = dense
    const int64_t length = in[spatial_dim(attrs_, a)];
    AxisPadding p = conv_axis_padding(attrs_, a, length);
    pad_l[a] = p.before;
    // A negative `after` (trailing inputs / outputs no window reaches) gives the same output size
    // in oneDNN's floor-division size check when clamped to 0, and some kernels reject negatives.
    pad_r[a] = std::max<int64_t>(p.after, 0);
  }

  dnnl::primitive_attr attr = epilogue_attr(epilogue_);

  dnnl::primitive prim;
  dnnl::memory::desc weights_md;
  dnnl::memory::desc scratch_md;
  try {
    if (attrs_.transpose) {
      auto desc =
          bias_.empty()
              ? dnnl::deconvolution_forward::desc(
                    dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                    src_md, any_weights_md, dst_md, strides, dilates, pad_l, pad_r)
              : dnnl::deconvolution_forward::desc(
                    dnnl::prop_kind::forward_inference, dnnl::algorithm::deconvolution_direct,
                    src_md, any_weights_md, bias_md, dst_md, strides, dilates, pad_l, pad_r);
      dnnl::deconvolution_forward::primitive_desc pd(desc, attr, eng);
      weights_md = pd.weights_desc();
      scratch_md = pd.scratchpad_desc();
      prim = dnnl::deconvolution_forward(pd);
    } else {
      auto desc = bias_.empty()
                      ? dnnl::convolution_forward::desc(
                            dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                            src_md, any_weights_md, dst_md, strides, dilates, pad_l, pad_r)
                      : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_inference,
                                                        dnnl::algorithm::convolution_direct, src_md,
                                                        any_weights_md, bias_md, dst_md, strides,
                                                        dilates, pad_l, pad_r);
      dnnl::convolution_forward::primitive_desc pd(desc, attr, eng);
      weights_md = pd.weights_desc();
      scratch_md = pd.scratchpad_desc();
      prim = dnnl::convolution_forward(pd);
    }
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::Unsupported, attrs_.kind + ": oneDNN has no kernel for input " +
                                            shape_to_string(in) + " -> " + shape_to_string(out) +
                                            " (" + e.what() + ")");
  }

  // The weights in the layout the primitive prefers, packed once per model and layout (scaled per
  // output channel by a folded BatchNormalization). The output channel is dim 0 of (OC, IC, k...)
  // and dims 0-1 of a grouped (G, OC/G, IC/G, k...).
  const int oc_mask = !attrs_.transpose && attrs_.groups > 1 ? 0b11 : 0b1;
  std::shared_ptr<const PackedWeight> packed = packed_weight(
      ctx, kernel_slot(epilogue_), weights_md,
      kernel_fill(epilogue_, user_weights_md, weights_md, kernel_.data(), oc_mask), kernel_);
  return std::make_unique<ConvKernel>(std::move(prim), src_md, dst_md, scratch_md,
                                      std::move(packed), bias_);
}

namespace reference {

namespace {

// A conv problem with 3 spatial axes (unused leading axes have size 1).
struct Geometry {
  int64_t batch = 1, cin = 1, cout = 1;
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1},
      pad{0, 0, 0};
  bool channels_first = false;

  int64_t at(const std::array<int64_t, 3>& dims, int64_t channels, int64_t n, int64_t c, int64_t z,
             int64_t y, int64_t x) const {
    if (channels_first) return (((n * channels + c) * dims[0] + z) * dims[1] + y) * dims[2] + x;
    return (((n * dims[0] + z) * dims[1] + y) * dims[2] + x) * channels + c;
  }
};

}  // namespace

void conv(const ConvAttrs& attrs, const Shape& in, std::span<const float> x,
          std::span<const float> kernel, std::span<const float> bias, std::span<float> y) {
  const size_t r = attrs.spatial_rank();
  Geometry g;
  g.channels_first = attrs.channels_first;
  g.batch = in[0];
  g.cin = in[channel_axis(attrs, in.size())];
  g.cout = attrs.filters;
  for (size_t a = 0; a < r; ++a) {
    size_t j = 3 - r + a;
    g.in[j] = in[spatial_dim(attrs, a)];
    g.out[j] = conv_output_length(attrs, a, g.in[j]);
    g.k[j] = attrs.kernel_size[a];
    g.s[j] = attrs.strides[a];
    g.d[j] = attrs.dilation[a];
    g.pad[j] = conv_axis_padding(attrs, a, g.in[j]).before;
  }
  const int64_t out_spatial = g.out[0] * g.out[1] * g.out[2];

  if (!attrs.transpose) {
    const int64_t ic_g = g.cin / attrs.groups;
    const int64_t oc_g = g.cout / attrs.groups;
    for (int64_t n = 0; n < g.batch; ++n)
      for (int64_t oz = 0; oz < g.out[0]; ++oz)
        for (int64_t oy = 0; oy < g.out[1]; ++oy)
          for (int64_t ox = 0; ox < g.out[2]; ++ox)
            for (int64_t oc = 0; oc < g.cout; ++oc) {
              const int64_t grp = oc / oc_g;
              double acc = bias.empty() ? 0.0 : bias[oc];
              for (int64_t kz = 0; kz < g.k[0]; ++kz) {
                const int64_t iz = oz * g.s[0] - g.pad[0] + kz * g.d[0];
                if (iz < 0 || iz >= g.in[0]) continue;
                for (int64_t ky = 0; ky < g.k[1]; ++ky) {
                  const int64_t iy = oy * g.s[1] - g.pad[1] + ky * g.d[1];
                  if (iy < 0 || iy >= g.in[1]) continue;
                  for (int64_t kx = 0; kx < g.k[2]; ++kx) {
                    const int64_t ix = ox * g.s[2] - g.pad[2] + kx * g.d[2];
                    if (ix < 0 || ix >= g.in[2]) continue;
                    const int64_t kbase = ((kz * g.k[1] + ky) * g.k[2] + kx) * ic_g * g.cout;
                    for (int64_t icl = 0; icl < ic_g; ++icl) {
                      const int64_t ic = grp * ic_g + icl;
                      acc += static_cast<double>(x[g.at(g.in, g.cin, n, ic, iz, iy, ix)]) *
                             kernel[kbase + icl * g.cout + oc];
                    }
                  }
                }
              }
              y[g.at(g.out, g.cout, n, oc, oz, oy, ox)] = static_cast<float>(acc);
            }
    return;
  }

  // Transposed: scatter every input element through the kernel, then add the bias.
  std::vector<double> acc(static_cast<size_t>(g.batch * out_spatial * g.cout), 0.0);
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t iz = 0; iz < g.in[0]; ++iz)
      for (int64_t iy = 0; iy < g.in[1]; ++iy)
        for (int64_t ix = 0; ix < g.in[2]; ++ix)
          for (int64_t ic = 0; ic < g.cin; ++ic) {
            const double v = x[g.at(g.in, g.cin, n, ic, iz, iy, ix)];
            for (int64_t kz = 0; kz < g.k[0]; ++kz) {
              const int64_t oz = iz * g.s[0] - g.pad[0] + kz * g.d[0];
              if (oz < 0 || oz >= g.out[0]) continue;
              for (int64_t ky = 0; ky < g.k[1]; ++ky) {
                const int64_t oy = iy * g.s[1] - g.pad[1] + ky * g.d[1];
                if (oy < 0 || oy >= g.out[1]) continue;
                for (int64_t kx = 0; kx < g.k[2]; ++kx) {
                  const int64_t ox = ix * g.s[2] - g.pad[2] + kx * g.d[2];
                  if (ox < 0 || ox >= g.out[2]) continue;
                  const int64_t kbase = ((kz * g.k[1] + ky) * g.k[2] + kx) * g.cout * g.cin;
                  for (int64_t oc = 0; oc < g.cout; ++oc) {
                    acc[static_cast<size_t>(g.at(g.out, g.cout, n, oc, oz, oy, ox))] +=
                        v * kernel[kbase + oc * g.cin + ic];
                  }
                }
              }
            }
          }
  for (size_t i = 0; i < acc.size(); ++i) {
    const int64_t oc = g.channels_first ? (static_cast<int64_t>(i) / out_spatial) % g.cout
                                        : static_cast<int64_t>(i) % g.cout;
    y[i] = static_cast<float>(acc[i] + (bias.empty() ? 0.0 : bias[oc]));
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
