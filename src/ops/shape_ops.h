// Layout ops that move or copy data without arithmetic: Reshape (also Flatten), Transpose
// (Permute, and the channels-first Flatten's relayout), RepeatVector. Reshape is a plain copy for
// now (a later runtime pass may turn it into a view); Transpose runs as a oneDNN reorder between
// a strided view of the input and the plain output.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

// Keras Reshape: `target` is the shape without the batch; at most one entry may be -1 (inferred
// from the element count). Flatten is Reshape({-1}).
class ReshapeOp final : public Op {
 public:
  ReshapeOp(std::vector<int64_t> target, std::string kind = "Reshape");
  std::string kind() const override { return kind_; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const std::vector<int64_t>& target() const { return target_; }

 private:
  std::vector<int64_t> target_;
  std::string kind_;
};

// Output dim i = input dim perm[i], over the full shape including the batch (perm[0] == 0 for
// Keras layers).
class TransposeOp final : public Op {
 public:
  TransposeOp(std::vector<int> perm, std::string kind = "Permute");
  std::string kind() const override { return kind_; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;
  const std::vector<int>& perm() const { return perm_; }

 private:
  std::vector<int> perm_;
  std::string kind_;
};

// RepeatVector: (batch, features) -> (batch, n, features).
class RepeatVectorOp final : public Op {
 public:
  explicit RepeatVectorOp(int64_t n) : n_(n) {}
  std::string kind() const override { return "RepeatVector"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  int64_t n_;
};

namespace reference {

void transpose(const Shape& in, const std::vector<int>& perm, std::span<const float> x,
               std::span<float> y);
void repeat_vector(const Shape& in, int64_t n, std::span<const float> x, std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
