#!/usr/bin/env python3
"""Writes the Keras-like files for bench/hdf5_walk: N layers (50, 500, 5000) with about 100 MB of
float32 weights in total, in two variants each: h5py's default libver (superblock 0, v1 object
headers, symbol-table groups) and libver='latest' (superblock 3, v2 headers, dense links and
attributes through fractal heaps and v2 B-trees).

    .venv/bin/python bench/make_walk_files.py [--out DIR] [--layers 50,500,5000] [--mb 100]

The default DIR is ~/.cache/kerasrt/bench (not the repository). Files that exist are kept.
Layout (keras-format.md §1, hdf5-reader.md §1): root attributes keras_version, backend (str:
vlen UTF-8), model_config and training_config (bytes: vlen ASCII JSON), layer_names; group
model_weights with layer_names, backend, keras_version, and per layer
model_weights/<layer>/<layer>/kernel:0 and bias:0 with a weight_names attribute. Lists of names
longer than 32 000 bytes are split Keras-style into layer_names0, layer_names1, ... as fixed-length
strings; shorter ones are h5py 3 lists of bytes (vlen ASCII), so both string kinds occur.
"""
import argparse
import json
import os

import h5py
import numpy as np

SPLIT_BYTES = 32000  # Keras splits at 64 512; libhdf5 1.10 refuses ~45 KB header messages


def save_list_attr(group, name, values):
    arr = np.array(values)
    if arr.nbytes <= SPLIT_BYTES:
        group.attrs[name] = values  # list of bytes: vlen ASCII strings
        return
    n_chunks = -(-arr.nbytes // SPLIT_BYTES)
    for i, part in enumerate(np.array_split(arr, n_chunks)):
        group.attrs[f"{name}{i}"] = part  # fixed-length S, NULLPAD


def layer_shapes(n_layers, total_mb):
    floats = total_mb * 1e6 / 4 / n_layers
    shapes = []
    for i in range(n_layers):
        if i % 2 == 0:  # Dense
            units = 64 if floats < 1e5 else 256
            shapes.append(("Dense", (max(1, int(floats / units)), units), (units,)))
        else:  # 3x3 Conv2D
            cout = 32 if floats < 1e5 else 128
            cin = max(1, int(floats / (9 * cout)))
            shapes.append(("Conv2D", (3, 3, cin, cout), (cout,)))
    return shapes


def write(path, n_layers, total_mb, libver):
    rng = np.random.default_rng(n_layers)
    pool = rng.standard_normal(int(total_mb * 1e6 / 4) + 1_000_000).astype("f4")
    shapes = layer_shapes(n_layers, total_mb)
    names = [f"{cls.lower()}_{i}" for i, (cls, _k, _b) in enumerate(shapes)]
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32",
                                       "units_or_filters": k[-1], "activation": "relu",
                                       "use_bias": True,
                                       "kernel_initializer": {"class_name": "GlorotUniform",
                                                              "config": {"seed": None}}}}
        for name, (cls, k, _b) in zip(names, shapes)]}}
    tmp = path + ".tmp"
    with h5py.File(tmp, "w", libver=libver) as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        f.attrs["training_config"] = json.dumps({"loss": "mse", "metrics": ["mae"]}).encode()
        save_list_attr(f, "layer_names", [n.encode() for n in names])
        mw = f.create_group("model_weights")
        save_list_attr(mw, "layer_names", [n.encode() for n in names])
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = b"2.15.0"
        pos = 0
        for name, (_cls, kshape, bshape) in zip(names, shapes):
            g = mw.create_group(name)
            g.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            sub = g.create_group(name)
            for wname, shape in (("kernel:0", kshape), ("bias:0", bshape)):
                n = int(np.prod(shape))
                if pos + n > pool.size:
                    pos = 0
                sub.create_dataset(wname, data=pool[pos:pos + n].reshape(shape))
                pos += n
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.expanduser("~/.cache/kerasrt/bench"))
    ap.add_argument("--layers", default="50,500,5000")
    ap.add_argument("--mb", type=float, default=100)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for n in (int(x) for x in args.layers.split(",")):
        for variant, libver in (("v0", "earliest"), ("latest", "latest")):
            path = os.path.join(args.out, f"n{n}_{variant}.h5")
            if os.path.exists(path):
                continue
            write(path, n, args.mb, libver)
            print(f"{path}: {os.path.getsize(path) / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
