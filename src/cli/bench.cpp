// kerasrt bench: load and inference timings of one model in this process.
//
// Everything is measured from inside the process, so that a driver script can compare runtimes
// started the same way: "process_*" figures count from the process's start (the kernel's
// start time in /proc/self/stat) and include dynamic linking and library start-up; "load_*"
// counts Model::load alone.
#include <sys/resource.h>
#include <sys/times.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "base/json_writer.h"
#include "cli/cli.h"
#include "kerasrt/model.h"

namespace kerasrt::cli {

namespace {

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

double wall_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Wall milliseconds since this process started (field 22 of /proc/self/stat, in clock ticks
// since boot, against CLOCK_BOOTTIME).
double ms_since_process_start() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 22) start_ticks = std::stoull(field);
  }
  timespec now{};
  clock_gettime(CLOCK_BOOTTIME, &now);
  double now_ms = now.tv_sec * 1e3 + now.tv_nsec / 1e6;
  return now_ms - start_ticks * 1e3 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

std::vector<Array> random_inputs(const Model& model, int64_t batch, int64_t free_dim) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_int_distribution<int> index(0, 9);
  std::vector<Array> inputs;
  for (const TensorInfo& in : model.inputs()) {
    Array a;
    for (size_t d = 0; d < in.shape.size(); ++d) {
      a.shape.push_back(d == 0 ? batch : in.shape[d] < 0 ? free_dim : in.shape[d]);
    }
    a.data.resize(static_cast<size_t>(a.size()));
    bool integer = in.dtype.find("int") != std::string::npos;
    for (float& v : a.data) v = integer ? static_cast<float>(index(rng)) : normal(rng);
    inputs.push_back(std::move(a));
  }
  return inputs;
}

struct Latency {
  int64_t batch = 1;
  int runs = 0;
  double p50 = 0, p90 = 0, p99 = 0, mean = 0;
  double items_per_s = 0;
};

Latency measure(const Model& model, int64_t batch, int64_t free_dim, int runs, double min_ms) {
  std::vector<Array> inputs = random_inputs(model, batch, free_dim);
  model.predict(inputs);  // warm: plan for this batch size
  std::vector<double> times;
  double start = wall_ms();
  while (static_cast<int>(times.size()) < runs || wall_ms() - start < min_ms) {
    double t0 = wall_ms();
    model.predict(inputs);
    times.push_back(wall_ms() - t0);
    if (times.size() >= 100000) break;
  }
  std::sort(times.begin(), times.end());
  auto pct = [&](double p) {
    size_t i = static_cast<size_t>(p * static_cast<double>(times.size() - 1) + 0.5);
    return times[std::min(i, times.size() - 1)];
  };
  Latency l;
  l.batch = batch;
  l.runs = static_cast<int>(times.size());
  l.p50 = pct(0.5);
  l.p90 = pct(0.9);
  l.p99 = pct(0.99);
  double total = 0;
  for (double t : times) total += t;
  l.mean = total / static_cast<double>(times.size());
  l.items_per_s = static_cast<double>(batch) * 1e3 / l.mean;
  return l;
}

void append_latency(std::string& out, const Latency& l) {
  out += "{\"batch\": ";
  append_int(out, l.batch);
  out += ", \"runs\": ";
  append_int(out, l.runs);
  for (auto [key, v] : {std::pair{"p50_ms", l.p50},
                        {"p90_ms", l.p90},
                        {"p99_ms", l.p99},
                        {"mean_ms", l.mean},
                        {"items_per_s", l.items_per_s}}) {
    out += ", \"";
    out += key;
    out += "\": ";
    append_double(out, v);
  }
  out += '}';
}

