#!/usr/bin/env python3
"""Writes .npy files with NumPy for tests/base/test_npy.cpp.

Usage: make_npy_cases.py OUTDIR. Writes OUTDIR/<case>.npy and OUTDIR/cases.txt, one line per
file: `<file> <pattern> <ndim> <dims...>`. The C++ test recomputes the expected values from the
pattern: `float` v[i] = (i % 7) - 3 + 0.25 * (i % 4); `signed` v[i] = (i % 11) - 5;
`unsigned` v[i] = i % 13; `bool` v[i] = (i % 3 == 0); `extremes_<dtype>` and `f16special` are
fixed lists the test spells out.
"""
import os
import sys

import numpy as np
from numpy.lib import format as npf


def pattern(kind, n):
    i = np.arange(n)
    if kind == "float":
        return (i % 7) - 3 + 0.25 * (i % 4)
    if kind == "signed":
        return (i % 11) - 5
    if kind == "unsigned":
        return i % 13
    if kind == "bool":
        return i % 3 == 0
    raise ValueError(kind)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []

    def put(name, arr, kind, version=None):
        path = os.path.join(out, name + ".npy")
        with open(path, "wb") as f:
            if version is None:
                np.save(f, arr, allow_pickle=False)
            else:
                npf.write_array(f, arr, version=version, allow_pickle=False)
        lines.append(" ".join([name + ".npy", kind, str(arr.ndim)] + [str(d) for d in arr.shape]))

    kinds = {"f": "float", "i": "signed", "u": "unsigned", "b": "bool"}
    dtypes = ["f2", "f4", "f8", "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "b1"]
    for dt in dtypes:
        kind = kinds[dt[0]]
        orders = ["|"] if dt[1] == "1" else ["<", ">"]
        for order in orders:
            d = np.dtype(order + dt)
            arr = pattern(kind, 24).reshape(2, 3, 4).astype(d)
            tag = {"<": "le", ">": "be", "|": "na"}[order]
            put(f"{dt}_{tag}", arr, kind)
    shapes = {"scalar": (), "vec1": (1,), "vec5": (5,), "empty": (0, 3), "empty0": (0,),
              "rank5": (2, 1, 3, 1, 2), "long": (1000,)}
    for name, shp in shapes.items():
        n = int(np.prod(shp)) if shp else 1
        put(f"shape_{name}", pattern("float", n).reshape(shp).astype("<f4"), "float")
    for ver in [(1, 0), (2, 0), (3, 0)]:
        put(f"version_{ver[0]}", pattern("float", 12).reshape(3, 4).astype("<f4"), "float",
            version=ver)
    put("shape_rank64", pattern("float", 1).reshape((1,) * 64).astype("<f4"), "float")
    big = np.arange(3 * 5, dtype=np.float32).reshape(3, 5)
    put("fortran", np.asfortranarray(big), "fortran")
    put("f16special", np.array([0.0, -0.0, 1.0, 65504.0, 2.0**-24, 2.0**-14, np.inf, -np.inf,
                                np.nan, -2.5], dtype="<f2"), "f16special")
    put("extremes_i8", np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, -1, 0],
                                dtype=">i8"), "extremes_i8")
    put("extremes_u8", np.array([np.iinfo(np.uint64).max, 0, 1 << 24, (1 << 24) + 1],
                                dtype="<u8"), "extremes_u8")
    put("extremes_i1", np.array([-128, 127, -1, 0], dtype="i1"), "extremes_i1")
    put("structured", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]), "unsupported")
    put("complex", np.zeros(3, dtype="<c8"), "unsupported")
    put("unicode", np.array(["ab", "c"]), "unsupported")
    put("datetime", np.zeros(2, dtype="<M8[s]"), "unsupported")
    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
