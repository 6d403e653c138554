#include "ops/recurrent.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kerasrt/error.h"

namespace kerasrt::ops {

int rnn_gate_count(RnnCellKind kind) {
  switch (kind) {
    case RnnCellKind::Lstm:
      return 4;
    case RnnCellKind::Gru:
      return 3;
    case RnnCellKind::Simple:
      return 1;
  }
  return 1;
}

int rnn_state_count(RnnCellKind kind) {
  return kind == RnnCellKind::Lstm ? 2 : 1;
}

namespace {

std::string cell_what(size_t k) {
  return "RNN cell " + std::to_string(k);
}

void check_cell(const RnnCell& c, size_t k) {
  const int64_t g = rnn_gate_count(c.kind) * c.units;
  if (c.units <= 0) throw Error(ErrorCode::InvalidModel, cell_what(k) + ": units must be > 0");
  const Shape& ks = c.kernel.shape();
  if (ks.size() != 2 || ks[1] != g) {
    throw Error(ErrorCode::InvalidModel, cell_what(k) + ": kernel: expected (in, " +
                                             std::to_string(g) + "), got " + shape_to_string(ks));
  }
  if (c.recurrent_kernel.shape() != Shape{c.units, g}) {
    throw Error(ErrorCode::InvalidModel, cell_what(k) + ": recurrent kernel: expected " +
                                             shape_to_string({c.units, g}) + ", got " +
                                             shape_to_string(c.recurrent_kernel.shape()));
  }
  for (const Tensor* b : {&c.bias, &c.recurrent_bias}) {
    if (!b->empty() && b->numel() != g) {
      throw Error(ErrorCode::InvalidModel, cell_what(k) + ": bias: expected " + std::to_string(g) +
                                               " values, got " + shape_to_string(b->shape()));
    }
  }
  if (!c.recurrent_bias.empty() && !(c.kind == RnnCellKind::Gru && c.reset_after)) {
    throw Error(ErrorCode::InvalidModel,
                cell_what(k) + ": a recurrent bias exists only for GRU with reset_after");
  }
}

// C (m x n, ldc) = A (m x k, lda) * B (k x n, ldb) [+ C when accumulate], row-major.
void gemm(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
          float* c, int64_t ldc, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate) {
      for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    }
    return;
  }
  dnnl_status_t st =
      dnnl_sgemm('N', 'N', m, n, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
  if (st != dnnl_success) throw Error(ErrorCode::Internal, "dnnl_sgemm failed");
}

// Offsets (in floats) of one cell's buffers in the scratch region.
struct CellScratch {
  size_t state = 0;      // S * batch * units: the states carried between steps
  size_t new_state = 0;  // S * batch * units: this step's candidate states
  size_t gates = 0;      // batch * G * units: pre-activations
  size_t input = 0;      // batch * G * units: x W for cells after the first
  size_t rh = 0;         // batch * units: r * h (GRU without reset_after)
};

class RnnKernel final : public Kernel {
 public:
  RnnKernel(const RnnOp& op, int64_t batch, int64_t time, int64_t features)
      : cells_(op.cells()), attrs_(op.attrs()), batch_(batch), time_(time), features_(features) {
    size_t off = 0;
    auto take = [&](int64_t n) {
      size_t at = off;
      off += static_cast<size_t>((n + 15) / 16 * 16);  // keep each buffer 64-byte aligned
      return at;
    };
    const auto& cells = cells_;
    const RnnCell& first = cells.front();
    xw_ = take(batch_ * time_ * rnn_gate_count(first.kind) * first.units);
    for (size_t k = 0; k < cells.size(); ++k) {
      const RnnCell& c = cells[k];
      const int64_t g = rnn_gate_count(c.kind) * c.units;
      const int64_t s = rnn_state_count(c.kind) * batch_ * c.units;
      CellScratch cs;
      cs.state = take(s);
      cs.new_state = take(s);
      cs.gates = take(batch_ * g);
      if (k > 0) cs.input = take(batch_ * g);
      if (c.kind == RnnCellKind::Gru && !c.reset_after) cs.rh = take(batch_ * c.units);
      scratch_.push_back(cs);
    }
    prev_out_ = take(batch_ * cells.back().units);
    floats_ = off;
    if (attrs_.stateful) {
      for (const RnnCell& c : cells) {
        state_floats_ += static_cast<size_t>(rnn_state_count(c.kind) * batch_ * c.units);
      }
    }
  }

