// Binders of the recurrent layer family: LSTM, GRU, SimpleRNN (Keras 1/2/3), CuDNNLSTM and
// CuDNNGRU (Keras 2 GPU layers, converted as tf-keras's hdf5_format._convert_rnn_weights does),
// RNN with LSTMCell/GRUCell/SimpleRNNCell/StackedRNNCells, Bidirectional, TimeDistributed and
// Masking (keras-format.md §4.9, §4.10, traps 11 and 12).
//
// Wrapped recurrent layers (Bidirectional's forward and backward layers, an RNN's cells) are
// read here directly from their nested configs rather than through bind_inner(): Bidirectional
// changes their options (go_backwards of the backward copy, zero_output_for_mask forced to
// return_sequences, keras/src/layers/rnn/bidirectional.py __init__), which a nested config
// cannot express.
#include <algorithm>
#include <cstring>
#include <optional>

#include "keras/registry.h"
#include "ops/elementwise.h"
#include "ops/logical.h"
#include "ops/merge.h"
#include "ops/recurrent.h"
#include "ops/sequence.h"

namespace kerasrt::keras {

namespace {

using ops::RnnCell;
using ops::RnnCellKind;

const Json& null_json() {
  static const Json kNull;
  return kNull;
}

std::string class_of(const Json& layer) {
  const Json* c = layer.find("class_name");
  return c && c->is_string() ? c->as_string() : "";
}

const Json& config_of(const Json& layer) {
  const Json* c = layer.find("config");
  return c ? *c : null_json();
}

// Typed reads from a config that may not be the binder's own (a wrapper's inner layer or a
// cell); errors go through the binder's context and name the nested object.
class Config {
 public:
  Config(const Json& json, const LayerContext& ctx, std::string where)
      : json_(json), ctx_(ctx), where_(std::move(where)) {}

  const Json* get(std::string_view key) const {
    const Json* j = json_.is_object() ? json_.find(key) : nullptr;
    return j && !j->is_null() ? j : nullptr;
  }
  bool has(std::string_view key) const { return get(key) != nullptr; }
  bool get_bool(std::string_view key, bool fallback) const {
    const Json* j = get(key);
    if (!j) return fallback;
    if (j->is_bool()) return j->as_bool();
    if (j->is_number()) return j->as_number() != 0;
    fail(ErrorCode::InvalidModel,
         "config '" + std::string(key) + "': expected true or false, got " + j->dump());
  }
  int64_t get_int(std::string_view key, int64_t fallback) const {
    const Json* j = get(key);
    if (!j) return fallback;
    if (!j->is_integer()) {
      fail(ErrorCode::InvalidModel,
           "config '" + std::string(key) + "': expected an integer, got " + j->dump());
    }
    return static_cast<int64_t>(j->as_number());
  }
  std::string get_string(std::string_view key, std::string_view fallback) const {
    const Json* j = get(key);
    if (!j) return std::string(fallback);
    if (!j->is_string()) {
      fail(ErrorCode::InvalidModel,
           "config '" + std::string(key) + "': expected a string, got " + j->dump());
    }
    return j->as_string();
  }
  [[noreturn]] void fail(ErrorCode code, const std::string& what) const {
    ctx_.fail(code, where_.empty() ? what : where_ + ": " + what);
  }
  const LayerContext& ctx() const { return ctx_; }
  const std::string& where() const { return where_; }

 private:
  const Json& json_;
  const LayerContext& ctx_;
  std::string where_;
};

// A subset of the layer's stored weights (a Bidirectional half, or all of them), taken by role in
// stored order so that stacked cells take their arrays one after another.
class WeightPool {
 public:
  WeightPool(const LayerContext& ctx, size_t begin, size_t end) : ctx_(ctx) {
    for (size_t i = begin; i < end; ++i) indices_.push_back(i);
    used_.assign(indices_.size(), false);
  }
  WeightPool(const LayerContext& ctx, std::vector<size_t> indices)
      : ctx_(ctx), indices_(std::move(indices)) {
    used_.assign(indices_.size(), false);
  }

  bool has(std::string_view role) const { return find(role) >= 0; }

