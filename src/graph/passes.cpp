#include "graph/passes.h"

#include <limits>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "ops/conv.h"
#include "ops/dense.h"
#include "ops/elementwise.h"
#include "ops/epilogue.h"
#include "ops/normalization.h"

namespace kerasrt::graph {

namespace {

using ops::BatchNormActivation;
using ops::BatchNormAttrs;
using ops::BatchNormOp;
using ops::ConvOp;
using ops::DenseOp;
using ops::Epilogue;
using ops::UnaryAttrs;
using ops::UnaryKind;
using ops::UnaryOp;

// Folded BN bias: bias * scale + shift per output channel, in double (one rounding).
Tensor folded_bias(const Tensor& bias, const BatchNormAttrs& bn) {
  std::span<const float> s = bn.scale.values();
  std::span<const float> t = bn.shift.values();
  std::vector<float> b(s.size());
  for (size_t c = 0; c < b.size(); ++c) {
    const double old = bias.empty() ? 0.0 : static_cast<double>(bias.values()[c]);
    b[c] = static_cast<float>(old * s[c] + t[c]);
  }
  const auto n = static_cast<int64_t>(b.size());
  return Tensor({n}, std::move(b));
}

// True when `bn` normalises exactly the axis `axis` of a rank-`rank` value, with one parameter
// per channel of `channels`.
bool bn_on_axis(const BatchNormAttrs& bn, size_t rank, size_t axis, int64_t channels) {
  if (bn.axes.size() != 1 || bn.scale.numel() != channels || bn.shift.numel() != channels) {
    return false;
  }
  const int64_t a = bn.axes[0] < 0 ? bn.axes[0] + static_cast<int64_t>(rank) : bn.axes[0];
  return a == static_cast<int64_t>(axis);
}

// The BN loop's form of a Keras activation, when it has one (the relu family as
// ops::UnaryOp's keras_relu computes it, and hard_tanh).
std::optional<BatchNormAttrs> with_activation(BatchNormAttrs bn, const UnaryAttrs& act) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  if (act.kind == UnaryKind::HardTanh) {
    bn.activation = BatchNormActivation::Clip;
    bn.lo = -1;
    bn.hi = 1;
    return bn;
  }
  if (act.kind != UnaryKind::Relu || act.gamma != 0) return std::nullopt;
  if (act.alpha == 0) {
    // max(x, 0), clipped to max_value when there is one (max_value >= 0).
    if (act.has_max && !(act.beta >= 0)) return std::nullopt;
    bn.activation = BatchNormActivation::Clip;
    bn.lo = 0;
    bn.hi = act.has_max ? act.beta : kInf;
    return bn;
  }
  if (act.has_max) return std::nullopt;  // slope and max_value together: Keras's own mix
  bn.activation = BatchNormActivation::Leaky;
  bn.slope = act.alpha;
  return bn;
}

class Fuser {
 public:
  explicit Fuser(Graph& g) : g_(g), removed_(g.nodes.size(), false) {
    readers_.resize(g.values.size());
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      for (ValueId v : g.nodes[n].inputs) {
        readers_[static_cast<size_t>(v)].push_back(static_cast<int>(n));
      }
    }
    is_output_.assign(g.values.size(), false);
    for (ValueId v : g.outputs) is_output_[static_cast<size_t>(v)] = true;
  }