  size_t scratch_bytes() const override { return floats_ * sizeof(float); }
  size_t state_bytes() const override { return state_floats_ * sizeof(float); }

  void run(const RunContext& ctx, std::span<const float* const> inputs,
           std::span<float* const> outputs) const override {
    float* scratch = reinterpret_cast<float*>(ctx.scratch);
    const auto& cells = cells_;
    const RnnAttrs& at = attrs_;
    const float* x = inputs[0];
    const float* mask = at.has_mask ? inputs[inputs.size() - 1] : nullptr;
    const int64_t B = batch_, T = time_;
    const int64_t u_last = cells.back().units;

    // Initial states: given as inputs, else carried from the last call (stateful), else zero.
    size_t in_index = 1;
    float* carried = at.stateful ? reinterpret_cast<float*>(ctx.state) : nullptr;
    for (size_t k = 0; k < cells.size(); ++k) {
      const RnnCell& c = cells[k];
      const int64_t n = batch_ * c.units;
      float* st = scratch + scratch_[k].state;
      for (int s = 0; s < rnn_state_count(c.kind); ++s) {
        if (at.has_initial_states) {
          std::memcpy(st + s * n, inputs[in_index++], static_cast<size_t>(n) * sizeof(float));
        } else if (carried != nullptr) {
          std::memcpy(st + s * n, carried, static_cast<size_t>(n) * sizeof(float));
        } else {
          std::fill(st + s * n, st + (s + 1) * n, 0.0f);
        }
        if (carried != nullptr) carried += n;
      }
    }
    float* prev_out = scratch + prev_out_;
    std::fill(prev_out, prev_out + B * u_last, 0.0f);

    // x W for every step of the first cell at once: row b*T + t.
    const RnnCell& first = cells.front();
    const int64_t g0 = rnn_gate_count(first.kind) * first.units;
    float* xw = scratch + xw_;
    gemm(B * T, g0, features_, x, features_, first.kernel.data(), g0, xw, g0, false);

    float* y = outputs[0];
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = at.go_backwards ? T - 1 - s : s;
      const float* cell_in = nullptr;  // the previous cell's new h (cells after the first)
      int64_t cell_in_dim = 0;
      for (size_t k = 0; k < cells.size(); ++k) {
        const float* gx;
        int64_t ldx;
        const RnnCell& c = cells[k];
        const int64_t g = rnn_gate_count(c.kind) * c.units;
        if (k == 0) {
          gx = xw + t * g0;
          ldx = T * g0;
        } else {
          float* in = scratch + scratch_[k].input;
          gemm(B, g, cell_in_dim, cell_in, cell_in_dim, c.kernel.data(), g, in, g, false);
          gx = in;
          ldx = g;
        }
        step(c, scratch_[k], scratch, gx, ldx);
        cell_in = scratch + scratch_[k].new_state;  // h comes first
        cell_in_dim = c.units;
      }
      // Masking: commit new states (or keep old ones) and produce this step's output.
      for (int64_t b = 0; b < B; ++b) {
        const bool keep = mask == nullptr || mask[b * T + t] != 0.0f;
        if (keep) {
          for (size_t k = 0; k < cells.size(); ++k) {
            const RnnCell& c = cells[k];
            const int64_t n = B * c.units;
            float* st = scratch + scratch_[k].state;
            const float* nst = scratch + scratch_[k].new_state;
            for (int q = 0; q < rnn_state_count(c.kind); ++q) {
              std::memcpy(st + q * n + b * c.units, nst + q * n + b * c.units,
                          static_cast<size_t>(c.units) * sizeof(float));
            }
          }
          std::memcpy(prev_out + b * u_last, scratch + scratch_.back().new_state + b * u_last,
                      static_cast<size_t>(u_last) * sizeof(float));
        } else if (at.zero_output_for_mask) {
          std::fill(prev_out + b * u_last, prev_out + (b + 1) * u_last, 0.0f);
        }
        if (at.return_sequences) {
          std::memcpy(y + (b * T + s) * u_last, prev_out + b * u_last,
                      static_cast<size_t>(u_last) * sizeof(float));
        }
      }
    }
    if (!at.return_sequences) {
      std::memcpy(y, prev_out, static_cast<size_t>(B * u_last) * sizeof(float));
    }
    if (at.stateful) {
      float* keep = reinterpret_cast<float*>(ctx.state);
      for (size_t k = 0; k < cells.size(); ++k) {
        const size_t n = static_cast<size_t>(rnn_state_count(cells[k].kind) * B * cells[k].units);
        std::memcpy(keep, scratch + scratch_[k].state, n * sizeof(float));
        keep += n;
      }
    }
    if (at.return_state) {
      size_t out_index = 1;
      for (size_t k = 0; k < cells.size(); ++k) {
        const RnnCell& c = cells[k];
        const int64_t n = B * c.units;
        const float* st = scratch + scratch_[k].state;
        for (int q = 0; q < rnn_state_count(c.kind); ++q) {
          std::memcpy(outputs[out_index++], st + q * n, static_cast<size_t>(n) * sizeof(float));
        }
      }
    }
  }

