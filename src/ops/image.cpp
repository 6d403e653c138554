// Copyright 2025 The kerasrt Authors
// SPDX-License-Identifier: Apache-2.0
#include "ops/image.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "kerasrt/error.h"

namespace kerasrt::ops {

namespace {

constexpr int64_t kParallelMinElements = int64_t{1} << 15;

[[noreturn]] void invalid(const std::string& what) {
  throw Error(ErrorCode::InvalidModel, what);
}

void require_one(std::span<const Shape> inputs, const std::string& op) {
  if (inputs.size() != 1) invalid(op + ": expects 1 input, got " + std::to_string(inputs.size()));
}

std::vector<int64_t> strides_of(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

int64_t product(const Shape& shape, size_t begin, size_t end) {
  int64_t n = 1;
  for (size_t i = begin; i < end; ++i) n *= shape[i];
  return n;
}

// -- pad / crop -------------------------------------------------------------------------------

class PadCropKernel : public Kernel {
 public:
  PadCropKernel(Shape in, Shape out, std::vector<std::array<int64_t, 2>> pads, float fill,
                int threads)
      : in_(std::move(in)),
        out_(std::move(out)),
        pads_(std::move(pads)),
        fill_(fill),
        threads_(threads) {
    in_strides_ = strides_of(in_);
    axis_ = -1;
    for (size_t a = 0; a < pads_.size(); ++a) {
      if (pads_[a][0] != 0 || pads_[a][1] != 0) axis_ = static_cast<int>(a);
    }
    size_t k = axis_ < 0 ? 0 : static_cast<size_t>(axis_);
    block_ = product(out_, k + 1, out_.size());
    rows_ = product(out_, 0, k);
  }

  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    if (axis_ < 0) {
      std::memcpy(y, x, static_cast<size_t>(product(in_, 0, in_.size())) * sizeof(float));
      return;
    }
    const size_t k = static_cast<size_t>(axis_);
    const int64_t out_k = out_[k], in_k = in_[k], before_k = pads_[k][0];
    const int64_t row_len = out_k * block_;
    // Output positions [lo, hi) along axis k read input position j - before_k.
    const int64_t lo = std::clamp<int64_t>(before_k, 0, out_k);
    const int64_t hi = std::clamp<int64_t>(in_k + before_k, lo, out_k);
    const bool par = rows_ * row_len >= kParallelMinElements && threads_ > 1;
    const float fill = fill_;
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
    for (int64_t r = 0; r < rows_; ++r) {
      float* yr = y + r * row_len;
      // Map the output row to its input row; rows in the padding are all fill.
      int64_t rem = r, src = 0;
      bool inside = true;
      for (size_t a = k; a-- > 0;) {
        int64_t o = rem % out_[a];
        rem /= out_[a];
        int64_t i = o - pads_[a][0];
        if (i < 0 || i >= in_[a]) {
          inside = false;
          break;
        }
        src += i * in_strides_[a];
      }
      if (!inside || lo == hi) {
        std::fill(yr, yr + row_len, fill);
        continue;
      }
      std::fill(yr, yr + lo * block_, fill);
      std::memcpy(yr + lo * block_, x + src + (lo - before_k) * block_,
                  static_cast<size_t>((hi - lo) * block_) * sizeof(float));
      std::fill(yr + hi * block_, yr + row_len, fill);
    }
  }

 private:
  Shape in_, out_;
  std::vector<std::array<int64_t, 2>> pads_;
  float fill_;
  int threads_;
  std::vector<int64_t> in_strides_;
  int axis_;  // last axis with padding or cropping; -1: a plain copy
  int64_t block_ = 1, rows_ = 1;
};

// -- repeat -------------------------------------------------------------------------------------

class RepeatKernel : public Kernel {
 public:
  RepeatKernel(Shape in, Shape out, std::vector<int64_t> repeats, int threads)
      : in_(std::move(in)), out_(std::move(out)), rep_(std::move(repeats)), threads_(threads) {
    in_strides_ = strides_of(in_);
    axis_ = -1;
    for (size_t a = 0; a < rep_.size(); ++a) {
      if (rep_[a] != 1) axis_ = static_cast<int>(a);
    }
    size_t k = axis_ < 0 ? 0 : static_cast<size_t>(axis_);
    block_ = product(in_, k + 1, in_.size());
    rows_ = product(out_, 0, k);
  }

  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    if (axis_ < 0) {
      std::memcpy(y, x, static_cast<size_t>(product(in_, 0, in_.size())) * sizeof(float));
      return;
    }
    const size_t k = static_cast<size_t>(axis_);
    const int64_t in_k = in_[k], rep_k = rep_[k], block = block_;
    const int64_t row_len = in_k * rep_k * block;
    const bool par = rows_ * row_len >= kParallelMinElements && threads_ > 1;
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
    for (int64_t r = 0; r < rows_; ++r) {
      int64_t rem = r, src = 0;
      for (size_t a = k; a-- > 0;) {
        int64_t o = rem % out_[a];
        rem /= out_[a];
        src += (o / rep_[a]) * in_strides_[a];
      }
      const float* xr = x + src;
      float* yr = y + r * row_len;
      if (block == 1) {
        for (int64_t i = 0; i < in_k; ++i) {
          for (int64_t t = 0; t < rep_k; ++t) *yr++ = xr[i];
        }
      } else {
        for (int64_t i = 0; i < in_k; ++i) {
          for (int64_t t = 0; t < rep_k; ++t) {
            std::memcpy(yr, xr + i * block, static_cast<size_t>(block) * sizeof(float));
            yr += block;
          }
        }
      }
    }
  }