  PassStats run() {
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (removed_[i]) continue;
      const int n = static_cast<int>(i);
      fold_batch_norm(n);
      fuse_activation(n);
    }
    compact();
    return stats_;
  }

 private:
  // The node that alone reads node `n`'s only output, which is not a model output; -1 if none.
  int sole_reader(int n) const {
    const Node& node = g_.nodes[static_cast<size_t>(n)];
    if (node.outputs.size() != 1) return -1;
    const auto v = static_cast<size_t>(node.outputs[0]);
    if (is_output_[v] || readers_[v].size() != 1) return -1;
    const int r = readers_[v][0];
    return g_.nodes[static_cast<size_t>(r)].inputs.size() == 1 ? r : -1;
  }

  size_t out_rank(int n) const {
    return g_.values[static_cast<size_t>(g_.nodes[static_cast<size_t>(n)].outputs[0])].shape.size();
  }

  // Node `next` (the sole reader of node `at`) merges into `at`, which now runs `op`. A shared
  // layer's nodes that fuse the same way share one fused op (and so one weight pack).
  template <class Make>
  void merge(int at, int next, Make make) {
    Node& n = g_.nodes[static_cast<size_t>(at)];
    Node& m = g_.nodes[static_cast<size_t>(next)];
    auto key = std::make_pair(n.op.get(), m.op.get());
    auto it = fused_.find(key);
    if (it == fused_.end()) it = fused_.emplace(key, make()).first;
    // The replaced ops stay alive while the map holds their addresses.
    replaced_.push_back(std::move(n.op));
    replaced_.push_back(m.op);
    n.op = it->second;
    n.name += "+" + m.name;
    n.outputs = m.outputs;
    for (ValueId v : n.outputs) g_.values[static_cast<size_t>(v)].producer = at;
    removed_[static_cast<size_t>(next)] = true;
  }

  void fold_batch_norm(int n) {
    const Node& node = g_.nodes[static_cast<size_t>(n)];
    const int r = sole_reader(n);
    if (r < 0) return;
    const auto* bn = dynamic_cast<const BatchNormOp*>(g_.nodes[static_cast<size_t>(r)].op.get());
    if (bn == nullptr || bn->attrs().activation != BatchNormActivation::None) return;
    const BatchNormAttrs& b = bn->attrs();
    const size_t rank = out_rank(n);
    if (const auto* conv = dynamic_cast<const ConvOp*>(node.op.get())) {
      const size_t axis = conv->attrs().channels_first ? 1 : rank - 1;
      if (!conv->epilogue().empty() || !bn_on_axis(b, rank, axis, conv->attrs().filters)) return;
      merge(n, r, [&] {
        std::vector<float> scale(b.scale.values().begin(), b.scale.values().end());
        return std::make_shared<ConvOp>(conv->attrs(), conv->in_channels(), conv->kernel(),
                                        folded_bias(conv->bias(), b), Epilogue{scale, {}});
      });
    } else if (const auto* dense = dynamic_cast<const DenseOp*>(node.op.get())) {
      if (!dense->epilogue().empty() || !bn_on_axis(b, rank, rank - 1, dense->units())) return;
      merge(n, r, [&] {
        std::vector<float> scale(b.scale.values().begin(), b.scale.values().end());
        return std::make_shared<DenseOp>(dense->kernel(), folded_bias(dense->bias(), b),
                                         Epilogue{scale, {}});
      });
    } else {
      return;
    }
    ++stats_.batch_norms_folded;
  }

  void fuse_activation(int n) {
    const Node& node = g_.nodes[static_cast<size_t>(n)];
    const int r = sole_reader(n);
    if (r < 0) return;
    const auto* act = dynamic_cast<const UnaryOp*>(g_.nodes[static_cast<size_t>(r)].op.get());
    if (act == nullptr) return;
    if (const auto* bn = dynamic_cast<const BatchNormOp*>(node.op.get())) {
      if (bn->attrs().activation != BatchNormActivation::None) return;
      std::optional<BatchNormAttrs> fused = with_activation(bn->attrs(), act->attrs());
      if (!fused) return;
      merge(n, r, [&] { return std::make_shared<BatchNormOp>(*fused); });
      ++stats_.activations_fused;
      return;
    }
    std::vector<ops::EltwiseStep> chain = ops::post_op_chain(act->attrs());
    if (chain.empty()) return;
    if (const auto* conv = dynamic_cast<const ConvOp*>(node.op.get())) {
      if (!conv->epilogue().post_ops.empty()) return;
      merge(n, r, [&] {
        return std::make_shared<ConvOp>(conv->attrs(), conv->in_channels(), conv->kernel(),
                                        conv->bias(),
                                        Epilogue{conv->epilogue().kernel_scale, chain});
      });
    } else if (const auto* dense = dynamic_cast<const DenseOp*>(node.op.get())) {
      if (!dense->epilogue().post_ops.empty()) return;
      merge(n, r, [&] {
        return std::make_shared<DenseOp>(dense->kernel(), dense->bias(),
                                         Epilogue{dense->epilogue().kernel_scale, chain});
      });
    } else {
      return;
    }
    ++stats_.activations_fused;
  }

  // Drops the merged nodes and the values nothing produces or reads any more; renumbers.
  void compact() {
    std::vector<bool> used(g_.values.size(), false);
    for (ValueId v : g_.inputs) used[static_cast<size_t>(v)] = true;
    for (ValueId v : g_.outputs) used[static_cast<size_t>(v)] = true;
    std::vector<Node> nodes;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (removed_[i]) continue;
      for (ValueId v : g_.nodes[i].inputs) used[static_cast<size_t>(v)] = true;
      for (ValueId v : g_.nodes[i].outputs) used[static_cast<size_t>(v)] = true;
      nodes.push_back(std::move(g_.nodes[i]));
    }
    std::vector<ValueId> id(g_.values.size(), -1);
    std::vector<Value> values;
    for (size_t v = 0; v < g_.values.size(); ++v) {
      if (!used[v]) continue;
      id[v] = static_cast<ValueId>(values.size());
      values.push_back(std::move(g_.values[v]));
      values.back().producer = -1;
    }
    for (size_t n = 0; n < nodes.size(); ++n) {
      for (ValueId& v : nodes[n].inputs) v = id[static_cast<size_t>(v)];
      for (ValueId& v : nodes[n].outputs) {
        v = id[static_cast<size_t>(v)];
        values[static_cast<size_t>(v)].producer = static_cast<int>(n);
      }
    }
    for (ValueId& v : g_.inputs) v = id[static_cast<size_t>(v)];
    for (ValueId& v : g_.outputs) v = id[static_cast<size_t>(v)];
    g_.nodes = std::move(nodes);
    g_.values = std::move(values);
  }

  Graph& g_;
  std::vector<bool> removed_;
  std::vector<std::vector<int>> readers_;
  std::vector<bool> is_output_;
  std::map<std::pair<const ops::Op*, const ops::Op*>, std::shared_ptr<const ops::Op>> fused_;
  std::vector<std::shared_ptr<const ops::Op>> replaced_;
  PassStats stats_;
};

}  // namespace

PassStats optimize(Graph& g) {
  return Fuser(g).run();
}

}  // namespace kerasrt::graph
