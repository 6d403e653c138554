#include "ops/embedding.h"

#include <cmath>
#include <cstring>

#include "kerasrt/error.h"
#include "ops/core_util.h"

namespace kerasrt::ops {

int64_t embedding_row(float value, int64_t input_dim, bool wrap_negative) {
  // tf.cast(float -> int32) truncates toward zero; values outside int32 (and NaN) have no
  // defined result there and no valid row here.
  if (!(value > -2147483649.0f && value < 2147483648.0f)) return -1;
  int64_t i = static_cast<int64_t>(std::trunc(value));
  if (i < 0 && wrap_negative) i += input_dim;
  return (i >= 0 && i < input_dim) ? i : -1;
}

namespace {

class EmbeddingKernel final : public Kernel {
 public:
  EmbeddingKernel(const Tensor& table, EmbeddingAttrs attrs, int64_t n)
      : table_(table), attrs_(attrs), n_(n) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    const float* x = inputs[0];
    float* y = outputs[0];
    const int64_t rows = table_.shape()[0], dim = table_.shape()[1];
    const size_t bytes = static_cast<size_t>(dim) * sizeof(float);
    const float* t = table_.data();
    auto one = [&](int64_t i) {
      int64_t r = embedding_row(x[i], rows, attrs_.wrap_negative);
      if (r < 0) {
        std::memset(y + i * dim, 0, bytes);
      } else {
        std::memcpy(y + i * dim, t + r * dim, bytes);
      }
    };
    if (n_ * dim >= detail::kParallelThreshold && n_ > 1) {
#pragma omp parallel for schedule(static)
      for (int64_t i = 0; i < n_; ++i) one(i);
    } else {
      for (int64_t i = 0; i < n_; ++i) one(i);
    }
  }

 private:
  Tensor table_;
  EmbeddingAttrs attrs_;
  int64_t n_;
};

class NoopKernel final : public Kernel {
 public:
  void run(const RunContext&, std::span<const float* const>,
           std::span<float* const>) const override {}
};

}  // namespace

EmbeddingOp::EmbeddingOp(Tensor table, EmbeddingAttrs attrs)
    : table_(std::move(table)), attrs_(attrs) {
  if (table_.shape().size() != 2) {
    throw Error(ErrorCode::InvalidModel, "Embedding: table must be (input_dim, output_dim), got " +
                                             shape_to_string(table_.shape()));
  }
}

std::vector<Shape> EmbeddingOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) {
    throw Error(ErrorCode::InvalidModel,
                "Embedding: expected 1 input, got " + std::to_string(inputs.size()));
  }
  Shape out = inputs[0];
  out.push_back(table_.shape()[1]);
  return {out};
}

std::unique_ptr<Kernel> EmbeddingOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                             const PrepareContext&) const {
  infer_shapes(inputs);
  int64_t n = shape_numel(inputs[0]);
  if (n == 0 || table_.shape()[1] == 0) return std::make_unique<NoopKernel>();
  return std::make_unique<EmbeddingKernel>(table_, attrs_, n);
}

namespace {

class NonZeroMaskKernel final : public Kernel {
 public:
  explicit NonZeroMaskKernel(int64_t n) : n_(n) {}
  void run(const RunContext&, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    for (int64_t i = 0; i < n_; ++i) outputs[0][i] = inputs[0][i] != 0.0f ? 1.0f : 0.0f;
  }

 private:
  int64_t n_;
};

}  // namespace

std::vector<Shape> NonZeroMaskOp::infer_shapes(std::span<const Shape> inputs) const {
  if (inputs.size() != 1) {
    throw Error(ErrorCode::InvalidModel,
                "EmbeddingMask: expected 1 input, got " + std::to_string(inputs.size()));
  }
  return {inputs[0]};
}

std::unique_ptr<Kernel> NonZeroMaskOp::prepare(std::span<const Shape> inputs,
                                               std::span<const Shape>,
                                               const PrepareContext&) const {
  infer_shapes(inputs);
  return std::make_unique<NonZeroMaskKernel>(shape_numel(inputs[0]));
}

namespace reference {

void embedding(const Tensor& table, const EmbeddingAttrs& attrs, std::span<const float> x,
               std::span<float> y) {
  const int64_t rows = table.shape()[0], dim = table.shape()[1];
  for (size_t i = 0; i < x.size(); ++i) {
    int64_t r = embedding_row(x[i], rows, attrs.wrap_negative);
    for (int64_t j = 0; j < dim; ++j) {
      y[i * static_cast<size_t>(dim) + static_cast<size_t>(j)] =
          r < 0 ? 0.0f : table.data()[r * dim + j];
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
