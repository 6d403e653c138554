#!/usr/bin/env python3
"""Differential tests of kerasrt's HDF5 reader against h5py, through `kerasrt h5ls --json`.

    run_diff.py gen       --out DIR
    run_diff.py cli       --kerasrt BIN --dir DIR
    run_diff.py cases     --kerasrt BIN --dir DIR
    run_diff.py realworld --kerasrt BIN --corpus DIR
    run_diff.py mutation  --kerasrt BIN --dir DIR --work DIR [--jobs 2] [--random N] [--seed S]

Listings are compared as parsed JSON values, exactly: same types (an int is not a float, a bool
not an int), floats bit-for-bit, same keys, same list order. tools/h5cases/dump.py produces
h5py's listing; the format is specified in src/cli/h5ls.cpp.

Every kerasrt run must end in one of two ways: exit 0 with empty stderr, or a non-zero exit code
from kerasrt's table (1..7) with exactly one stderr line "kerasrt: error: <message>". A signal,
a sanitizer report, anything else on stderr, or running past the timeout is a failure.

Mutation rule (mode "mutation"). Each mutant is a generated file with one byte changed (XOR with
a non-zero value) or cut short. For each mutant:
  1. kerasrt must behave as above (no crash, hang, sanitizer report; one-line errors).
  2. If both kerasrt and h5py read it: the listings must be identical. Silent disagreement is
     always a failure, whatever the mutation hit.
  3. If h5py fails (error, crash or timeout), kerasrt may accept or reject: HDF5 stops at the
     first damaged structure it needs; we may read the rest or refuse, both are fine.
  4. If kerasrt rejects and h5py reads it:
     a. h5py's listing differs from its listing of the unmutated file: allowed. The byte
        mattered (it changed data, a name, a type...), and refusing damaged input is within
        kerasrt's contract; only a wrong answer (2.) is not.
     b. h5py's listing is identical to the unmutated one: a failure (kerasrt is stricter than
        HDF5 about a byte that does not change the content, so real files with such bytes would
        be refused), UNLESS kerasrt's error message reports a checksum mismatch. Version-2
        structures (superblock v2/v3, OHDR, OCHK, FRHP, FHIB, FHDB, BTHD/BTIN/BTLF, FAHD/FADB,
        EAHD/EAIB/EASB/EADB) carry Jenkins lookup3 checksums that kerasrt always verifies while
        HDF5 skips parts it does not need (unused fields, structures it never loads). The
        unmutated file passes all of kerasrt's checks (the baseline comparison shows it), so a
        checksum mismatch after a one-byte change means the byte lies in a checksummed extent or
        in a field that locates one; either way the file is damaged and refusing it is correct.
Truncations follow the same rules (h5py refuses nearly every truncated file because the
superblock's end-of-file address no longer fits).
When kerasrt already fails on the unmutated file (a baseline failure, reported once), rule 4b
cannot tell a new problem from the known one, so for that file such mutants are only counted.
"""

import argparse
import concurrent.futures
import json
import os
import random
import re
import select
import shutil
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
H5CASES = os.path.join(ROOT, "tools", "h5cases")
sys.path.insert(0, H5CASES)

SKIP = 77  # CTest SKIP_RETURN_CODE
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
KERASRT_EXIT_CODES = set(range(1, 8))
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                     "runtime error:", "MemorySanitizer", "ThreadSanitizer")
STRUCTURE_SIGNATURES = [b"TREE", b"HEAP", b"SNOD", b"OHDR", b"OCHK", b"GCOL", b"FRHP", b"FHDB",
                        b"FHIB", b"BTHD", b"BTIN", b"BTLF", b"FAHD", b"FADB", b"EAHD", b"EAIB",
                        b"EASB", b"EADB", b"FSHD", b"FSSE", b"SMTB", b"SMLI"]
MUTATION_TARGETS = ["mut-default.h5", "mut-latest.h5", "mut-v114.h5", "keras-v108.h5",
                    "repack-fletcher-keras.h5", "userblock512-latest.h5"]
MUTATION_MAX_DATA_BYTES = 16 << 20


# ---------------------------------------------------------------------------------------------
# Running kerasrt

