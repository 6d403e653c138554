#!/usr/bin/env python3
"""Writes the HDF5 files for tests/hdf5_storage with h5py (and h5repack where available).

Usage: gen_storage_files.py OUTDIR

For every dataset the exact bytes numpy wrote are stored next to the file as
OUTDIR/<file stem>/<dataset path with '/' -> '__'>.bin (C order, the stored dtype), and a manifest
OUTDIR/manifest.txt lists "file<TAB>dataset<TAB>dtype<TAB>shape" so that the C++ test can compare
what the reader decodes against what numpy wrote, byte for byte.

Hostile variants (OUTDIR/hostile/*.h5) flip bytes inside the storage structures (v1/v2 B-trees,
fractal heaps, fixed/extensible arrays, compressed chunks); reading them must either succeed or
throw kerasrt::Error, never crash.
"""
import os
import random
import shutil
import subprocess
import sys

import h5py
import numpy as np

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
manifest = []


def record(path, f):
    """Adds every dataset of the open file f to the manifest and writes its expected bytes."""
    stem = os.path.splitext(os.path.basename(path))[0]
    os.makedirs(os.path.join(OUT, stem), exist_ok=True)

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            data = obj[()]
            arr = np.ascontiguousarray(np.asarray(data))
            binname = name.replace("/", "__") + ".bin"
            with open(os.path.join(OUT, stem, binname), "wb") as fh:
                fh.write(arr.tobytes())
            manifest.append("\t".join([os.path.basename(path), "/" + name, arr.dtype.str,
                                       "x".join(str(s) for s in arr.shape)]))

    f.visititems(visit)


def values(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return (rng.standard_normal(shape) * 100).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -30000), min(info.max, 30000), size=shape, dtype=dtype)


# --- libver='latest': dense links and attributes (fractal heap + v2 B-trees) -------------------
path = os.path.join(OUT, "dense.h5")
with h5py.File(path, "w", libver="latest") as f:
    g9 = f.create_group("g9")
    for i in range(9):
        g9.create_group("child_%d" % i)
    big = f.create_group("g3000")
    for i in range(3000):
        big.create_group("c%05d" % i)
    a = f.create_group("attrs")
    for i in range(20):
        a.attrs["attr_%02d" % i] = np.int64(i * 1000 + 7)
    a.attrs["big"] = np.arange(20000, dtype="<f4") * 0.5  # 80 KB: a huge heap object
    a.attrs["text"] = "dense attribute string"
    big.attrs["big_too"] = np.arange(30000, dtype="<i4")  # 120 KB
    for i in range(10):
        big.attrs["a%d" % i] = np.float64(i) + 0.25
    f.create_dataset("d", data=np.arange(12, dtype="<i4"))
    record(path, f)

