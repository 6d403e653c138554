#!/usr/bin/env bash
# Runs every libFuzzer target for a share of a total time budget, seeded from a scratch copy of
# fuzz/corpus/<target>/ (nothing is written into the repository). A crash, leak, timeout or OOM
# fails the run and the crashing input is printed (hex) with its path.
#
#   fuzz/run_fuzzers.sh BUILD_DIR [TOTAL_SECONDS] [extra libFuzzer flags...]
#
# BUILD_DIR is a -DKERASRT_FUZZ=ON build (the executables are in BUILD_DIR/fuzz/).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: fuzz/run_fuzzers.sh BUILD_DIR [TOTAL_SECONDS] [libFuzzer flags...]}
total=${2:-60}
shift $(($# >= 2 ? 2 : 1))

targets=()
for f in fuzz/corpus/*/; do
  t=$(basename "$f")
  [[ -x "$build/fuzz/fuzz_$t" ]] && targets+=("$t")
done
if ((${#targets[@]} == 0)); then
  echo "run_fuzzers: no fuzz executables in $build/fuzz" >&2
  exit 1
fi
per=$((total / ${#targets[@]}))
((per > 0)) || per=1
scratch=$(mktemp -d "${TMPDIR:-/tmp}/kerasrt-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

status=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t/corpus" "$scratch/$t/artifacts"
  cp fuzz/corpus/"$t"/* "$scratch/$t/corpus/"
  echo "== fuzz_$t: ${per}s"
  if ! ASAN_OPTIONS=detect_leaks=1 "$build/fuzz/fuzz_$t" -max_total_time="$per" -rss_limit_mb=2048 \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$scratch/$t/artifacts/" "$@" \
      "$scratch/$t/corpus" >"$scratch/$t/log" 2>&1; then
    status=1
    tail -n 60 "$scratch/$t/log"
    mkdir -p "$build/fuzz-artifacts/$t"
    for a in "$scratch/$t/artifacts"/*; do
      [[ -f "$a" ]] || continue
      cp "$a" "$build/fuzz-artifacts/$t/"
      a="$build/fuzz-artifacts/$t/$(basename "$a")"
      echo "-- fuzz_$t found $a ($(stat -c %s "$a") bytes); replay: $build/fuzz/fuzz_$t $a;" \
           "keep it as a regression under fuzz/regressions/$t/"
      od -A x -t x1z -v "$a" | head -n 64
    done
  else
    grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^Done' "$scratch/$t/log" || true
  fi
done
exit $status