 private:
  // One cell step for the whole batch: reads `state`, writes `new_state`.
  void step(const RnnCell& c, const CellScratch& cs, float* scratch, const float* gx,
            int64_t ldx) const {
    const int64_t B = batch_, u = c.units, g = rnn_gate_count(c.kind) * u;
    const float* h = scratch + cs.state;
    float* nh = scratch + cs.new_state;
    float* z = scratch + cs.gates;
    const float* U = c.recurrent_kernel.data();
    const float* bias = c.bias.empty() ? nullptr : c.bias.data();
    switch (c.kind) {
      case RnnCellKind::Lstm: {
        const float* cst = h + B * u;
        float* nc = nh + B * u;
        gemm(B, g, u, h, u, U, g, z, g, false);
        for (int64_t b = 0; b < B; ++b) {
          float* zb = z + b * g;
          const float* xb = gx + b * ldx;
          for (int64_t j = 0; j < g; ++j) zb[j] += xb[j] + (bias ? bias[j] : 0.0f);
          activate_in_place(c.recurrent_activation, zb, 2 * u);      // i, f
          activate_in_place(c.activation, zb + 2 * u, u);            // c~
          activate_in_place(c.recurrent_activation, zb + 3 * u, u);  // o
          float* ncb = nc + b * u;
          float* nhb = nh + b * u;
          const float* cb = cst + b * u;
          for (int64_t j = 0; j < u; ++j) ncb[j] = zb[u + j] * cb[j] + zb[j] * zb[2 * u + j];
          std::memcpy(nhb, ncb, static_cast<size_t>(u) * sizeof(float));
          activate_in_place(c.activation, nhb, u);
          for (int64_t j = 0; j < u; ++j) nhb[j] *= zb[3 * u + j];
        }
        return;
      }
      case RnnCellKind::Gru: {
        if (c.reset_after) {
          const float* rb = c.recurrent_bias.empty() ? nullptr : c.recurrent_bias.data();
          gemm(B, g, u, h, u, U, g, z, g, false);
          for (int64_t b = 0; b < B; ++b) {
            float* zb = z + b * g;
            const float* xb = gx + b * ldx;
            const float* hb = h + b * u;
            if (rb) {
              for (int64_t j = 0; j < g; ++j) zb[j] += rb[j];
            }
            // z and r: x part + recurrent part.
            for (int64_t j = 0; j < 2 * u; ++j) zb[j] += xb[j] + (bias ? bias[j] : 0.0f);
            activate_in_place(c.recurrent_activation, zb, 2 * u);
            float* nhb = nh + b * u;
            for (int64_t j = 0; j < u; ++j) {
              nhb[j] = xb[2 * u + j] + (bias ? bias[2 * u + j] : 0.0f) + zb[u + j] * zb[2 * u + j];
            }
            activate_in_place(c.activation, nhb, u);
            for (int64_t j = 0; j < u; ++j) nhb[j] = zb[j] * hb[j] + (1.0f - zb[j]) * nhb[j];
          }
        } else {
          float* rh = scratch + cs.rh;
          gemm(B, 2 * u, u, h, u, U, g, z, g, false);
          for (int64_t b = 0; b < B; ++b) {
            float* zb = z + b * g;
            const float* xb = gx + b * ldx;
            for (int64_t j = 0; j < 2 * u; ++j) zb[j] += xb[j] + (bias ? bias[j] : 0.0f);
            activate_in_place(c.recurrent_activation, zb, 2 * u);
            for (int64_t j = 0; j < u; ++j) rh[b * u + j] = zb[u + j] * h[b * u + j];
          }
          gemm(B, u, u, rh, u, U + 2 * u, g, z + 2 * u, g, false);
          for (int64_t b = 0; b < B; ++b) {
            float* zb = z + b * g;
            const float* xb = gx + b * ldx;
            const float* hb = h + b * u;
            float* nhb = nh + b * u;
            for (int64_t j = 0; j < u; ++j) {
              nhb[j] = xb[2 * u + j] + (bias ? bias[2 * u + j] : 0.0f) + zb[2 * u + j];
            }
            activate_in_place(c.activation, nhb, u);
            for (int64_t j = 0; j < u; ++j) nhb[j] = zb[j] * hb[j] + (1.0f - zb[j]) * nhb[j];
          }
        }
        return;
      }
      case RnnCellKind::Simple: {
        gemm(B, u, u, h, u, U, u, nh, u, false);
        for (int64_t b = 0; b < B; ++b) {
          float* nhb = nh + b * u;
          const float* xb = gx + b * ldx;
          for (int64_t j = 0; j < u; ++j) nhb[j] += xb[j] + (bias ? bias[j] : 0.0f);
          activate_in_place(c.activation, nhb, u);
        }
        return;
      }
    }
  }

