// Shared by the two walk programs of bench/hdf5_walk: what a walk counts, and how a walk process
// reports its CPU time and memory to the driver (one line on stdout).
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kerasrt::bench {

struct WalkCounts {
  uint64_t groups = 0;
  uint64_t datasets = 0;
  uint64_t attributes = 0;
  uint64_t attribute_elements = 0;
};

inline double cpu_ms() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

// A field of /proc/self/status in kB ("RssAnon", "RssFile", "VmHWM"), or -1.
inline long proc_status_kb(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long value = -1;
  size_t n = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, n) == 0 && line[n] == ':') {
      value = std::strtol(line + n + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return value;
}

// The line the driver parses.
inline void report(double cpu_ms_walk, long anon_before_kb, long anon_end_kb, long file_end_kb,
                   const WalkCounts& c) {
  std::printf(
      "walk cpu_ms=%.3f anon_before_kb=%ld anon_end_kb=%ld file_end_kb=%ld groups=%llu "
      "datasets=%llu attributes=%llu attribute_elements=%llu\n",
      cpu_ms_walk, anon_before_kb, anon_end_kb, file_end_kb,
      static_cast<unsigned long long>(c.groups), static_cast<unsigned long long>(c.datasets),
      static_cast<unsigned long long>(c.attributes),
      static_cast<unsigned long long>(c.attribute_elements));
}

}  // namespace kerasrt::bench
