// What fresh memory costs on this machine, by how it is obtained: the measurement behind the
// packed-weight block's allocation (src/ops/weight_packs.cpp) and docs/DESIGN.md §Load path.
//
//   fresh_memory [MB] [repeats]
//
// Each strategy maps MB of anonymous memory and writes every byte twice; printed: CPU ms to map,
// for the first write (page faults + zeroing + the write) and for the second write (the write
// alone), per strategy, median of `repeats` fresh mappings. The second write is the floor a
// pack pass cannot beat; first - second is what the kernel charges for fresh pages.
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>

namespace {

double cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

struct Sample {
  double map = 0, first = 0, second = 0;
};

enum class Strategy { Lazy4K, Populate, HugePages };

Sample measure(Strategy s, size_t bytes) {
  Sample r;
  const double t0 = cpu_ms();
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (s == Strategy::Populate) flags |= MAP_POPULATE;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  if (s == Strategy::HugePages) madvise(p, bytes, MADV_HUGEPAGE);
  const double t1 = cpu_ms();
  std::memset(p, 1, bytes);
  const double t2 = cpu_ms();
  std::memset(p, 2, bytes);
  const double t3 = cpu_ms();
  munmap(p, bytes);
  r.map = t1 - t0;
  r.first = t2 - t1;
  r.second = t3 - t2;
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const size_t mb = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  const int repeats = argc > 2 ? std::atoi(argv[2]) : 7;
  const size_t bytes = mb << 20;
  std::printf("%zu MB, median of %d\n%-28s %8s %12s %13s %10s\n", mb, repeats, "strategy", "map ms",
              "1st write ms", "2nd write ms", "ms / MB");
  const struct {
    Strategy s;
    const char* name;
  } strategies[] = {{Strategy::Lazy4K, "mmap, 4 KB faults"},
                    {Strategy::Populate, "mmap + MAP_POPULATE"},
                    {Strategy::HugePages, "mmap + MADV_HUGEPAGE"}};
  for (const auto& st : strategies) {
    std::vector<double> map, first, second;
    for (int i = 0; i < repeats; ++i) {
      Sample s = measure(st.s, bytes);
      map.push_back(s.map);
      first.push_back(s.first);
      second.push_back(s.second);
    }
    const double m = median(map), f = median(first), s = median(second);
    std::printf("%-28s %8.1f %12.1f %13.1f %10.3f\n", st.name, m, f, s,
                (m + f - s) / static_cast<double>(mb));
  }
  return 0;
}