  std::optional<Tensor> take(std::string_view role, const Shape& expected, const Config& cfg) {
    long p = find(role);
    if (p < 0) return std::nullopt;
    const StoredWeight& w = ctx_.stored_weights()[indices_[static_cast<size_t>(p)]];
    if (!expected.empty() && w.shape != expected) {
      cfg.fail(ErrorCode::InvalidModel, "weight '" + std::string(role) + "' (stored as '" + w.name +
                                            "'): expected shape " + shape_to_string(expected) +
                                            ", got " + shape_to_string(w.shape));
    }
    used_[static_cast<size_t>(p)] = true;
    ctx_.mark_weight_used(indices_[static_cast<size_t>(p)]);
    return w.load();
  }

  Tensor need(std::string_view role, const Shape& expected, const Config& cfg) {
    std::optional<Tensor> t = take(role, expected, cfg);
    if (!t) {
      std::string have;
      for (size_t i : indices_) have += (have.empty() ? "" : ", ") + ctx_.stored_weights()[i].name;
      cfg.fail(ErrorCode::InvalidModel, "weight '" + std::string(role) + "' is missing (stored: " +
                                            (have.empty() ? "none" : have) + ")");
    }
    return *t;
  }

  // The shape of the next unused weight with this role (to learn a layout before taking it).
  std::optional<Shape> peek_shape(std::string_view role) const {
    long p = find(role);
    if (p < 0) return std::nullopt;
    return ctx_.stored_weights()[indices_[static_cast<size_t>(p)]].shape;
  }

 private:
  long find(std::string_view role) const {
    // Keras 1 names are "<layer>_W_i"; inside a Bidirectional they carry the inner layer's name
    // ("forward_lstm_1_W_i") and keep it after the wrapper's prefix is stripped.
    const bool keras1 = ctx_.dialect().major == 1;
    for (size_t p = 0; p < indices_.size(); ++p) {
      if (used_[p]) continue;
      const std::string& r = ctx_.stored_weights()[indices_[p]].role;
      if (r == role) return static_cast<long>(p);
      if (keras1 && r.size() > role.size() + 1 &&
          r.compare(r.size() - role.size(), role.size(), role) == 0 &&
          r[r.size() - role.size() - 1] == '_') {
        return static_cast<long>(p);
      }
    }
    return -1;
  }

