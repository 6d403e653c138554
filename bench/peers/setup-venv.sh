#!/usr/bin/env bash
# Creates the Python environment of the peer benchmark: TensorFlow (CPU) + Keras 3, tf2onnx + onnx,
# ONNX Runtime, LiteRT (ai-edge-litert) and OpenVINO at the versions locked in requirements.txt.
# The venv lives outside the repository, at ${KERASRT_CACHE:-$HOME/.cache/kerasrt}/venv-peers
# (about 2 GB). Idempotent: reinstalls only when requirements.txt changed. Prints the venv's python
# on the last line of stdout. Needs python3.11 with the venv module and access to PyPI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../tools/locked-venv.sh" venv-peers "$here/requirements.txt" \
  h5py,keras,numpy,onnx,onnxruntime,openvino,tensorflow,tf2onnx,ai_edge_litert.interpreter