 private:
  Shape in_, out_;
  std::vector<int64_t> rep_;
  int threads_;
  std::vector<int64_t> in_strides_;
  int axis_;
  int64_t block_ = 1, rows_ = 1;
};

// -- resize ---------------------------------------------------------------------------------------

// tensorflow/core/util/image_resizer_state.h CalculateResizeScale (align_corners=false).
float resize_scale(int64_t in, int64_t out) {
  return static_cast<float>(in) / static_cast<float>(out);
}

// TF's scalers: HalfPixelScaler (x + 0.5) * scale - 0.5; LegacyScaler x * scale.
float source_coord(int64_t x, float scale, bool half_pixel) {
  return half_pixel ? (static_cast<float>(x) + 0.5f) * scale - 0.5f : static_cast<float>(x) * scale;
}

// resize_nearest_neighbor_op.cc compute_indices (align_corners=false): HalfPixelScalerForNN
// omits the -0.5 and floors.
std::vector<int64_t> nearest_indices(int64_t out, int64_t in, bool half_pixel) {
  std::vector<int64_t> idx(static_cast<size_t>(out));
  const float scale = resize_scale(in, out);
  for (int64_t i = 0; i < out; ++i) {
    float f = half_pixel ? (static_cast<float>(i) + 0.5f) * scale : static_cast<float>(i) * scale;
    int64_t v = std::min(static_cast<int64_t>(std::floor(f)), in - 1);
    if (half_pixel) v = std::max<int64_t>(0, v);
    idx[static_cast<size_t>(i)] = v;
  }
  return idx;
}

struct Lerp {
  int64_t lower = 0, upper = 0;
  float lerp = 0;
};

// resize_bilinear_op.cc compute_interpolation_weights.
std::vector<Lerp> bilinear_weights(int64_t out, int64_t in, bool half_pixel) {
  std::vector<Lerp> w(static_cast<size_t>(out));
  const float scale = resize_scale(in, out);
  for (int64_t i = 0; i < out; ++i) {
    const float f = source_coord(i, scale, half_pixel);
    const float f0 = std::floor(f);
    Lerp& l = w[static_cast<size_t>(i)];
    l.lower = std::max(static_cast<int64_t>(f0), int64_t{0});
    l.upper = std::min(static_cast<int64_t>(std::ceil(f)), in - 1);
    l.lerp = f - f0;
  }
  return w;
}

struct Cubic {
  std::array<int64_t, 4> index{};
  std::array<float, 4> weight{};
};

// resize_bicubic_op.cc: a 1024-entry table of the cubic kernel (a = -0.5 Keys with half-pixel
// centers, a = -0.75 legacy), sampled at the rounded fractional offset.
constexpr int64_t kCubicTableSize = 1024;

std::vector<float> cubic_table(double a) {
  std::vector<float> t(static_cast<size_t>((kCubicTableSize + 1) * 2));
  for (int64_t i = 0; i <= kCubicTableSize; ++i) {
    float x = static_cast<float>(static_cast<double>(i) * 1.0 / kCubicTableSize);
    t[static_cast<size_t>(i * 2)] = static_cast<float>(((a + 2) * x - (a + 3)) * x * x + 1);
    x = static_cast<float>(x + 1.0);
    t[static_cast<size_t>(i * 2 + 1)] =
        static_cast<float>(((a * x - 5 * a) * x + 8 * a) * x - 4 * a);
  }
  return t;
}

std::vector<Cubic> cubic_weights(int64_t out, int64_t in, bool half_pixel) {
  const std::vector<float> table = cubic_table(half_pixel ? -0.5f : -0.75f);
  const float scale = resize_scale(in, out);
  auto bound = [in](int64_t v) { return std::min(in - 1, std::max<int64_t>(0, v)); };
  std::vector<Cubic> w(static_cast<size_t>(out));
  for (int64_t i = 0; i < out; ++i) {
    const float f = source_coord(i, scale, half_pixel);
    const int64_t loc = static_cast<int64_t>(std::floor(f));
    const float delta = f - static_cast<float>(loc);
    const int64_t off = lrintf(delta * static_cast<float>(kCubicTableSize));
    const std::array<float, 4> coeff{table[static_cast<size_t>(off * 2 + 1)],
                                     table[static_cast<size_t>(off * 2)],
                                     table[static_cast<size_t>((kCubicTableSize - off) * 2)],
                                     table[static_cast<size_t>((kCubicTableSize - off) * 2 + 1)]};
    Cubic& c = w[static_cast<size_t>(i)];
    for (int k = 0; k < 4; ++k) {
      c.index[static_cast<size_t>(k)] = bound(loc - 1 + k);
      c.weight[static_cast<size_t>(k)] = coeff[static_cast<size_t>(k)];
    }
    if (half_pixel) {
      // Keys cubic: taps outside the image get weight 0 and the rest are renormalised.
      float sum = 0;
      for (int k = 0; k < 4; ++k) {
        if (c.index[static_cast<size_t>(k)] != loc - 1 + k) c.weight[static_cast<size_t>(k)] = 0;
      }
      sum = c.weight[0] + c.weight[1] + c.weight[2] + c.weight[3];
      if (std::abs(sum) >= 1000.0f * std::numeric_limits<float>::min()) {
        const float inv = 1.0f / sum;
        for (float& v : c.weight) v *= inv;
      }
    }
  }
  return w;
}

// Element addressing of one image: row, pixel and channel strides.
struct ImageStrides {
  int64_t image = 0, row = 0, pixel = 0, channel = 0;
};

ImageStrides image_strides(int64_t h, int64_t w, int64_t c, bool channels_first) {
  if (channels_first) return {c * h * w, w, 1, h * w};
  return {h * w * c, w * c, c, 1};
}

class ResizeKernel : public Kernel {
 public:
  ResizeKernel(const ResizeAttrs& attrs, const Shape& in, const Shape& out, int threads)
      : method_(attrs.method), channels_first_(attrs.channels_first), threads_(threads) {
    batch_ = in[0];
    c_ = attrs.channels_first ? in[1] : in[3];
    in_h_ = attrs.channels_first ? in[2] : in[1];
    in_w_ = attrs.channels_first ? in[3] : in[2];
    out_h_ = attrs.channels_first ? out[2] : out[1];
    out_w_ = attrs.channels_first ? out[3] : out[2];
    win_ = resize_window(attrs, in_h_, in_w_, out_h_, out_w_);
    fill_ = attrs.fill_value;
    padded_ = win_.y0 < 0 || win_.x0 < 0;
    // A same-size "resize" (or a plain centre crop) is an exact copy in TF (the bilinear kernel
    // and tf.image.resize short-cut it); nearest with scale 1 is that copy.
    if (!win_.resize || (win_.h == out_h_ && win_.w == out_w_)) method_ = ResizeMethod::Nearest;
    const bool hp = attrs.half_pixel_centers;
    switch (method_) {
      case ResizeMethod::Nearest:
        ys_nearest_ = nearest_indices(out_h_, win_.h, hp);
        xs_nearest_ = nearest_indices(out_w_, win_.w, hp);
        break;
      case ResizeMethod::Bilinear:
        ys_lerp_ = bilinear_weights(out_h_, win_.h, hp);
        xs_lerp_ = bilinear_weights(out_w_, win_.w, hp);
        break;
      case ResizeMethod::Bicubic:
        ys_cubic_ = cubic_weights(out_h_, win_.h, hp);
        xs_cubic_ = cubic_weights(out_w_, win_.w, hp);
        break;
    }
  }

