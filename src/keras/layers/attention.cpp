// Binders of the attention layer family: MultiHeadAttention, GroupedQueryAttention, Attention,
// AdditiveAttention, EinsumDense.
//
// MultiHeadAttention and GroupedQueryAttention become EinsumDense projection nodes around a
// MultiHeadAttentionOp core, with the equations Keras builds (_build_proj_equation in
// keras/src/layers/attention/multi_head_attention.py; fixed "bqm,muh->bquh"... in
// grouped_query_attention.py). Their weights are found by the sub-layer each belongs to: legacy
// .h5 names "<layer>/query/kernel:0" (tf.keras, Keras 3's legacy writer), Keras-v3 weights
// "query_dense/kernel" (Keras >= 3.1) or "_query_dense/kernel" (Keras 3.0, GQA).
#include <cmath>
#include <map>

#include "keras/registry.h"
#include "ops/attention.h"
#include "ops/einsum.h"
#include "ops/merge.h"

namespace kerasrt::keras {

namespace {

using graph::ValueId;

// -- call arguments

// The tensors of one call by parameter: positional inputs fill `positional` in order, keyword
// inputs go by their keyword.
struct CallTensors {
  std::map<std::string, size_t> index;  // parameter -> input index
  bool has(const std::string& p) const { return index.count(p) > 0; }
  size_t at(const std::string& p) const { return index.at(p); }
};

CallTensors call_tensors(const LayerContext& ctx, const std::vector<std::string>& positional) {
  CallTensors c;
  std::vector<std::string> names = ctx.input_names();
  size_t next = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string p = names[i];
    if (p.empty()) {
      if (next >= positional.size()) {
        ctx.fail(ErrorCode::InvalidModel, "called with more positional tensors than expected (" +
                                              std::to_string(names.size()) + " inputs)");
      }
      p = positional[next++];
    }
    if (c.index.count(p)) {
      ctx.fail(ErrorCode::Unsupported, "argument '" + p + "' given a list of tensors");
    }
    c.index[p] = i;
  }
  return c;
}

bool call_flag(const LayerContext& ctx, std::string_view key) {
  const Json& kw = ctx.call_kwargs();
  const Json* j = kw.is_object() ? kw.find(key) : nullptr;
  if (j == nullptr || j->is_null()) return false;
  if (j->is_bool()) return j->as_bool();
  if (j->is_number()) return j->as_number() != 0;
  ctx.fail(ErrorCode::Unsupported, "call argument '" + std::string(key) + "' = " + j->dump() +
                                       " is not a constant boolean");
}

// -- projection weights

struct Projection {
  Tensor kernel, bias;
};

// Which projection a stored weight belongs to, from the component before its role.
std::string projection_of(const std::string& stored_name) {
  std::string n = stored_name;
  if (auto colon = n.rfind(':'); colon != std::string::npos) n.resize(colon);
  auto slash = n.rfind('/');
  if (slash == std::string::npos) return "";
  std::string parent = n.substr(0, slash);
  if (auto p = parent.rfind('/'); p != std::string::npos) parent = parent.substr(p + 1);
  if (!parent.empty() && parent[0] == '_') parent = parent.substr(1);
  static const std::map<std::string, std::string> kNames = {{"query", "query"},
                                                            {"query_dense", "query"},
                                                            {"key", "key"},
                                                            {"key_dense", "key"},
                                                            {"value", "value"},
                                                            {"value_dense", "value"},
                                                            {"attention_output", "output"},
                                                            {"output_dense", "output"},
                                                            {"gate", "gate"},
                                                            {"gate_dense", "gate"}};
  auto it = kNames.find(parent);
  return it == kNames.end() ? "" : it->second;
}

// Loads the projections' kernels and biases, marking them used; `order` is Keras's creation
// order, used when the stored names carry no sub-layer (a last resort for odd writers).
std::map<std::string, Projection> load_projections(const LayerContext& ctx,
                                                   const std::vector<std::string>& order,
                                                   bool use_bias) {
  std::map<std::string, Projection> out;
  auto weights = ctx.stored_weights();
  bool named = !weights.empty();
  for (const StoredWeight& w : weights) {
    if (projection_of(w.name).empty()) named = false;
  }
  size_t per = use_bias ? 2 : 1;
  if (!named && weights.size() != order.size() * per) {
    ctx.fail(ErrorCode::InvalidModel, "expected " + std::to_string(order.size() * per) +
                                          " weights (kernel" + (use_bias ? " and bias" : "") +
                                          " of each projection), got " +
                                          std::to_string(weights.size()));
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    const StoredWeight& w = weights[i];
    std::string proj = named ? projection_of(w.name) : order[i / per];
    std::string role = named ? w.role : (i % per == 0 ? "kernel" : "bias");
    Projection& p = out[proj];
    if (role == "kernel") {
      p.kernel = w.load();
    } else if (role == "bias") {
      p.bias = w.load();
    } else {
      continue;  // left unused: expect_all_weights_used() reports it
    }
    ctx.mark_weight_used(i);
  }
  for (const std::string& name : order) {
    auto it = out.find(name);
    if (it == out.end() || it->second.kernel.empty()) {
      ctx.fail(ErrorCode::InvalidModel, "no kernel for the '" + name + "' projection");
    }
    if (use_bias != !it->second.bias.empty()) {
      ctx.fail(ErrorCode::InvalidModel, "the '" + name + "' projection " +
                                            (use_bias ? "has no bias but use_bias is true"
                                                      : "has a bias but use_bias is false"));
    }
  }
  return out;
}

void expect_shape(const LayerContext& ctx, const std::string& what, const Tensor& t,
                  const Shape& want) {
  if (t.shape() != want) {
    ctx.fail(ErrorCode::InvalidModel, what + ": expected shape " + shape_to_string(want) +
                                          ", got " + shape_to_string(t.shape()));
  }
}

// keras/src/layers/attention/multi_head_attention.py _build_proj_equation.
std::string proj_equation(size_t free_dims, size_t bound_dims, size_t output_dims) {
  std::string in, kernel, out;
  char c = 'a';
  for (size_t i = 0; i < free_dims; ++i, ++c) {
    in += c;
    out += c;
  }
  for (size_t i = 0; i < bound_dims; ++i, ++c) {
    in += c;
    kernel += c;
  }
  for (size_t i = 0; i < output_dims; ++i, ++c) {
    kernel += c;
    out += c;
  }
  return in + "," + kernel + "->" + out;
}

ValueId add_projection(LayerContext& ctx, const std::string& equation, ValueId in,
                       const Projection& p, const std::string& suffix) {
  auto op =
      std::make_shared<ops::EinsumDenseOp>(equation, ctx.shape_of(in).size(), p.kernel, p.bias);
  return ctx.add(op, {in}, suffix)[0];
}

std::optional<int64_t> optional_positive(const LayerContext& ctx, std::string_view key) {
  if (!ctx.has(key)) return std::nullopt;
  int64_t v = ctx.get_int(key);
  if (v <= 0) ctx.fail(ErrorCode::InvalidModel, std::string(key) + " must be positive");
  return v;
}

// The masks and flags of one MHA/GQA call, resolved into the core's attributes and inputs.
struct AttentionCall {
  ValueId query = -1, value = -1, key = -1;
  bool has_key = false;
  std::vector<ValueId> mask_inputs;
  std::optional<ValueId> query_mask;
  bool return_scores = false;
};

AttentionCall resolve_call(LayerContext& ctx, ops::MultiHeadAttentionAttrs& a) {
  // Keras 3 call(query, value, key, query_mask, value_mask, key_mask, attention_mask, ...);
  // tf-keras call(query, value, key, attention_mask, ...).
  std::vector<std::string> positional =
      ctx.dialect().major >= 3
          ? std::vector<std::string>{"query",      "value",    "key",           "query_mask",
                                     "value_mask", "key_mask", "attention_mask"}
          : std::vector<std::string>{"query", "value", "key", "attention_mask"};
  CallTensors c = call_tensors(ctx, positional);
  for (const auto& [name, index] : c.index) {
    if (name != "query" && name != "value" && name != "key" && name != "attention_mask" &&
        name != "value_mask" && name != "key_mask" && name != "query_mask") {
      ctx.fail(ErrorCode::Unsupported, "tensor argument '" + name + "'");
    }
  }
  if (!c.has("query") || !c.has("value")) {
    ctx.fail(ErrorCode::InvalidModel, "called without query and value tensors");
  }
  AttentionCall call;
  call.query = ctx.input(c.at("query"));
  call.value = ctx.input(c.at("value"));
  call.has_key = c.has("key");
  call.key = call.has_key ? ctx.input(c.at("key")) : call.value;
  // Keras masks of the inputs (Keras 3 fills query_mask/value_mask/key_mask from them; MHA
  // always takes the query's own mask). Explicit value_mask/key_mask tensors win.
  call.query_mask = ctx.input_mask(c.at("query"));
  std::optional<ValueId> vm = ctx.input_mask(c.at("value"));
  std::optional<ValueId> km;
  if (call.has_key) km = ctx.input_mask(c.at("key"));
  if (c.has("value_mask")) vm = ctx.input(c.at("value_mask"));
  if (c.has("key_mask")) km = ctx.input(c.at("key_mask"));
  if (km && vm && *km == *vm) km.reset();  // key is value: the same mask twice
  a.causal = call_flag(ctx, "use_causal_mask");
  call.return_scores = call_flag(ctx, "return_attention_scores");
  a.return_scores = call.return_scores;
  if (call.query_mask) {
    a.has_query_mask = true;
    call.mask_inputs.push_back(*call.query_mask);
  }
  if (vm) {
    a.has_value_mask = true;
    call.mask_inputs.push_back(*vm);
  }
  if (km) {
    a.has_key_mask = true;
    call.mask_inputs.push_back(*km);
  }
  if (c.has("attention_mask")) {
    ValueId m = ctx.input(c.at("attention_mask"));
    size_t rank = ctx.shape_of(m).size();
    bool auto_mask =
        a.has_query_mask || a.has_value_mask || a.has_key_mask || a.causal || a.sliding_window > 0;
    if (rank != 3 && !(rank == 4 && !auto_mask)) {
      ctx.fail(ErrorCode::Unsupported,
               "attention_mask of shape " + shape_to_string(ctx.shape_of(m)) +
                   " (supported: (batch, T, S), or (batch, heads, T, S) without other masks)");
    }
    a.has_attention_mask = true;
    call.mask_inputs.push_back(m);
  }
  return call;
}

void finish_attention(LayerContext& ctx, const AttentionCall& call, ValueId out,
                      std::optional<ValueId> scores) {
  if (call.query_mask) {
    ctx.set_output_mask(0, *call.query_mask);
  } else {
    ctx.drop_output_masks();
  }
  std::vector<ValueId> outs{out};
  if (call.return_scores) outs.push_back(*scores);
  ctx.set_outputs(outs);
}

// attention_output (* gate) -> output projection.
ValueId gated(LayerContext& ctx, ValueId attended, std::optional<ValueId> gate) {
  if (!gate) return attended;
  return ctx.add(std::make_shared<ops::MergeOp>(ops::MergeMode::Multiply), {attended, *gate},
                 "gated")[0];
}

ValueId add_gate(LayerContext& ctx, const std::string& equation, ValueId query,
                 const Projection& p) {
  ValueId g = add_projection(ctx, equation, query, p, "gate");
  auto sig = make_activation_op("sigmoid", ctx.dialect(), ctx);
  return ctx.add(sig, {g}, "gate_sigmoid")[0];
}

void bind_multi_head_attention(LayerContext& ctx) {
  const int64_t heads = ctx.get_int("num_heads");
  const int64_t key_dim = ctx.get_int("key_dim");
  const int64_t value_dim = ctx.has("value_dim") ? ctx.get_int("value_dim") : key_dim;
  if (heads <= 0 || key_dim <= 0 || value_dim <= 0) {
    ctx.fail(ErrorCode::InvalidModel, "num_heads, key_dim and value_dim must be positive");
  }
  const bool use_bias = ctx.get_bool("use_bias", true);
  const bool use_gate = ctx.get_bool("use_gate", false);
  const double dropout = ctx.get_float("dropout", 0.0);
  ops::MultiHeadAttentionAttrs a;
  a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(key_dim)));
  if (auto w = optional_positive(ctx, "sliding_window")) a.sliding_window = *w;

  AttentionCall call = resolve_call(ctx, a);
  const Shape& qs = ctx.shape_of(call.query);
  const Shape& vs = ctx.shape_of(call.value);
  const Shape& ks = ctx.shape_of(call.key);
  const size_t rank = qs.size();
  if (rank < 3 || vs.size() != rank || ks.size() != rank) {
    ctx.fail(ErrorCode::Unsupported, "query, value and key of equal rank >= 3 expected, got " +
                                         shape_to_string(qs) + ", " + shape_to_string(vs) + ", " +
                                         shape_to_string(ks));
  }
  // Output feature shape: output_shape (int or list) or the query's last dim.
  Shape out_features;
  if (ctx.has("output_shape")) {
    out_features = ctx.get_int_list("output_shape");
  } else {
    out_features = {qs.back()};
  }
  // attention_axes: default all axes between batch and features; negative axes count from the
  // projected rank minus one (Keras's _build_attention).
  const int proj_rank = static_cast<int>(rank) + 1;
  if (ctx.has("attention_axes")) {
    for (int64_t ax : ctx.get_int_list("attention_axes")) {
      int64_t n = ax >= 0 ? ax : (proj_rank - 1) + ax;
      a.attention_axes.push_back(static_cast<int>(n));
    }
  } else {
    for (int i = 1; i < proj_rank - 2; ++i) a.attention_axes.push_back(i);
  }
  // The path Keras 3 takes decides what a fully masked row becomes (ops/attention.h MaskFill).
  if (ctx.dialect().major >= 3) {
    bool dot_path = !(dropout > 0.0 || call.return_scores || rank != 3);
    a.fill = dot_path ? ops::MaskFill::kUniform : ops::MaskFill::kZero;
  } else {
    a.fill = ctx.get_bool("softmax_robust_masking", false) ? ops::MaskFill::kUniform
                                                           : ops::MaskFill::kAdd;
  }

  std::vector<std::string> order{"query", "key"};
  if (use_gate) order.push_back("gate");
  order.insert(order.end(), {"value", "output"});
  auto proj = load_projections(ctx, order, use_bias);
  auto check = [&](const std::string& name, Shape kernel, Shape bias) {
    expect_shape(ctx, name + " kernel", proj[name].kernel, kernel);
    if (use_bias) expect_shape(ctx, name + " bias", proj[name].bias, bias);
  };
  check("query", {qs.back(), heads, key_dim}, {heads, key_dim});
  check("key", {ks.back(), heads, key_dim}, {heads, key_dim});
  check("value", {vs.back(), heads, value_dim}, {heads, value_dim});
  if (use_gate) check("gate", {qs.back(), heads, value_dim}, {heads, value_dim});
  Shape out_kernel{heads, value_dim};
  out_kernel.insert(out_kernel.end(), out_features.begin(), out_features.end());
  check("output", out_kernel, out_features);

  const std::string in_eq = proj_equation(rank - 1, 1, 2);
  ValueId q = add_projection(ctx, in_eq, call.query, proj["query"], "query");
  ValueId k = add_projection(ctx, in_eq, call.key, proj["key"], "key");
  ValueId v = add_projection(ctx, in_eq, call.value, proj["value"], "value");
  std::optional<ValueId> gate;
  if (use_gate) gate = add_gate(ctx, in_eq, call.query, proj["gate"]);

  auto core = std::make_shared<ops::MultiHeadAttentionOp>(a);
  std::vector<ValueId> core_in{q, k, v};
  core_in.insert(core_in.end(), call.mask_inputs.begin(), call.mask_inputs.end());
  std::vector<ValueId> attn = ctx.add(core, core_in, "attention");
  ValueId out = add_projection(ctx, proj_equation(rank - 1, 2, out_features.size()),
                               gated(ctx, attn[0], gate), proj["output"], "attention_output");
  ctx.expect_all_weights_used();
  finish_attention(ctx, call, out,
                   call.return_scores ? std::optional<ValueId>(attn[1]) : std::nullopt);
}

