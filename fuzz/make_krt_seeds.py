#!/usr/bin/env python3
"""Writes the seed corpus of the krt fuzz target (fuzz/corpus/krt/) from a few small conformance
fixtures converted by the kerasrt CLI. Standard library only:

    fuzz/make_krt_seeds.py BUILD_DIR/src/kerasrt

Input format (keep in sync with fuzz_krt.cpp): [u8 mode][body]; mode bit 0 clear: body is a whole
.krt file, set: body is its sections as [u8 name length][name][u32 LE size][bytes] each; bit 1:
eager preparation; bit 2: verify_checksums. The packs in the seeds are for the CPU that ran this
(another CPU's kernels simply do not use them).
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "tests", "models", "fixtures")
OUT = os.path.join(HERE, "corpus", "krt")

# (fixture file, whole-file modes, section-list modes)
SEEDS = [
    ("dense_basic/k3.h5", [0], [1, 7]),       # Dense: one pack
    ("seq_conv/k3.h5", [2], [1]),             # Conv2D, pooling, Dense: three blocked packs
    ("simplernn/k2.h5", [], [1, 5]),          # a Keras 2 file, recurrent
    ("var_conv1d/k3.keras", [], [1]),         # unknown dims: no packs
]


def sections(krt):
    count, table = struct.unpack_from("<IQ", krt, 12)
    out = []
    for i in range(count):
        name, offset, size = struct.unpack_from("<24sQQ", krt, table + 48 * i)
        out.append((name.rstrip(b"\0"), krt[offset:offset + size]))
    return out


def main():
    kerasrt = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for fixture, file_modes, section_modes in SEEDS:
            path = os.path.join(tmp, "m.krt")
            subprocess.run([kerasrt, "convert", os.path.join(FIXTURES, fixture), path],
                           check=True, stdout=subprocess.DEVNULL)
            krt = open(path, "rb").read()
            listed = b"".join(bytes([len(n)]) + n + struct.pack("<I", len(d)) + d
                              for n, d in sections(krt))
            stem = fixture.split("/")[0]
            for mode in file_modes:
                with open(os.path.join(OUT, f"{stem}_file_m{mode}"), "wb") as f:
                    f.write(bytes([mode]) + krt)
            for mode in section_modes:
                with open(os.path.join(OUT, f"{stem}_sections_m{mode}"), "wb") as f:
                    f.write(bytes([mode]) + listed)


if __name__ == "__main__":
    main()