  size_t scratch_bytes() const override {
    return padded_ ? static_cast<size_t>(batch_ * c_ * win_.h * win_.w) * sizeof(float) : 0;
  }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    ImageStrides src = image_strides(in_h_, in_w_, c_, channels_first_);
    const float* base = x + win_.y0 * src.row + win_.x0 * src.pixel;
    if (padded_) {
      // Materialise the padded source (rare: Resizing(pad_to_aspect_ratio=True)).
      float* p = reinterpret_cast<float*>(ctx.scratch);
      ImageStrides ps = image_strides(win_.h, win_.w, c_, channels_first_);
      for (int64_t b = 0; b < batch_; ++b) {
        for (int64_t r = 0; r < win_.h; ++r) {
          for (int64_t q = 0; q < win_.w; ++q) {
            const int64_t iy = r + win_.y0, ix = q + win_.x0;
            const bool inside = iy >= 0 && iy < in_h_ && ix >= 0 && ix < in_w_;
            for (int64_t c = 0; c < c_; ++c) {
              p[b * ps.image + r * ps.row + q * ps.pixel + c * ps.channel] =
                  inside ? x[b * src.image + iy * src.row + ix * src.pixel + c * src.channel]
                         : fill_;
            }
          }
        }
      }
      src = ps;
      base = p;
    }
    const ImageStrides dst = image_strides(out_h_, out_w_, c_, channels_first_);
    // Rows (b, channel-outer, output y); the innermost loop runs over contiguous memory: the
    // channels (NHWC) or the output x (NCHW).
    const int64_t c_outer = channels_first_ ? c_ : 1;
    const int64_t c_inner = channels_first_ ? 1 : c_;
    const int64_t rows = batch_ * c_outer * out_h_;
    const bool par = rows * out_w_ * c_inner >= kParallelMinElements && threads_ > 1;
#pragma omp parallel for num_threads(threads_) if (par) schedule(static)
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t oy = r % out_h_;
      const int64_t co = (r / out_h_) % c_outer;
      const int64_t b = r / out_h_ / c_outer;
      const float* s = base + b * src.image + co * src.channel;
      float* d = y + b * dst.image + co * dst.channel + oy * dst.row;
      row(s, src, oy, d, dst, c_inner);
    }
  }

 private:
  void row(const float* s, const ImageStrides& ss, int64_t oy, float* d, const ImageStrides& ds,
           int64_t c_inner) const {
    const size_t uy = static_cast<size_t>(oy);
    switch (method_) {
      case ResizeMethod::Nearest: {
        const float* sr = s + ys_nearest_[uy] * ss.row;
        for (int64_t ox = 0; ox < out_w_; ++ox) {
          const float* sp = sr + xs_nearest_[static_cast<size_t>(ox)] * ss.pixel;
          float* dp = d + ox * ds.pixel;
          for (int64_t c = 0; c < c_inner; ++c) dp[c] = sp[c];
        }
        break;
      }
      case ResizeMethod::Bilinear: {
        const Lerp& ly = ys_lerp_[uy];
        const float* top = s + ly.lower * ss.row;
        const float* bottom = s + ly.upper * ss.row;
        const float yl = ly.lerp;
        for (int64_t ox = 0; ox < out_w_; ++ox) {
          const Lerp& lx = xs_lerp_[static_cast<size_t>(ox)];
          const int64_t l = lx.lower * ss.pixel, u = lx.upper * ss.pixel;
          const float xl = lx.lerp;
          float* dp = d + ox * ds.pixel;
          for (int64_t c = 0; c < c_inner; ++c) {
            // compute_lerp, in TF's operation order.
            const float t = top[l + c] + (top[u + c] - top[l + c]) * xl;
            const float bt = bottom[l + c] + (bottom[u + c] - bottom[l + c]) * xl;
            dp[c] = t + (bt - t) * yl;
          }
        }
        break;
      }
      case ResizeMethod::Bicubic: {
        const Cubic& cy = ys_cubic_[uy];
        const float* r0 = s + cy.index[0] * ss.row;
        const float* r1 = s + cy.index[1] * ss.row;
        const float* r2 = s + cy.index[2] * ss.row;
        const float* r3 = s + cy.index[3] * ss.row;
        for (int64_t ox = 0; ox < out_w_; ++ox) {
          const Cubic& cx = xs_cubic_[static_cast<size_t>(ox)];
          float* dp = d + ox * ds.pixel;
          for (int64_t c = 0; c < c_inner; ++c) {
            // Interpolate along y at the four x taps, then along x (interpolate_with_caching).
            float col[4];
            for (size_t k = 0; k < 4; ++k) {
              const int64_t o = cx.index[k] * ss.pixel + c;
              col[k] = r0[o] * cy.weight[0] + r1[o] * cy.weight[1] + r2[o] * cy.weight[2] +
                       r3[o] * cy.weight[3];
            }
            dp[c] = col[0] * cx.weight[0] + col[1] * cx.weight[1] + col[2] * cx.weight[2] +
                    col[3] * cx.weight[3];
          }
        }
        break;
      }
    }
  }

  ResizeMethod method_;
  bool channels_first_;
  int threads_;
  int64_t batch_ = 0, c_ = 0, in_h_ = 0, in_w_ = 0, out_h_ = 0, out_w_ = 0;
  ResizeWindow win_;
  float fill_ = 0;
  bool padded_ = false;
  std::vector<int64_t> ys_nearest_, xs_nearest_;
  std::vector<Lerp> ys_lerp_, xs_lerp_;
  std::vector<Cubic> ys_cubic_, xs_cubic_;
};

}  // namespace