void bind_grouped_query_attention(LayerContext& ctx) {
  const int64_t head_dim = ctx.get_int("head_dim");
  const int64_t nq = ctx.get_int("num_query_heads");
  const int64_t nkv = ctx.get_int("num_key_value_heads");
  if (head_dim <= 0 || nq <= 0 || nkv <= 0 || nq % nkv != 0) {
    ctx.fail(ErrorCode::InvalidModel,
             "head_dim and head counts must be positive, num_query_heads a multiple of "
             "num_key_value_heads");
  }
  const bool use_bias = ctx.get_bool("use_bias", true);
  const bool use_gate = ctx.get_bool("use_gate", false);
  const double dropout = ctx.get_float("dropout", 0.0);
  ops::MultiHeadAttentionAttrs a;
  a.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(head_dim)));
  a.attention_axes = {1};
  if (auto w = optional_positive(ctx, "sliding_window")) a.sliding_window = *w;
  AttentionCall call = resolve_call(ctx, a);
  const Shape& qs = ctx.shape_of(call.query);
  const Shape& vs = ctx.shape_of(call.value);
  const Shape& ks = ctx.shape_of(call.key);
  if (qs.size() != 3 || vs.size() != 3 || ks.size() != 3) {
    ctx.fail(ErrorCode::InvalidModel, "query, value and key must be (batch, time, features)");
  }
  a.fill = dropout > 0.0 || call.return_scores ? ops::MaskFill::kZero : ops::MaskFill::kUniform;

  std::vector<std::string> order{"query", "key"};
  if (use_gate) order.push_back("gate");
  order.insert(order.end(), {"value", "output"});
  auto proj = load_projections(ctx, order, use_bias);
  auto check = [&](const std::string& name, Shape kernel, Shape bias) {
    expect_shape(ctx, name + " kernel", proj[name].kernel, kernel);
    if (use_bias) expect_shape(ctx, name + " bias", proj[name].bias, bias);
  };
  check("query", {qs.back(), nq, head_dim}, {nq, head_dim});
  check("key", {ks.back(), nkv, head_dim}, {nkv, head_dim});
  check("value", {vs.back(), nkv, head_dim}, {nkv, head_dim});
  if (use_gate) check("gate", {qs.back(), nq, head_dim}, {nq, head_dim});
  check("output", {nq, head_dim, qs.back()}, {qs.back()});

  ValueId q = add_projection(ctx, "bqm,muh->bquh", call.query, proj["query"], "query");
  ValueId k = add_projection(ctx, "bkm,mvh->bkvh", call.key, proj["key"], "key");
  ValueId v = add_projection(ctx, "bkm,mvh->bkvh", call.value, proj["value"], "value");
  std::optional<ValueId> gate;
  if (use_gate) gate = add_gate(ctx, "bqm,muh->bquh", call.query, proj["gate"]);
  auto core = std::make_shared<ops::MultiHeadAttentionOp>(a);
  std::vector<ValueId> core_in{q, k, v};
  core_in.insert(core_in.end(), call.mask_inputs.begin(), call.mask_inputs.end());
  std::vector<ValueId> attn = ctx.add(core, core_in, "attention");
  ValueId out = add_projection(ctx, "bquh,uhm->bqm", gated(ctx, attn[0], gate), proj["output"],
                               "attention_output");
  ctx.expect_all_weights_used();
  finish_attention(ctx, call, out,
                   call.return_scores ? std::optional<ValueId>(attn[1]) : std::nullopt);
}

