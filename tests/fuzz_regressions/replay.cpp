// Replays fuzz inputs: kerasrt_fuzz_replay TARGET DIR... runs the target's entry function over
// every file in the given directories (missing directories are skipped). Exits non-zero if an
// input throws anything but kerasrt::Error (the entry functions catch that one); crashes and
// sanitizer reports end the process by themselves.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_entries.h"

namespace {

using Entry = int (*)(const uint8_t*, size_t);

struct Target {
  const char* name;
  Entry entry;
};

constexpr Target kTargets[] = {
    {"hdf5_file", kerasrt_fuzz_hdf5_file},
    {"hdf5_region", kerasrt_fuzz_hdf5_region},
    {"hdf5_filters", kerasrt_fuzz_hdf5_filters},
    {"krt", kerasrt_fuzz_krt},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TARGET DIR...\n", argv[0]);
    return 2;
  }
  Entry entry = nullptr;
  for (const Target& t : kTargets) {
    if (std::strcmp(t.name, argv[1]) == 0) entry = t.entry;
  }
  if (!entry) {
    std::fprintf(stderr, "unknown fuzz target %s\n", argv[1]);
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (int i = 2; i < argc; ++i) {
    std::error_code ec;
    if (!std::filesystem::is_directory(argv[i], ec)) continue;
    for (const auto& e : std::filesystem::directory_iterator(argv[i])) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  int failures = 0;
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::vector<char> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // An exact-size copy, so that ASan sees any read past the end of the input.
    std::unique_ptr<uint8_t[]> buf(new uint8_t[data.size() + (data.empty() ? 1 : 0)]);
    std::memcpy(buf.get(), data.data(), data.size());
    std::fprintf(stderr, "%s\n", path.c_str());
    try {
      entry(buf.get(), data.size());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "FAIL %s: uncaught %s\n", path.c_str(), e.what());
      ++failures;
    }
  }
  std::printf("%s: %zu inputs, %d failures\n", argv[1], files.size(), failures);
  return failures ? 1 : 0;
}
