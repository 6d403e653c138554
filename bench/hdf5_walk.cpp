// Benchmark: metadata walk of Keras-like files, kerasrt's reader against libhdf5.
//
//   hdf5_walk [--runs N] [--dir DIR] [FILE...]
//
// Without FILE arguments it takes DIR/n{50,500,5000}_{v0,latest}.h5 (bench/make_walk_files.py;
// DIR defaults to ~/.cache/kerasrt/bench). For every file and reader (kerasrt; libhdf5 with
// default settings; libhdf5 with H5Pset_evict_on_close) it runs the walk N times (default 5), each
// in a fresh child process (hdf5_walk_kerasrt / hdf5_walk_libhdf5 next to this executable), after
// one unmeasured warm-up run per file. Reported, as medians over the runs:
//   CPU ms      user+sys CPU of open + walk + close, measured by getrusage inside the child
//   peak RSS    ru_maxrss of the child (whole process, includes the file pages the reader touched
//               through its mapping, and the shared libraries)
//   anon RSS    RssAnon at the end of the walk (before close): private memory, not the mapping
//   anon growth RssAnon at the end of the walk minus RssAnon before open
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace {

struct Reader {
  const char* name;
  const char* program;
  const char* flag;  // nullptr or an extra argument
};

constexpr Reader kReaders[] = {
    {"kerasrt", "hdf5_walk_kerasrt", nullptr},
    {"libhdf5", "hdf5_walk_libhdf5", nullptr},
    {"libhdf5+evict", "hdf5_walk_libhdf5", "--evict"},
};

struct Run {
  double cpu_ms = 0;
  double peak_rss_kb = 0;
  double anon_end_kb = 0;
  double anon_growth_kb = 0;
  std::string counts;  // groups/datasets/attributes, to check that both readers did the same work
};

std::string g_bin_dir;

bool run_once(const Reader& r, const std::string& file, Run& out) {
  std::string program = g_bin_dir + "/" + r.program;
  std::vector<char*> argv = {const_cast<char*>(program.c_str()), const_cast<char*>(file.c_str())};
  if (r.flag) argv.push_back(const_cast<char*>(r.flag));
  argv.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) return false;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    std::fprintf(stderr, "cannot run %s: %s\n", program.c_str(), std::strerror(rc));
    return false;
  }
  std::string text;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "%s %s failed (status %d)\n", r.name, file.c_str(), status);
    return false;
  }
  double cpu = 0;
  long before = 0, end = 0, file_kb = 0;
  unsigned long long g = 0, d = 0, a = 0, e = 0;
  if (std::sscanf(text.c_str(),
                  "walk cpu_ms=%lf anon_before_kb=%ld anon_end_kb=%ld file_end_kb=%ld groups=%llu "
                  "datasets=%llu attributes=%llu attribute_elements=%llu",
                  &cpu, &before, &end, &file_kb, &g, &d, &a, &e) != 8) {
    std::fprintf(stderr, "%s %s: unexpected output: %s\n", r.name, file.c_str(), text.c_str());
    return false;
  }
  out.cpu_ms = cpu;
  out.peak_rss_kb = static_cast<double>(ru.ru_maxrss);
  out.anon_end_kb = static_cast<double>(end);
  out.anon_growth_kb = static_cast<double>(end - before);
  out.counts = std::to_string(g) + "/" + std::to_string(d) + "/" + std::to_string(a) + "/" +
               std::to_string(e);
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  std::string dir;
  if (const char* home = std::getenv("HOME")) dir = std::string(home) + "/.cache/kerasrt/bench";
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg.rfind("--", 0) == 0) {
      std::fprintf(stderr, "usage: %s [--runs N] [--dir DIR] [FILE...]\n", argv[0]);
      return 2;
    } else {
      files.push_back(arg);
    }
  }
  if (files.empty()) {
    for (int n : {50, 500, 5000}) {
      for (const char* v : {"v0", "latest"}) {
        std::string f = dir + "/n" + std::to_string(n) + "_" + v + ".h5";
        if (std::filesystem::exists(f)) files.push_back(f);
      }
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "no files in %s; run bench/make_walk_files.py first\n", dir.c_str());
    return 2;
  }
  g_bin_dir = std::filesystem::canonical("/proc/self/exe").parent_path().string();

  std::printf(
      "| file | MB | reader | CPU ms | peak RSS MB | anon RSS MB | anon growth MB | "
      "groups/datasets/attrs/attr elements |\n|---|---|---|---|---|---|---|---|\n");
  struct Medians {
    double cpu, peak, anon, growth;
  };
  std::map<std::string, std::map<std::string, Medians>> results;
  bool ok = true;
  for (const std::string& file : files) {
    std::string base = std::filesystem::path(file).stem().string();
    double mb = static_cast<double>(std::filesystem::file_size(file)) / 1e6;
    Run warm;
    run_once(kReaders[0], file, warm);  // page cache
    for (const Reader& r : kReaders) {
      std::vector<double> cpu, peak, anon, growth;
      std::string counts;
      for (int i = 0; i < runs; ++i) {
        Run run;
        if (!run_once(r, file, run)) {
          ok = false;
          break;
        }
        cpu.push_back(run.cpu_ms);
        peak.push_back(run.peak_rss_kb);
        anon.push_back(run.anon_end_kb);
        growth.push_back(run.anon_growth_kb);
        counts = run.counts;
      }
      if (cpu.empty()) continue;
      Medians m{median(cpu), median(peak) / 1024, median(anon) / 1024, median(growth) / 1024};
      results[base][r.name] = m;
      std::printf("| %s | %.1f | %s | %.1f | %.1f | %.1f | %.2f | %s |\n", base.c_str(), mb, r.name,
                  m.cpu, m.peak, m.anon, m.growth, counts.c_str());
      std::fflush(stdout);
    }
  }
  std::printf(
      "\nRatios libhdf5 / kerasrt (CPU; anon growth):\n\n"
      "| file | CPU libhdf5 | CPU libhdf5+evict | anon growth libhdf5 | "
      "anon growth libhdf5+evict |\n|---|---|---|---|---|\n");
  for (const std::string& file : files) {
    std::string base = std::filesystem::path(file).stem().string();
    if (!results.count(base)) continue;
    const auto& by_reader = results[base];
    auto k = by_reader.find("kerasrt");
    if (k == by_reader.end()) continue;
    auto ratio = [&](const char* name, bool cpu) {
      auto it = by_reader.find(name);
      if (it == by_reader.end()) return std::string("-");
      double num = cpu ? it->second.cpu : it->second.growth;
      double den = cpu ? k->second.cpu : k->second.growth;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1fx", den > 0 ? num / den : 0.0);
      return std::string(buf);
    };
    std::printf("| %s | %s | %s | %s | %s |\n", base.c_str(), ratio("libhdf5", true).c_str(),
                ratio("libhdf5+evict", true).c_str(), ratio("libhdf5", false).c_str(),
                ratio("libhdf5+evict", false).c_str());
  }
  return ok ? 0 : 1;
}
