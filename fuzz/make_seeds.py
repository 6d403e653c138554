#!/usr/bin/env python3
"""Writes the fuzz seed corpus (fuzz/corpus/<target>/) and the region templates
(fuzz/hdf5_region_templates.inc).

Run from anywhere with the project's venv (h5py + numpy):

    .venv/bin/python fuzz/make_seeds.py

Every seed is a small file (< 20 KB) made by h5py, or an input for a structure target derived
from one. The output is committed; re-running it rewrites the corpus (HDF5 stores modification
times in object headers, so the bytes are not reproducible, the structures are).

Input formats of the structure targets (keep in sync with the C++ entry functions):
  hdf5_file     a whole HDF5 file
  hdf5_region   [u8 template][region bytes]: the region overwrites the template file from the
                template's cut offset on (fuzz_hdf5_region.cpp)
  hdf5_filters  [u8 nfilters][per filter: u8 id selector, u8 flags, u8 ncd, ncd x u32 LE]
                [u32 filter mask][u32 expected size][u8 element size][chunk bytes]
  hdf5_chunked  see fuzz_hdf5_chunked.cpp: a layout header followed by the file bytes
"""
import io
import json
import os
import struct
import sys
import tempfile

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
MAX_SEED = 20 * 1024

rng = np.random.default_rng(1234)


