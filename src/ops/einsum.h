// EinsumDense: y = einsum(equation, x, kernel) + bias (keras/src/layers/core/einsum_dense.py;
// tf-keras keras/layers/core/einsum_dense.py). The equation is "<in>,<kernel>-><out>" with
// letters a-zA-Z and an optional "..." on the left of both the input and the output
// ("...b,bc->...c") or on the right of both ("ab...,bc->ac..."), as Keras's
// _analyze_einsum_string accepts. The bias has Keras's shape: the output dims from the first
// bias axis to the end, 1 where a dim is not a bias axis (plus trailing 1s for right-elided dims),
// and broadcasts against the trailing output dims.
//
// Every letter is classified once (G: in input, kernel and output — a batched matmul; M: input
// and output; K: input and kernel, contracted; N: kernel and output; R: input only, summed) and
// the op runs as one oneDNN matmul [G, M, K] x [G, K, N] -> [G, M, N] with the kernel packed at
// prepare. The input and output are copied into that order only when the equation's order
// differs (the equations MultiHeadAttention builds need no copy).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

// The equation resolved for one input rank: ellipses replaced by private letters.
struct EinsumSpec {
  std::string input;   // one letter per input dim (batch first)
  std::string kernel;  // one letter per kernel dim
  std::string output;  // one letter per output dim
  // Parses `equation` for an input of rank `input_rank`; throws Error(InvalidModel) naming the
  // problem (bad syntax, unknown output letter, kernel letter without a match, repeated letter).
  static EinsumSpec parse(const std::string& equation, size_t input_rank);
  // Keras's bias shape for `bias_axes` given the full output shape (Keras's rule, see above).
  Shape bias_shape(const std::string& bias_axes, const Shape& output_shape) const;
  bool right_elided = false;
  size_t elided = 0;
};

class EinsumDenseOp final : public Op {
 public:
  // kernel: Keras layout (one dim per kernel letter); bias: Keras bias shape or empty.
  EinsumDenseOp(const std::string& equation, size_t input_rank, Tensor kernel, Tensor bias);

  std::string kind() const override { return "EinsumDense"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

  const EinsumSpec& spec() const { return spec_; }
  const Tensor& kernel() const { return kernel_; }
  const Tensor& bias() const { return bias_; }
  const std::string& equation() const { return equation_; }

 private:
  std::string equation_;
  EinsumSpec spec_;
  Tensor kernel_;
  Tensor bias_;
};

namespace reference {

// Naive einsum over every letter with double accumulation, plus the broadcast bias.
void einsum_dense(const EinsumDenseOp& op, const Shape& input_shape, std::span<const float> x,
                  std::span<float> y);

}  // namespace reference

}  // namespace kerasrt::ops