  std::vector<RnnCell> cells_;  // shares the op's weight storage
  RnnAttrs attrs_;
  int64_t batch_, time_, features_;
  size_t xw_ = 0, prev_out_ = 0, floats_ = 0;
  size_t state_floats_ = 0;  // stateful: every cell's states, in initial-state order
  std::vector<CellScratch> scratch_;
};

}  // namespace

RnnOp::RnnOp(std::vector<RnnCell> cells, RnnAttrs attrs, std::string kind)
    : cells_(std::move(cells)), attrs_(attrs), kind_(std::move(kind)) {
  if (cells_.empty()) throw Error(ErrorCode::InvalidModel, kind_ + ": no cells");
  for (size_t k = 0; k < cells_.size(); ++k) {
    check_cell(cells_[k], k);
    if (k > 0 && cells_[k].kernel.shape()[0] != cells_[k - 1].units) {
      throw Error(ErrorCode::InvalidModel,
                  cell_what(k) + ": kernel expects " + std::to_string(cells_[k].kernel.shape()[0]) +
                      " inputs, the cell before gives " + std::to_string(cells_[k - 1].units));
    }
  }
}

size_t RnnOp::state_count() const {
  size_t n = 0;
  for (const RnnCell& c : cells_) n += static_cast<size_t>(rnn_state_count(c.kind));
  return n;
}

