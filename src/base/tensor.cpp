#include "base/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "kerasrt/error.h"

namespace kerasrt {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > INT64_MAX / d) {
      throw Error(ErrorCode::ResourceExhausted,
                  "shape " + shape_to_string(shape) + " is too large");
    }
    n *= d;
  }
  return n;
}

bool shape_is_concrete(const Shape& shape) {
  for (int64_t d : shape) {
    if (d < 0) return false;
  }
  return true;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += shape[i] < 0 ? "None" : std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

int normalize_axis(int64_t axis, size_t rank, const std::string& context) {
  int64_t r = static_cast<int64_t>(rank);
  if (axis < -r || axis >= r) {
    throw Error(ErrorCode::InvalidModel, context + ": axis " + std::to_string(axis) +
                                             " is out of range for rank " + std::to_string(rank));
  }
  return static_cast<int>(axis < 0 ? axis + r : axis);
}

namespace {
std::shared_ptr<float[]> allocate_floats(int64_t n) {
  size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
  if (bytes == 0) bytes = 64;
  void* p = std::aligned_alloc(64, bytes);
  if (p == nullptr) throw Error(ErrorCode::ResourceExhausted, "out of memory for a weight tensor");
  std::memset(p, 0, bytes);
  return std::shared_ptr<float[]>(static_cast<float*>(p), [](float* f) { std::free(f); });
}
}  // namespace

Tensor::Tensor(Shape shape) : shape_(std::move(shape)) {
  numel_ = shape_numel(shape_);
  if (numel_ < 0) throw Error(ErrorCode::Internal, "tensor shape must be concrete");
  data_ = allocate_floats(numel_);
}

Tensor::Tensor(Shape shape, std::vector<float> values) : Tensor(std::move(shape)) {
  if (static_cast<int64_t>(values.size()) != numel_) {
    throw Error(ErrorCode::Internal, "tensor value count does not match its shape");
  }
  std::memcpy(data_.get(), values.data(), values.size() * sizeof(float));
}

Tensor Tensor::view(Shape shape, const float* data, std::shared_ptr<const void> owner) {
  Tensor t;
  t.numel_ = shape_numel(shape);
  if (t.numel_ < 0) throw Error(ErrorCode::Internal, "tensor shape must be concrete");
  t.shape_ = std::move(shape);
  // The aliasing constructor: shares `owner`'s control block, points at `data`. The storage is
  // never written through a view (mutable_data() refuses), so dropping const here is sound.
  t.data_ = std::shared_ptr<float[]>(std::move(owner), const_cast<float*>(data));
  t.view_ = true;
  return t;
}

float* Tensor::mutable_data() {
  if (view_) throw Error(ErrorCode::Internal, "a tensor viewing a model file is read-only");
  return data_.get();
}

Tensor Tensor::reshaped(Shape shape) const {
  if (shape_numel(shape) != numel_) {
    throw Error(ErrorCode::Internal, "reshape " + shape_to_string(shape_) + " to " +
                                         shape_to_string(shape) + " changes the element count");
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

}  // namespace kerasrt
