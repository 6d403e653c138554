// The runtime's part of a .krt file (src/krt/krt_file.h): weights pre-packed in the layouts the
// kernels of this CPU chose (section "packs"), and the input shapes the packs were made for.
//
// Index (the "runtime" object of the .krt index section):
//   {"isa": "<oneDNN CPU ISA>", "plan_inputs": [[dims], ...],
//    "packs": [{"key", "offset", "bytes", "crc", "desc": {"ndims", "dims", "padded_dims",
//               "padded_offsets", "offset0", "strides", "inner_blks", "inner_idxs"}}]}
// A pack is used only where a kernel asks for exactly its key and layout (memory descs compare
// equal), so a .krt made on another CPU still loads: kernels whose layout differs pack again
// from the Keras-layout weights, which the file always holds too.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/tensor.h"
#include "keras/json.h"
#include "krt/krt_file.h"
#include "ops/weight_packs.h"

namespace kerasrt::runtime {

// Writes section "packs" (every filled pack in `packs`); returns the index's "runtime" object.
std::string write_krt_runtime(const ops::WeightPacks& packs, const std::vector<Shape>& plan_inputs,
                              krt::Writer& writer);

struct KrtRuntime {
  std::vector<Shape> plan_inputs;  // the input shapes the packs were made for (may be none)
};

// Preloads `packs` with the packs of an opened .krt; each pack's checksum is verified when a
// kernel first uses it (or now, with verify_now).
KrtRuntime read_krt_runtime(const std::shared_ptr<const krt::File>& file, const keras::Json& index,
                            ops::WeightPacks& packs, bool verify_now);

}  // namespace kerasrt::runtime