std::vector<Shape> RnnOp::infer_shapes(std::span<const Shape> inputs) const {
  const size_t states = state_count();
  const size_t want = 1 + (attrs_.has_initial_states ? states : 0) + (attrs_.has_mask ? 1 : 0);
  if (inputs.size() != want) {
    throw Error(ErrorCode::InvalidModel, kind_ + ": expected " + std::to_string(want) +
                                             " inputs, got " + std::to_string(inputs.size()));
  }
  const Shape& x = inputs[0];
  if (x.size() != 3) {
    throw Error(ErrorCode::InvalidModel,
                kind_ + ": expected a (batch, time, features) input, got " + shape_to_string(x));
  }
  const int64_t in = cells_.front().kernel.shape()[0];
  if (x[2] >= 0 && x[2] != in) {
    throw Error(ErrorCode::InvalidModel, kind_ + ": the kernel expects " + std::to_string(in) +
                                             " features, the input " + shape_to_string(x) +
                                             " has " + std::to_string(x[2]));
  }
  auto dims_agree = [](int64_t a, int64_t b) { return a < 0 || b < 0 || a == b; };
  std::vector<Shape> state_shapes;
  for (const RnnCell& c : cells_) {
    for (int q = 0; q < rnn_state_count(c.kind); ++q) state_shapes.push_back({x[0], c.units});
  }
  if (attrs_.has_initial_states) {
    for (size_t i = 0; i < states; ++i) {
      const Shape& s = inputs[1 + i];
      if (s.size() != 2 || !dims_agree(s[0], x[0]) || !dims_agree(s[1], state_shapes[i][1])) {
        throw Error(ErrorCode::InvalidModel, kind_ + ": initial state " + std::to_string(i) +
                                                 ": expected " + shape_to_string(state_shapes[i]) +
                                                 ", got " + shape_to_string(s));
      }
    }
  }
  if (attrs_.has_mask) {
    const Shape& m = inputs.back();
    if (m.size() != 2 || !dims_agree(m[0], x[0]) || !dims_agree(m[1], x[1])) {
      throw Error(ErrorCode::InvalidModel, kind_ + ": mask: expected (batch, time) of input " +
                                               shape_to_string(x) + ", got " + shape_to_string(m));
    }
  }
  const int64_t u = cells_.back().units;
  std::vector<Shape> out;
  out.push_back(attrs_.return_sequences ? Shape{x[0], x[1], u} : Shape{x[0], u});
  if (attrs_.return_state) out.insert(out.end(), state_shapes.begin(), state_shapes.end());
  return out;
}

std::unique_ptr<Kernel> RnnOp::prepare(std::span<const Shape> inputs, std::span<const Shape>,
                                       const PrepareContext&) const {
  infer_shapes(inputs);
  const Shape& x = inputs[0];
  return std::make_unique<RnnKernel>(*this, x[0], x[1], x[2]);
}

