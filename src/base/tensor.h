// Shapes and float32 tensors shared by the graph, ops and runtime.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace kerasrt {

// A shape with the batch dimension first. -1 marks a dimension unknown until predict time (the
// batch, or a None in a Keras input shape). Concrete shapes (at plan time) have no -1.
using Shape = std::vector<int64_t>;
inline constexpr int64_t kUnknownDim = -1;

// Product of the dims; -1 when any dim is unknown. Throws Error(ResourceExhausted) on overflow.
int64_t shape_numel(const Shape& shape);
bool shape_is_concrete(const Shape& shape);
// "(None, 28, 28, 1)" — Keras's own spelling, used in summaries and messages.
std::string shape_to_string(const Shape& shape);
// Normalises a possibly negative axis against rank; throws Error(InvalidModel) out of range.
int normalize_axis(int64_t axis, size_t rank, const std::string& context);

// A float32 tensor with shared, immutable storage: the form weights take after binding. Either
// its own 64-byte aligned storage (converted from the file's dtype, or re-laid-out where Keras's
// layout needed it), or a view of memory owned by someone else (a float32 array inside a mapped
// model file: no copy at load), which is only 4-byte aligned.
class Tensor {
 public:
  Tensor() = default;
  // Fresh zero-filled storage.
  explicit Tensor(Shape shape);
  Tensor(Shape shape, std::vector<float> values);
  // A read-only view of `data` (shape_numel(shape) floats) kept valid by `owner`.
  static Tensor view(Shape shape, const float* data, std::shared_ptr<const void> owner);

  const Shape& shape() const { return shape_; }
  int64_t numel() const { return numel_; }
  const float* data() const { return data_.get(); }
  // Writable access for the code that fills a tensor before it is shared (not for views).
  float* mutable_data();
  bool is_view() const { return view_; }
  std::span<const float> values() const { return {data_.get(), static_cast<size_t>(numel_)}; }
  bool empty() const { return data_ == nullptr; }
  // Same storage, new shape with the same element count.
  Tensor reshaped(Shape shape) const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<float[]> data_;
  bool view_ = false;
};

}  // namespace kerasrt
