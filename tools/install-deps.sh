#!/usr/bin/env bash
# Installs what building and testing kerasrt needs: Debian packages (as root) and a Python venv
# at .venv with the pinned packages the differential tests use as references (h5py, numpy).
# Idempotent: does nothing that is already done. `--build-only` installs just what building the
# kerasrt command needs (no test references, no venv).
set -euo pipefail
build_only=0
[[ "${1:-}" == "--build-only" ]] && build_only=1
cd "$(dirname "$0")/.."

apt_packages=(build-essential cmake pkg-config libgtest-dev libsimdjson-dev libdeflate-dev libdnnl-dev)
if ((!build_only)); then
  apt_packages+=(
    libbenchmark-dev zlib1g-dev ccache
    clang-14 libclang-rt-14-dev clang-format
    libhdf5-dev hdf5-tools   # tests and benchmarks only: the reference, never linked into kerasrt
  )
fi
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

((build_only)) && exit 0

if [[ ! -x .venv/bin/python ]] || ! .venv/bin/python -c "import sys" 2>/dev/null; then
  python3 -m venv .venv
fi
if ! cmp -s tools/requirements-test.txt .venv/.requirements-test.txt; then
  .venv/bin/pip install -q --disable-pip-version-check -r tools/requirements-test.txt
  cp tools/requirements-test.txt .venv/.requirements-test.txt
fi