  const LayerContext& ctx_;
  std::vector<size_t> indices_;
  std::vector<bool> used_;
};

// Concatenates tensors along their last axis (Keras 1 per-gate arrays into Keras 2 blocks).
Tensor concat_last(const std::vector<Tensor>& parts) {
  const Shape& first = parts.front().shape();
  const int64_t rows = first.size() == 2 ? first[0] : 1;
  int64_t cols = 0;
  for (const Tensor& t : parts) cols += t.shape().back();
  Tensor out(first.size() == 2 ? Shape{rows, cols} : Shape{cols});
  int64_t at = 0;
  for (const Tensor& t : parts) {
    const int64_t c = t.shape().back();
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(out.mutable_data() + r * cols + at, t.data() + r * c,
                  static_cast<size_t>(c) * sizeof(float));
    }
    at += c;
  }
  return out;
}

// tf-keras _convert_rnn_weights(from_cudnn=True): per gate, the input kernel's bytes hold the
// cuDNN (units, in) matrix in Fortran order (kernel.T.reshape(shape, order="F")), the recurrent
// kernel is transposed.
Tensor cudnn_input_kernel(const Tensor& k, int64_t gates) {
  const int64_t in = k.shape()[0], cols = k.shape()[1], u = cols / gates;
  Tensor out(k.shape());
  std::vector<float> block(static_cast<size_t>(in * u));
  for (int64_t g = 0; g < gates; ++g) {
    for (int64_t r = 0; r < in; ++r) {
      for (int64_t c = 0; c < u; ++c)
        block[static_cast<size_t>(r * u + c)] = k.data()[r * cols + g * u + c];
    }
    // result[i, j] = flat(block)[i + j * in]
    for (int64_t i = 0; i < in; ++i) {
      for (int64_t j = 0; j < u; ++j) {
        out.mutable_data()[i * cols + g * u + j] = block[static_cast<size_t>(i + j * in)];
      }
    }
  }
  return out;
}

Tensor cudnn_recurrent_kernel(const Tensor& k, int64_t gates) {
  const int64_t u = k.shape()[0], cols = k.shape()[1];
  Tensor out(k.shape());
  for (int64_t g = 0; g < gates; ++g) {
    for (int64_t i = 0; i < u; ++i) {
      for (int64_t j = 0; j < u; ++j) {
        out.mutable_data()[i * cols + g * u + j] = k.data()[j * cols + g * u + i];
      }
    }
  }
  return out;
}

std::optional<ops::UnaryAttrs> cell_activation(const Config& cfg, std::string_view key,
                                               std::string_view alt_key,
                                               const std::string& fallback) {
  const Json* spec = cfg.get(key);
  if (spec == nullptr && !alt_key.empty()) spec = cfg.get(alt_key);
  std::string name = spec ? activation_name(*spec, cfg.ctx()) : fallback;
  std::shared_ptr<const ops::Op> op = make_activation_op(name, cfg.ctx().dialect(), cfg.ctx());
  if (!op) return std::nullopt;
  const auto* unary = dynamic_cast<const ops::UnaryOp*>(op.get());
  if (unary == nullptr) {
    cfg.fail(ErrorCode::Unsupported, "activation '" + name + "' in config '" + std::string(key) +
                                         "' of a recurrent cell (only elementwise activations)");
  }
  return unary->attrs();
}

bool is_lstm(const std::string& cls) {
  return cls == "LSTM" || cls == "LSTMCell" || cls == "CuDNNLSTM";
}
bool is_gru(const std::string& cls) {
  return cls == "GRU" || cls == "GRUCell" || cls == "CuDNNGRU";
}
bool is_simple(const std::string& cls) {
  return cls == "SimpleRNN" || cls == "SimpleRNNCell";
}

// One cell from the config of a layer (LSTM, ...) or cell (LSTMCell, ...), taking its weights
// from `pool`. `input_dim` is -1 when unknown.
RnnCell read_cell(const Config& cfg, const std::string& cls, WeightPool& pool, int64_t input_dim) {
  RnnCell c;
  const bool cudnn = cls == "CuDNNLSTM" || cls == "CuDNNGRU";
  const bool keras1 = cfg.ctx().dialect().major == 1;
  c.units = cfg.has("units") ? cfg.get_int("units", 0) : cfg.get_int("output_dim", 0);
  if (c.units <= 0) cfg.fail(ErrorCode::InvalidModel, "config 'units' is missing or not positive");
  const int64_t u = c.units;
  if (is_lstm(cls)) {
    c.kind = RnnCellKind::Lstm;
  } else if (is_gru(cls)) {
    c.kind = RnnCellKind::Gru;
  } else {
    c.kind = RnnCellKind::Simple;
  }
  const int64_t gates = ops::rnn_gate_count(c.kind), g = gates * u;
  if (cudnn) {
    // cuDNN computes with sigmoid gates and tanh, and always has biases.
    c.activation = cell_activation(cfg, "", "", "tanh");
    c.recurrent_activation = cell_activation(cfg, "", "", "sigmoid");
  } else {
    c.activation = cell_activation(cfg, "activation", "", "tanh");
    // Keras 1 and Keras 2.0-2.2 default to hard_sigmoid gates; every Keras 2 config stores the
    // key, so the fallback matters only for Keras 1 (inner_activation) files.
    c.recurrent_activation = cell_activation(cfg, "recurrent_activation", "inner_activation",
                                             keras1 ? "hard_sigmoid" : "sigmoid");
  }
  const bool use_bias = cudnn || keras1 || cfg.get_bool("use_bias", true);
  const Shape kshape = input_dim >= 0 ? Shape{input_dim, g} : Shape{};

  if (keras1 && !pool.has("kernel")) {
    // Keras 1: one array per gate (W_i, U_i, b_i, ...) or, with consume_less='gpu', fused W/U/b.
    std::vector<std::string> order;
    if (c.kind == RnnCellKind::Lstm) order = {"i", "f", "c", "o"};
    if (c.kind == RnnCellKind::Gru) order = {"z", "r", "h"};
    if (!order.empty() && pool.has("W_" + order[0])) {
      std::vector<Tensor> w, uu, b;
      // Stored order is W_i, U_i, b_i, W_c, ... (keras 1 LSTM.build): take by role.
      for (const std::string& gname : order) {
        w.push_back(pool.need("W_" + gname, input_dim >= 0 ? Shape{input_dim, u} : Shape{}, cfg));
        uu.push_back(pool.need("U_" + gname, {u, u}, cfg));
        b.push_back(pool.need("b_" + gname, {u}, cfg));
      }
      c.kernel = concat_last(w);
      c.recurrent_kernel = concat_last(uu);
      c.bias = concat_last(b);
      return c;
    }
    c.kernel = pool.need("W", kshape, cfg);
    c.recurrent_kernel = pool.need("U", {u, g}, cfg);
    if (auto b = pool.take("b", {g}, cfg)) c.bias = *b;
    return c;
  }

  c.kernel = pool.need("kernel", kshape, cfg);
  c.recurrent_kernel = pool.need("recurrent_kernel", {u, g}, cfg);
  if (cudnn) {
    c.kernel = cudnn_input_kernel(c.kernel, gates);
    c.recurrent_kernel = cudnn_recurrent_kernel(c.recurrent_kernel, gates);
    Tensor b = pool.need("bias", {2 * g}, cfg);
    if (c.kind == RnnCellKind::Lstm) {
      // The input and recurrent biases only ever appear summed.
      Tensor sum({g});
      for (int64_t j = 0; j < g; ++j) sum.mutable_data()[j] = b.data()[j] + b.data()[g + j];
      c.bias = sum;
    } else {
      c.reset_after = true;  // CuDNNGRU is GRU(reset_after=True) with a (2, 3u) bias
      c.bias = Tensor({g}, std::vector<float>(b.data(), b.data() + g));
      c.recurrent_bias = Tensor({g}, std::vector<float>(b.data() + g, b.data() + 2 * g));
    }
    return c;
  }
  if (c.kind == RnnCellKind::Gru) {
    // reset_after: absent before tf.keras's GRU v2 (then False); Keras 3 and tf.keras 2.x store
    // it. A (2, 3u) bias can only mean True.
    std::optional<Shape> bshape = pool.peek_shape("bias");
    c.reset_after = cfg.get_bool("reset_after", bshape && bshape->size() == 2);
  }
  if (use_bias) {
    if (c.kind == RnnCellKind::Gru && c.reset_after) {
      Tensor b = pool.need("bias", {2, g}, cfg);
      c.bias = Tensor({g}, std::vector<float>(b.data(), b.data() + g));
      c.recurrent_bias = Tensor({g}, std::vector<float>(b.data() + g, b.data() + 2 * g));
    } else {
      c.bias = pool.need("bias", {g}, cfg);
    }
  }
  return c;
}

// Options Bidirectional imposes on its inner layers.
struct Overrides {
  std::optional<bool> go_backwards;
  std::optional<bool> zero_output_for_mask;
};

struct RnnResult {
  std::vector<graph::ValueId> outputs;  // y, then states with return_state
  bool return_sequences = false;
  bool return_state = false;
};

// Binds one recurrent layer (LSTM, GRU, SimpleRNN, CuDNN*, RNN) from `cfg` on x.
RnnResult bind_rnn(LayerContext& ctx, const Config& cfg, const std::string& cls, WeightPool& pool,
                   graph::ValueId x, std::optional<graph::ValueId> mask,
                   const std::vector<graph::ValueId>& initial_states, const Overrides& ov,
                   std::string_view suffix) {
  if (cfg.get_bool("time_major", false)) {
    cfg.fail(ErrorCode::Unsupported, "time_major=True is not supported");
  }
  const Shape& xs = ctx.shape_of(x);
  if (xs.size() != 3) {
    cfg.fail(ErrorCode::InvalidModel,
             "expected a (batch, time, features) input, got " + shape_to_string(xs));
  }
  std::vector<RnnCell> cells;
  std::string kind = cls;
  if (cls == "RNN") {
    const Json* cell = cfg.get("cell");
    if (cell == nullptr) cfg.fail(ErrorCode::InvalidModel, "config 'cell' is missing");
    std::vector<const Json*> list;
    if (cell->is_array()) {
      for (const Json& c : cell->items()) list.push_back(&c);
    } else if (class_of(*cell) == "StackedRNNCells") {
      const Json* cs = config_of(*cell).find("cells");
      if (cs == nullptr || !cs->is_array()) {
        cfg.fail(ErrorCode::InvalidModel, "StackedRNNCells without a 'cells' list");
      }
      for (const Json& c : cs->items()) list.push_back(&c);
    } else {
      list.push_back(cell);
    }
    int64_t in = xs[2];
    for (const Json* c : list) {
      std::string ccls = class_of(*c);
      if (ccls != "LSTMCell" && ccls != "GRUCell" && ccls != "SimpleRNNCell") {
        cfg.fail(ErrorCode::Unsupported, "RNN cell class '" + ccls + "' is not supported");
      }
      Config ccfg(config_of(*c), ctx,
                  cfg.where().empty() ? "cell " + ccls : cfg.where() + ": cell " + ccls);
      cells.push_back(read_cell(ccfg, ccls, pool, in));
      in = cells.back().units;
    }
  } else {
    cells.push_back(read_cell(cfg, cls, pool, xs[2]));
    if (cls == "CuDNNLSTM") kind = "LSTM";
    if (cls == "CuDNNGRU") kind = "GRU";
  }
  if ((cls == "CuDNNLSTM" || cls == "CuDNNGRU") && mask) {
    cfg.fail(ErrorCode::Unsupported, cls + " does not support masking (Keras raises too)");
  }
  ops::RnnAttrs at;
  at.return_sequences = cfg.get_bool("return_sequences", false);
  at.return_state = cfg.get_bool("return_state", false);
  if (at.return_state && cells.size() > 1) {
    for (const RnnCell& c : cells) {
      if (c.kind == RnnCellKind::Lstm) {
        // Keras returns an LSTM cell's [h, c] inside a stack as one (2, batch, units) tensor.
        cfg.fail(ErrorCode::Unsupported,
                 "return_state of StackedRNNCells holding an LSTMCell (Keras returns its [h, c] "
                 "as one stacked (2, batch, units) output)");
      }
    }
  }
  at.go_backwards = ov.go_backwards.value_or(cfg.get_bool("go_backwards", false));
  at.zero_output_for_mask =
      ov.zero_output_for_mask.value_or(cfg.get_bool("zero_output_for_mask", false));
  at.has_mask = mask.has_value();
  // stateful=True: the final states of one predict call are the initial states of the next
  // (unless the call gives initial states), kept by the runtime per model.
  at.stateful = cfg.get_bool("stateful", false);
  std::vector<graph::ValueId> inputs{x};
  size_t states = 0;
  for (const RnnCell& c : cells) states += static_cast<size_t>(ops::rnn_state_count(c.kind));
  if (!initial_states.empty()) {
    if (initial_states.size() != states) {
      cfg.fail(ErrorCode::InvalidModel, "expected " + std::to_string(states) +
                                            " initial state(s), got " +
                                            std::to_string(initial_states.size()));
    }
    at.has_initial_states = true;
    inputs.insert(inputs.end(), initial_states.begin(), initial_states.end());
  }
  if (mask) inputs.push_back(*mask);
  auto op = std::make_shared<ops::RnnOp>(std::move(cells), at, kind);
  RnnResult r;
  r.outputs = ctx.add(std::move(op), std::move(inputs), suffix);
  r.return_sequences = at.return_sequences;
  r.return_state = at.return_state;
  return r;
}

// Keras masks an RNN's outputs: the sequence output keeps the input mask, everything else has
// none (RNN.compute_mask).
void set_rnn_masks(LayerContext& ctx, std::optional<graph::ValueId> mask, bool return_sequences,
                   size_t sequence_outputs) {
  if (mask && return_sequences) {
    for (size_t i = 0; i < sequence_outputs; ++i) ctx.set_output_mask(i, *mask);
  } else {
    ctx.drop_output_masks();
  }
}

// The tensors of one call: x, then initial states (tf-keras flattens them into the call's
// inputs; Keras 3 passes initial_state= by keyword) and an explicit mask= (Keras 3 writes the
// mask computation as op layers and passes it by keyword). An explicit mask wins over the mask
// carried with x, as in Keras.
struct CallInputs {
  graph::ValueId x = -1;
  std::optional<graph::ValueId> mask;      // the mask the layer computes with
  std::optional<graph::ValueId> out_mask;  // what its sequence outputs carry (previous_mask)
  std::vector<graph::ValueId> states;
};

CallInputs call_inputs(LayerContext& ctx) {
  CallInputs c;
  c.x = ctx.input(0);
  c.mask = ctx.input_mask(0);
  bool explicit_mask = false;
  std::vector<std::string> names = ctx.input_names();
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    const std::string name = i < names.size() ? names[i] : "";
    if (name == "mask") {
      c.mask = ctx.input(i);
      explicit_mask = true;
    } else if (name.empty() || name == "initial_state") {
      c.states.push_back(ctx.input(i));
    } else {
      ctx.fail(ErrorCode::Unsupported, "call argument '" + name + "' is not supported");
    }
  }
  c.out_mask = c.mask;
  // Keras 3 fills a call's mask= from its input only when the call has one tensor argument
  // (Layer.__call__ step 6): given initial states, the layer runs unmasked, while its outputs
  // still carry x's mask. tf-keras folds the states into the inputs and takes x's mask.
  if (ctx.dialect().major >= 3 && !explicit_mask && !c.states.empty()) c.mask.reset();
  return c;
}