// Attention (Luong) and AdditiveAttention (Bahdanau): called on [query, value(, key)].
void bind_dense_attention(LayerContext& ctx, bool additive) {
  CallTensors c = call_tensors(ctx, {"query", "value", "key"});
  for (const auto& [name, index] : c.index) {
    if (name != "query" && name != "value" && name != "key") {
      ctx.fail(ErrorCode::Unsupported, "tensor argument '" + name +
                                           "' (explicit masks are not supported; Keras masks "
                                           "carried by the inputs are)");
    }
  }
  if (!c.has("query") || !c.has("value")) {
    ctx.fail(ErrorCode::InvalidModel, "expects [query, value] or [query, value, key]");
  }
  ValueId q = ctx.input(c.at("query"));
  ValueId v = ctx.input(c.at("value"));
  ValueId k = c.has("key") ? ctx.input(c.at("key")) : v;
  ops::DenseAttentionAttrs a;
  const Shape& qs = ctx.shape_of(q);
  if (additive) {
    a.mode = ops::ScoreMode::kAdditive;
    a.has_scale = ctx.get_bool("use_scale", true);
    if (a.has_scale) {
      Tensor s = ctx.weight("scale", {qs.back()});
      a.scale_vector.assign(s.values().begin(), s.values().end());
    }
  } else {
    std::string mode = ctx.get_string("score_mode", "dot");
    if (mode != "dot" && mode != "concat") {
      ctx.fail(ErrorCode::Unsupported, "score_mode '" + mode + "'");
    }
    a.mode = mode == "dot" ? ops::ScoreMode::kDot : ops::ScoreMode::kConcat;
    a.has_scale = ctx.get_bool("use_scale", false);
    if (a.has_scale) a.scale = ctx.weight("scale", {}).data()[0];
    if (mode == "concat") a.concat_weight = ctx.weight("concat_score_weight", {}).data()[0];
  }
  // tf-keras's deprecated `causal` constructor argument, or the call's use_causal_mask.
  a.causal = ctx.get_bool("causal", false) || call_flag(ctx, "use_causal_mask");
  a.return_scores = call_flag(ctx, "return_attention_scores");
  std::vector<ValueId> in{q, v, k};
  std::optional<ValueId> qm = ctx.input_mask(c.at("query"));
  std::optional<ValueId> vm = ctx.input_mask(c.at("value"));
  if (qm) {
    a.has_query_mask = true;
    in.push_back(*qm);
  }
  if (vm) {
    a.has_value_mask = true;
    in.push_back(*vm);
  }
  ctx.expect_all_weights_used();
  std::vector<ValueId> outs = ctx.add(std::make_shared<ops::DenseAttentionOp>(a), in);
  if (qm) {
    ctx.set_output_mask(0, *qm);
  } else {
    ctx.drop_output_masks();
  }
  ctx.set_outputs(outs);
}

