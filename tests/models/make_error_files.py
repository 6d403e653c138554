"""Writes broken variants of examples/shapes_cnn.h5 for the load-error tests (h5py only).

Usage: make_error_files.py SOURCE.h5 OUTDIR
"""
import json
import os
import shutil
import sys

import h5py
import numpy as np


def variant(src, out, name, edit):
    path = os.path.join(out, name)
    shutil.copyfile(src, path)
    with h5py.File(path, "r+") as f:
        edit(f)


def edit_config(f, fn):
    cfg = json.loads(f.attrs["model_config"])
    fn(cfg)
    f.attrs["model_config"] = json.dumps(cfg).encode()


def layers(cfg):
    return cfg["config"]["layers"]


def set_names(group, names):
    """Writes a weight_names list the way Keras does (a list of bytes)."""
    group.attrs["weight_names"] = [n.encode() if isinstance(n, str) else n for n in names]


def drop_kernel(f):
    g = f["model_weights/conv2"]
    set_names(g, [n for n in g.attrs["weight_names"] if not n.endswith("kernel")])
    del g["shapes_cnn/conv2/kernel"]


def wrong_shape(f):
    g = f["model_weights/conv2/shapes_cnn/conv2"]
    del g["kernel"]
    g.create_dataset("kernel", data=np.zeros((3, 3, 8, 4), np.float32))


def unsupported(cfg):
    for layer in layers(cfg):
        if layer["config"]["name"] == "conv2":
            layer["class_name"] = "FancyConv"
        if layer["config"]["name"] == "gap":
            layer["class_name"] = "MyPooling"


def with_lambda(cfg):
    for layer in layers(cfg):
        if layer["config"]["name"] == "gap":
            layer["class_name"] = "Lambda"
            layer["config"]["function"] = {"class_name": "__lambda__",
                                           "config": {"code": "4wEAAAAAAAAA", "defaults": None}}


def extra_weights(f):
    g = f["model_weights/shape_class"]
    set_names(g, list(g.attrs["weight_names"]) + ["shapes_cnn/shape_class/extra"])
    g["shapes_cnn/shape_class"].create_dataset("extra", data=np.zeros((3,), np.float32))


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    open(os.path.join(out, "empty.h5"), "wb").close()
    with open(os.path.join(out, "text.h5"), "w") as f:
        f.write("this is not an HDF5 file\n")
    with open(src, "rb") as f:
        data = f.read()
    with open(os.path.join(out, "truncated.h5"), "wb") as f:
        f.write(data[: len(data) // 2])
    with h5py.File(os.path.join(out, "not_keras.h5"), "w") as f:
        f.create_dataset("x", data=np.arange(4, dtype=np.float32))
    variant(src, out, "missing_weight.h5", drop_kernel)
    variant(src, out, "wrong_shape.h5", wrong_shape)
    variant(src, out, "extra_weight.h5", extra_weights)
    variant(src, out, "unsupported.h5", lambda f: edit_config(f, unsupported))
    variant(src, out, "lambda.h5", lambda f: edit_config(f, with_lambda))


if __name__ == "__main__":
    main()