// -- PadCropOp ----------------------------------------------------------------------------------

PadCropOp::PadCropOp(PadCropAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.pads.empty() || attrs_.pads[0][0] != 0 || attrs_.pads[0][1] != 0) {
    throw Error(ErrorCode::Internal, "PadCrop: the batch axis cannot be padded");
  }
}

std::string PadCropOp::kind() const {
  bool pad = false, crop = false;
  for (const auto& p : attrs_.pads) {
    for (int64_t v : p) {
      pad |= v > 0;
      crop |= v < 0;
    }
  }
  return pad && crop ? "PadCrop" : crop ? "Crop" : "Pad";
}

std::vector<Shape> PadCropOp::infer_shapes(std::span<const Shape> inputs) const {
  require_one(inputs, kind());
  const Shape& in = inputs[0];
  if (in.size() != attrs_.pads.size()) {
    invalid(kind() + ": expects an input of rank " + std::to_string(attrs_.pads.size()) + ", got " +
            shape_to_string(in));
  }
  Shape out = in;
  for (size_t a = 0; a < in.size(); ++a) {
    if (in[a] < 0) continue;
    out[a] = in[a] + attrs_.pads[a][0] + attrs_.pads[a][1];
    if (out[a] <= 0) {
      invalid(kind() + ": cropping (" + std::to_string(-attrs_.pads[a][0]) + ", " +
              std::to_string(-attrs_.pads[a][1]) + ") leaves nothing of axis " + std::to_string(a) +
              " of input " + shape_to_string(in));
    }
  }
  return {out};
}