class Run:
    def __init__(self, rc, stdout, stderr, seconds, timed_out):
        self.rc, self.stdout, self.stderr = rc, stdout, stderr
        self.seconds, self.timed_out = seconds, timed_out

    def problem(self):
        """None if the run ended in an allowed way, else what was wrong."""
        if self.timed_out:
            return f"hang: no exit within {self.seconds:.0f} s"
        if self.rc < 0:
            return f"crash: killed by signal {-self.rc}"
        if any(m in self.stderr for m in SANITIZER_MARKERS):
            return "sanitizer report: " + self.stderr[-2000:]
        if self.rc == 0:
            if self.stderr:
                return "exit 0 with stderr output: " + self.stderr[:500]
            return None
        if self.rc not in KERASRT_EXIT_CODES:
            return f"unexpected exit code {self.rc}: {self.stderr[:500]}"
        lines = self.stderr.split("\n")
        if len(lines) != 2 or lines[1] != "" or not lines[0].startswith("kerasrt: error: "):
            return f"exit {self.rc} without exactly one 'kerasrt: error:' line: {self.stderr[:500]!r}"
        return None

    @property
    def error(self):
        return self.stderr.strip()


def run_kerasrt(binary, args, timeout):
    start = time.monotonic()
    try:
        p = subprocess.run([binary, *args], capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return Run(None, b"", (e.stderr or b"").decode("utf-8", "replace"), timeout, True)
    return Run(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"),
               time.monotonic() - start, False)


# ---------------------------------------------------------------------------------------------
# Comparing listings

def same(a, b):
    """Exact equality of parsed JSON values, types included; floats compared bit-for-bit."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return a == b


def short(v, n=300):
    s = json.dumps(v, ensure_ascii=True)
    return s if len(s) <= n else s[:n] + "..."


def first_difference(ours, theirs):
    """A human-readable description of where two listings first differ."""
    if not isinstance(ours, list) or not isinstance(theirs, list):
        return f"ours is {type(ours).__name__}, h5py's is {type(theirs).__name__}"
    our_paths = [e.get("path") if isinstance(e, dict) else None for e in ours]
    their_paths = [e.get("path") if isinstance(e, dict) else None for e in theirs]
    if our_paths != their_paths:
        missing = [p for p in their_paths if p not in set(our_paths)]
        extra = [p for p in our_paths if p not in set(their_paths)]
        for i, (x, y) in enumerate(zip(our_paths, their_paths)):
            if x != y:
                break
        else:
            i = min(len(our_paths), len(their_paths))
        return (f"paths differ ({len(ours)} ours vs {len(theirs)} h5py): first at index {i}: "
                f"ours {short(our_paths[i:i + 1])} h5py {short(their_paths[i:i + 1])}; "
                f"missing {short(missing[:5])}; extra {short(extra[:5])}")
    for e1, e2 in zip(ours, theirs):
        if same(e1, e2):
            continue
        keys = sorted(set(e1) | set(e2))
        for k in keys:
            if k not in e1 or k not in e2 or not same(e1[k], e2[k]):
                if isinstance(e1.get(k), dict) and isinstance(e2.get(k), dict):
                    sub = sorted(set(e1[k]) | set(e2[k]))
                    for s in sub:
                        if s not in e1[k] or s not in e2[k] or not same(e1[k][s], e2[k][s]):
                            return (f"{e1['path']!r}: {k}[{s!r}]: ours {short(e1[k].get(s))} "
                                    f"h5py {short(e2[k].get(s))}")
                return f"{e1['path']!r}: {k}: ours {short(e1.get(k))} h5py {short(e2.get(k))}"
    return "equal"


def parse_listing(run):
    try:
        return json.loads(run.stdout.decode("utf-8")), None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"output is not valid UTF-8 JSON: {e}"


# ---------------------------------------------------------------------------------------------
# Modes

def hdf5_offset(data):
    """Offset of the HDF5 superblock (0 or a power of two >= 512), or None."""
    off = 0
    while off + 8 <= len(data):
        if data[off:off + 8] == HDF5_SIGNATURE:
            return off
        off = 512 if off == 0 else off * 2
    return None


def compare_files(binary, paths, jobs, timeout, label):
    """Lists every file with kerasrt and h5py; returns the failures (strings)."""
    import dump

    def one(path):
        name = path
        run = run_kerasrt(binary, ["h5ls", "--json", path], timeout)
        problem = run.problem()
        if problem:
            return f"{name}: {problem}"
        text_run = run_kerasrt(binary, ["h5ls", path], timeout)
        text_problem = text_run.problem()
        if text_problem:
            return f"{name}: text listing: {text_problem}"
        try:
            theirs = json.loads(dump.to_json(dump.dump(path)))
        except Exception as e:  # noqa: BLE001 - reported
            if run.rc == 0:
                return f"{name}: h5py cannot read it ({type(e).__name__}: {e}) but kerasrt can"
            return None  # neither reads it: nothing to compare
        if run.rc != 0:
            return f"{name}: kerasrt refuses a file h5py reads: {run.error}"
        ours, err = parse_listing(run)
        if err:
            return f"{name}: {err}"
        if not same(ours, theirs):
            return f"{name}: listings differ: {first_difference(ours, theirs)}"
        if text_run.rc != 0:
            return f"{name}: JSON listing works but the text listing fails: {text_run.error}"
        return None

    failures = []
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        for path, result in zip(paths, pool.map(one, paths)):
            status = "ok" if result is None else "FAIL"
            print(f"  {status:4} {os.path.basename(path)}", flush=True)
            if result:
                failures.append(result)
    print(f"{label}: {len(paths) - len(failures)}/{len(paths)} files list identically "
          f"({time.monotonic() - start:.1f} s)")
    return failures


def mode_gen(args):
    out = args.out
    if os.path.isdir(out):
        shutil.rmtree(out)
    subprocess.run([sys.executable, os.path.join(H5CASES, "gen.py"), out], check=True)
    return 0


def mode_cli(args):
    """The command's own contract: help, version, usage errors, error categories."""
    failures = []
    binary = args.kerasrt
    probe = os.path.join(args.dir, "not-hdf5.bin")
    with open(probe, "wb") as fh:
        fh.write(b"this is not an HDF5 file\n" * 40)
    checks = [
        (["--help"], 0), (["--version"], 0), ([], 2), (["frobnicate"], 2), (["h5ls"], 2),
        (["h5ls", "--bogus", probe], 2), (["h5ls", "a", "b"], 2), (["h5ls", "--help"], 0),
        (["h5ls", os.path.join(args.dir, "does-not-exist.h5")], 3), (["h5ls", probe], 4),
        (["h5ls", args.dir], 3),
    ]
    for argv, want in checks:
        run = run_kerasrt(binary, argv, 30)
        problem = run.problem()
        if problem:
            failures.append(f"kerasrt {' '.join(argv)}: {problem}")
        elif run.rc != want:
            failures.append(f"kerasrt {' '.join(argv)}: exit {run.rc}, expected {want} "
                            f"({run.error})")
        elif want == 0 and not run.stdout:
            failures.append(f"kerasrt {' '.join(argv)}: no output")
        print(f"  exit {run.rc} (want {want}): kerasrt {' '.join(argv)}  {run.error}")
    return report(failures, "cli")


def mode_cases(args):
    paths = sorted(os.path.join(args.dir, f) for f in os.listdir(args.dir) if f.endswith(".h5"))
    if len(paths) < 40:
        return report([f"only {len(paths)} generated files in {args.dir} (gen.py failed?)"],
                      "cases")
    failures = compare_files(args.kerasrt, paths, args.jobs, args.timeout, "cases")
    return report(failures, "cases")


def mode_realworld(args):
    corpus = args.corpus
    if not os.path.isdir(corpus):
        print(f"SKIPPED: the shared real-world corpus is absent ({corpus} is not a directory)")
        return SKIP
    paths, skipped = [], []
    for f in sorted(os.listdir(corpus)):
        path = os.path.join(corpus, f)
        if not os.path.isfile(path):
            continue
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        if hdf5_offset(head) is not None:
            paths.append(path)
        else:
            skipped.append(f)
    print(f"realworld: {len(paths)} HDF5 files (by signature) in {corpus}; "
          f"not HDF5, skipped: {', '.join(skipped)}")
    if not paths:
        return report([f"no HDF5 files in {corpus}"], "realworld")
    failures = compare_files(args.kerasrt, paths, args.jobs, args.timeout, "realworld")
    return report(failures, "realworld")


def report(failures, label):
    if failures:
        print(f"\n{label}: {len(failures)} FAILURE(S):")
        for f in failures:
            print("  - " + f)
        return 1
    print(f"{label}: PASS")
    return 0


# ---------------------------------------------------------------------------------------------
# Mutation test

class DumpServer:
    """A dump.py --serve child: h5py reads many mutants without a Python start-up each. HDF5 can
    crash or hang on damaged files; then the child is replaced and h5py counts as refusing."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(H5CASES, "dump.py"), "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def dump(self, path, max_data_bytes):
        """(listing, None) or (None, why h5py failed)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        req = json.dumps({"file": path, "max_data_bytes": max_data_bytes}) + "\n"
        try:
            self.proc.stdin.write(req.encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            self.stop()
            return None, "h5py process died"
        line = b""
        deadline = time.monotonic() + self.timeout
        fd = self.proc.stdout.fileno()
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(left, 0))
            if not ready:
                self.stop()
                return None, f"h5py timed out after {self.timeout} s"
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                self.stop()
                return None, "h5py crashed"
            line += chunk
        reply = json.loads(line)
        if not reply["ok"]:
            return None, reply["error"]
        return reply["listing"], None


def signature_offsets(data):
    found = []
    for sig in STRUCTURE_SIGNATURES:
        found += [m.start() for m in re.finditer(re.escape(sig), data)]
    return sorted(found)


def object_header_addresses(path, base):
    """Absolute offsets of every object header (v1 headers have no signature to scan for)."""
    import h5py
    addrs = set()
    with h5py.File(path, "r", locking=False) as f:
        def visit(name, obj):
            addrs.add(h5py.h5o.get_info(obj.id).addr)
        addrs.add(h5py.h5o.get_info(f.id).addr)
        f.visititems(visit)
    return sorted(base + a for a in addrs)


def plan_mutants(path, data, n_random, rng):
    """[(kind, offset, xor)]: byte flips at structure boundaries, every superblock byte, random
    offsets; truncations at the same boundaries."""
    sb = hdf5_offset(data)
    version = data[sb + 8]
    sb_size = {0: 96, 1: 100}.get(version, 48)
    flips, cuts = {}, set()

    def flip(off, xor):
        if 0 <= off < len(data) and off not in flips:
            flips[off] = xor

    for off in range(sb, sb + sb_size):  # every superblock byte, two ways
        flip(off, 0xFF)
    sb_second = {off: 0x01 for off in range(sb, sb + sb_size)}
    boundaries = set(signature_offsets(data)) | set(object_header_addresses(path, sb))
    for start in sorted(boundaries):
        # One signature byte (any change there is fatal, once is enough), then the version,
        # flags and first fields, which decide how the rest of the structure is parsed.
        for k in [0] + list(range(4, 12)):
            flip(start + k, rng.choice([0x01, 0x80, 0xFF, rng.randrange(1, 256)]))
        cuts.add(start)
        cuts.add(start + 8)
    for _ in range(n_random):
        flip(rng.randrange(sb, len(data)), rng.randrange(1, 256))
    for _ in range(n_random // 8):
        cuts.add(rng.randrange(sb, len(data)))
    cuts |= {sb + 8, sb + sb_size, len(data) - 1}
    mutants = [("flip", off, xor) for off, xor in sorted(flips.items())]
    mutants += [("flip", off, xor) for off, xor in sorted(sb_second.items())]
    mutants += [("cut", off, 0) for off in sorted(cuts) if 0 < off < len(data)]
    return mutants


class Tally:
    KINDS = ["agree_both_read", "agree_both_refuse", "we_read_h5py_refused",
             "we_refused_content_changed", "we_refused_checksum", "we_refused_broken_baseline",
             "failure"]

    def __init__(self):
        self.counts = {k: 0 for k in self.KINDS}
        self.lock = threading.Lock()
        self.failures = []

    def add(self, kind, detail=None):
        with self.lock:
            self.counts[kind] += 1
            if detail:
                self.failures.append(detail)


def mode_mutation(args):
    os.makedirs(args.work, exist_ok=True)
    faildir = os.path.join(args.work, "failures")
    shutil.rmtree(faildir, ignore_errors=True)
    rng = random.Random(args.seed)
    targets = [os.path.join(args.dir, t) for t in MUTATION_TARGETS]
    missing = [t for t in targets if not os.path.exists(t)]
    if missing:
        return report([f"mutation target missing: {m}" for m in missing], "mutation")
    import dump
    tally = Tally()
    baseline_failures = []
    broken_baseline = set()
    jobs = []
    for target in targets:
        data = open(target, "rb").read()
        original = json.loads(dump.to_json(dump.dump(target, MUTATION_MAX_DATA_BYTES)))
        base = run_kerasrt(args.kerasrt, ["h5ls", "--json", "--max-data-bytes",
                                          str(MUTATION_MAX_DATA_BYTES), target], args.timeout)
        ours, err = parse_listing(base) if base.rc == 0 else (None, base.error)
        if err or not same(ours, original):
            broken_baseline.add(target)
            baseline_failures.append(
                f"{os.path.basename(target)} (unmutated): "
                f"{err or first_difference(ours, original)}")
        for m in plan_mutants(target, data, args.random, rng):
            jobs.append((target, data, original, m))
    print(f"mutation: {len(jobs)} mutants of {len(targets)} files, {args.jobs} workers")

    local = threading.local()
    servers = []
    counter = [0]

    def worker_state():
        if not hasattr(local, "server"):
            local.server = DumpServer(args.h5py_timeout)
            servers.append(local.server)
            local.path = os.path.join(args.work, f"mutant-{threading.get_ident()}.h5")
        return local.server, local.path

    def one(job):
        target, data, original, (kind, off, xor) = job
        server, path = worker_state()
        if kind == "flip":
            mutated = bytearray(data)
            mutated[off] ^= xor
            what = f"byte {off} 0x{data[off]:02x}->0x{mutated[off]:02x}"
        else:
            mutated = data[:off]
            what = f"truncated to {off} bytes"
        with open(path, "wb") as fh:
            fh.write(mutated)
        name = os.path.basename(target)
        run = run_kerasrt(args.kerasrt, ["h5ls", "--json", "--max-data-bytes",
                                         str(MUTATION_MAX_DATA_BYTES), path], args.timeout)
        theirs, h5py_error = server.dump(path, MUTATION_MAX_DATA_BYTES)

        def fail(why):
            os.makedirs(faildir, exist_ok=True)
            keep = os.path.join(faildir, f"{name}-{kind}-{off}-{xor:02x}.h5")
            with open(keep, "wb") as fh:
                fh.write(mutated)
            tally.add("failure", f"{name} {what}: {why}\n      reproduce: {args.kerasrt} h5ls "
                                 f"--json --max-data-bytes {MUTATION_MAX_DATA_BYTES} {keep}")

        problem = run.problem()
        with tally.lock:
            counter[0] += 1
            if counter[0] % 500 == 0:
                print(f"  ... {counter[0]}/{len(jobs)}", flush=True)
        if problem:
            return fail(problem)
        if run.rc == 0:
            ours, err = parse_listing(run)
            if err:
                return fail(err)
            if theirs is None:
                return tally.add("we_read_h5py_refused")
            if same(ours, theirs):
                return tally.add("agree_both_read")
            return fail("both read it but the listings differ: " +
                        first_difference(ours, theirs))
        if theirs is None:
            return tally.add("agree_both_refuse")
        if not same(theirs, original):
            return tally.add("we_refused_content_changed")
        if "checksum" in run.error.lower():
            return tally.add("we_refused_checksum")
        if target in broken_baseline:
            return tally.add("we_refused_broken_baseline")
        return fail(f"kerasrt refuses ({run.error}) but h5py lists it exactly like the "
                    f"unmutated file and the error is not a checksum mismatch")

    start = time.monotonic()
    try:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(one, jobs))
    finally:
        for s in servers:
            s.stop()
    elapsed = time.monotonic() - start
    c = tally.counts
    print(f"mutation: {len(jobs)} mutants in {elapsed:.1f} s")
    print(f"  agreed, both read identically:            {c['agree_both_read']}")
    print(f"  agreed, both refused:                     {c['agree_both_refuse']}")
    print(f"  we read, h5py refused (allowed):          {c['we_read_h5py_refused']}")
    print(f"  we refused, h5py read changed content:    {c['we_refused_content_changed']}")
    print(f"  we refused on a checksum, h5py read same: {c['we_refused_checksum']}")
    print(f"  we refused, file already fails unmutated: {c['we_refused_broken_baseline']}")
    print(f"  failures:                                 {c['failure']}")
    failures = baseline_failures + sorted(tally.failures)
    if len(failures) > args.show:
        shown = failures[:args.show] + [f"... and {len(failures) - args.show} more"]
    else:
        shown = failures
    with open(os.path.join(args.work, "mutation-report.txt"), "w") as fh:
        fh.write("\n".join(failures) + "\n")
    rc = report(shown, "mutation")
    if failures:
        print(f"(all {len(failures)} in {os.path.join(args.work, 'mutation-report.txt')}; "
              f"failing mutants kept in {faildir})")
    return rc


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["gen", "cli", "cases", "realworld", "mutation"])
    ap.add_argument("--kerasrt")
    ap.add_argument("--dir", help="generated cases")
    ap.add_argument("--out", help="gen: output directory")
    ap.add_argument("--corpus", help="realworld: corpus directory")
    ap.add_argument("--work", help="mutation: scratch directory")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per kerasrt run")
    ap.add_argument("--h5py-timeout", type=float, default=30.0)
    ap.add_argument("--random", type=int, default=200, help="mutation: random flips per file")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--show", type=int, default=40, help="mutation: failures to print")
    args = ap.parse_args()
    sys.exit({"gen": mode_gen, "cli": mode_cli, "cases": mode_cases,
              "realworld": mode_realworld, "mutation": mode_mutation}[args.mode](args))


if __name__ == "__main__":
    main()
