// Boolean operations of Keras 3 functional graphs (keras.ops.not_equal, equal, any, all, ...),
// which Keras 3 saves when a model computes masks itself. Booleans are float 0/1, as masks are
// everywhere in kerasrt.
#pragma once

#include "ops/op.h"

namespace kerasrt::ops {

enum class CompareMode { Equal, NotEqual, Greater, GreaterEqual, Less, LessEqual };

// y = (x <mode> constant) ? 1 : 0, elementwise.
class CompareConstOp final : public Op {
 public:
  CompareConstOp(CompareMode mode, float constant) : mode_(mode), constant_(constant) {}
  std::string kind() const override { return "Compare"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  CompareMode mode_;
  float constant_;
};

// y = any(x != 0) (or all) over one axis, keepdims or not.
class ReduceBoolOp final : public Op {
 public:
  ReduceBoolOp(bool all, int64_t axis, bool keepdims)
      : all_(all), axis_(axis), keepdims_(keepdims) {}
  std::string kind() const override { return all_ ? "All" : "Any"; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

 private:
  bool all_;
  int64_t axis_;
  bool keepdims_;
};

}  // namespace kerasrt::ops
