#!/usr/bin/env python3
"""Writes the small HDF5 files the reader's unit tests read back (tests/hdf5/reader_test.cpp).

Usage: make_files.py OUTDIR

The same content is written with h5py's default libver (superblock 0, v1 object headers,
symbol-table groups) and with libver='latest' (superblock 3, v2 headers, link messages, dense
links and attributes), plus a copy with a 512-byte user block. The C++ tests assert exact values,
so everything here is deterministic. small*.h5 are the inputs of the hostile-input tests.
"""
import os
import sys

import h5py
import numpy as np


def fixed_string_type(size, pad):
    t = h5py.h5t.C_S1.copy()
    t.set_size(size)
    t.set_strpad(pad)
    return t


def write_attr_lowlevel(obj, name, tid, data):
    space = h5py.h5s.create_simple(data.shape)
    attr = h5py.h5a.create(obj.id, name.encode(), tid, space)
    attr.write(data)


def write_compact(group, name, data):
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple(data.shape)
    tid = h5py.h5t.py_create(data.dtype)
    ds = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl)
    ds.write(h5py.h5s.ALL, h5py.h5s.ALL, data)


def write_content(f, latest):
    # Root attributes: every string kind and numeric type.
    a = f.attrs
    a["keras_version"] = "2.15.0"  # vlen UTF-8
    a.create("backend", np.bytes_(b"tensorflow"))  # fixed NULLPAD, scalar
    a.create("utf8", "h\u00e9llo w\u00f6rld \u2713", dtype=h5py.string_dtype("utf-8"))
    a.create("vlen_list", ["dense", "dense_1", "", "x" * 100], dtype=h5py.string_dtype("ascii"))
    a.create("fixed_nullpad", np.array([b"ab", b"abcd", b""], dtype="S4"))
    write_attr_lowlevel(f, "fixed_nullterm", fixed_string_type(5, h5py.h5t.STR_NULLTERM),
                        np.array([b"abc", b"de"], dtype="S5"))
    write_attr_lowlevel(f, "fixed_spacepad", fixed_string_type(6, h5py.h5t.STR_SPACEPAD),
                        np.array([b"ab", b"abcdef"], dtype="S6"))
    a.create("empty_f64", np.zeros((0,), "f8"))
    a.create("int64_scalar", np.int64(-5))
    a.create("uint8s", np.array([0, 255], "u1"))
    a.create("be_i32", np.array([-2, 70000], ">i4"))
    a.create("f16", np.array([1.5, -2.0, 65504.0], "f2"))
    a.create("be_f64", np.array([1e300, -0.5], ">f8"))
    a.create("bool", np.bool_(True))
    a.create("bools", np.array([True, False, True]))
    a.create("opaque", np.void(b"\x01\x02"))
    a.create("compound", np.array([(1, 2.5)], dtype=[("a", "<i4"), ("b", "<f4")]))
    a.create("enum", np.array([0, 42], "i1"),
             dtype=h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i1"))
    a.create("null_space", h5py.Empty("f4"))
    if latest:
        # > 64 KB: dense attribute storage with a fractal-heap huge object.
        a.create("big", np.arange(20000, dtype="f4"))

    # A Keras-like weights tree.
    mw = f.create_group("model_weights")
    mw.attrs.create("layer_names", [b"dense"], dtype=h5py.string_dtype("ascii"))
    d = mw.create_group("dense").create_group("dense")
    d.create_dataset("kernel:0", data=np.arange(12, dtype="f4").reshape(3, 4))
    d.create_dataset("bias:0", data=np.zeros(4, "f4"))

    # Many children: a multi-level v1 B-tree (default) or dense links (latest).
    many = f.create_group("many")
    for i in range(300):
        many.create_group("g%03d" % i)
    few = f.create_group("few")
    for i in range(9):
        few.create_group("c%d" % i)
    ordered = f.create_group("ordered", track_order=True)
    for i in range(10):
        ordered.create_group("z%02d" % (9 - i))
    f["soft"] = h5py.SoftLink("/model_weights")
    f["ext"] = h5py.ExternalLink("other.h5", "/x")

    # Datasets of every element type.
    g = f.create_group("data")
    g.create_dataset("f32", data=np.arange(12, dtype="f4").reshape(3, 4))
    g.create_dataset("f16", data=np.array([0.5, -1.0, 2.0, 65504.0, 6e-8], "f2"))
    g.create_dataset("f64be", data=np.array([[1.25, -2.5], [1e10, 0.0]], ">f8"))
    g.create_dataset("f32be", data=np.array([3.5, -4.25], ">f4"))
    for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", ">i2", ">u4", ">i8"]:
        name = t.replace(">", "be_")
        info = np.iinfo(np.dtype(t))
        g.create_dataset(name, data=np.array([info.min, 0, 1, info.max], t))
    g.create_dataset("bool", data=np.array([True, False, False, True]))
    g.create_dataset("empty", data=np.zeros((0, 4), "f4"))
    g.create_dataset("scalar", data=np.int64(42))
    g.create_dataset("unwritten", shape=(10,), dtype="f4")
    write_compact(g, "compact", np.array([1.0, 2.0, 3.0], "f4"))
    g.create_dataset("gzip", data=np.arange(1000, dtype="f4").reshape(40, 25), chunks=(8, 10),
                     compression="gzip", shuffle=True, fletcher32=True)
    g.create_dataset("chunked", data=np.arange(30, dtype="i4").reshape(5, 6), chunks=(2, 4))
    g.create_dataset("vlen_str", data=["alpha", "", "\u00fcber"], dtype=h5py.string_dtype())
    g.create_dataset("fixed_str", data=np.array([b"abc", b"de"], dtype="S3"))
    g.create_dataset("opaque", data=np.array([b"\x01\x02", b"\x03\x04"], dtype="V2"))
    g.create_dataset("compound", data=np.array([(1, 2.5), (3, 4.5)],
                                               dtype=[("a", "<i4"), ("b", "<f4")]))
    g.create_dataset("array", shape=(2,), dtype=np.dtype(("<f4", (3,))))
    g["kernel"] = g["f32"]  # a second hard link to the same object
    # Non-zero fill values: a chunked dataset with one of 9 chunks written, and a contiguous
    # dataset never written (undefined address).
    pf = g.create_dataset("partial_fill", shape=(6, 6), dtype="f4", chunks=(2, 2), fillvalue=7.5)
    pf[0:2, 0:2] = np.arange(4, dtype="f4").reshape(2, 2)
    g.create_dataset("unwritten_fill", shape=(5,), dtype="<i2", fillvalue=-3)


def write_small(f):
    """A small Keras-like file for the byte-flip and truncation tests."""
    f.attrs["keras_version"] = "2.15.0"
    f.attrs.create("layer_names", [b"dense", b"dense_1"], dtype=h5py.string_dtype("ascii"))
    f.attrs.create("names", np.array([b"a", b"bcd"], dtype="S3"))
    f.attrs.create("n", np.int64(7))
    mw = f.create_group("model_weights")
    for i in range(3):
        d = mw.create_group("dense_%d" % i).create_group("dense_%d" % i)
        d.attrs.create("weight_names", [b"kernel:0"], dtype=h5py.string_dtype("ascii"))
        d.create_dataset("kernel:0", data=np.arange(6, dtype="f4").reshape(2, 3) + i)
    mw.create_dataset("z", data=np.arange(64, dtype="f2").reshape(8, 8), chunks=(4, 4),
                      compression="gzip", shuffle=True)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    with h5py.File(os.path.join(out, "default.h5"), "w") as f:
        write_content(f, latest=False)
    with h5py.File(os.path.join(out, "latest.h5"), "w", libver="latest") as f:
        write_content(f, latest=True)
    with h5py.File(os.path.join(out, "userblock.h5"), "w", userblock_size=512) as f:
        write_content(f, latest=False)
    with open(os.path.join(out, "userblock.h5"), "r+b") as f:
        f.write(b"user block text")
    with h5py.File(os.path.join(out, "small.h5"), "w") as f:
        write_small(f)
    with h5py.File(os.path.join(out, "small_latest.h5"), "w", libver="latest") as f:
        write_small(f)


if __name__ == "__main__":
    main()
