#include "ops/weight_packs.h"

#include <omp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

#include "kerasrt/error.h"

namespace kerasrt::ops {

namespace {

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

// Fresh memory costs a page fault per 4 KB page on first write, and faults are expensive on the
// VMs we measured (docs/DESIGN.md §Load path). A block of 2 MB or more asks for transparent huge
// pages (THP is in `madvise` mode there): one fault per 2 MB.
std::shared_ptr<void> allocate_block(size_t bytes) {
  constexpr size_t kHuge = size_t{2} << 20;
  if (bytes < kHuge) {
    void* p = std::aligned_alloc(64, round_up(bytes, 64));
    if (p == nullptr) throw Error(ErrorCode::ResourceExhausted, "out of memory for packed weights");
    return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
  const size_t mapped = round_up(bytes, kHuge);
  void* p = ::mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    throw Error(ErrorCode::ResourceExhausted,
                "cannot map " + std::to_string(mapped) + " bytes for packed weights");
  }
  ::madvise(p, mapped, MADV_HUGEPAGE);  // advice only: without THP it is ordinary memory
  return std::shared_ptr<void>(p, [mapped](void* q) { ::munmap(q, mapped); });
}

// Drops the whole pages inside a weight that views a mapped file from this process's memory:
// once packed they are not read again (and would be re-read from the page cache if they were).
void release_pages(const Tensor& t) {
  if (!t.is_view() || t.numel() == 0) return;
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(t.data());
  const uintptr_t end = begin + static_cast<uintptr_t>(t.numel()) * sizeof(float);
  const uintptr_t first = round_up(begin, page);
  const uintptr_t last = end / page * page;
  if (last > first) {
    ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
  }
}

}  // namespace

std::shared_ptr<const PackedWeight> WeightPacks::request(const std::string& key,
                                                         const dnnl::memory::desc& desc,
                                                         PackFill fill, const Tensor& source) {
  auto [lo, hi] = packs_.equal_range(key);
  for (auto it = lo; it != hi; ++it) {
    if (it->second->desc != desc) continue;
    if (auto v = unverified_.find(it->second.get()); v != unverified_.end()) {
      v->second();
      unverified_.erase(v);
    }
    return it->second;
  }
  auto pack = std::make_shared<PackedWeight>();
  pack->key = key;
  pack->desc = desc;
  packs_.emplace(key, pack);
  pending_.push_back(Pending{pack, std::move(fill), source});
  return pack;
}

void WeightPacks::fill_pending(const dnnl::engine& engine) {
  if (pending_.empty()) return;
  // One thread: each reorder is small and memory-bound, and an OpenMP team per reorder spins at
  // its barriers (EfficientNetB0's first prediction at 2 threads on a shared 2-core VM: 529 ms
  // CPU with a team, measured below with one).
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  struct Restore {
    int threads;
    ~Restore() { omp_set_num_threads(threads); }
  } restore{threads};
  size_t total = 0;
  for (const Pending& p : pending_) total += round_up(p.pack->bytes(), 64);
  std::shared_ptr<void> block = allocate_block(total);
  auto* base = static_cast<std::byte*>(block.get());
  size_t offset = 0;
  for (Pending& p : pending_) {
    void* dst = base + offset;
    p.fill(engine, dst);
    p.pack->data = dst;
    p.pack->owner = block;
    offset += round_up(p.pack->bytes(), 64);
    release_pages(p.source);
  }
  pending_.clear();
}

void WeightPacks::discard_pending() {
  for (const Pending& p : pending_) {
    auto [lo, hi] = packs_.equal_range(p.pack->key);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == p.pack) {
        packs_.erase(it);
        break;
      }
    }
  }
  pending_.clear();
}

void WeightPacks::preload(std::shared_ptr<const PackedWeight> pack, std::function<void()> verify) {
  if (verify) unverified_.emplace(pack.get(), std::move(verify));
  std::string key = pack->key;
  packs_.emplace(std::move(key), std::move(pack));
}

std::vector<std::shared_ptr<const PackedWeight>> WeightPacks::all() const {
  std::vector<std::shared_ptr<const PackedWeight>> out;
  for (const auto& [key, pack] : packs_) out.push_back(pack);
  return out;
}

PackFill reorder_fill(const dnnl::memory::desc& source_desc, const dnnl::memory::desc& packed,
                      const float* source) {
  return [source_desc, packed, source](const dnnl::engine& engine, void* dst) {
    dnnl::memory src(source_desc, engine, const_cast<float*>(source));
    dnnl::memory out(packed, engine, dst);
    dnnl::stream stream(engine);
    dnnl::reorder(src, out).execute(stream, src, out);
    stream.wait();
  };
}

std::shared_ptr<const PackedWeight> packed_weight(const PrepareContext& ctx,
                                                  const std::string& slot,
                                                  const dnnl::memory::desc& desc, PackFill fill,
                                                  const Tensor& source) {
  if (ctx.packs != nullptr) {
    return ctx.packs->request(ctx.weight_key + "/" + slot, desc, std::move(fill), source);
  }
  WeightPacks alone;
  std::shared_ptr<const PackedWeight> pack = alone.request(slot, desc, std::move(fill), source);
  alone.fill_pending(*ctx.engine);
  return pack;
}

}  // namespace kerasrt::ops