int64_t parse_int(std::string_view s, const char* what) {
  try {
    size_t used = 0;
    long long v = std::stoll(std::string(s), &used);
    if (used == s.size() && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw UsageError(std::string(what) + " needs a non-negative integer, got '" + std::string(s) +
                   "'");
}

}  // namespace

int bench_main(const Args& args) {
  std::string path;
  bool json = false;
  LoadOptions options;
  int64_t batch = 8;
  int64_t runs = 20;
  int64_t free_dim = 32;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    auto value = [&](const char* name) {
      if (i + 1 >= args.size()) throw UsageError(std::string(name) + " needs a value");
      return args[++i];
    };
    if (a == "--json") {
      json = true;
    } else if (a == "--weights") {
      options.weights_path = value("--weights");
    } else if (a == "--threads") {
      options.num_threads = static_cast<int>(parse_int(value("--threads"), "--threads"));
    } else if (a == "--batch") {
      batch = parse_int(value("--batch"), "--batch");
    } else if (a == "--runs") {
      runs = parse_int(value("--runs"), "--runs");
    } else if (a == "--eager") {
      options.prepare = LoadOptions::Prepare::Eager;
    } else if (a == "--dim") {
      free_dim = parse_int(value("--dim"), "--dim");
    } else if (!a.empty() && a[0] == '-') {
      throw UsageError("unknown option '" + std::string(a) + "'");
    } else if (path.empty()) {
      path = a;
    } else {
      throw UsageError("more than one model file given");
    }
  }
  if (path.empty()) throw UsageError("no model file given");
  if (batch < 1) throw UsageError("--batch must be at least 1");

  const double process_cpu_before_load = cpu_ms();
  const double process_wall_before_load = ms_since_process_start();
  double w0 = wall_ms(), c0 = cpu_ms();
  Model model = Model::load(path, options);
  const double load_wall = wall_ms() - w0, load_cpu = cpu_ms() - c0;
  const long rss_after_load = peak_rss_kb();
  const double ready_wall = ms_since_process_start(), ready_cpu = cpu_ms();

  std::vector<Array> first = random_inputs(model, 1, free_dim);
  w0 = wall_ms();
  c0 = cpu_ms();
  model.predict(first);
  const double first_wall = wall_ms() - w0, first_cpu = cpu_ms() - c0;
  const double first_done_wall = ms_since_process_start(), first_done_cpu = cpu_ms();
  const long rss_after_first = peak_rss_kb();

  std::vector<Latency> latencies;
  if (runs > 0) {
    latencies.push_back(measure(model, 1, free_dim, static_cast<int>(runs), 200));
    if (batch > 1)
      latencies.push_back(measure(model, batch, free_dim, static_cast<int>(runs), 200));
  }
  const int threads = options.num_threads > 0 ? options.num_threads
                                              : static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  if (json) {
    std::string out = "{\"model\": ";
    append_json_string(out, path);
    out += ", \"format\": ";
    append_json_string(out, model.format());
    out += ", \"threads\": ";
    append_int(out, threads);
    out += ", \"weight_bytes\": ";
    append_uint(out, model.weight_bytes());
    for (auto [key, v] : {std::pair{"load_wall_ms", load_wall},
                          {"load_cpu_ms", load_cpu},
                          {"first_predict_wall_ms", first_wall},
                          {"first_predict_cpu_ms", first_cpu},
                          {"process_start_to_load_wall_ms", process_wall_before_load},
                          {"process_start_to_load_cpu_ms", process_cpu_before_load},
                          {"process_ready_wall_ms", ready_wall},
                          {"process_ready_cpu_ms", ready_cpu},
                          {"process_first_prediction_wall_ms", first_done_wall},
                          {"process_first_prediction_cpu_ms", first_done_cpu}}) {
      out += ", \"";
      out += key;
      out += "\": ";
      append_double(out, v);
    }
    out += ", \"peak_rss_after_load_kb\": ";
    append_int(out, rss_after_load);
    out += ", \"peak_rss_after_first_prediction_kb\": ";
    append_int(out, rss_after_first);
    out += ", \"latency\": [";
    for (size_t i = 0; i < latencies.size(); ++i) {
      if (i) out += ", ";
      append_latency(out, latencies[i]);
    }
    out += "], \"peak_rss_kb\": ";
    append_int(out, peak_rss_kb());
    out += "}\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  std::printf("model            %s (%s, %.2f MB of weights)\n", path.c_str(),
              model.format().c_str(), static_cast<double>(model.weight_bytes()) / (1 << 20));
  std::printf("threads          %d\n", threads);
  std::printf("load             %.2f ms wall, %.2f ms CPU, peak RSS %.1f MB\n", load_wall, load_cpu,
              rss_after_load / 1024.0);
  std::printf("process ready    %.2f ms wall, %.2f ms CPU since process start\n", ready_wall,
              ready_cpu);
  std::printf("first prediction %.2f ms wall, %.2f ms CPU (batch 1)\n", first_wall, first_cpu);
  for (const Latency& l : latencies) {
    std::printf("batch %-4lld      p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  %.1f items/s (%d runs)\n",
                static_cast<long long>(l.batch), l.p50, l.p90, l.p99, l.items_per_s, l.runs);
  }
  std::printf("peak RSS         %.1f MB\n", peak_rss_kb() / 1024.0);
  return 0;
}

}  // namespace kerasrt::cli