std::unique_ptr<Kernel> PadCropOp::prepare(std::span<const Shape> inputs,
                                           std::span<const Shape> outputs,
                                           const PrepareContext& ctx) const {
  Shape out = infer_shapes(inputs)[0];
  (void)outputs;
  return std::make_unique<PadCropKernel>(inputs[0], out, attrs_.pads, attrs_.fill,
                                         std::max(1, ctx.threads));
}

// -- RepeatOp -----------------------------------------------------------------------------------

RepeatOp::RepeatOp(RepeatAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.repeats.empty() || attrs_.repeats[0] != 1) {
    throw Error(ErrorCode::Internal, "Repeat: the batch axis cannot be repeated");
  }
  for (int64_t r : attrs_.repeats) {
    if (r < 1) throw Error(ErrorCode::Internal, "Repeat: factors must be positive");
  }
}

std::vector<Shape> RepeatOp::infer_shapes(std::span<const Shape> inputs) const {
  require_one(inputs, kind());
  const Shape& in = inputs[0];
  if (in.size() != attrs_.repeats.size()) {
    invalid("UpSampling: expects an input of rank " + std::to_string(attrs_.repeats.size()) +
            ", got " + shape_to_string(in));
  }
  Shape out = in;
  for (size_t a = 0; a < in.size(); ++a) {
    if (in[a] >= 0) out[a] = in[a] * attrs_.repeats[a];
  }
  return {out};
}

