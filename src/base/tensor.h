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

// A float32 tensor with shared, immutable, 64-byte aligned storage: the form weights take after
// binding (converted from the file's dtype and re-laid-out if Keras's layout needed it).
class Tensor {
 public:
  Tensor() = default;
  // Fresh zero-filled storage.
  explicit Tensor(Shape shape);
  Tensor(Shape shape, std::vector<float> values);

  const Shape& shape() const { return shape_; }
  int64_t numel() const { return numel_; }
  const float* data() const { return data_.get(); }
  // Writable access for the code that fills a tensor before it is shared.
  float* mutable_data() { return data_.get(); }
  std::span<const float> values() const { return {data_.get(), static_cast<size_t>(numel_)}; }
  bool empty() const { return data_ == nullptr; }
  // Same storage, new shape with the same element count.
  Tensor reshaped(Shape shape) const;

 private:
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<float[]> data_;
};

}  // namespace kerasrt
