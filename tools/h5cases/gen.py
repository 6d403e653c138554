#!/usr/bin/env python3
"""Generates the HDF5 files that tests/h5diff compares between kerasrt's reader and h5py.

    gen.py OUTDIR [--no-repack]

Writes <case>-<libver>.h5 files (libver "default" = h5py's (earliest, latest) bounds, giving
superblock v0 and v1 object headers; "latest" = superblock v3, v2 headers, link/attribute
messages, layout v4 chunk indexes; "v108" = superblock v2) plus copies rewritten by h5repack
(repack-*.h5) when h5repack is on PATH. Deterministic: fixed seeds and no timestamps requested,
so files are byte-for-byte reproducible except the object times that h5repack and HDF5's
committed datatypes (named-latest) write; those change values, never sizes or offsets.

Every case is a function below; each covers one family of HDF5 features (see its docstring).
The mutation test (tests/h5diff/run_diff.py) uses the small mut-*.h5 files.
"""

import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

LIBVERS = {
    "default": None,
    "latest": "latest",
    "v108": ("v108", "v108"),
    # HDF5 2.0's newest structures (layout message v5 for filtered chunked data, datatype message
    # v5) appear only with "latest"; v114 bounds give the same superblock v3 / v2 headers with
    # layout v4, so the v4 chunk indexes stay covered whatever the reader thinks of v5.
    "v114": ("v114", "v114"),
}

NUMERIC = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
           "float16", "float32", "float64"]


def rng(seed):
    return np.random.default_rng(seed)