std::unique_ptr<Kernel> RepeatOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                          const PrepareContext& ctx) const {
  Shape out = infer_shapes(inputs)[0];
  return std::make_unique<RepeatKernel>(inputs[0], out, attrs_.repeats, std::max(1, ctx.threads));
}

// -- ResizeOp -----------------------------------------------------------------------------------

ResizeOp::ResizeOp(ResizeAttrs attrs) : attrs_(std::move(attrs)) {
  if (attrs_.height == 0 && (attrs_.height_factor < 1 || attrs_.width_factor < 1)) {
    throw Error(ErrorCode::Internal, "Resize: factors must be positive");
  }
  if (attrs_.height != 0 && (attrs_.height < 1 || attrs_.width < 1)) {
    throw Error(ErrorCode::Internal, "Resize: the target size must be positive");
  }
}

std::vector<Shape> ResizeOp::infer_shapes(std::span<const Shape> inputs) const {
  require_one(inputs, kind());
  const Shape& in = inputs[0];
  if (in.size() != 4) {
    invalid(kind() + ": expects a batch of images (rank 4), got " + shape_to_string(in));
  }
  const size_t hi = attrs_.channels_first ? 2 : 1;
  Shape out = in;
  if (attrs_.height != 0) {
    out[hi] = attrs_.height;
    out[hi + 1] = attrs_.width;
  } else {
    if (in[hi] >= 0) out[hi] = in[hi] * attrs_.height_factor;
    if (in[hi + 1] >= 0) out[hi + 1] = in[hi + 1] * attrs_.width_factor;
  }
  for (size_t a = 1; a < 4; ++a) {
    if (in[a] == 0) invalid(kind() + ": input " + shape_to_string(in) + " is empty");
  }
  return {out};
}

std::unique_ptr<Kernel> ResizeOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                          const PrepareContext& ctx) const {
  Shape out = infer_shapes(inputs)[0];
  return std::make_unique<ResizeKernel>(attrs_, inputs[0], out, std::max(1, ctx.threads));
}

