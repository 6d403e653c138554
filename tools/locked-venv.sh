#!/usr/bin/env bash
# Creates or updates a Python venv from a fully locked requirements file, outside the repository:
#   tools/locked-venv.sh NAME REQUIREMENTS CHECK_IMPORTS
# makes ${KERASRT_CACHE:-$HOME/.cache/kerasrt}/NAME. Idempotent: installs only when REQUIREMENTS
# changed since the last install, then imports CHECK_IMPORTS (comma-separated modules) and prints
# their versions. Prints the venv's python on the last line of stdout. The lock files are made
# for Python 3.11 and installed with --no-deps (each file is a complete lock; see its header).
set -euo pipefail
name=${1:?usage: tools/locked-venv.sh NAME REQUIREMENTS CHECK_IMPORTS}
requirements=${2:?usage: tools/locked-venv.sh NAME REQUIREMENTS CHECK_IMPORTS}
imports=${3:?usage: tools/locked-venv.sh NAME REQUIREMENTS CHECK_IMPORTS}
cache="${KERASRT_CACHE:-$HOME/.cache/kerasrt}"
venv="$cache/$name"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3

mkdir -p "$cache"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import sys" 2>/dev/null; then
  echo "locked-venv: creating $venv with $("$py" --version)" >&2
  "$py" -m venv "$venv"
fi
ver="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$ver" != "3.11" ]]; then
  echo "locked-venv: warning: $requirements was locked for Python 3.11, $venv has $ver" >&2
fi
stamp="$venv/.kerasrt-requirements.txt"
if ! cmp -s "$requirements" "$stamp"; then
  echo "locked-venv: installing $requirements" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$requirements"
  KERASRT_IMPORTS="$imports" "$venv/bin/python" - <<'PY'
import importlib, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
for name in os.environ["KERASRT_IMPORTS"].split(","):
    module = importlib.import_module(name)
    print("locked-venv:", name, getattr(module, "__version__", ""))
PY
  cp "$requirements" "$stamp"
fi
echo "$venv/bin/python"