void bind_attention(LayerContext& ctx) {
  bind_dense_attention(ctx, false);
}
void bind_additive_attention(LayerContext& ctx) {
  bind_dense_attention(ctx, true);
}

void bind_einsum_dense(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const std::string equation = ctx.get_string("equation", "");
  if (equation.empty()) ctx.fail(ErrorCode::InvalidModel, "config 'equation' is missing");
  if (ctx.has("quantization_config") || ctx.get_string("quantization_mode", "").size()) {
    ctx.fail(ErrorCode::Unsupported, "quantized EinsumDense");
  }
  const Shape& in = ctx.input_shape(0);
  ops::EinsumSpec spec = ops::EinsumSpec::parse(equation, in.size());
  Tensor kernel = ctx.weight("kernel", {});
  if (kernel.shape().size() != spec.kernel.size()) {
    ctx.fail(ErrorCode::InvalidModel, "kernel " + shape_to_string(kernel.shape()) +
                                          " does not fit the equation '" + equation + "'");
  }
  Tensor bias;
  if (ctx.has("bias_axes")) {
    std::string bias_axes = ctx.get_string("bias_axes", "");
    bias = ctx.weight("bias", {});
    // Keras's bias shape needs the output dims of the bias axes: from the kernel or the input.
    std::map<char, int64_t> sizes;
    for (size_t i = 0; i < spec.input.size(); ++i) sizes[spec.input[i]] = in[i];
    for (size_t i = 0; i < spec.kernel.size(); ++i) sizes[spec.kernel[i]] = kernel.shape()[i];
    Shape out;
    for (char ch : spec.output) out.push_back(sizes[ch]);
    Shape want = spec.bias_shape(bias_axes, out);
    bool ok = want.size() == bias.shape().size();
    for (size_t i = 0; ok && i < want.size(); ++i) {
      ok = want[i] < 0 || want[i] == bias.shape()[i];
    }
    if (!ok) {
      ctx.fail(ErrorCode::InvalidModel, "bias: expected shape " + shape_to_string(want) +
                                            " for bias_axes '" + bias_axes + "', got " +
                                            shape_to_string(bias.shape()));
    }
  }
  ctx.expect_all_weights_used();
  auto op = std::make_shared<ops::EinsumDenseOp>(equation, in.size(), kernel, bias);
  ValueId y = ctx.add(op, {ctx.input(0)})[0];
  ctx.set_outputs({ctx.add_activation(y)});
}

const LayerEntry kAttentionLayers[] = {
    {"MultiHeadAttention", bind_multi_head_attention, MaskRule::kBinder},
    {"GroupedQueryAttention", bind_grouped_query_attention, MaskRule::kBinder},
    {"GroupQueryAttention", bind_grouped_query_attention, MaskRule::kBinder},
    {"Attention", bind_attention, MaskRule::kBinder},
    {"AdditiveAttention", bind_additive_attention, MaskRule::kBinder},
    {"EinsumDense", bind_einsum_dense},
};

}  // namespace

std::span<const LayerEntry> attention_layers() {
  return kAttentionLayers;
}

}  // namespace kerasrt::keras