void bind_recurrent(LayerContext& ctx) {
  ctx.expect_inputs(1, 64);
  Config cfg(ctx.config(), ctx, "");
  WeightPool pool(ctx, 0, ctx.stored_weights().size());
  CallInputs in = call_inputs(ctx);
  RnnResult r = bind_rnn(ctx, cfg, ctx.class_name(), pool, in.x, in.mask, in.states, {}, "");
  set_rnn_masks(ctx, in.out_mask, r.return_sequences, 1);
  ctx.set_outputs(r.outputs);
}

bool is_rnn_class(const std::string& cls) {
  return is_lstm(cls) || is_gru(cls) || is_simple(cls) || cls == "RNN";
}

void bind_bidirectional(LayerContext& ctx) {
  ctx.expect_inputs(1, 64);
  const Json* layer = ctx.get("layer");
  if (layer == nullptr || !layer->is_object()) {
    ctx.fail(ErrorCode::InvalidModel, "config 'layer' is missing");
  }
  const std::string cls = class_of(*layer);
  if (!is_rnn_class(cls) || cls == "LSTMCell" || cls == "GRUCell" || cls == "SimpleRNNCell") {
    ctx.fail(ErrorCode::Unsupported, "Bidirectional around '" + cls +
                                         "' (supported: LSTM, GRU, SimpleRNN, RNN, CuDNNLSTM, "
                                         "CuDNNGRU)");
  }
  const Json* backward = ctx.get("backward_layer");
  if (backward != nullptr && !backward->is_object()) backward = nullptr;
  const std::string bcls = backward ? class_of(*backward) : cls;
  if (backward && !is_rnn_class(bcls)) {
    ctx.fail(ErrorCode::Unsupported, "Bidirectional backward layer '" + bcls + "'");
  }
  // merge_mode: absent = "concat"; null = None (two outputs).
  const Json* mm = ctx.get("merge_mode");
  std::string merge = mm == nullptr ? "concat" : mm->is_null() ? "none" : "";
  if (merge.empty()) {
    if (!mm->is_string()) ctx.fail(ErrorCode::InvalidModel, "config 'merge_mode': " + mm->dump());
    merge = mm->as_string();
  }
  if (merge != "concat" && merge != "sum" && merge != "ave" && merge != "mul" && merge != "none") {
    ctx.fail(ErrorCode::Unsupported, "merge_mode '" + merge + "'");
  }

  Config fcfg(config_of(*layer), ctx, "forward layer");
  Config bcfg(backward ? config_of(*backward) : config_of(*layer), ctx, "backward layer");
  // Legacy .h5: Bidirectional.get_weights() order, the forward layer's weights then the backward
  // layer's. A .keras file lists its groups alphabetically (backward_layer first), so a weight
  // whose path names a forward_/backward_ component goes to that side.
  const auto weights = ctx.stored_weights();
  std::vector<size_t> fwd, bwd;
  auto side = [](const std::string& name) {
    size_t start = 0;
    while (start < name.size()) {
      size_t end = name.find('/', start);
      if (end == std::string::npos) end = name.size();
      std::string part = name.substr(start, end - start);
      if (part.rfind("forward_", 0) == 0) return 1;
      if (part.rfind("backward_", 0) == 0) return 2;
      start = end + 1;
    }
    return 0;
  };
  bool named = true;
  for (const StoredWeight& w : weights) {
    int sd = side(w.name);
    named &= sd != 0;
  }
  for (size_t i = 0; i < weights.size(); ++i) {
    bool forward = named ? side(weights[i].name) == 1 : i < weights.size() / 2;
    (forward ? fwd : bwd).push_back(i);
  }
  WeightPool fpool(ctx, fwd);
  WeightPool bpool(ctx, bwd);
  CallInputs in = call_inputs(ctx);
  std::vector<graph::ValueId> fstates, bstates;
  const size_t given = in.states.size();
  if (given % 2 != 0) {
    ctx.fail(ErrorCode::InvalidModel,
             "expected an even number of initial states, got " + std::to_string(given));
  }
  for (size_t i = 0; i < given; ++i) {
    (i < given / 2 ? fstates : bstates).push_back(in.states[i]);
  }
  std::optional<graph::ValueId> mask = in.mask;
  const bool return_sequences = fcfg.get_bool("return_sequences", false);
  Overrides fo, bo;
  fo.zero_output_for_mask = return_sequences;
  bo.zero_output_for_mask = return_sequences;
  // Without an explicit backward layer Keras copies the layer with go_backwards flipped
  // (tf-keras: not go_backwards; Keras 3: True, which is the same for valid configs).
  if (!backward) bo.go_backwards = !fcfg.get_bool("go_backwards", false);
  RnnResult f = bind_rnn(ctx, fcfg, cls, fpool, in.x, mask, fstates, fo, "forward");
  RnnResult b = bind_rnn(ctx, bcfg, bcls, bpool, in.x, mask, bstates, bo, "backward");
  if (b.return_sequences != f.return_sequences || b.return_state != f.return_state) {
    ctx.fail(ErrorCode::InvalidModel,
             "forward and backward layers differ in return_sequences or return_state");
  }
  graph::ValueId y = f.outputs[0];
  graph::ValueId y_rev = b.outputs[0];
  if (return_sequences) {
    y_rev = ctx.add(std::make_shared<ops::ReverseTimeOp>(), {y_rev}, "reverse").at(0);
  }
  std::vector<graph::ValueId> outputs;
  if (merge == "concat") {
    outputs.push_back(ctx.add(std::make_shared<ops::ConcatOp>(-1), {y, y_rev}, "merge").at(0));
  } else if (merge == "sum") {
    outputs.push_back(
        ctx.add(std::make_shared<ops::MergeOp>(ops::MergeMode::Add), {y, y_rev}, "merge").at(0));
  } else if (merge == "ave") {
    outputs.push_back(
        ctx.add(std::make_shared<ops::MergeOp>(ops::MergeMode::Average), {y, y_rev}, "merge")
            .at(0));
  } else if (merge == "mul") {
    outputs.push_back(
        ctx.add(std::make_shared<ops::MergeOp>(ops::MergeMode::Multiply), {y, y_rev}, "merge")
            .at(0));
  } else {
    outputs.push_back(y);
    outputs.push_back(y_rev);
  }
  const size_t sequence_outputs = outputs.size();
  if (f.return_state) {
    outputs.insert(outputs.end(), f.outputs.begin() + 1, f.outputs.end());
    outputs.insert(outputs.end(), b.outputs.begin() + 1, b.outputs.end());
  }
  set_rnn_masks(ctx, in.out_mask, return_sequences, sequence_outputs);
  ctx.set_outputs(outputs);
}