ResizeWindow resize_window(const ResizeAttrs& attrs, int64_t in_h, int64_t in_w, int64_t out_h,
                           int64_t out_w) {
  ResizeWindow w{0, 0, in_h, in_w, true};
  switch (attrs.fit) {
    case ResizeFit::Stretch:
      break;
    case ResizeFit::CenterCrop:
      if (in_h >= out_h && in_w >= out_w) {
        // center_crop.py: h_start = int(h_diff / 2), a plain crop.
        w = {(in_h - out_h) / 2, (in_w - out_w) / 2, out_h, out_w, false};
        break;
      }
      {
        // image_utils.smart_resize with static sizes: Python float (double) arithmetic.
        int64_t ch =
            static_cast<int64_t>(static_cast<double>(in_w * out_h) / static_cast<double>(out_w));
        ch = std::max<int64_t>(std::min(in_h, ch), 1);
        int64_t cw =
            static_cast<int64_t>(static_cast<double>(in_h * out_w) / static_cast<double>(out_h));
        cw = std::max<int64_t>(std::min(in_w, cw), 1);
        w = {static_cast<int64_t>(static_cast<double>(in_h - ch) / 2),
             static_cast<int64_t>(static_cast<double>(in_w - cw) / 2), ch, cw, true};
      }
      break;
    case ResizeFit::CropToAspect: {
      // keras/src/backend/tensorflow/image.py resize: float32 arithmetic, truncation.
      int64_t ch =
          static_cast<int64_t>(static_cast<float>(in_w * out_h) / static_cast<float>(out_w));
      ch = std::max<int64_t>(std::min(in_h, ch), 1);
      int64_t cw =
          static_cast<int64_t>(static_cast<float>(in_h * out_w) / static_cast<float>(out_h));
      cw = std::max<int64_t>(std::min(in_w, cw), 1);
      w = {static_cast<int64_t>(static_cast<float>(in_h - ch) / 2),
           static_cast<int64_t>(static_cast<float>(in_w - cw) / 2), ch, cw, true};
      break;
    }
    case ResizeFit::PadToAspect: {
      int64_t ph =
          static_cast<int64_t>(static_cast<float>(in_w * out_h) / static_cast<float>(out_w));
      ph = std::max(in_h, ph);
      int64_t pw =
          static_cast<int64_t>(static_cast<float>(in_h * out_w) / static_cast<float>(out_h));
      pw = std::max(in_w, pw);
      const int64_t hs = static_cast<int64_t>(static_cast<float>(ph - in_h) / 2);
      const int64_t ws = static_cast<int64_t>(static_cast<float>(pw - in_w) / 2);
      // Keras concatenates hs fill rows above *and* below (ws columns left and right), so the
      // padded size is in + 2 * start, not the computed pad size.
      w = {-hs, -ws, in_h + 2 * hs, in_w + 2 * ws, true};
      break;
    }
  }
  return w;
}

// -- references ---------------------------------------------------------------------------------

