#!/usr/bin/env bash
# The main job on the bundled example: builds kerasrt, then loads examples/shapes_cnn.h5 (a small
# CNN written by Keras 3, see tools/fixtures/make_example.py), prints its summary with the load
# time, and classifies three example images.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh --build-only
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target kerasrt >/dev/null
kerasrt=build/release/src/kerasrt

echo "\$ kerasrt info examples/shapes_cnn.h5"
"$kerasrt" info examples/shapes_cnn.h5
echo
echo "\$ kerasrt predict examples/shapes_cnn.h5 -i examples/shapes_input.npy"
echo "# classes: horizontal bar, vertical bar, square outline; the inputs are one of each"
"$kerasrt" predict examples/shapes_cnn.h5 -i examples/shapes_input.npy
