#include "ops/sequence.h"

#include <cstring>

#include "kerasrt/error.h"

namespace kerasrt::ops {

namespace {

void expect_count(std::span<const Shape> inputs, size_t n, const std::string& kind) {
  if (inputs.size() != n) {
    throw Error(ErrorCode::InvalidModel, kind + ": expected " + std::to_string(n) +
                                             " input(s), got " + std::to_string(inputs.size()));
  }
}

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t n = 1;
  for (size_t i = from; i < to; ++i) n *= s[i];
  return n;
}

class MaskingKernel final : public Kernel {
 public:
  MaskingKernel(Shape in, float value) : in_(std::move(in)), value_(value) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const int64_t rows = product(in_, 0, in_.size() - 1), f = in_.back();
    reference::masking(in_, value_, {inputs[0], static_cast<size_t>(rows * f)},
                       {outputs[0], static_cast<size_t>(rows * f)},
                       {outputs[1], static_cast<size_t>(rows)});
  }

 private:
  Shape in_;
  float value_;
};

class ApplyMaskKernel final : public Kernel {
 public:
  explicit ApplyMaskKernel(Shape in) : in_(std::move(in)) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const int64_t rows = product(in_, 0, 2), n = product(in_, 0, in_.size());
    reference::apply_mask(in_, {inputs[0], static_cast<size_t>(n)},
                          {inputs[1], static_cast<size_t>(rows)},
                          {outputs[0], static_cast<size_t>(n)});
  }

 private:
  Shape in_;
};

class ReverseTimeKernel final : public Kernel {
 public:
  explicit ReverseTimeKernel(Shape in) : in_(std::move(in)) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const size_t n = static_cast<size_t>(product(in_, 0, in_.size()));
    reference::reverse_time(in_, {inputs[0], n}, {outputs[0], n});
  }

 private:
  Shape in_;
};

class CopyKernel final : public Kernel {
 public:
  explicit CopyKernel(int64_t n) : n_(n) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    if (n_ > 0) std::memcpy(outputs[0], inputs[0], static_cast<size_t>(n_) * sizeof(float));
  }

 private:
  int64_t n_;
};

}  // namespace

// -- Masking

std::vector<Shape> MaskingOp::infer_shapes(std::span<const Shape> inputs) const {
  expect_count(inputs, 1, "Masking");
  if (inputs[0].size() < 2) {
    throw Error(ErrorCode::InvalidModel,
                "Masking: expected an input of rank >= 2, got " + shape_to_string(inputs[0]));
  }
  Shape mask(inputs[0].begin(), inputs[0].end() - 1);
  return {inputs[0], mask};
}

std::unique_ptr<Kernel> MaskingOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                           const PrepareContext&) const {
  infer_shapes(inputs);
  return std::make_unique<MaskingKernel>(inputs[0], mask_value_);
}

// -- ApplyMask

std::vector<Shape> ApplyMaskOp::infer_shapes(std::span<const Shape> inputs) const {
  expect_count(inputs, 2, "ApplyMask");
  const Shape& x = inputs[0];
  const Shape& m = inputs[1];
  auto agree = [](int64_t a, int64_t b) { return a < 0 || b < 0 || a == b; };
  if (x.size() < 2 || m.size() != 2 || !agree(x[0], m[0]) || !agree(x[1], m[1])) {
    throw Error(ErrorCode::InvalidModel, "ApplyMask: a (batch, time) mask " + shape_to_string(m) +
                                             " does not fit " + shape_to_string(x));
  }
  return {x};
}

std::unique_ptr<Kernel> ApplyMaskOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                             const PrepareContext&) const {
  infer_shapes(inputs);
  return std::make_unique<ApplyMaskKernel>(inputs[0]);
}

// -- ReverseTime