namespace reference {

void pad_crop(const Shape& in_shape, std::span<const std::array<int64_t, 2>> pads, float fill,
              std::span<const float> x, std::span<float> y) {
  const size_t rank = in_shape.size();
  Shape out(rank);
  for (size_t a = 0; a < rank; ++a) out[a] = in_shape[a] + pads[a][0] + pads[a][1];
  std::vector<int64_t> in_strides = strides_of(in_shape);
  for (size_t i = 0; i < y.size(); ++i) {
    int64_t rem = static_cast<int64_t>(i), src = 0;
    bool inside = true;
    for (size_t a = rank; a-- > 0;) {
      int64_t o = rem % out[a];
      rem /= out[a];
      int64_t s = o - pads[a][0];
      if (s < 0 || s >= in_shape[a]) inside = false;
      src += s * in_strides[a];
    }
    y[i] = inside ? x[static_cast<size_t>(src)] : fill;
  }
}

void repeat(const Shape& in_shape, std::span<const int64_t> repeats, std::span<const float> x,
            std::span<float> y) {
  const size_t rank = in_shape.size();
  std::vector<int64_t> in_strides = strides_of(in_shape);
  for (size_t i = 0; i < y.size(); ++i) {
    int64_t rem = static_cast<int64_t>(i), src = 0;
    for (size_t a = rank; a-- > 0;) {
      int64_t od = in_shape[a] * repeats[a];
      src += (rem % od) / repeats[a] * in_strides[a];
      rem /= od;
    }
    y[i] = x[static_cast<size_t>(src)];
  }
}

void resize_nhwc(const Shape& in_shape, int64_t out_h, int64_t out_w, ResizeMethod method,
                 bool half_pixel_centers, std::span<const float> x, std::span<float> y) {
  const int64_t n = in_shape[0], h = in_shape[1], w = in_shape[2], c = in_shape[3];
  auto at = [&](int64_t b, int64_t yy, int64_t xx, int64_t cc) {
    return x[static_cast<size_t>(((b * h + yy) * w + xx) * c + cc)];
  };
  const float sy = static_cast<float>(h) / static_cast<float>(out_h);
  const float sx = static_cast<float>(w) / static_cast<float>(out_w);
  auto clampi = [](int64_t v, int64_t size) { return std::min(std::max<int64_t>(v, 0), size - 1); };
  // Keys / legacy cubic kernel, evaluated through TF's 1024-entry table.
  const std::vector<float> table = cubic_table(half_pixel_centers ? -0.5f : -0.75f);
  auto cubic = [&](float coord, int64_t size, int64_t idx[4], float wt[4]) {
    int64_t loc = static_cast<int64_t>(std::floor(coord));
    int64_t off = lrintf((coord - static_cast<float>(loc)) * 1024.0f);
    float raw[4] = {table[static_cast<size_t>(off * 2 + 1)], table[static_cast<size_t>(off * 2)],
                    table[static_cast<size_t>((1024 - off) * 2)],
                    table[static_cast<size_t>((1024 - off) * 2 + 1)]};
    float sum = 0;
    for (int k = 0; k < 4; ++k) {
      int64_t t = loc - 1 + k;
      idx[k] = clampi(t, size);
      wt[k] = (!half_pixel_centers || idx[k] == t) ? raw[k] : 0.0f;
      sum += wt[k];
    }
    if (half_pixel_centers && sum != 0) {
      for (int k = 0; k < 4; ++k) wt[k] *= 1.0f / sum;
    }
  };
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t oy = 0; oy < out_h; ++oy) {
      for (int64_t ox = 0; ox < out_w; ++ox) {
        for (int64_t cc = 0; cc < c; ++cc) {
          float v = 0;
          if (method == ResizeMethod::Nearest) {
            float fy = half_pixel_centers ? (oy + 0.5f) * sy : oy * sy;
            float fx = half_pixel_centers ? (ox + 0.5f) * sx : ox * sx;
            v = at(b, clampi(static_cast<int64_t>(std::floor(fy)), h),
                   clampi(static_cast<int64_t>(std::floor(fx)), w), cc);
          } else if (method == ResizeMethod::Bilinear) {
            float fy = half_pixel_centers ? (oy + 0.5f) * sy - 0.5f : oy * sy;
            float fx = half_pixel_centers ? (ox + 0.5f) * sx - 0.5f : ox * sx;
            int64_t y0 = clampi(static_cast<int64_t>(std::floor(fy)), h);
            int64_t y1 = clampi(static_cast<int64_t>(std::ceil(fy)), h);
            int64_t x0 = clampi(static_cast<int64_t>(std::floor(fx)), w);
            int64_t x1 = clampi(static_cast<int64_t>(std::ceil(fx)), w);
            float ly = fy - std::floor(fy), lx = fx - std::floor(fx);
            float top = at(b, y0, x0, cc) + (at(b, y0, x1, cc) - at(b, y0, x0, cc)) * lx;
            float bot = at(b, y1, x0, cc) + (at(b, y1, x1, cc) - at(b, y1, x0, cc)) * lx;
            v = top + (bot - top) * ly;
          } else {
            float fy = half_pixel_centers ? (oy + 0.5f) * sy - 0.5f : oy * sy;
            float fx = half_pixel_centers ? (ox + 0.5f) * sx - 0.5f : ox * sx;
            int64_t iy[4], ix[4];
            float wy[4], wx[4];
            cubic(fy, h, iy, wy);
            cubic(fx, w, ix, wx);
            double acc = 0;
            for (int i = 0; i < 4; ++i) {
              for (int j = 0; j < 4; ++j) acc += double(wy[i]) * wx[j] * at(b, iy[i], ix[j], cc);
            }
            v = static_cast<float>(acc);
          }
          y[static_cast<size_t>(((b * out_h + oy) * out_w + ox) * c + cc)] = v;
        }
      }
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
