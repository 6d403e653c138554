#!/usr/bin/env bash
# Creates the Python environment of the peer benchmark: TensorFlow (CPU) + Keras 3, tf2onnx + onnx,
# ONNX Runtime, LiteRT (ai-edge-litert) and OpenVINO at the versions locked in requirements.txt.
# The venv lives outside the repository, at ${KERASRT_CACHE:-$HOME/.cache/kerasrt}/venv-peers
# (about 2 GB). Idempotent: reinstalls only when requirements.txt changed. Prints the venv's python
# on the last line of stdout. Needs python3.11 with the venv module and access to PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${KERASRT_CACHE:-$HOME/.cache/kerasrt}"
venv="$cache/venv-peers"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3

mkdir -p "$cache"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import sys" 2>/dev/null; then
  echo "setup-venv: creating $venv with $("$py" --version)" >&2
  "$py" -m venv "$venv"
fi
ver="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [[ "$ver" != "3.11" ]]; then
  echo "setup-venv: warning: the lock in requirements.txt was made for Python 3.11, venv has $ver" >&2
fi
stamp="$venv/.kerasrt-requirements.txt"
if ! cmp -s "$here/requirements.txt" "$stamp"; then
  echo "setup-venv: installing $here/requirements.txt" >&2
  # --no-deps: the file is a complete lock (pip resolved it once; see its header).
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -r "$here/requirements.txt"
  "$venv/bin/python" - <<'PY'
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import h5py, keras, numpy, onnx, onnxruntime, openvino, tensorflow, tf2onnx
import ai_edge_litert.interpreter
print("setup-venv: tensorflow", tensorflow.__version__, "keras", keras.__version__,
      "tf2onnx", tf2onnx.__version__, "onnx", onnx.__version__,
      "onnxruntime", onnxruntime.__version__, "openvino", openvino.__version__,
      "h5py", h5py.__version__, "numpy", numpy.__version__)
PY
  cp "$here/requirements.txt" "$stamp"
fi
echo "$venv/bin/python"
