// Packed weights: the one mechanism by which kernels get weights in the layout their oneDNN
// primitive prefers (compute-backend.md §3: blocked layouts are worth up to 2.5x).
//
// A kernel asks for a pack at prepare() time, by a key that is stable across processes (the node
// and a slot name, "conv1#3/kernel") and the packed layout. The model's WeightPacks store answers
// every request for the same key and layout with the same pack, so plans for several input shapes
// share one copy, and fills all new packs at the end of a plan's compilation in one pass into one
// pre-sized block (few, cheap page faults). A .krt file pre-loads the store with packs that are
// views into the mapped file: then prepare() finds them and nothing is packed at all.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/tensor.h"
#include "ops/op.h"

namespace kerasrt::ops {

// Writes the packed bytes (desc.get_size() of them, 64-byte aligned) to `dst`.
using PackFill = std::function<void(const dnnl::engine& engine, void* dst)>;

struct PackedWeight {
  std::string key;
  dnnl::memory::desc desc;
  // Valid once the store filled it (before any kernel runs): the packed bytes.
  const void* data = nullptr;
  std::shared_ptr<const void> owner;  // keeps `data` alive

  const float* floats() const { return static_cast<const float*>(data); }
  size_t bytes() const { return desc.get_size(); }
};

class WeightPacks {
 public:
  // The pack for (key, desc): an existing one, or a new one that fill_pending() fills. `source`
  // is the tensor `fill` reads: when it views a mapped file, its pages are released from memory
  // once packed (they stay readable; the kernel reads only the pack).
  std::shared_ptr<const PackedWeight> request(const std::string& key,
                                              const dnnl::memory::desc& desc, PackFill fill,
                                              const Tensor& source);
  // Fills every pack requested since the last call, into one new block.
  void fill_pending(const dnnl::engine& engine);
  // Forgets the packs requested since the last fill (a plan whose compilation failed).
  void discard_pending();
  // Adds a finished pack (a view into a .krt file) for later requests to find; `verify` (may be
  // empty) runs when a request first finds it, and throws if the bytes are damaged.
  void preload(std::shared_ptr<const PackedWeight> pack, std::function<void()> verify);
  // Every pack, filled, in key order (what `kerasrt convert` writes).
  std::vector<std::shared_ptr<const PackedWeight>> all() const;

 private:
  struct Pending {
    std::shared_ptr<PackedWeight> pack;
    PackFill fill;
    Tensor source;
  };
  std::multimap<std::string, std::shared_ptr<const PackedWeight>> packs_;
  std::vector<Pending> pending_;
  std::map<const PackedWeight*, std::function<void()>> unverified_;
};

// A fill that reorders `source` (described by `source_desc`) into the pack's layout.
PackFill reorder_fill(const dnnl::memory::desc& source_desc, const dnnl::memory::desc& packed,
                      const float* source);

// What an op's prepare() calls: the pack for this node's `slot`, from the model's store when
// there is one (ctx.packs), else (an op used alone, as in unit tests) packed right away.
std::shared_ptr<const PackedWeight> packed_weight(const PrepareContext& ctx,
                                                  const std::string& slot,
                                                  const dnnl::memory::desc& desc, PackFill fill,
                                                  const Tensor& source);

}  // namespace kerasrt::ops