def h5bytes(fill, **kw):
    """Runs fill(f) on a fresh h5py file and returns the file's bytes."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "f.h5")
        with h5py.File(path, "w", **kw) as f:
            fill(f)
        with open(path, "rb") as fh:
            return fh.read()


def model_config(n):
    layers = [{"class_name": "Dense", "config": {"name": f"dense_{i}", "units": 4}}
              for i in range(n)]
    return json.dumps({"class_name": "Sequential", "config": {"layers": layers}})


def keras_like(n_layers, vlen_names=True):
    def fill(f):
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = model_config(n_layers).encode()
        mw = f.create_group("model_weights")
        names = [f"dense_{i}".encode() for i in range(n_layers)]
        if vlen_names:
            mw.attrs["layer_names"] = names  # h5py 3: vlen ASCII strings
        else:
            mw.attrs["layer_names"] = np.array(names)  # fixed-length S, NULLPAD
        mw.attrs["backend"] = b"tensorflow"
        mw.attrs["keras_version"] = b"2.15.0"
        for i in range(n_layers):
            g = mw.create_group(f"dense_{i}")
            g.attrs["weight_names"] = [f"dense_{i}/kernel:0".encode(), f"dense_{i}/bias:0".encode()]
            sub = g.create_group(f"dense_{i}")
            sub.create_dataset("kernel:0", data=rng.standard_normal((3, 4)).astype("f4"))
            sub.create_dataset("bias:0", data=np.zeros(4, "f4"))
        mw.create_group("input_1").attrs["weight_names"] = np.zeros((0,), "f8")
    return fill


def dense_links_attrs(f, n_links=20):
    g = f.create_group("many")
    for i in range(n_links):  # > 8 links: dense link storage (fractal heap + v2 B-tree type 5)
        g.create_group(f"child_{i:02d}")
    for i in range(12):  # > 8 attributes: dense attribute storage (type 8)
        g.attrs[f"a{i:02d}"] = np.arange(i + 1, dtype="i4")
    g.attrs["s"] = "dense string attribute"
    f.create_dataset("many/child_00/x", data=np.arange(6, dtype="f8").reshape(2, 3))


def huge_attr(f):
    g = f.create_group("g")
    for i in range(9):
        g.attrs[f"a{i}"] = i
    g.attrs["big"] = np.arange(1500, dtype="f4")  # 6 KB: a fractal-heap huge object


def chunked_filters(f):
    data = rng.standard_normal((12, 10)).astype("f4")
    f.create_dataset("gz", data=data, chunks=(4, 4), compression="gzip", compression_opts=4,
                     shuffle=True, fletcher32=True)
    f.create_dataset("plain_chunks", data=np.arange(30, dtype="i2").reshape(6, 5), chunks=(2, 5))
    f.create_dataset("partial", shape=(10,), dtype="f4", chunks=(3,))  # no chunk written
    f["partial"][0:3] = 1.0


def chunked_latest(f):
    d = np.arange(40, dtype="f4").reshape(8, 5)
    f.create_dataset("single", data=d, chunks=(8, 5))  # single chunk index
    f.create_dataset("fixed", data=d, chunks=(2, 5), compression="gzip")  # fixed array
    f.create_dataset("ext", data=d, chunks=(2, 5), maxshape=(None, 5))  # extensible array
    f.create_dataset("bt2", data=d, chunks=(2, 2), maxshape=(None, None))  # v2 B-tree
    f.create_dataset("implicit_like", data=d, chunks=(4, 5), shuffle=True, fletcher32=True)


def strings_and_types(f):
    f.attrs["vlen_utf8"] = "h\u00e9llo w\u00f6rld"
    f.attrs["vlen_list"] = ["a", "bb", "", "\u2603"]
    f.attrs["fixed_nullterm"] = np.array(b"abc", dtype="S8")
    f.attrs.create("fixed_spacepad", np.array([b"ab  ", b"c   "]),
                   dtype=h5py.string_dtype("ascii", 4))
    f.attrs["empty"] = np.zeros((0,), "f8")
    f.attrs["bool"] = np.array([True, False])
    f.attrs["i64"] = np.array([-1, 2**40], dtype="i8")
    f.attrs["be_f8"] = np.array([1.5, -2.5], dtype=">f8")
    f.attrs["scalar_u8"] = np.uint8(7)
    f.attrs["opaque"] = np.void(b"\x01\x02\x03")
    f.create_dataset("f16", data=np.array([1, 2, 3], "f2"))
    f.create_dataset("f64", data=np.array([[1, 2], [3, 4]], "f8"))
    f.create_dataset("be_i4", data=np.array([1, -2, 3], ">i4"))
    f.create_dataset("u8", data=np.arange(5, dtype="u1"))
    f.create_dataset("bools", data=np.array([True, False, True]))
    f.create_dataset("scalar", data=np.float32(3.5))
    f.create_dataset("empty_2d", shape=(0, 4), dtype="f4")
    f.create_dataset("never_written", shape=(3,), dtype="f4")
    f.create_dataset("vlen_strs", data=["x", "yy", "zzz"], dtype=h5py.string_dtype())
    f.create_dataset("fixed_strs", data=np.array([b"ab", b"cd"]))
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    space = h5py.h5s.create_simple((4,))
    dset = h5py.h5d.create(f.id, b"compact", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
    dset.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(4, dtype="i4"))
    f["soft"] = h5py.SoftLink("/f16")
    f["ext"] = h5py.ExternalLink("other.h5", "/x")
    f["hard_again"] = f["f64"]
    cyc = f.create_group("cycle")
    cyc["up"] = cyc  # hard link cycle


def userblock(f):
    keras_like(2)(f)


FILES = {
    # name: (fill, h5py.File kwargs)
    "keras_v0_3layers": (keras_like(3), {}),
    "keras_v0_fixed_names": (keras_like(2, vlen_names=False), {}),
    "keras_latest_3layers": (keras_like(3), {"libver": "latest"}),
    "dense_latest": (dense_links_attrs, {"libver": "latest"}),
    "dense_v0": (lambda f: dense_links_attrs(f, 10), {}),
    "huge_attr_latest": (huge_attr, {"libver": "latest"}),
    "chunked_gzip_v0": (chunked_filters, {}),
    "chunked_latest": (chunked_latest, {"libver": "latest"}),
    "types_v0": (strings_and_types, {}),
    "types_latest": (strings_and_types, {"libver": "latest"}),
    "userblock_512": (userblock, {"userblock_size": 512}),
    "track_order_latest": (lambda f: [f.create_group(f"g{i}", track_order=True)
                                      for i in range(3)] and f["g0"].attrs.update({"z": 1, "a": 2}),
                           {"libver": "latest", "track_order": True}),
}

SIGNATURES = [b"TREE", b"HEAP", b"SNOD", b"GCOL", b"OHDR", b"OCHK", b"FRHP", b"FHDB", b"FHIB",
              b"BTHD", b"BTIN", b"BTLF", b"FAHD", b"FADB", b"EAHD", b"EAIB", b"EASB", b"EADB"]


def write(path, data):
    assert len(data) < MAX_SEED, (path, len(data))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)


def region_cuts(data):
    """Offsets of the structures in an h5py file (signatures, and v1 object headers which have
    none: those start right after the superblock for the root, found here by the root entry)."""
    cuts = set()
    for sig in SIGNATURES:
        start = 0
        while True:
            i = data.find(sig, start)
            if i < 0:
                break
            cuts.add(i)
            start = i + 1
    if data[8] == 0:  # superblock v0: root object header address in the root symbol-table entry
        cuts.add(struct.unpack_from("<Q", data, 64)[0])
    return sorted(cuts)


def filters_seeds():
    """Real chunks read back with read_direct_chunk, paired with their pipeline."""
    out = {}
    specs = {
        "gzip_shuffle_fletcher": dict(compression="gzip", shuffle=True, fletcher32=True),
        "gzip": dict(compression="gzip", compression_opts=9),
        "shuffle": dict(shuffle=True),
        "fletcher": dict(fletcher32=True),
        "lzf": dict(compression="lzf"),
    }
    for name, kw in specs.items():
        data = rng.standard_normal((64, 8)).astype("f4")
        data[:16] = 0.25  # half of the first chunk compresses well
        box = {}

        def fill(f, kw=kw, data=data):
            d = f.create_dataset("d", data=data, chunks=(32, 8), **kw)
            mask, raw = d.id.read_direct_chunk((0, 0))
            plist = d.id.get_create_plist()
            filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
            box["v"] = (mask, raw, filters)
        h5bytes(fill)
        mask, raw, filters = box["v"]
        sel = {1: 0, 2: 1, 3: 2, 32000: 3}
        head = bytes([len(filters)])
        for (fid, flags, cd, _name) in filters:
            head += bytes([sel.get(fid, 7), flags & 1, len(cd)])
            head += b"".join(struct.pack("<I", v) for v in cd)
        head += struct.pack("<IIB", mask, 32 * 8 * 4, 4)
        out[name] = head + raw
    return out


def main():
    files = {}
    for name, (fill, kw) in FILES.items():
        files[name] = h5bytes(fill, **kw)
        write(os.path.join(CORPUS, "hdf5_file", name + ".h5"), files[name])

    # Region templates: every structure of a few representative files.
    template_files = ["keras_v0_3layers", "keras_latest_3layers", "dense_latest", "dense_v0",
                      "huge_attr_latest", "chunked_gzip_v0", "chunked_latest", "types_v0",
                      "types_latest"]
    templates = []
    for fname in template_files:
        data = files[fname]
        cuts = region_cuts(data)
        for k, cut in enumerate(cuts):
            end = cuts[k + 1] if k + 1 < len(cuts) else len(data)
            templates.append((fname, cut, min(end - cut, 4096)))
    assert len(templates) <= 256, len(templates)
    inc = io.StringIO()
    inc.write("// Generated by fuzz/make_seeds.py: h5py-made files and structure offsets for\n")
    inc.write("// fuzz_hdf5_region.cpp. Do not edit.\n")
    for i, fname in enumerate(template_files):
        data = files[fname]
        inc.write(f"static const unsigned char kTemplateFile{i}[{len(data)}] = {{")
        for j, b in enumerate(data):
            if j % 24 == 0:
                inc.write("\n   ")
            inc.write(f" {b},")
        inc.write("\n};\n")
    inc.write("static const RegionTemplate kTemplates[] = {\n")
    for fname, cut, _len in templates:
        i = template_files.index(fname)
        inc.write(f"    {{kTemplateFile{i}, sizeof(kTemplateFile{i}), {cut}, \"{fname}\"}},\n")
    inc.write("};\n")
    with open(os.path.join(HERE, "hdf5_region_templates.inc"), "w") as fh:
        fh.write(inc.getvalue())
    for t, (fname, cut, length) in enumerate(templates):
        seed = bytes([t]) + files[fname][cut:cut + length]
        write(os.path.join(CORPUS, "hdf5_region", f"{t:03d}_{fname}_{cut}"), seed)

    for name, seed in filters_seeds().items():
        write(os.path.join(CORPUS, "hdf5_filters", name), seed)

    total = 0
    for root, _dirs, names in os.walk(CORPUS):
        total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
    print(f"{len(templates)} region templates, corpus {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