void bind_time_distributed(LayerContext& ctx) {
  ctx.expect_inputs(1, ctx.keyword_input("mask") ? 2 : 1);
  const Json* layer = ctx.get("layer");
  if (layer == nullptr || !layer->is_object()) {
    ctx.fail(ErrorCode::InvalidModel, "config 'layer' is missing");
  }
  std::vector<StoredWeight> weights(ctx.stored_weights().begin(), ctx.stored_weights().end());
  for (size_t i = 0; i < weights.size(); ++i) ctx.mark_weight_used(i);
  graph::ValueId x = ctx.input(0);
  if (ctx.input_shape(0).size() < 3) {
    ctx.fail(ErrorCode::InvalidModel,
             "expected an input of rank >= 3, got " + shape_to_string(ctx.input_shape(0)));
  }
  graph::ValueId folded = ctx.add(std::make_shared<ops::FoldTimeOp>(), {x}, "fold").at(0);
  // The inner layer sees each step's mask (Keras 3 passes mask[:, i], tf-keras the folded mask,
  // to an inner call that takes one). Only a mask beyond (batch, time) has one per step (Masking
  // on a rank-4 input); a (batch, time) mask would reach it as one value per sample.
  const std::optional<graph::ValueId> mask = ctx.call_mask();
  if (mask && ctx.shape_of(*mask).size() >= 3) {
    ctx.attach_mask(folded,
                    ctx.add(std::make_shared<ops::FoldTimeOp>(), {*mask}, "fold_mask").at(0));
  }
  std::vector<graph::ValueId> inner = ctx.bind_inner(*layer, {folded}, std::move(weights));
  if (inner.size() != 1) {
    ctx.fail(ErrorCode::Unsupported,
             "TimeDistributed around a layer with " + std::to_string(inner.size()) + " outputs");
  }
  graph::ValueId y = ctx.add(std::make_shared<ops::UnfoldTimeOp>(), {inner[0], x}, "unfold").at(0);
  // The output's mask. Keras 3 (default compute_mask): the input's. tf-keras
  // (TimeDistributed.compute_mask): the inner layer's output mask unfolded (Masking or
  // Embedding(mask_zero) inside make one), else the input's reduced with any() to (batch, time).
  std::optional<graph::ValueId> out_mask = mask;
  if (ctx.dialect().major < 3) {
    if (std::optional<graph::ValueId> im = ctx.mask_of(inner[0])) {
      out_mask = ctx.add(std::make_shared<ops::UnfoldTimeOp>(), {*im, x}, "unfold_mask").at(0);
    } else if (mask) {
      for (size_t r = ctx.shape_of(*mask).size(); r > 2; --r) {
        out_mask = ctx.add(std::make_shared<ops::ReduceBoolOp>(false, -1, false), {*out_mask},
                           "mask_any" + std::to_string(r))
                       .at(0);
      }
    }
  }
  if (out_mask) {
    ctx.set_output_mask(0, *out_mask);
  } else {
    ctx.drop_output_masks();
  }
  ctx.set_outputs({y});
}