# --- libver='latest': every chunk index --------------------------------------------------------
path = os.path.join(OUT, "chunked_latest.h5")
with h5py.File(path, "w", libver="latest") as f:
    f.create_dataset("single", data=values((7, 5), "f4", 1), chunks=(7, 5))
    f.create_dataset("single_gzip", data=values((7, 5), "f4", 2), chunks=(7, 5),
                     compression="gzip")
    f.create_dataset("fixed", data=values((10, 7), "f4", 3), chunks=(4, 3))
    f.create_dataset("fixed_gzip", data=values((10, 7), "f8", 4), chunks=(4, 3),
                     compression="gzip", compression_opts=6)
    f.create_dataset("fixed_shuffle_gzip", data=values((33, 17), "i4", 5), chunks=(8, 8),
                     shuffle=True, compression="gzip")
    f.create_dataset("fixed_fletcher", data=values((9, 9), "i2", 6), chunks=(4, 4),
                     fletcher32=True)
    f.create_dataset("fixed_all", data=values((20, 13), "f4", 7), chunks=(6, 5), shuffle=True,
                     compression="gzip", fletcher32=True)
    f.create_dataset("fixed_lzf", data=values((40, 30), "f4", 8), chunks=(16, 16),
                     compression="lzf")
    f.create_dataset("fixed_paged", data=values((3000,), "i2", 9), chunks=(1,))
    f.create_dataset("fixed_maxshape", data=values((6, 6), "f4", 10), chunks=(4, 4),
                     maxshape=(20, 9))
    f.create_dataset("earray", data=values((50, 6), "f4", 11), chunks=(4, 3),
                     maxshape=(None, 6))
    f.create_dataset("earray_gzip", data=values((50, 6), "i8", 12), chunks=(4, 3),
                     maxshape=(None, 6), compression="gzip", shuffle=True)
    f.create_dataset("earray_unlim1", data=values((5, 20), "f4", 13), chunks=(2, 3),
                     maxshape=(5, None))
    f.create_dataset("earray_many", data=values((150000,), "i2", 14), chunks=(1,),
                     maxshape=(None,))
    f.create_dataset("btree2", data=values((9, 11), "f4", 15), chunks=(4, 5),
                     maxshape=(None, None))
    f.create_dataset("btree2_gzip", data=values((30, 31), "u2", 16), chunks=(4, 5),
                     maxshape=(None, None), compression="gzip")
    f.create_dataset("btree2_many", data=values((70, 70), "i4", 17), chunks=(3, 3),
                     maxshape=(None, None))
    # Missing chunks: only part of the data is ever written; the rest reads as fill value 0.
    for name, kw in [("missing_fixed", dict(chunks=(4, 4))),
                     ("missing_earray", dict(chunks=(4, 4), maxshape=(None, 12))),
                     ("missing_btree2", dict(chunks=(4, 4), maxshape=(None, None))),
                     ("missing_gzip", dict(chunks=(4, 4), compression="gzip"))]:
        d = f.create_dataset(name, shape=(12, 12), dtype="f4", **kw)
        d[0:4, 4:8] = 1.5
        d[8:12, 0:3] = values((4, 3), "f4", 18)
    f.create_dataset("never_written", shape=(5, 5), dtype="i4", chunks=(2, 2))
    # Implicit index: early allocation, fixed size, no filters (h5py low-level API).
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((3, 4))
    dcpl.set_alloc_time(h5py.h5d.ALLOC_TIME_EARLY)
    space = h5py.h5s.create_simple((8, 10))
    dsid = h5py.h5d.create(f.id, b"implicit", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
    h5py.Dataset(dsid)[...] = values((8, 10), "i4", 19)
    record(path, f)

# --- default libver: v1 B-tree chunk index -----------------------------------------------------
path = os.path.join(OUT, "chunked_v1.h5")
with h5py.File(path, "w") as f:
    f.create_dataset("plain", data=values((10, 7), "f4", 20), chunks=(4, 3))
    f.create_dataset("gzip", data=values((10, 7), "f8", 21), chunks=(4, 3), compression="gzip")
    f.create_dataset("all", data=values((25, 19), "i4", 22), chunks=(6, 5), shuffle=True,
                     compression="gzip", compression_opts=9, fletcher32=True)
    f.create_dataset("lzf", data=values((40, 33), "f4", 23), chunks=(16, 16), compression="lzf")
    f.create_dataset("many", data=values((60, 60), "u1", 24), chunks=(2, 3))  # 600 chunks
    f.create_dataset("cube", data=values((5, 6, 7), "i2", 25), chunks=(2, 4, 3))
    f.create_dataset("unlimited", data=values((13, 4), "f4", 26), chunks=(5, 4),
                     maxshape=(None, 4))
    d = f.create_dataset("missing", shape=(12, 12), dtype="f4", chunks=(4, 4))
    d[4:8, 4:8] = 2.5
    # Incompressible data: lzf (an optional filter) gives up, the chunk is stored unfiltered and
    # its filter-mask bit is set.
    f.create_dataset("lzf_skipped", data=np.random.default_rng(27).integers(
        0, 256, size=(64,), dtype="u1"), chunks=(64,), compression="lzf")
    record(path, f)

# --- h5repack variants, if the tool is there --------------------------------------------------
if shutil.which("h5repack"):
    src = os.path.join(OUT, "chunked_v1.h5")
    dst = os.path.join(OUT, "repacked.h5")
    subprocess.run(["h5repack", "--low=2", "--high=2", "-f", "SHUF", "-f", "GZIP=6",
                    "-l", "CHUNK=4x4", src, dst], check=True)
    with h5py.File(dst, "r") as f:
        record(dst, f)

with open(os.path.join(OUT, "manifest.txt"), "w") as fh:
    fh.write("\n".join(manifest) + "\n")

# --- hostile variants ---------------------------------------------------------------------------
HOSTILE = os.path.join(OUT, "hostile")
os.makedirs(HOSTILE, exist_ok=True)
SIGNATURES = [b"TREE", b"BTHD", b"BTIN", b"BTLF", b"FRHP", b"FHDB", b"FHIB", b"FAHD", b"FADB",
              b"EAHD", b"EAIB", b"EASB", b"EADB"]
rng = random.Random(12345)
count = 0
for name in ["dense.h5", "chunked_latest.h5", "chunked_v1.h5"]:
    data = open(os.path.join(OUT, name), "rb").read()
    for sig in SIGNATURES:
        positions = []
        start = 0
        while True:
            p = data.find(sig, start)
            if p < 0:
                break
            positions.append(p)
            start = p + 1
        rng.shuffle(positions)
        for p in positions[:3]:
            for _ in range(6):
                mutant = bytearray(data)
                for _ in range(rng.randint(1, 3)):
                    q = p + rng.randint(4, 96)
                    if q < len(mutant):
                        mutant[q] ^= 1 << rng.randint(0, 7)
                out = os.path.join(HOSTILE, "%s_%s_%d.h5" % (name[:-3], sig.decode(), count))
                with open(out, "wb") as fh:
                    fh.write(mutant)
                count += 1
    # Random flips anywhere past the superblock (hits chunk data, compressed streams, checksums).
    for _ in range(40):
        mutant = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            q = rng.randint(48, len(mutant) - 1)
            mutant[q] = rng.randint(0, 255)
        out = os.path.join(HOSTILE, "%s_random_%d.h5" % (name[:-3], count))
        with open(out, "wb") as fh:
            fh.write(mutant)
        count += 1
    # Truncations.
    for _ in range(10):
        cut = rng.randint(64, len(data) - 1)
        out = os.path.join(HOSTILE, "%s_trunc_%d.h5" % (name[:-3], count))
        with open(out, "wb") as fh:
            fh.write(data[:cut])
        count += 1
print("wrote %d datasets and %d hostile files to %s" % (len(manifest), count, OUT))