std::vector<Shape> ReverseTimeOp::infer_shapes(std::span<const Shape> inputs) const {
  expect_count(inputs, 1, "ReverseTime");
  if (inputs[0].size() < 2) {
    throw Error(ErrorCode::InvalidModel,
                "ReverseTime: expected rank >= 2, got " + shape_to_string(inputs[0]));
  }
  return {inputs[0]};
}

std::unique_ptr<Kernel> ReverseTimeOp::prepare(std::span<const Shape> inputs,
                                               std::span<const Shape>,
                                               const PrepareContext&) const {
  infer_shapes(inputs);
  return std::make_unique<ReverseTimeKernel>(inputs[0]);
}

// -- FoldTime / UnfoldTime

std::vector<Shape> FoldTimeOp::infer_shapes(std::span<const Shape> inputs) const {
  expect_count(inputs, 1, "FoldTime");
  const Shape& x = inputs[0];
  if (x.size() < 3) {
    throw Error(ErrorCode::InvalidModel,
                "TimeDistributed: expected an input of rank >= 3, got " + shape_to_string(x));
  }
  Shape out{x[0] < 0 || x[1] < 0 ? kUnknownDim : x[0] * x[1]};
  out.insert(out.end(), x.begin() + 2, x.end());
  return {out};
}

std::unique_ptr<Kernel> FoldTimeOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                            const PrepareContext&) const {
  infer_shapes(inputs);
  return std::make_unique<CopyKernel>(shape_numel(inputs[0]));
}

std::vector<Shape> UnfoldTimeOp::infer_shapes(std::span<const Shape> inputs) const {
  expect_count(inputs, 2, "UnfoldTime");
  const Shape& y = inputs[0];
  const Shape& x = inputs[1];
  if (y.empty() || x.size() < 2) {
    throw Error(ErrorCode::InvalidModel, "TimeDistributed: cannot unfold " + shape_to_string(y) +
                                             " along " + shape_to_string(x));
  }
  if (y[0] >= 0 && x[0] >= 0 && x[1] >= 0 && y[0] != x[0] * x[1]) {
    throw Error(ErrorCode::InvalidModel, "TimeDistributed: inner output " + shape_to_string(y) +
                                             " does not have batch * time rows of " +
                                             shape_to_string(x));
  }
  Shape out{x[0], x[1]};
  out.insert(out.end(), y.begin() + 1, y.end());
  return {out};
}

std::unique_ptr<Kernel> UnfoldTimeOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                              const PrepareContext&) const {
  infer_shapes(inputs);
  return std::make_unique<CopyKernel>(shape_numel(inputs[0]));
}

namespace reference {

void masking(const Shape& in, float mask_value, std::span<const float> x, std::span<float> y,
             std::span<float> mask) {
  const size_t f = static_cast<size_t>(in.back());
  const size_t rows = f == 0 ? mask.size() : x.size() / f;
  for (size_t r = 0; r < rows; ++r) {
    bool any = false;
    for (size_t j = 0; j < f; ++j) any |= x[r * f + j] != mask_value;
    mask[r] = any ? 1.0f : 0.0f;
    for (size_t j = 0; j < f; ++j) y[r * f + j] = any ? x[r * f + j] : 0.0f;
  }
}

void apply_mask(const Shape& in, std::span<const float> x, std::span<const float> mask,
                std::span<float> y) {
  const size_t inner = static_cast<size_t>(product(in, 2, in.size()));
  for (size_t r = 0; r < mask.size(); ++r) {
    const bool keep = mask[r] != 0.0f;
    for (size_t j = 0; j < inner; ++j) y[r * inner + j] = keep ? x[r * inner + j] : 0.0f;
  }
}

void reverse_time(const Shape& in, std::span<const float> x, std::span<float> y) {
  const int64_t B = in[0], T = in[1], inner = product(in, 2, in.size());
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t t = 0; t < T; ++t) {
      std::memcpy(y.data() + (b * T + t) * inner, x.data() + (b * T + T - 1 - t) * inner,
                  static_cast<size_t>(inner) * sizeof(float));
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