void bind_masking(LayerContext& ctx) {
  ctx.expect_inputs(1, 1);
  const float value = static_cast<float>(ctx.get_float("mask_value", 0.0));
  std::vector<graph::ValueId> out =
      ctx.add(std::make_shared<ops::MaskingOp>(value), {ctx.input(0)});
  ctx.set_output_mask(0, out[1]);
  ctx.set_outputs({out[0]});
}

constexpr LayerEntry kRecurrentLayers[] = {
    {"LSTM", bind_recurrent, MaskRule::kBinder},
    {"GRU", bind_recurrent, MaskRule::kBinder},
    {"SimpleRNN", bind_recurrent, MaskRule::kBinder},
    {"CuDNNLSTM", bind_recurrent, MaskRule::kBinder},
    {"CuDNNGRU", bind_recurrent, MaskRule::kBinder},
    {"RNN", bind_recurrent, MaskRule::kBinder},
    {"Bidirectional", bind_bidirectional, MaskRule::kBinder},
    {"TimeDistributed", bind_time_distributed, MaskRule::kBinder},
    {"Masking", bind_masking, MaskRule::kBinder},
};

}  // namespace

std::span<const LayerEntry> recurrent_layers() {
  return kRecurrentLayers;
}

}  // namespace kerasrt::keras
