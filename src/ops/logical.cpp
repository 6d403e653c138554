#include "ops/logical.h"

#include "kerasrt/error.h"

namespace kerasrt::ops {

namespace {

class CompareKernel final : public Kernel {
 public:
  CompareKernel(CompareMode mode, float c, int64_t n) : mode_(mode), c_(c), n_(n) {}
  void run(const RunContext&, std::span<const float* const> in,
           std::span<float* const> out) const override {
    const float* x = in[0];
    float* y = out[0];
    for (int64_t i = 0; i < n_; ++i) {
      bool v = false;
      switch (mode_) {
        case CompareMode::Equal:
          v = x[i] == c_;
          break;
        case CompareMode::NotEqual:
          v = x[i] != c_;
          break;
        case CompareMode::Greater:
          v = x[i] > c_;
          break;
        case CompareMode::GreaterEqual:
          v = x[i] >= c_;
          break;
        case CompareMode::Less:
          v = x[i] < c_;
          break;
        case CompareMode::LessEqual:
          v = x[i] <= c_;
          break;
      }
      y[i] = v ? 1.0f : 0.0f;
    }
  }

 private:
  CompareMode mode_;
  float c_;
  int64_t n_;
};

class ReduceBoolKernel final : public Kernel {
 public:
  ReduceBoolKernel(bool all, int64_t outer, int64_t len, int64_t inner)
      : all_(all), outer_(outer), len_(len), inner_(inner) {}
  void run(const RunContext&, std::span<const float* const> in,
           std::span<float* const> out) const override {
    const float* x = in[0];
    float* y = out[0];
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        bool acc = all_;
        for (int64_t k = 0; k < len_; ++k) {
          bool v = x[(o * len_ + k) * inner_ + i] != 0.0f;
          acc = all_ ? (acc && v) : (acc || v);
        }
        y[o * inner_ + i] = acc ? 1.0f : 0.0f;
      }
    }
  }

 private:
  bool all_;
  int64_t outer_, len_, inner_;
};

}  // namespace

std::vector<Shape> CompareConstOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) throw Error(ErrorCode::InvalidModel, "comparison takes one tensor");
  return {inputs[0]};
}

std::unique_ptr<Kernel> CompareConstOp::prepare(std::span<const Shape> inputs,
                                                std::span<const Shape>,
                                                const PrepareContext&) const {
  return std::make_unique<CompareKernel>(mode_, constant_, shape_numel(inputs[0]));
}

std::vector<Shape> ReduceBoolOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) throw Error(ErrorCode::InvalidModel, kind() + " takes one tensor");
  const Shape& in = inputs[0];
  int axis = normalize_axis(axis_, in.size(), kind());
  if (axis == 0) throw Error(ErrorCode::Unsupported, kind() + " over the batch axis");
  Shape out;
  for (size_t d = 0; d < in.size(); ++d) {
    if (static_cast<int>(d) != axis) {
      out.push_back(in[d]);
    } else if (keepdims_) {
      out.push_back(1);
    }
  }
  return {out};
}

std::unique_ptr<Kernel> ReduceBoolOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                              const PrepareContext&) const {
  const Shape& in = inputs[0];
  const int axis = normalize_axis(axis_, in.size(), kind());
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= in[static_cast<size_t>(d)];
  for (size_t d = static_cast<size_t>(axis) + 1; d < in.size(); ++d) inner *= in[d];
  return std::make_unique<ReduceBoolKernel>(all_, outer, in[static_cast<size_t>(axis)], inner);
}

}  // namespace kerasrt::ops