namespace reference {

namespace {

double act(const std::optional<UnaryAttrs>& a, double v) {
  return a ? static_cast<double>(unary(*a, static_cast<float>(v))) : v;
}

}  // namespace

void rnn(const std::vector<RnnCell>& cells, const RnnAttrs& attrs, std::span<const Shape> shapes,
         std::span<const std::span<const float>> inputs,
         std::span<const std::span<float>> outputs) {
  const Shape& xs = shapes[0];
  const int64_t B = xs[0], T = xs[1], F = xs[2];
  const std::span<const float> x = inputs[0];
  const float* mask = attrs.has_mask ? inputs[inputs.size() - 1].data() : nullptr;
  const int64_t U_last = cells.back().units;
  for (int64_t b = 0; b < B; ++b) {
    // states[k][q][j]
    std::vector<std::vector<std::vector<double>>> states(cells.size());
    size_t in_index = 1;
    for (size_t k = 0; k < cells.size(); ++k) {
      for (int q = 0; q < rnn_state_count(cells[k].kind); ++q) {
        std::vector<double> s(static_cast<size_t>(cells[k].units), 0.0);
        if (attrs.has_initial_states) {
          for (int64_t j = 0; j < cells[k].units; ++j) {
            s[static_cast<size_t>(j)] =
                inputs[in_index][static_cast<size_t>(b * cells[k].units + j)];
          }
          ++in_index;
        }
        states[k].push_back(std::move(s));
      }
    }
    std::vector<double> prev(static_cast<size_t>(U_last), 0.0);
    for (int64_t s = 0; s < T; ++s) {
      const int64_t t = attrs.go_backwards ? T - 1 - s : s;
      std::vector<double> in(static_cast<size_t>(F));
      for (int64_t f = 0; f < F; ++f)
        in[static_cast<size_t>(f)] = x[static_cast<size_t>((b * T + t) * F + f)];
      auto new_states = states;
      for (size_t k = 0; k < cells.size(); ++k) {
        const RnnCell& c = cells[k];
        const int64_t u = c.units, g = rnn_gate_count(c.kind) * u, n_in = c.kernel.shape()[0];
        const float* W = c.kernel.data();
        const float* Uk = c.recurrent_kernel.data();
        auto bias = [&](int64_t j) { return c.bias.empty() ? 0.0 : double(c.bias.data()[j]); };
        auto rbias = [&](int64_t j) {
          return c.recurrent_bias.empty() ? 0.0 : double(c.recurrent_bias.data()[j]);
        };
        const std::vector<double>& h = states[k][0];
        auto xw = [&](int64_t j) {
          double acc = 0;
          for (int64_t i = 0; i < n_in; ++i) acc += in[static_cast<size_t>(i)] * W[i * g + j];
          return acc;
        };
        auto hu = [&](const std::vector<double>& v, int64_t j) {
          double acc = 0;
          for (int64_t i = 0; i < u; ++i) acc += v[static_cast<size_t>(i)] * Uk[i * g + j];
          return acc;
        };
        std::vector<double> nh(static_cast<size_t>(u));
        if (c.kind == RnnCellKind::Lstm) {
          std::vector<double> nc(static_cast<size_t>(u));
          for (int64_t j = 0; j < u; ++j) {
            double zi = xw(j) + hu(h, j) + bias(j);
            double zf = xw(u + j) + hu(h, u + j) + bias(u + j);
            double zc = xw(2 * u + j) + hu(h, 2 * u + j) + bias(2 * u + j);
            double zo = xw(3 * u + j) + hu(h, 3 * u + j) + bias(3 * u + j);
            double cn = act(c.recurrent_activation, zf) * states[k][1][static_cast<size_t>(j)] +
                        act(c.recurrent_activation, zi) * act(c.activation, zc);
            nc[static_cast<size_t>(j)] = cn;
            nh[static_cast<size_t>(j)] = act(c.recurrent_activation, zo) * act(c.activation, cn);
          }
          new_states[k][1] = nc;
        } else if (c.kind == RnnCellKind::Gru) {
          std::vector<double> z(static_cast<size_t>(u)), r(static_cast<size_t>(u));
          for (int64_t j = 0; j < u; ++j) {
            z[static_cast<size_t>(j)] =
                act(c.recurrent_activation, xw(j) + bias(j) + hu(h, j) + rbias(j));
            r[static_cast<size_t>(j)] =
                act(c.recurrent_activation, xw(u + j) + bias(u + j) + hu(h, u + j) + rbias(u + j));
          }
          std::vector<double> rh(static_cast<size_t>(u));
          for (int64_t j = 0; j < u; ++j)
            rh[static_cast<size_t>(j)] = r[static_cast<size_t>(j)] * h[static_cast<size_t>(j)];
          for (int64_t j = 0; j < u; ++j) {
            double rec = c.reset_after
                             ? r[static_cast<size_t>(j)] * (hu(h, 2 * u + j) + rbias(2 * u + j))
                             : hu(rh, 2 * u + j);
            double hh = act(c.activation, xw(2 * u + j) + bias(2 * u + j) + rec);
            double zj = z[static_cast<size_t>(j)];
            nh[static_cast<size_t>(j)] = zj * h[static_cast<size_t>(j)] + (1 - zj) * hh;
          }
        } else {
          for (int64_t j = 0; j < u; ++j) {
            nh[static_cast<size_t>(j)] = act(c.activation, xw(j) + bias(j) + hu(h, j));
          }
        }
        new_states[k][0] = nh;
        in = nh;
      }
      const bool keep = mask == nullptr || mask[b * T + t] != 0.0f;
      if (keep) {
        states = new_states;
        prev = states.back()[0];
      } else if (attrs.zero_output_for_mask) {
        std::fill(prev.begin(), prev.end(), 0.0);
      }
      if (attrs.return_sequences) {
        for (int64_t j = 0; j < U_last; ++j) {
          outputs[0][static_cast<size_t>((b * T + s) * U_last + j)] =
              static_cast<float>(prev[static_cast<size_t>(j)]);
        }
      }
    }
    if (!attrs.return_sequences) {
      for (int64_t j = 0; j < U_last; ++j) {
        outputs[0][static_cast<size_t>(b * U_last + j)] =
            static_cast<float>(prev[static_cast<size_t>(j)]);
      }
    }
    if (attrs.return_state) {
      size_t out_index = 1;
      for (size_t k = 0; k < cells.size(); ++k) {
        for (const std::vector<double>& st : states[k]) {
          const int64_t u = cells[k].units;
          for (int64_t j = 0; j < u; ++j) {
            outputs[out_index][static_cast<size_t>(b * u + j)] =
                static_cast<float>(st[static_cast<size_t>(j)]);
          }
          ++out_index;
        }
      }
    }
  }
}

}  // namespace reference

}  // namespace kerasrt::ops
