#include "ops/broadcast.h"

#include "kerasrt/error.h"

namespace kerasrt::ops::detail {

Shape broadcast_shapes(const Shape& a, const Shape& b, const std::string& context) {
  if (a.size() != b.size()) {
    throw Error(ErrorCode::Internal, context + ": broadcast of shapes of different ranks");
  }
  Shape out(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    int64_t x = a[i], y = b[i];
    if (x == 1) {
      out[i] = y;
    } else if (y == 1) {
      out[i] = x;
    } else if (x < 0 || y < 0) {
      out[i] = x < 0 ? y : x;  // -1 with a known dim > 1: the known dim (or an error at plan time)
    } else if (x == y) {
      out[i] = x;
    } else {
      throw Error(ErrorCode::InvalidModel, context + ": shapes " + shape_to_string(a) + " and " +
                                               shape_to_string(b) + " do not broadcast");
    }
  }
  return out;
}

Shape pad_rank(const Shape& s, size_t rank) {
  Shape out(rank > s.size() ? rank - s.size() : 0, 1);
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

BroadcastPlan make_broadcast_plan(const Shape& out, const Shape& a, const Shape& b) {
  const size_t rank = out.size();
  auto strides_of = [&](const Shape& s) {
    std::vector<int64_t> st(rank, 0);
    int64_t acc = 1;
    for (size_t i = rank; i-- > 0;) {
      st[i] = (s[i] == 1 && out[i] != 1) ? 0 : acc;
      acc *= s[i];
    }
    return st;
  };
  std::vector<int64_t> sa = strides_of(a), sb = strides_of(b);
  BroadcastPlan p;
  p.numel = shape_numel(out);
  // Drop size-1 dims, then merge dim i into dim i+1 when both operands step contiguously.
  for (size_t i = 0; i < rank; ++i) {
    if (out[i] == 1) continue;
    if (!p.dims.empty()) {
      int64_t d = out[i];
      size_t k = p.dims.size() - 1;
      bool merge_a = p.a_strides[k] == sa[i] * d;
      bool merge_b = p.b_strides[k] == sb[i] * d;
      // Both strides zero (broadcast in both dims) also merge: 0 == 0 * d.
      if (merge_a && merge_b) {
        p.dims[k] *= d;
        p.a_strides[k] = sa[i];
        p.b_strides[k] = sb[i];
        continue;
      }
    }
    p.dims.push_back(out[i]);
    p.a_strides.push_back(sa[i]);
    p.b_strides.push_back(sb[i]);
  }
  if (p.dims.empty()) {
    p.dims = {1};
    p.a_strides = {1};
    p.b_strides = {1};
  }
  return p;
}

std::vector<float> expand_trailing(std::span<const float> c, const Shape& c_shape,
                                   const Shape& sample, const std::string& context) {
  // Right-align c_shape against sample; leading 1s of c_shape beyond sample's rank are fine.
  size_t skip = 0;
  while (c_shape.size() - skip > sample.size()) {
    if (c_shape[skip] != 1) {
      throw Error(ErrorCode::InvalidModel, context + ": " + shape_to_string(c_shape) +
                                               " does not broadcast against " +
                                               shape_to_string(sample));
    }
    ++skip;
  }
  Shape cs(c_shape.begin() + static_cast<std::ptrdiff_t>(skip), c_shape.end());
  const size_t off = sample.size() - cs.size();
  // First dim (in sample coordinates) where c is not 1: the block starts there.
  size_t first = sample.size();
  for (size_t i = 0; i < cs.size(); ++i) {
    if (cs[i] != 1 && cs[i] != sample[off + i]) {
      throw Error(ErrorCode::InvalidModel, context + ": " + shape_to_string(c_shape) +
                                               " does not broadcast against " +
                                               shape_to_string(sample));
    }
    if (cs[i] != 1 && first == sample.size()) first = off + i;
  }
  if (first == sample.size()) return {c.empty() ? 0.0f : c[0]};  // a scalar in effect
  Shape block(sample.begin() + static_cast<std::ptrdiff_t>(first), sample.end());
  Shape cblock = pad_rank(Shape(cs.begin() + static_cast<std::ptrdiff_t>(first - off), cs.end()),
                          block.size());
  std::vector<float> out(static_cast<size_t>(shape_numel(block)));
  BroadcastPlan p = make_broadcast_plan(block, cblock, cblock);
  broadcast_apply(p, c.data() + 0, c.data(), out.data(), [](float v, float) { return v; });
  return out;
}

}  // namespace kerasrt::ops::detail
