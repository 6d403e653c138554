// Binders of the conv layer family: Conv1D/2D/3D, DepthwiseConv1D/2D, SeparableConv1D/2D,
// Conv1D/2D/3DTranspose, and the Keras 1 classes Convolution1D/2D/3D, AtrousConvolution1D/2D and
// Deconvolution2D (keras-format.md §3.4, §4.2-§4.5, §4.15, traps 9 and 14).
//
// Every variant becomes ops::ConvOp with the kernel in one of its two canonical layouts; a
// depthwise kernel (k..., in, multiplier) is already a grouped kernel (k..., 1, in * multiplier)
// with groups = in, and a separable conv is a depthwise ConvOp followed by a 1x1 ConvOp.
#include <algorithm>
#include <array>
#include <cctype>

#include "keras/registry.h"
#include "ops/conv.h"

namespace kerasrt::keras {

namespace {

using ops::ConvAttrs;
using ops::ConvOp;
using ops::ConvPadding;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// numpy.transpose(t, perm): out.shape[i] = t.shape[perm[i]].
Tensor transpose(const Tensor& t, const std::vector<size_t>& perm) {
  const Shape& in = t.shape();
  const size_t rank = in.size();
  Shape out_shape(rank);
  for (size_t i = 0; i < rank; ++i) out_shape[i] = in[perm[i]];
  std::vector<int64_t> in_strides(rank, 1);
  for (size_t i = rank - 1; i-- > 0;) in_strides[i] = in_strides[i + 1] * in[i + 1];
  Tensor out(out_shape);
  float* dst = out.mutable_data();
  std::vector<int64_t> idx(rank, 0);
  for (int64_t n = 0; n < out.numel(); ++n) {
    int64_t src = 0;
    for (size_t i = 0; i < rank; ++i) src += idx[i] * in_strides[perm[i]];
    dst[n] = t.data()[src];
    for (size_t i = rank; i-- > 0;) {
      if (++idx[i] < out_shape[i]) break;
      idx[i] = 0;
    }
  }
  return out;
}

// Reverses the first `spatial` axes (keras/utils/conv_utils.py::convert_kernel: Theano's
// convolution flips the kernel, TF's cross-correlation does not).
Tensor flip_spatial(const Tensor& t, size_t spatial) {
  const Shape& s = t.shape();
  std::array<int64_t, 3> k{1, 1, 1};
  for (size_t a = 0; a < spatial; ++a) k[3 - spatial + a] = s[a];
  int64_t inner = 1;
  for (size_t a = spatial; a < s.size(); ++a) inner *= s[a];
  Tensor out(s);
  for (int64_t z = 0; z < k[0]; ++z)
    for (int64_t y = 0; y < k[1]; ++y)
      for (int64_t x = 0; x < k[2]; ++x) {
        const int64_t from = ((z * k[1] + y) * k[2] + x) * inner;
        const int64_t to =
            (((k[0] - 1 - z) * k[1] + (k[1] - 1 - y)) * k[2] + (k[2] - 1 - x)) * inner;
        std::copy_n(t.data() + from, inner, out.mutable_data() + to);
      }
  return out;
}

// --- config readers (Keras 2/3 key, then the Keras 1 spelling; legacy/interfaces.py) ---

std::vector<int64_t> read_kernel_size(const LayerContext& ctx, size_t r) {
  if (ctx.has("kernel_size")) return ctx.get_ints("kernel_size", r);
  if (r == 1 && ctx.has("filter_length")) return {ctx.get_int("filter_length")};
  if (r == 2 && ctx.has("nb_row")) return {ctx.get_int("nb_row"), ctx.get_int("nb_col")};
  if (r == 3 && ctx.has("kernel_dim1")) {
    return {ctx.get_int("kernel_dim1"), ctx.get_int("kernel_dim2"), ctx.get_int("kernel_dim3")};
  }
  ctx.fail(ErrorCode::InvalidModel, "config 'kernel_size' is missing");
}

std::vector<int64_t> read_strides(const LayerContext& ctx, size_t r) {
  if (ctx.has("strides")) return ctx.get_ints("strides", r);
  if (ctx.has("subsample_length")) return ctx.get_ints("subsample_length", r);
  return ctx.get_ints("subsample", r, 1);
}

std::vector<int64_t> read_dilation(const LayerContext& ctx, size_t r) {
  if (ctx.has("dilation_rate")) return ctx.get_ints("dilation_rate", r);
  return ctx.get_ints("atrous_rate", r, 1);
}

bool read_use_bias(const LayerContext& ctx) {
  return ctx.has("use_bias") ? ctx.get_bool("use_bias", true) : ctx.get_bool("bias", true);
}

int64_t read_filters(const LayerContext& ctx) {
  return ctx.has("filters") ? ctx.get_int("filters") : ctx.get_int("nb_filter");
}

ConvPadding read_padding(const LayerContext& ctx, bool allow_causal) {
  const std::string key = ctx.has("padding") ? "padding" : "border_mode";
  const std::string p = lower(ctx.get_string(key, "valid"));
  if (p == "valid") return ConvPadding::Valid;
  if (p == "same") return ConvPadding::Same;
  if (p == "causal" && allow_causal) return ConvPadding::Causal;
  ctx.fail(ErrorCode::Unsupported, "config '" + key + "': padding '" + p + "' is not supported" +
                                       (allow_causal ? "" : " by this layer"));
}

// The channel count of the layer's input (the kernel is checked against it).
int64_t input_channels(const LayerContext& ctx, size_t r, bool channels_first) {
  ctx.expect_inputs(1, 1);
  const Shape& in = ctx.input_shape(0);
  if (in.size() != r + 2) {
    ctx.fail(ErrorCode::InvalidModel,
             "expected an input of rank " + std::to_string(r + 2) + ", got " + shape_to_string(in));
  }
  const int64_t c = channels_first ? in[1] : in.back();
  if (c < 1) {
    ctx.fail(ErrorCode::InvalidModel,
             "the input's channel dimension must be known, got " + shape_to_string(in));
  }
  return c;
}

// The role of a Keras 1 weight ("<layer>_W" -> "W") if this layer stored one, else "".
const StoredWeight* find_role(const LayerContext& ctx, std::string_view role) {
  for (const StoredWeight& w : ctx.stored_weights()) {
    if (w.role == role) return &w;
  }
  return nullptr;
}

// Theano-trained kernels need the spatial flip (keras-format.md §4.15, trap 14). Keras 2 decides
// from the file's `backend` attribute; Keras 1 files have none, but Theano variable names lack
// TF's ":0" suffix.
bool needs_theano_flip(const LayerContext& ctx, const StoredWeight& kernel) {
  const std::string& backend = ctx.dialect().backend;
  if (backend == "theano") return true;
  return backend.empty() && ctx.dialect().major == 1 && kernel.name.find(':') == std::string::npos;
}

Tensor read_bias(const LayerContext& ctx, bool use_bias, int64_t filters) {
  if (!use_bias) return Tensor();
  if (find_role(ctx, "bias") == nullptr && find_role(ctx, "b") != nullptr) {
    return ctx.weight("b", {filters});  // Keras 1
  }
  return ctx.weight("bias", {filters});
}

// The forward kernel in the canonical (k..., in / groups, filters) layout, from Keras 2/3's
// `kernel` or Keras 1's `W` (th: (filters, in, k...); Conv1D: (k, 1, in, filters) or, before
// Keras 1.1, (filters, in, k, 1); keras-format.md §4.2, Keras 2.x
// engine/saving.py::preprocess_weights_for_loading).
Tensor read_forward_kernel(const LayerContext& ctx, const ConvAttrs& attrs, int64_t in_channels) {
  const size_t r = attrs.spatial_rank();
  const Shape want = ops::conv_kernel_shape(attrs, in_channels);
  const StoredWeight* stored = find_role(ctx, "kernel");
  if (stored != nullptr || find_role(ctx, "W") == nullptr) {
    Tensor k = ctx.weight("kernel", want);
    if (stored != nullptr && needs_theano_flip(ctx, *stored)) k = flip_spatial(k, r);
    return k;
  }
  stored = find_role(ctx, "W");
  const Shape& s = stored->shape;
  Tensor k = ctx.weight("W", {});
  const int64_t f = attrs.filters;
  if (r == 1 && s.size() == 4) {
    if (s[0] != attrs.kernel_size[0] || s[1] != 1 || s[3] != f) {
      k = transpose(k, {2, 3, 1, 0});  // (f, in, k, 1) -> (k, 1, in, f)
    }
    if (k.shape()[1] == 1) k = k.reshaped({k.shape()[0], k.shape()[2], k.shape()[3]});
  } else if (r >= 2 && attrs.channels_first && s.size() == r + 2) {
    std::vector<size_t> perm;  // (f, in, k...) -> (k..., in, f)
    for (size_t a = 0; a < r; ++a) perm.push_back(a + 2);
    perm.push_back(1);
    perm.push_back(0);
    k = transpose(k, perm);
  }
  if (k.shape() != want) {
    ctx.fail(ErrorCode::InvalidModel, "weight 'W' (stored as '" + stored->name +
                                          "'): expected shape " + shape_to_string(want) +
                                          " after the Keras 1 re-layout, got stored shape " +
                                          shape_to_string(s));
  }
  if (needs_theano_flip(ctx, *stored)) k = flip_spatial(k, r);
  return k;
}

graph::ValueId finish(LayerContext& ctx, graph::ValueId out) {
  ctx.expect_all_weights_used();
  out = ctx.add_activation(out);
  ctx.set_outputs({out});
  return out;
}

// --- binders ---

template <size_t R>
void bind_conv(LayerContext& ctx) {
  ConvAttrs a;
  a.kind = "Conv" + std::to_string(R) + "D";
  a.kernel_size = read_kernel_size(ctx, R);
  a.strides = read_strides(ctx, R);
  a.dilation = read_dilation(ctx, R);
  a.padding = read_padding(ctx, R == 1);
  a.filters = read_filters(ctx);
  a.groups = ctx.get_int("groups", 1);
  a.channels_first = ctx.channels_first();
  const int64_t cin = input_channels(ctx, R, a.channels_first);
  if (a.groups < 1 || cin % a.groups != 0 || a.filters % a.groups != 0) {
    ctx.fail(ErrorCode::InvalidModel,
             "groups (" + std::to_string(a.groups) + ") must divide the input channels (" +
                 std::to_string(cin) + ") and filters (" + std::to_string(a.filters) + ")");
  }
  Tensor kernel = read_forward_kernel(ctx, a, cin);
  Tensor bias = read_bias(ctx, read_use_bias(ctx), a.filters);
  auto op = std::make_shared<ConvOp>(a, cin, std::move(kernel), std::move(bias));
  finish(ctx, ctx.add(op, {ctx.input(0)}).at(0));
}

// A (k..., a, b) kernel stored under `role`; Keras 1 with dim_ordering 'th' stored it as
// (b, a, k...) (SeparableConvolution2D's depthwise (mult, in, r, c) and pointwise (f, in, 1, 1)).
Tensor read_kernel_th_aware(const LayerContext& ctx, std::string_view role, const Shape& want,
                            bool th) {
  if (!th) return ctx.weight(role, want);
  const size_t r = want.size() - 2;
  Shape stored{want[r + 1], want[r]};
  stored.insert(stored.end(), want.begin(), want.begin() + static_cast<std::ptrdiff_t>(r));
  std::vector<size_t> perm;
  for (size_t i = 0; i < r; ++i) perm.push_back(i + 2);
  perm.push_back(1);
  perm.push_back(0);
  return transpose(ctx.weight(role, stored), perm);
}

// The depthwise kernel (k..., in, multiplier): `depthwise_kernel` in Keras 2 and in separable
// convs, `kernel` in Keras 3's DepthwiseConv (keras-format.md §4.4).
Tensor read_depthwise_kernel(const LayerContext& ctx, const Shape& want, bool separable) {
  if (!separable && find_role(ctx, "depthwise_kernel") == nullptr)
    return ctx.weight("kernel", want);
  const bool th = ctx.dialect().major == 1 && ctx.channels_first();
  return read_kernel_th_aware(ctx, "depthwise_kernel", want, th);
}

// The depthwise half shared by DepthwiseConv and SeparableConv: attributes of a grouped conv.
ConvAttrs depthwise_attrs(const LayerContext& ctx, size_t r, const std::string& kind,
                          int64_t* in_channels, int64_t* multiplier) {
  ConvAttrs a;
  a.kind = kind;
  a.kernel_size = read_kernel_size(ctx, r);
  a.strides = read_strides(ctx, r);
  a.dilation = read_dilation(ctx, r);
  a.padding = read_padding(ctx, r == 1);
  a.channels_first = ctx.channels_first();
  *in_channels = input_channels(ctx, r, a.channels_first);
  *multiplier = ctx.get_int("depth_multiplier", 1);
  if (*multiplier < 1) {
    ctx.fail(ErrorCode::InvalidModel,
             "config 'depth_multiplier' must be >= 1, got " + std::to_string(*multiplier));
  }
  a.groups = *in_channels;
  a.filters = *in_channels * *multiplier;
  return a;
}

template <size_t R>
void bind_depthwise(LayerContext& ctx) {
  int64_t cin = 0;
  int64_t mult = 0;
  ConvAttrs a = depthwise_attrs(ctx, R, "DepthwiseConv" + std::to_string(R) + "D", &cin, &mult);
  Shape want(a.kernel_size.begin(), a.kernel_size.end());
  want.push_back(cin);
  want.push_back(mult);
  Tensor kernel = read_depthwise_kernel(ctx, want, false);
  // Output channel c * multiplier + m reads input c: (k..., in, mult) is the grouped layout.
  kernel = kernel.reshaped(ops::conv_kernel_shape(a, cin));
  Tensor bias = read_bias(ctx, read_use_bias(ctx), a.filters);
  auto op = std::make_shared<ConvOp>(a, cin, std::move(kernel), std::move(bias));
  finish(ctx, ctx.add(op, {ctx.input(0)}).at(0));
}

template <size_t R>
void bind_separable(LayerContext& ctx) {
  const std::string kind = "SeparableConv" + std::to_string(R) + "D";
  int64_t cin = 0;
  int64_t mult = 0;
  ConvAttrs dw = depthwise_attrs(ctx, R, kind, &cin, &mult);
  Shape want(dw.kernel_size.begin(), dw.kernel_size.end());
  want.push_back(cin);
  want.push_back(mult);
  Tensor depthwise =
      read_depthwise_kernel(ctx, want, true).reshaped(ops::conv_kernel_shape(dw, cin));

  ConvAttrs pw;
  pw.kind = kind;
  pw.kernel_size.assign(R, 1);
  pw.strides.assign(R, 1);
  pw.dilation.assign(R, 1);
  pw.filters = read_filters(ctx);
  pw.channels_first = dw.channels_first;
  Tensor pointwise =
      read_kernel_th_aware(ctx, "pointwise_kernel", ops::conv_kernel_shape(pw, dw.filters),
                           ctx.dialect().major == 1 && ctx.channels_first());
  Tensor bias = read_bias(ctx, read_use_bias(ctx), pw.filters);

  auto dw_op = std::make_shared<ConvOp>(dw, cin, std::move(depthwise), Tensor());
  graph::ValueId mid = ctx.add(dw_op, {ctx.input(0)}, "depthwise").at(0);
  auto pw_op = std::make_shared<ConvOp>(pw, dw.filters, std::move(pointwise), std::move(bias));
  finish(ctx, ctx.add(pw_op, {mid}).at(0));
}

// Conv1D/2D/3DTranspose. `output_padding` overrides the config's (Keras 1 Deconvolution2D).
void bind_transpose_rank(LayerContext& ctx, size_t r, std::vector<int64_t> output_padding) {
  ConvAttrs a;
  a.kind = "Conv" + std::to_string(r) + "DTranspose";
  a.transpose = true;
  a.kernel_size = read_kernel_size(ctx, r);
  a.strides = read_strides(ctx, r);
  a.dilation = read_dilation(ctx, r);
  a.padding = read_padding(ctx, false);
  a.filters = read_filters(ctx);
  a.channels_first = ctx.channels_first();
  if (ctx.get_int("groups", 1) != 1) {
    ctx.fail(ErrorCode::Unsupported, "config 'groups' must be 1 for a transposed conv");
  }
  a.output_padding = std::move(output_padding);
  if (a.output_padding.empty() && ctx.has("output_padding")) {
    a.output_padding = ctx.get_ints("output_padding", r);
  }
  const int64_t cin = input_channels(ctx, r, a.channels_first);
  const Shape want = ops::conv_kernel_shape(a, cin);  // (k..., filters, in): trap 9

  Tensor kernel;
  const StoredWeight* stored = find_role(ctx, "kernel");
  if (stored != nullptr || find_role(ctx, "W") == nullptr) {
    kernel = ctx.weight("kernel", want);
  } else {
    // Keras 1 Deconvolution2D stored a Convolution2D kernel: tf (r, c, in, f), th (f, in, r, c);
    // Keras 2 re-lays them out with transposes (0, 1, 3, 2) and (2, 3, 0, 1) (§4.3).
    stored = find_role(ctx, "W");
    Shape stored_want = want;
    std::swap(stored_want[r], stored_want[r + 1]);
    if (a.channels_first) {
      stored_want = {a.filters, cin};
      stored_want.insert(stored_want.end(), a.kernel_size.begin(), a.kernel_size.end());
    }
    kernel = ctx.weight("W", stored_want);
    std::vector<size_t> perm;
    if (a.channels_first) {
      for (size_t i = 0; i < r; ++i) perm.push_back(i + 2);
      perm.push_back(0);
      perm.push_back(1);
    } else {
      for (size_t i = 0; i < r; ++i) perm.push_back(i);
      perm.push_back(r + 1);
      perm.push_back(r);
    }
    kernel = transpose(kernel, perm);
  }
  if (stored != nullptr && needs_theano_flip(ctx, *stored)) kernel = flip_spatial(kernel, r);
  Tensor bias = read_bias(ctx, read_use_bias(ctx), a.filters);
  auto op = std::make_shared<ConvOp>(a, cin, std::move(kernel), std::move(bias));
  finish(ctx, ctx.add(op, {ctx.input(0)}).at(0));
}

template <size_t R>
void bind_transpose(LayerContext& ctx) {
  bind_transpose_rank(ctx, R, {});
}

// Keras 1 Deconvolution2D: the output size came from the config's `output_shape` (TF padding
// derived from it); Keras 2 drops that key (legacy/interfaces.py deconv2d_args_preprocessor).
// Where the input size is known we keep Keras 1's output size by choosing the output_padding that
// gives it; otherwise Keras 2's default formula applies.
void bind_deconvolution2d(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const Json* os = ctx.get("output_shape");
  const Shape& in = ctx.input_shape(0);
  if (os == nullptr || !os->is_array() || os->size() != 4 || in.size() != 4) {
    bind_transpose_rank(ctx, 2, {});
    return;
  }
  const bool cf = ctx.channels_first();
  const std::vector<int64_t> k = read_kernel_size(ctx, 2);
  const std::vector<int64_t> s = read_strides(ctx, 2);
  const bool same = read_padding(ctx, false) == ConvPadding::Same;
  std::vector<int64_t> output_padding(2);
  bool any = false;
  for (size_t a = 0; a < 2; ++a) {
    const Json& want = (*os)[cf ? a + 2 : a + 1];
    const int64_t len = in[cf ? a + 2 : a + 1];
    // Keras 2's default length (conv_utils.deconv_output_length with output_padding None).
    const int64_t def = same ? len * s[a] : len * s[a] + std::max<int64_t>(k[a] - s[a], 0);
    const int64_t out =
        want.is_integer() && len >= 0 ? static_cast<int64_t>(want.as_number()) : def;
    // The output_padding giving `out`: valid (L-1)s + k + op, same (L-1)s + k%2 + op.
    output_padding[a] = out - (len - 1) * s[a] - (same ? k[a] % 2 : k[a]);
    if (out != def) any = true;
    if (out != def && (output_padding[a] < 0 || output_padding[a] >= s[a])) {
      ctx.fail(ErrorCode::Unsupported,
               "config 'output_shape' " + os->dump() + ": output length " + std::to_string(out) +
                   " on spatial axis " + std::to_string(a) +
                   " is not reachable from input length " + std::to_string(len));
    }
  }
  if (any) {
    // The axes that keep the default length need an explicit value too.
    for (size_t a = 0; a < 2; ++a) {
      if (output_padding[a] < 0 || output_padding[a] >= s[a]) {
        ctx.fail(ErrorCode::Unsupported, "config 'output_shape' " + os->dump() +
                                             " cannot be expressed with output_padding");
      }
    }
  }
  bind_transpose_rank(ctx, 2, any ? output_padding : std::vector<int64_t>{});
}

constexpr LayerEntry kConvLayers[] = {
    {"AtrousConvolution1D", bind_conv<1>},
    {"AtrousConvolution2D", bind_conv<2>},
    {"Conv1D", bind_conv<1>},
    {"Conv1DTranspose", bind_transpose<1>},
    {"Conv2D", bind_conv<2>},
    {"Conv2DTranspose", bind_transpose<2>},
    {"Conv3D", bind_conv<3>},
    {"Conv3DTranspose", bind_transpose<3>},
    {"Convolution1D", bind_conv<1>},
    {"Convolution2D", bind_conv<2>},
    {"Convolution3D", bind_conv<3>},
    {"Deconvolution2D", bind_deconvolution2d},
    {"DepthwiseConv1D", bind_depthwise<1>},
    {"DepthwiseConv2D", bind_depthwise<2>},
    {"SeparableConv1D", bind_separable<1>},
    {"SeparableConv2D", bind_separable<2>},
    {"SeparableConvolution2D", bind_separable<2>},
};

}  // namespace

std::span<const LayerEntry> conv_layers() {
  return kConvLayers;
}

}  // namespace kerasrt::keras
