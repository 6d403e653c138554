// Recurrent layers: LSTM, GRU (reset_after true and false), SimpleRNN and stacks of their cells
// (Keras RNN(StackedRNNCells)), with masks, go_backwards, initial states, return_sequences and
// return_state, as Keras's TensorFlow backends compute them (keras-format.md §4.9, §4.10).
//
// Semantics (keras/src/backend/tensorflow/rnn.py and tf_keras backend.rnn, identical here):
//   * go_backwards reverses the input and the mask along time; outputs stay in processing order
//     (the returned sequence is reversed, as Keras documents).
//   * At a masked step (mask 0) every state keeps its previous value; the step's output is the
//     previous step's output (zeros before the first unmasked step), or zeros when
//     zero_output_for_mask (Bidirectional forces it to return_sequences). The last output is the
//     output of the last processed step under the same rule.
//   * Cells (keras/src/layers/rnn/{lstm,gru,simple_rnn}.py), with x W and h U matrix products:
//       LSTM   z = xW + hU + b, gates i,f,c,o: c' = ra(f)c + ra(i)a(c~), h' = ra(o)a(c')
//       GRU    gates z,r,h. reset_after: hh = a(xW_h + b_h + ra(r)(hU_h + rb_h));
//              otherwise hh = a(xW_h + b_h + (ra(r) h) U_h); h' = z h + (1 - z) hh
//       Simple h' = a(xW + b + hU)
//     (a = activation, ra = recurrent_activation; ra is applied to z and r for GRU.)
//
// The kernel computes xW for all steps of the first cell with one GEMM, then steps through time
// with one GEMM per cell and step (oneDNN's sgemm) and plain loops for the gates, so every
// activation Keras allows works. (oneDNN's RNN primitives cover only sigmoid/tanh cells without
// masks; see compute-backend.md §RNN.)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "ops/elementwise.h"
#include "ops/op.h"

namespace kerasrt::ops {

enum class RnnCellKind { Lstm, Gru, Simple };

// One cell with its weights in Keras layout (gate blocks along the last axis in Keras order).
struct RnnCell {
  RnnCellKind kind = RnnCellKind::Lstm;
  int64_t units = 0;
  bool reset_after = false;                        // GRU only
  std::optional<UnaryAttrs> activation;            // nullopt = linear
  std::optional<UnaryAttrs> recurrent_activation;  // LSTM/GRU gates; nullopt = linear
  Tensor kernel;                                   // (in, gates * units)
  Tensor recurrent_kernel;                         // (units, gates * units)
  Tensor bias;                                     // (gates * units) or empty (use_bias=False)
  Tensor recurrent_bias;                           // GRU reset_after: (gates * units) or empty
};

int rnn_gate_count(RnnCellKind kind);   // 4, 3, 1
int rnn_state_count(RnnCellKind kind);  // LSTM 2 (h, c), else 1 (h)

struct RnnAttrs {
  bool go_backwards = false;
  bool return_sequences = false;
  bool return_state = false;
  bool zero_output_for_mask = false;
  bool has_initial_states = false;  // inputs 1..S are the initial states (S = all states)
  bool has_mask = false;            // the last input is a (batch, time) 0/1 mask
  // Keras stateful=True: the states carried in RunContext::state start each call (when no
  // initial states are given) and receive its final states.
  bool stateful = false;
};

// Inputs: x (batch, time, features), [initial states, each (batch, units of its cell), in
// Keras order: per cell h (, c)], [mask (batch, time)].
// Outputs: y ((batch, time, units) with return_sequences, else (batch, units)), then with
// return_state the final states in the same order as the initial states.
class RnnOp final : public Op {
 public:
  // Throws Error(InvalidModel) when the weights do not fit the cells.
  RnnOp(std::vector<RnnCell> cells, RnnAttrs attrs, std::string kind);

  std::string kind() const override { return kind_; }
  std::vector<Shape> infer_shapes(std::span<const Shape> inputs) const override;
  std::unique_ptr<Kernel> prepare(std::span<const Shape> inputs, std::span<const Shape> outputs,
                                  const PrepareContext& ctx) const override;

  const std::vector<RnnCell>& cells() const { return cells_; }
  const RnnAttrs& attrs() const { return attrs_; }
  size_t state_count() const;

 private:
  std::vector<RnnCell> cells_;
  RnnAttrs attrs_;
  std::string kind_;
};

namespace reference {

// The naive oracle: per sample, per step, per unit, accumulating in double. `inputs` and
// `outputs` follow RnnOp's order; shapes are concrete.
void rnn(const std::vector<RnnCell>& cells, const RnnAttrs& attrs, std::span<const Shape> shapes,
         std::span<const std::span<const float>> inputs, std::span<const std::span<float>> outputs);

}  // namespace reference

}  // namespace kerasrt::ops
