#!/usr/bin/env bash
# The test command: installs dependencies, builds kerasrt (Release, and ASan+UBSan), runs every
# test with CTest in both builds, then fuzzes the parsers briefly. Exits non-zero on any failure.
#
#   tools/test.sh             the default application zoo (23 cases, every layer and option of
#                             keras.applications)
#   tools/test.sh --zoo-all   also its 23 scaled-up siblings (every keras.applications model;
#                             +11 GB in the cache, ~7 min to generate once, ~1 min of tests)
set -euo pipefail
cd "$(dirname "$0")/.."
zoo_args=()
for arg in "$@"; do
  case "$arg" in
    --zoo-all) zoo_args+=(--all) ;;
    *) echo "usage: tools/test.sh [--zoo-all]" >&2; exit 2 ;;
  esac
done
tools/install-deps.sh
jobs=$(nproc)
py="$PWD/.venv/bin/python"

# == Application zoo (tests/zoo): the pinned TF venv and the keras.applications models with random
# weights, both cached under ${KERASRT_CACHE:-$HOME/.cache/kerasrt} and reused by later runs on
# this machine (cold: venv + generation, ~20 min on a busy 2-core box; warm: ~30 s).
echo "== Application zoo (tools/fixtures/gen_zoo.py, cached)"
zoo_py="$(tools/fixtures/setup-venv.sh | tail -n 1)"
# The manifest lists what this run generated, so the zoo tests run the default set or --all.
"$zoo_py" tools/fixtures/gen_zoo.py --no-reload "${zoo_args[@]}"
# ccache keeps compiled objects between runs on the same machine (~/.cache/ccache).
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

echo "== Release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DKERASRT_PYTHON="$py" "${launcher[@]}" >/dev/null
cmake --build build/release -j"$jobs"
ctest --test-dir build/release --output-on-failure -j"$jobs"

echo "== ASan+UBSan build"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKERASRT_SANITIZE=ON \
  -DKERASRT_PYTHON="$py" "${launcher[@]}" >/dev/null
cmake --build build/asan -j"$jobs"
# -LE zoo: the application zoo (4 GB of weights) runs in the Release build only; see tests/zoo.
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build/asan --output-on-failure -j"$jobs" -LE zoo

echo "== Fuzz (clang-14, libFuzzer + ASan + UBSan, 80 s in total: 20 s per target)"
CC=clang-14 CXX=clang++-14 cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DKERASRT_FUZZ=ON -DKERASRT_TESTS=OFF "${launcher[@]}" >/dev/null
cmake --build build/fuzz -j"$jobs" --target fuzz_all
fuzz/run_fuzzers.sh build/fuzz 80