def extremes(dt):
    """Values that probe conversions: limits, signs, float specials and subnormals."""
    dt = np.dtype(dt)
    if dt.kind in "iu":
        info = np.iinfo(dt)
        vals = [info.min, info.max, 0, 1, info.max // 3]
        if dt.kind == "i":
            vals += [-1, info.min + 1]
        return np.array(vals, dtype=dt)
    info = np.finfo(dt)
    return np.array([0.0, -0.0, 1.0, -2.5, info.max, info.min, info.tiny, info.tiny / 4,
                     info.eps, np.inf, -np.inf, np.nan, 0.1], dtype=dt)


def fixed_string_attr(obj, name, values, size, pad, cset=h5py.h5t.CSET_ASCII, shape=None):
    """A fixed-length string attribute with an explicit pad type; bytes are stored verbatim."""
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_strpad(pad)
    tid.set_cset(cset)
    arr = np.array(values, dtype=f"S{size}")
    if shape is not None:
        arr = arr.reshape(shape)
    if arr.ndim == 0:
        space = h5py.h5s.create(h5py.h5s.SCALAR)
    else:
        space = h5py.h5s.create_simple(arr.shape)
    aid = h5py.h5a.create(obj.id, name.encode(), tid, space)
    aid.write(arr, mtype=tid)


def untimed_dcpl():
    """Dataset creation properties without modification times (h5py's high level does the
    same), so that generated files are byte-for-byte reproducible."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    return dcpl


def fixed_string_dataset(group, name, values, size, pad, shape=None):
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_strpad(pad)
    arr = np.array(values, dtype=f"S{size}")
    if shape is not None:
        arr = arr.reshape(shape)
    space = (h5py.h5s.create(h5py.h5s.SCALAR) if arr.ndim == 0
             else h5py.h5s.create_simple(arr.shape))
    dsid = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=untimed_dcpl())
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, arr, mtype=tid)


# ---------------------------------------------------------------------------------------------
# Cases. Each takes an open h5py.File and the libver key.

def case_groups(f, libver):
    """Groups with 0, 8, 9 and 3,000 links (compact vs dense links under latest; multi-level
    symbol-table B-trees by default), hard links to one object from many paths, and a group with
    creation-order tracking."""
    f.create_group("g0")
    g8 = f.create_group("g8")
    for i in range(8):
        g8.create_dataset(f"d{i}", data=np.arange(i + 1, dtype="int32"))
    g9 = f.create_group("g9")
    for i in range(9):
        if i % 2:
            g9.create_group(f"sub{i}").attrs["i"] = i
        else:
            g9.create_dataset(f"d{i}", data=np.full((2, i + 1), i, dtype="float32"))
    big = f.create_group("g3000")
    shared = f.create_dataset("shared", data=np.arange(4, dtype="int16"))
    for i in range(3000):
        name = f"n{i:05d}_{'x' * (i % 7)}"
        if i % 100 == 0:
            big.create_group(name)
        else:
            big[name] = shared  # hard link: listed under every path
    ordered = f.create_group("ordered", track_order=True)
    for name in ["zeta", "alpha", "mu", "beta", "omega", "pi", "rho", "chi", "tau", "eta"]:
        ordered.create_group(name)
    ordered.attrs["z"] = 1
    ordered.attrs["a"] = 2


def case_attrs(f, libver):
    """More than 8 attributes on groups and datasets (dense attribute storage under latest),
    attributes over 64 KB (latest only: fractal-heap huge objects), a 300 KB scalar vlen string
    (model_config-sized, a large global heap collection), empty and null attributes."""
    g = f.create_group("many")
    for i in range(20):
        g.attrs[f"attr{i:02d}"] = np.arange(i + 1, dtype="float64") * 0.5
    d = f.create_dataset("many_ds", data=np.zeros(3, dtype="float32"))
    for i in range(12):
        d.attrs[f"a{i}"] = f"value {i}"
    r = rng(1)
    text = "".join(chr(c) for c in r.integers(32, 127, size=300_000))
    f.attrs["model_config"] = text.encode()
    f.attrs["empty_weight_names"] = np.zeros((0,), dtype="float64")
    f.attrs["null"] = h5py.Empty("float32")
    f.attrs["scalar_f"] = np.float32(1.5)
    f.attrs["vec"] = np.arange(5, dtype="int64")
    f.attrs["mat"] = np.arange(12, dtype="int32").reshape(3, 4)
    f.attrs["cube"] = np.arange(24, dtype="float64").reshape(2, 3, 4) / 7
    f.attrs["zero_dim"] = np.zeros((3, 0), dtype="int32")
    if libver == "latest":
        big = f.create_group("big")
        names = [f"layer_name_{i:06d}".encode() * 3 for i in range(1500)]  # ~70 KB
        big.attrs["layer_names"] = np.array(names, dtype=f"S{len(names[0])}")
        big.attrs["floats"] = r.standard_normal(10_000)  # 80 KB
        for i in range(3):
            big.attrs[f"small{i}"] = i


def case_strings(f, libver):
    """Fixed strings (NULLPAD with and without a trailing NUL, NULLTERM, SPACEPAD, UTF-8), vlen
    strings (ASCII, UTF-8 non-ASCII), scalar / 1-D / 2-D, as attributes and datasets, and
    non-ASCII object and attribute names."""
    NT, NP, SP = h5py.h5t.STR_NULLTERM, h5py.h5t.STR_NULLPAD, h5py.h5t.STR_SPACEPAD
    g = f.create_group("attrs")
    # h5py's own defaults: numpy S arrays are NULLPAD; a full-width value has no NUL.
    g.attrs["nullpad_trailing"] = np.array([b"abc", b"de", b""], dtype="S8")
    g.attrs["nullpad_full"] = np.array([b"batch_normalization", b"dense"], dtype="S19")
    g.attrs["nullpad_scalar"] = np.bytes_(b"hello")
    g.attrs["nullpad_2d"] = np.array([[b"a", b"bb"], [b"ccc", b"dddd"]], dtype="S4")
    g.attrs["nullpad_inner_nul"] = np.array([b"ab\x00cd"], dtype="S6")
    fixed_string_attr(g, "nullterm", [b"abc", b"defghij", b""], 8, NT)
    fixed_string_attr(g, "nullterm_scalar", b"xyz", 4, NT)
    fixed_string_attr(g, "spacepad", [b"abc     ", b"d       "], 8, SP)
    # h5py converts to NULLPAD: NULLTERM stops at the first NUL, SPACEPAD drops trailing spaces.
    fixed_string_attr(g, "nullterm_inner_nul", [b"ab\0cd\0\0\0", b"abcdefgh"], 8, NT)
    fixed_string_attr(g, "spacepad_odd", [b"ab  cd  ", b"x\0  \0   ", b"        "], 8, SP)
    fixed_string_attr(g, "fixed_utf8", ["h\u00e9".encode(), "\u20ac".encode()], 4, NP,
                      cset=h5py.h5t.CSET_UTF8)
    g.attrs["vlen_ascii"] = b"keras_version 2.15"
    g.attrs["vlen_utf8"] = "gr\u00fc\u00dfe \u2603 \U0001f600"
    g.attrs["vlen_list"] = [b"dense", b"dense_1", b""]  # h5py 3: vlen ASCII array
    g.attrs.create("vlen_utf8_list", ["\u00e9t\u00e9", "hiver"], dtype=h5py.string_dtype())
    g.attrs.create("vlen_2d", np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=object),
                   dtype=h5py.string_dtype())
    g.attrs["vlen_invalid_utf8"] = np.array(b"a\xffb\xc3(", dtype=h5py.string_dtype("ascii"))
    g.attrs["ctl \t\n\"\\ chars"] = "quote \" backslash \\ newline \n tab \t bell \x07"
    g.attrs["n\u00e4me_\u00fcnicode"] = 1
    d = f.create_group("datasets")
    d.create_dataset("vlen", data=np.array([b"alpha", b"", b"gamma"], dtype=object),
                     dtype=h5py.string_dtype("ascii"))
    d.create_dataset("vlen_utf8", data=np.array(["\u00e9", "\U0001f600", "x"], dtype=object),
                     dtype=h5py.string_dtype())
    d.create_dataset("vlen_scalar", data="scalar \u00e9", dtype=h5py.string_dtype())
    d.create_dataset("vlen_2d", data=np.array([["a", "bb"], ["ccc", ""]], dtype=object),
                     dtype=h5py.string_dtype())
    d.create_dataset("fixed", data=np.array([b"one", b"three", b"fivefive"], dtype="S8"))
    d.create_dataset("fixed_scalar", data=np.bytes_(b"abc"))
    fixed_string_dataset(d, "nullterm", [b"abc", b"de"], 6, NT)
    fixed_string_dataset(d, "spacepad", [b"ab    ", b"cdef  ", b"x\0  \0"], 6, SP)
    fixed_string_dataset(d, "nullterm_inner_nul", [b"ab\0cd\0", b"abcdef"], 6, NT)
    d.create_dataset("nullpad_inner_nul", data=np.array([b"ab\0cd", b"x"], dtype="S6"))
    f.create_group("gr\u00fcppe_\u65e5\u672c").create_dataset("\u00e9", data=np.arange(2))
    # Names that are not UTF-8 (HDF5 stores bytes): listed with \udcXX escapes on both sides.
    bad = f.create_group(b"inv\xffalid")
    bad.attrs.create(b"a\xfeb", 1)
    bad.create_dataset(b"d\xc3", data=np.arange(3))


def case_numeric(f, libver):
    """Every numeric type little- and big-endian, bool, as datasets (1-D, 2-D, 3-D, scalar) and
    attributes (scalar, 1-D, 2-D), with extreme values."""
    d = f.create_group("le")
    b = f.create_group("be")
    a = f.create_group("attrs")
    r = rng(2)
    for name in NUMERIC:
        dt = np.dtype(name)
        vals = extremes(dt)
        d.create_dataset(name, data=vals)
        b.create_dataset(name, data=vals.astype(dt.newbyteorder(">")))
        a.attrs[name] = vals
        a.attrs[name + "_scalar"] = vals[1]
        a.attrs[name + "_be"] = vals.astype(dt.newbyteorder(">"))
        a.attrs[name + "_2d"] = np.resize(vals, (2, 3))
        d.create_dataset(name + "_scalar", data=vals[1])
    d.create_dataset("bool", data=np.array([True, False, True, True]))
    d.create_dataset("bool_scalar", data=np.bool_(True))
    a.attrs["bool"] = np.array([True, False])
    a.attrs["bool_scalar"] = np.bool_(False)
    d.create_dataset("f32_3d", data=r.standard_normal((3, 4, 5)).astype("float32"))
    d.create_dataset("f64_big", data=r.standard_normal((64, 129)))
    b.create_dataset("f32_3d", data=r.standard_normal((2, 3, 4)).astype(">f4"))


def case_layouts(f, libver):
    """Zero-size, scalar, null-dataspace and never-written datasets, compact layout, contiguous,
    and chunked data: plain, gzip, shuffle+gzip, fletcher32, lzf, partial edge chunks, partially
    written chunks. Under latest the chunk index follows the shape: single chunk, implicit
    (early allocation), fixed array, extensible array (one unlimited dim), v2 B-tree (two)."""
    r = rng(3)
    data = r.standard_normal((37, 23)).astype("float32")
    f.create_dataset("contiguous", data=data)
    f.create_dataset("empty", shape=(0, 4), dtype="float32")
    f.create_dataset("empty_chunked", shape=(0,), maxshape=(None,), dtype="int32")
    f.create_dataset("scalar", data=np.int64(-42))
    f.create_dataset("null", data=h5py.Empty("float64"))
    f.create_dataset("unwritten", shape=(5, 3), dtype="float32")
    # Compact: the data sits inside the object header.
    dcpl = untimed_dcpl()
    dcpl.set_layout(h5py.h5d.COMPACT)
    arr = np.arange(50, dtype="<i2")
    dsid = h5py.h5d.create(f.id, b"compact", h5py.h5t.STD_I16LE,
                           h5py.h5s.create_simple(arr.shape), dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, arr)
    c = f.create_group("chunked")
    c.create_dataset("plain", data=data, chunks=(8, 8))
    c.create_dataset("gzip", data=data, chunks=(10, 7), compression="gzip", compression_opts=6)
    c.create_dataset("shuffle_gzip", data=data, chunks=(16, 16), compression="gzip",
                     shuffle=True)
    c.create_dataset("fletcher32", data=data, chunks=(8, 23), fletcher32=True)
    c.create_dataset("shuffle_gzip_fletcher32", data=data.astype("float64"), chunks=(5, 5),
                     compression="gzip", shuffle=True, fletcher32=True)
    c.create_dataset("lzf", data=data, chunks=(9, 9), compression="lzf")
    c.create_dataset("ints_gzip", data=np.arange(1000, dtype=">i4").reshape(10, 100),
                     chunks=(3, 33), compression="gzip")
    c.create_dataset("single_chunk", data=data, chunks=data.shape)
    c.create_dataset("single_chunk_gzip", data=data, chunks=data.shape, compression="gzip")
    c.create_dataset("fixed_array", data=data, chunks=(4, 5), maxshape=data.shape)
    c.create_dataset("extensible", data=data, chunks=(4, 5), maxshape=(None, 23))
    c.create_dataset("extensible_gzip", data=data, chunks=(4, 5), maxshape=(None, 23),
                     compression="gzip")
    c.create_dataset("btree2", data=data, chunks=(4, 5), maxshape=(None, None))
    c.create_dataset("btree2_gzip", data=data, chunks=(3, 3), maxshape=(None, None),
                     compression="gzip", shuffle=True)
    big = np.arange(200_000, dtype="float32")
    c.create_dataset("extensible_many", data=big, chunks=(100,), maxshape=(None,))
    c.create_dataset("fixed_array_many", data=big, chunks=(100,))
    # Implicit index: fixed dims, no filters, space allocated at creation.
    dcpl = untimed_dcpl()
    dcpl.set_chunk((6, 6))
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    dsid = h5py.h5d.create(c.id, b"implicit", h5py.h5t.IEEE_F32LE,
                           h5py.h5s.create_simple(data.shape), dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
    # Partially written: most chunks never allocated; they read as the fill value (0).
    p = c.create_dataset("partial", shape=(100, 100), chunks=(10, 10), dtype="float32")
    p[0:10, 0:25] = 1.5
    p[55:60, 90:100] = -2
    pe = c.create_dataset("partial_extensible", shape=(50,), chunks=(8,), maxshape=(None,),
                          dtype="int64", compression="gzip")
    pe[10:20] = np.arange(10)
    pb = c.create_dataset("partial_btree2", shape=(20, 20), chunks=(4, 4),
                          maxshape=(None, None), dtype="uint8")
    pb[3:5, 17:20] = 7
    c.create_dataset("bool_chunked", data=r.integers(0, 2, 100).astype(bool), chunks=(7,),
                     compression="gzip")
    c.create_dataset("vlen_chunked", data=np.array([b"x" * i for i in range(20)], dtype=object),
                     dtype=h5py.string_dtype("ascii"), chunks=(6,), compression="gzip")
    c.create_dataset("f16_be_chunked", data=r.standard_normal(300).astype(">f2"), chunks=(64,),
                     shuffle=True, compression="gzip")


def case_fillvalue(f, libver):
    """Unwritten chunks and a never-written contiguous dataset with a non-zero fill value, which
    h5py returns for them (kept apart so that a fill-value bug does not hide other results)."""
    p = f.create_dataset("partial_fill", shape=(30, 30), chunks=(10, 10), dtype="float32",
                         fillvalue=7.5)
    p[0:10, 0:10] = 1
    f.create_dataset("unwritten_fill", shape=(4,), dtype="int32", fillvalue=-3)


def case_misc(f, libver):
    """Types outside the numeric subset: opaque (numpy void), non-bool enum, compound, object
    references."""
    f.create_dataset("opaque", data=np.array([b"\x01\x02", b"\xff\x00"], dtype="V2"))
    f.attrs["opaque"] = np.void(b"\xde\xad\xbe\xef")
    et = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i2")
    f.create_dataset("enum", data=np.array([0, 42, 1], dtype="i2"), dtype=et)
    f.attrs.create("enum", 42, dtype=et)
    f.create_dataset("compound", data=np.array([(1, 2.5), (3, -1.0)],
                                               dtype=[("a", "<i4"), ("b", "<f8")]))
    f.create_dataset("complex", data=np.array([1 + 2j, 3 - 4j], dtype="complex64"))
    g = f.create_group("target")
    f.create_dataset("refs", data=[g.ref, f["opaque"].ref], dtype=h5py.ref_dtype)


def case_named(f, libver):
    """A named (committed) datatype, and a dataset whose datatype message is shared with it."""
    f["named_f4"] = np.dtype("<f4")
    f["named_f4"].attrs["note"] = "committed datatype"
    f.create_dataset("uses_named", data=np.arange(3, dtype="f4"), dtype=f["named_f4"])


def case_links(f, libver):
    """Soft links (to a dataset, a group, a dangling path), external links, and a hard-link cycle
    (a group linked inside itself and inside its child)."""
    a = f.create_group("a")
    a.create_dataset("data", data=np.arange(3, dtype="f8"))
    b = a.create_group("b")
    b["up"] = a  # cycle: /a/b/up is /a
    a["self"] = a
    f["soft_data"] = h5py.SoftLink("/a/data")
    f["soft_group"] = h5py.SoftLink("/a/b")
    f["dangling"] = h5py.SoftLink("/no/such/thing")
    f["external"] = h5py.ExternalLink("numeric-default.h5", "/le/float32")
    a["ext_rel"] = h5py.ExternalLink("other file \u00e9.h5", "x")
    f["alias"] = a["data"]


def case_keras(f, libver):
    """A tf.keras-2.x-style whole-model file (keras-format.md §1): str root attributes, bytes
    model_config, vlen layer_names/weight_names, empty float64 weight_names, sub-group weight
    paths, optimizer_weights with an int64 scalar, top_level_model_weights."""
    r = rng(4)
    f.attrs["keras_version"] = "2.15.0"
    f.attrs["backend"] = "tensorflow"
    f.attrs["model_config"] = (b'{"class_name": "Sequential", "config": {"name": "sequential", '
                               b'"layers": []}}')
    f.attrs["training_config"] = b'{"loss": "mse"}'
    mw = f.create_group("model_weights")
    layers = {"input_1": [], "dense": [("dense/kernel:0", (8, 4)), ("dense/bias:0", (4,))],
              "batch_normalization": [("batch_normalization/gamma:0", (4,)),
                                      ("batch_normalization/beta:0", (4,)),
                                      ("batch_normalization/moving_mean:0", (4,)),
                                      ("batch_normalization/moving_variance:0", (4,))],
              "lstm": [("lstm/lstm_cell/kernel:0", (4, 16)),
                       ("lstm/lstm_cell/recurrent_kernel:0", (4, 16)),
                       ("lstm/lstm_cell/bias:0", (16,))],
              "dropout": []}
    mw.attrs["layer_names"] = [n.encode() for n in layers]
    mw.attrs["backend"] = b"tensorflow"
    mw.attrs["keras_version"] = b"2.15.0"
    for lname in sorted(layers):
        g = mw.create_group(lname)
        weights = layers[lname]
        if weights:
            g.attrs["weight_names"] = [w.encode() for w, _ in weights]
        else:
            g.attrs["weight_names"] = np.zeros((0,), dtype="float64")
        for wname, shape in weights:
            g.create_dataset(wname, data=r.standard_normal(shape).astype("float32"))
    top = mw.create_group("top_level_model_weights")
    top.attrs["weight_names"] = np.zeros((0,), dtype="float64")
    ow = f.create_group("optimizer_weights")
    ow.attrs["weight_names"] = [b"Adam/iter:0", b"Adam/dense/kernel/m:0"]
    ow.create_dataset("Adam/iter:0", data=np.int64(1234))
    ow.create_dataset("Adam/dense/kernel/m:0", data=r.standard_normal((8, 4)).astype("float32"))


def case_keras_h5py2(f, libver):
    """The same names as written by h5py 2.x (fixed NULLPAD S arrays), and layer_names split into
    layer_names0/1 as Keras does past 64,512 bytes (§1.6)."""
    mw = f.create_group("model_weights")
    names = [f"dense_layer_with_a_long_name_{i:020d}".encode() for i in range(1501)]
    parts = np.array_split(np.array(names), 2)
    for i, part in enumerate(parts):
        mw.attrs[f"layer_names{i}"] = part
    for n in names[:40]:
        g = mw.create_group(n.decode())
        g.attrs["weight_names"] = np.array([n + b"/kernel:0"])
        g.create_dataset(n.decode() + "/kernel:0", data=np.ones((2, 2), dtype="float32"))
    f.attrs["keras_version"] = np.bytes_(b"2.2.4")
    f.attrs["backend"] = np.bytes_(b"tensorflow")


def case_userblock(f, libver):
    """Content after a user block (the superblock is searched at 512, 1024, ...)."""
    f.attrs["hello"] = "user block before me"
    f.create_dataset("x", data=np.arange(10, dtype="float32"))
    f.create_group("g").attrs["n"] = 1


def case_mut(f, libver):
    """Small file for the mutation test: nested groups, vlen and fixed string attributes,
    contiguous and chunked (gzip) data, and under latest dense links (>8 children) and dense
    attributes (>8 attributes), plus an extensible-array chunk index."""
    r = rng(5)
    f.attrs["keras_version"] = "2.15.0"
    f.attrs["names"] = [b"dense", b"conv"]
    f.attrs["fixed"] = np.array([b"ab", b"cde"], dtype="S3")
    mw = f.create_group("model_weights")
    d = mw.create_group("dense")
    d.attrs["weight_names"] = [b"dense/kernel:0", b"dense/bias:0"]
    d.create_dataset("dense/kernel:0", data=r.standard_normal((6, 4)).astype("float32"))
    d.create_dataset("dense/bias:0", data=np.arange(4, dtype="float64"))
    e = mw.create_group("empty")
    e.attrs["weight_names"] = np.zeros((0,), dtype="float64")
    c = f.create_group("chunks")
    c.create_dataset("gzip", data=r.standard_normal((20, 6)).astype("float32"), chunks=(5, 3),
                     compression="gzip", shuffle=True)
    c.create_dataset("ext", data=np.arange(40, dtype="int16"), chunks=(8,), maxshape=(None,))
    c.create_dataset("vlen", data=np.array([b"one", b"two"], dtype=object),
                     dtype=h5py.string_dtype("ascii"))
    if libver != "default":
        dense = f.create_group("dense_links")
        for i in range(10):
            dense.create_group(f"child{i}")
        for i in range(10):
            dense.attrs[f"attr{i}"] = np.int32(i)


CASES = {
    "groups": (case_groups, ["default", "latest"]),
    "attrs": (case_attrs, ["default", "latest"]),
    "strings": (case_strings, ["default", "latest", "v108"]),
    "numeric": (case_numeric, ["default", "latest"]),
    "layouts": (case_layouts, ["default", "latest", "v108", "v114"]),
    "fillvalue": (case_fillvalue, ["default", "latest"]),
    "misc": (case_misc, ["default", "latest"]),
    "named": (case_named, ["default", "latest"]),
    "links": (case_links, ["default", "latest"]),
    "keras": (case_keras, ["default", "latest", "v108"]),
    "keras_h5py2": (case_keras_h5py2, ["default"]),
    "userblock512": (case_userblock, ["default", "latest"]),
    "userblock1024": (case_userblock, ["default", "latest"]),
    "mut": (case_mut, ["default", "latest", "v114"]),
}


def write_case(outdir, name, func, libver):
    path = os.path.join(outdir, f"{name}-{libver}.h5")
    kwargs = {}
    if LIBVERS[libver] is not None:
        kwargs["libver"] = LIBVERS[libver]
    if name.startswith("userblock"):
        kwargs["userblock_size"] = int(name[len("userblock"):])
    with h5py.File(path, "w", **kwargs) as f:
        func(f, libver)
    if name.startswith("userblock"):
        # Recognisable user-block content (h5py leaves it zero).
        with open(path, "r+b") as fh:
            fh.write(b"USERBLOCK:" + bytes(range(32, 127)))
    return path


# h5repack rewrites: (output name, source case file, arguments). The sources avoid lzf, which
# libhdf5's tools cannot decode, and are default-libver files: Debian's h5repack (HDF5 1.10)
# cannot read some messages that h5py's HDF5 2.0 writes under libver="latest" (datatype
# message version 5). Files written by HDF5 1.10 with -L / --low/--high are a second producer
# of the latest-format structures.
REPACKS = [
    ("repack-plain-keras", "keras-default.h5", []),
    ("repack-plain-strings", "strings-default.h5", []),
    ("repack-gzip6-numeric", "numeric-default.h5", ["-f", "GZIP=6"]),
    ("repack-shuf-gzip-keras", "keras-default.h5", ["-f", "SHUF", "-f", "GZIP=1"]),
    ("repack-fletcher-keras", "keras-default.h5", ["-L", "-f", "FLET"]),
    ("repack-chunk-numeric", "numeric-default.h5", ["-l", "CHUNK=2"]),
    ("repack-chunk-keras-latest", "keras-default.h5", ["-L", "-l", "CHUNK=3x2"]),
    ("repack-latest-groups", "groups-default.h5", ["-L"]),
    ("repack-latest-attrs", "attrs-default.h5", ["-L"]),
    ("repack-lowhigh-strings", "strings-default.h5", ["--low=1", "--high=2"]),
    ("repack-contig-layouts", "layouts-default.h5", ["-l", "CONTI"]),
    ("repack-compact-numeric", "numeric-default.h5", ["-l", "COMPA"]),
    ("repack-paged-keras", "keras-default.h5", ["-L", "-S", "PAGE", "-P", "1", "-G", "4096"]),
    ("repack-fsm-persist-keras", "keras-default.h5", ["-S", "FSM_AGGR", "-P", "1"]),
    ("repack-ublock-keras", "keras-default.h5", ["-b", "2048", "-u", "{ublock}"]),
    ("repack-dense-links", "groups-default.h5", ["-L", "-c", "4", "-d", "2"]),
    ("repack-native-numeric", "numeric-default.h5", ["-n"]),
]


def repack(outdir):
    tool = shutil.which("h5repack")
    if tool is None:
        print("gen.py: h5repack not found; skipping repacked copies", file=sys.stderr)
        return []
    ublock = os.path.join(outdir, "userblock.bin")
    with open(ublock, "wb") as fh:
        # Exactly the block size: h5repack 1.10 loops forever on a shorter user-block file.
        fh.write((b"h5repack user block\n" * 103)[:2048])
    made = []
    for out, src, args in REPACKS:
        args = [a.format(ublock=ublock) for a in args]
        dst = os.path.join(outdir, out + ".h5")
        res = subprocess.run([tool, *args, os.path.join(outdir, src), dst],
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise SystemExit(f"gen.py: h5repack {' '.join(args)} {src} failed:\n{res.stderr}")
        made.append(dst)
    return made


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--no-repack", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    made = []
    for name, (func, libvers) in CASES.items():
        for libver in libvers:
            made.append(write_case(args.outdir, name, func, libver))
    if not args.no_repack:
        made += repack(args.outdir)
    print(f"gen.py: wrote {len(made)} files to {args.outdir}")


if __name__ == "__main__":
    main()
