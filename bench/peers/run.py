#!/usr/bin/env python3
"""Peer benchmark: process start -> model ready -> first prediction, kerasrt vs TF, ONNX Runtime,
LiteRT, OpenVINO, and the floor of having the file's bytes in hand.

Every measurement is a fresh process, one model x runtime at a time, repeated --runs times
(median). Each process measures itself with the clocks of `kerasrt bench --json`
(src/cli/bench.cpp): wall from the process's start (/proc/self/stat field 22 against
CLOCK_BOOTTIME), CPU = CLOCK_PROCESS_CPUTIME_ID (all threads, from the start), peak RSS = ru_maxrss.
For the Python peers (peer_child.py) that includes the interpreter's start and the imports. The
parent's launcher (launch.c) times each child from fork to exit and takes its rusage from wait4, as
a cross-check.

    KR_PY=$(bench/peers/setup-venv.sh | tail -1)
    $KR_PY bench/peers/make_models.py                  # models + conversions (cached)
    $KR_PY bench/peers/run.py                          # all models and runtimes, 5 runs each
    $KR_PY bench/peers/run.py --models resnet50 --runtimes kerasrt-h5 --resume
    $KR_PY bench/peers/run.py --report-only            # rewrite RESULTS.md from the raw results

Raw results accumulate in ${KERASRT_CACHE:-~/.cache/kerasrt}/peers/results.json (--resume keeps the
cells that succeeded); the report goes to bench/RESULTS.md.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("KERASRT_CACHE", os.path.expanduser("~/.cache/kerasrt"))
MODELS_DIR = os.path.join(CACHE, "peers")
RAW = os.path.join(MODELS_DIR, "results.json")
KERASRT = os.environ.get("KERASRT", os.path.join(ROOT, "build", "release", "src", "kerasrt"))
REPORT = os.path.join(ROOT, "bench", "RESULTS.md")

MODELS = ["mlp", "cnn", "mobilenetv2", "resnet50", "efficientnetb0", "lstm", "transformer"]
FLOORS = ["cat", "mmap-page", "mmap-byte", "read"]
PEERS = ["tf", "onnxruntime", "litert", "openvino"]
RUNTIMES = ["kerasrt-h5", "kerasrt-krt"] + PEERS
LABEL = {"kerasrt-h5": "kerasrt .h5", "kerasrt-krt": "kerasrt .krt", "tf": "TensorFlow",
         "onnxruntime": "ONNX Runtime", "litert": "LiteRT", "openvino": "OpenVINO",
         "cat": "cat", "mmap-page": "mmap, 1 byte/page", "mmap-byte": "mmap, every byte",
         "read": "read() into new buffer"}
PEER_FILE = {"tf": "model.h5", "onnxruntime": "model.onnx", "litert": "model.tflite",
             "openvino": "model.xml", "kerasrt-h5": "model.h5", "kerasrt-krt": "model.krt"}
TIMEOUT_S = 900


# ---------------------------------------------------------------------------------------------
# running one child


def spawn(cmd, env=None, discard_stdout=False):
    """Runs cmd to exit through launch.c; returns (rc, stdout, stderr, wall ms, CPU ms, peak RSS kB)
    with the last three as seen by its parent (fork to reaped, and the child's rusage)."""
    out_path = os.path.join(MODELS_DIR, ".child.out")
    err_path = os.path.join(MODELS_DIR, ".child.err")
    rep_path = os.path.join(MODELS_DIR, ".child.rusage")
    if os.path.exists(rep_path):
        os.unlink(rep_path)
    with open(os.devnull if discard_stdout else out_path, "wb") as out, \
            open(err_path, "wb") as err:
        p = subprocess.Popen([c_binary("launch"), rep_path] + cmd, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, env=env)
        try:
            p.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    stdout = ""
    if not discard_stdout:
        with open(out_path, errors="replace") as f:
            stdout = f.read()
    with open(err_path, errors="replace") as f:
        stderr = f.read()
    rep = {}
    if os.path.exists(rep_path):
        with open(rep_path) as f:
            rep = json.loads(f.read() or "{}")
    return (p.returncode, stdout, stderr, rep.get("wall_ms"), rep.get("cpu_ms"),
            rep.get("peak_rss_kb"))


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return None


def error_line(rc, stdout, stderr):
    lines = [l.strip() for l in (stderr + "\n" + stdout).splitlines() if l.strip()]
    lines = [l for l in lines if not l.startswith(("I0000", "WARNING: All log", "INFO:", "W0000"))]
    return (f"exit {rc}: " + (lines[-1] if lines else "no output"))[:240]


def c_binary(name):
    """bench/peers/NAME.c, compiled once into the cache (rebuilt when the source is newer)."""
    exe = os.path.join(MODELS_DIR, "bin", name)
    src = os.path.join(HERE, name + ".c")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.run(["cc", "-O2", "-o", exe, src], check=True)
    return exe


def krt_supported():
    if not os.path.exists(KERASRT):
        return False
    return subprocess.run([KERASRT, "convert", "--help"], capture_output=True).returncode == 0


def command(runtime, d, latency=False):
    if runtime.startswith("kerasrt"):
        f = os.path.join(d, PEER_FILE[runtime])
        runs = ["--runs", "20", "--batch", "1"] if latency else ["--runs", "0"]
        return [KERASRT, "bench", f, "--json"] + runs
    if runtime == "cat":
        return ["cat", os.path.join(d, "model.h5")]
    if runtime in FLOORS:
        return [c_binary("touch"), runtime, os.path.join(d, "model.h5")]
    cmd = [sys.executable, os.path.join(HERE, "peer_child.py"), runtime, d]
    return cmd + (["--latency-runs", "20"] if latency else [])


def measure_once(runtime, d, latency=False):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    cmd = command(runtime, d, latency)
    if runtime == "cat":
        rc, stdout, stderr, wall, cpu, rss = spawn(cmd, env, discard_stdout=True)
        if rc:
            return {"error": error_line(rc, stdout, stderr)}
        # cat's own clocks are its whole life: its ready point is its exit.
        return {"parent_wall_ms": wall, "parent_cpu_ms": cpu, "parent_peak_rss_kb": rss,
                "process_ready_wall_ms": wall, "process_ready_cpu_ms": cpu,
                "peak_rss_after_load_kb": rss}
    rc, stdout, stderr, wall, cpu, rss = spawn(cmd, env)
    r = last_json(stdout) if rc == 0 else None
    if r is None:
        return {"error": error_line(rc, stdout, stderr)}
    r.update(parent_wall_ms=wall, parent_cpu_ms=cpu, parent_peak_rss_kb=rss)
    if runtime in FLOORS:  # the floor is ready (and has "predicted") once the bytes are touched
        r.update(process_ready_wall_ms=r["process_wall_ms"], process_ready_cpu_ms=r["process_cpu_ms"],
                 peak_rss_after_load_kb=r["peak_rss_kb"])
    return r


def median_of(samples):
    """Median of every numeric field over the samples (nested latency dicts too)."""
    out = {}
    keys = [k for k in samples[0] if isinstance(samples[0][k], (int, float))]
    for k in keys:
        out[k] = statistics.median(s[k] for s in samples)
    if "latency" in samples[0] and samples[0]["latency"]:
        l = samples[0]["latency"][0]
        out["latency_b1"] = {"p50_ms": statistics.median(s["latency"][0]["p50_ms"] for s in samples),
                             "runs": l["runs"]}
    elif "latency_b1" in samples[0]:
        out["latency_b1"] = {"p50_ms": statistics.median(s["latency_b1"]["p50_ms"] for s in samples),
                             "runs": samples[0]["latency_b1"]["runs"]}
    for k in ("format",):
        if k in samples[0]:
            out[k] = samples[0][k]
    return out


def load_raw():
    if os.path.exists(RAW):
        with open(RAW) as f:
            return json.load(f)
    return {"cells": {}, "latency": {}, "runs": []}


def save_raw(raw):
    tmp = RAW + ".tmp"
    with open(tmp, "w") as f:
        json.dump(raw, f, indent=1)
    os.replace(tmp, RAW)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_cell(raw, model, runtime, n, latency):
    d = os.path.join(MODELS_DIR, model)
    key = f"{model}/{runtime}"
    table = raw["latency"] if latency else raw["cells"]
    if runtime == "kerasrt-krt" and not krt_supported():
        table[key] = {"na": "n/a (not built yet)"}
        return
    f = os.path.join(d, PEER_FILE[runtime if runtime not in FLOORS else "kerasrt-h5"])
    if runtime not in FLOORS and not os.path.exists(f) or (os.path.exists(f) and
                                                           os.path.getsize(f) == 0):
        conv = json.load(open(os.path.join(d, "convert.json")))["convert"]
        ckey = {"onnxruntime": "onnx", "litert": "tflite", "openvino": "openvino",
                "kerasrt-krt": "krt"}.get(runtime, "h5")
        table[key] = {"error": "conversion failed: " + conv.get(ckey, {}).get("error", "no file")}
        return
    if runtime.startswith("kerasrt"):
        built = datetime.datetime.fromtimestamp(os.path.getmtime(KERASRT)).isoformat(timespec="seconds")
        head = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%h", f"--until={built}"],
                              capture_output=True, text=True).stdout.strip()
        raw["kerasrt_build"] = {"binary": KERASRT, "head_at_build": head, "binary_mtime": built}
    samples, errors = [], []
    t0 = time.monotonic()
    for _ in range(n):
        r = measure_once(runtime, d, latency)
        if "error" in r:
            errors.append(r["error"])
            break  # a failure is deterministic in practice; do not burn the time n times
        samples.append(r)
    if samples:
        cell = median_of(samples)
        cell["n"] = len(samples)
        if errors:
            cell["errors"] = errors
    else:
        cell = {"error": errors[0]}
    cell["loadavg"] = loadavg()
    cell["measured_at"] = datetime.datetime.now().isoformat(timespec="seconds")
    table[key] = cell
    took = time.monotonic() - t0
    summary = cell.get("error") or (f"ready {cell.get('process_ready_cpu_ms', 0):.1f} ms CPU, "
                                    f"{cell.get('process_ready_wall_ms', 0):.0f} ms wall")
    print(f"run: {key}{' (latency)' if latency else ''}: {summary}  [{took:.0f} s, load {loadavg()}]",
          flush=True)


# ---------------------------------------------------------------------------------------------
# report


def fmt_ms(v):
    if v is None:
        return "—"
    if v >= 1000:
        return f"{v / 1000:.2f} s"
    if v >= 100:
        return f"{v:.0f} ms"
    if v >= 10:
        return f"{v:.1f} ms"
    return f"{v:.2f} ms"


def fmt_mb(kb):
    return "—" if kb is None else f"{kb / 1024:.0f} MB" if kb >= 10240 else f"{kb / 1024:.1f} MB"


def fmt_ratio(r):
    if r is None:
        return ""
    if r < 0.1:
        return f"{r:.2g}×"
    return f"{r:.0f}×" if r >= 100 else f"{r:.1f}×" if r >= 10 else f"{r:.2f}×"


def cell_text(cell, metric, fmt, base=None):
    if cell is None:
        return "not run"
    if "na" in cell:
        return cell["na"]
    if "error" in cell:
        return "error: " + cell["error"].replace("|", "\\|")
    v = cell.get(metric)
    if v is None:
        return "—"
    text = fmt(v)
    if base is not None and base > 0:
        text += f" ({fmt_ratio(v / base)})"
    return text


def machine_description():
    cpu = "?"
    flags = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and cpu == "?":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                fl = line.split(":", 1)[1].split()
                flags = ", ".join(x for x in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if x in fl)
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    versions = subprocess.run(
        [sys.executable, "-c",
         "import importlib.metadata as m\n"
         "for n in ['tensorflow-cpu','keras','tf2onnx','onnx','onnxruntime','ai-edge-litert',"
         "'openvino','numpy','h5py','protobuf']:\n"
         "    print(n, m.version(n))"], capture_output=True, text=True).stdout.split("\n")
    cc = subprocess.run(["c++", "--version"], capture_output=True, text=True).stdout.splitlines()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no",
                            "src", "include"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": cpu, "isa": flags, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "packages": [v for v in versions if v], "compiler": cc[0] if cc else "?",
        "kerasrt_commit": commit + (" + uncommitted changes in src/ of the shared tree" if dirty else ""),
    }


def weight_overhead(cells):
    """kerasrt's peak RSS after loading the smallest model, minus its weight bytes (or None)."""
    small = [cells.get(f"{m}/kerasrt-h5") for m in ("cnn", "mlp")]
    small = [c for c in small if c and "error" not in c and "weight_bytes" in c]
    if not small:
        return None
    c = min(small, key=lambda c: c["weight_bytes"])
    return c["peak_rss_after_load_kb"] * 1024 - c["weight_bytes"]


def criteria(w, cells, models):
    w("## Issue 5 acceptance checks, as measured in this run")
    w("")
    rows = []
    for m in ("resnet50", "mobilenetv2"):
        kr, fl = cells.get(f"{m}/kerasrt-h5") or {}, cells.get(f"{m}/mmap-byte") or {}
        if "load_cpu_ms" in kr and fl.get("op_cpu_ms"):
            r = kr["load_cpu_ms"] / fl["op_cpu_ms"]
            rows.append(f"- .h5 load CPU within 2× of the touch-every-byte floor, {m}: "
                        f"{fmt_ms(kr['load_cpu_ms'])} vs {fmt_ms(fl['op_cpu_ms'])} = {fmt_ratio(r)} → "
                        f"**{'met' if r <= 2 else 'not met'}**")
        else:
            rows.append(f"- .h5 load CPU within 2× of the floor, {m}: not measured "
                        f"({kr.get('error', 'no kerasrt result')})")
    krt = [cells[f"{m}/kerasrt-krt"] for m in models if f"{m}/kerasrt-krt" in cells]
    if not krt or any("na" in c for c in krt):
        rows.append("- .krt load under 5 ms CPU for every model: **not measurable** (`kerasrt "
                    "convert` / the .krt format is not built yet)")
    else:
        bad = [m for m, c in zip(models, krt) if not (c.get("load_cpu_ms", 1e9) < 5)]
        rows.append(f"- .krt load under 5 ms CPU for every model: "
                    f"**{'met' if not bad else 'not met: ' + ', '.join(bad)}**")
    over = weight_overhead(cells)
    if over is not None:
        bad = []
        for m in models:
            kr = cells.get(f"{m}/kerasrt-h5") or {}
            if "weight_bytes" in kr:
                net = kr["peak_rss_after_load_kb"] * 1024 - over
                if net > 1.2 * kr["weight_bytes"]:
                    bad.append(f"{m} {net / kr['weight_bytes']:.2f}×")
            else:
                bad.append(f"{m} (no kerasrt result)")
        rows.append(f"- peak RSS during load ≤ 1.2 × weight bytes + {over / 2**20:.1f} MB fixed "
                    f"overhead: **{'met' if not bad else 'not met: ' + ', '.join(bad)}**")
    missing = [f"{m}/{LABEL[p]}" for m in models for p in PEERS
               if "process_ready_cpu_ms" not in (cells.get(f"{m}/{p}") or {})]
    missing += [f"{m}/kerasrt" for m in models
                if "process_ready_cpu_ms" not in (cells.get(f"{m}/kerasrt-h5") or {})]
    rows.append("- ratios against TF, ONNX Runtime, LiteRT and OpenVINO for every model: "
                + ("**complete**" if not missing else "**missing**: " + ", ".join(missing)))
    for r in rows:
        w(r)
    w("")


def report(raw, path):
    cells = raw["cells"]
    lat = raw.get("latency", {})
    models = [m for m in MODELS if any(k.startswith(m + "/") for k in cells)]
    info = {m: json.load(open(os.path.join(MODELS_DIR, m, "convert.json"))) for m in models}
    mach = raw.get("machine") or machine_description()
    L = []
    w = L.append
    w("# Peer benchmark: loading a Keras model, kerasrt vs TensorFlow, ONNX Runtime, LiteRT, OpenVINO")
    w("")
    w("Generated by `bench/peers/run.py` (see `bench/peers/`); latest results only. Every figure is")
    w("the median of fresh processes, one model × runtime at a time, page cache warm (the files were")
    w("just written or read). Ratios in parentheses are **peer / kerasrt .h5** (above 1: kerasrt is")
    w("cheaper), or, in the floor columns, floor / kerasrt .h5.")
    w("")
    w("## Ratios at a glance (CPU time, peer / kerasrt .h5)")
    w("")
    w("Above 1: the peer spends that many times kerasrt's CPU. *Ready*: process start → model "
      "ready; *first*: process start → first prediction. Both include process start, imports and "
      "dynamic linking.")
    w("")
    w("| model | " + " | ".join(f"{LABEL[p]} ready" for p in PEERS) + " | "
      + " | ".join(f"{LABEL[p]} first" for p in PEERS) + " |")
    w("|---|" + "---:|" * (2 * len(PEERS)))
    for m in models:
        kr = cells.get(f"{m}/kerasrt-h5") or {}
        row = []
        for metric in ("process_ready_cpu_ms", "process_first_prediction_cpu_ms"):
            for p in PEERS:
                c = cells.get(f"{m}/{p}") or {}
                if "error" in kr or not kr:
                    row.append("kerasrt: " + kr.get("error", "not run").replace("|", "\\|")
                               if p == PEERS[0] else "")
                elif "error" in c or metric not in c:
                    row.append(("error: " + c["error"].replace("|", "\\|")) if "error" in c
                               else "not run")
                else:
                    row.append(fmt_ratio(c[metric] / kr[metric]))
        w(f"| {m} | " + " | ".join(row) + " |")
    w("")
    criteria(w, cells, models)
    w("## Machine and conditions")
    w("")
    w(f"- CPU: {mach['cpu']} ({mach['isa']}), {mach['cores']} cores visible, {mach['ram_gb']} GB RAM, "
      f"Linux {mach['kernel']} (VM)")
    kb = raw.get("kerasrt_build", {})
    w(f"- kerasrt: `{os.path.basename(kb.get('binary', KERASRT))}` built {kb.get('binary_mtime', '?')} "
      f"in `build/release` (Release, {mach['compiler']}) from the shared working tree (last commit "
      f"then: {kb.get('head_at_build', kb.get('head_when_measured', '?'))}, plus other engineers' "
      f"uncommitted work in progress); "
      f"oneDNN, all cores")
    w(f"- Python {mach['python']}; " + ", ".join(mach["packages"]))
    runs = raw.get("runs", [])
    if runs:
        per_rt = {}
        for k, c in cells.items():
            if "n" in c:
                per_rt.setdefault(k.split("/")[1], set()).add(c["n"])
        ns = ", ".join(f"{LABEL[r]} {'/'.join(map(str, sorted(v)))}" for r, v in per_rt.items())
        w(f"- Fresh processes per cell (median): {ns}.")
        for r in runs:
            got = r.get("measured")
            if got is not None and not got:
                continue
            what = ("all model × runtime cells" if got is None else
                    f"{sum(not k.endswith('(latency)') for k in got)} load cells, "
                    f"{sum(k.endswith('(latency)') for k in got)} steady-state cells")
            w(f"- run.py invocation {r.get('started')} → {r.get('finished')}: {what}; load average "
              f"at start {r.get('load_start')}, at end {r.get('load_end')}.")
    loads = [float(c["loadavg"].split()[0]) for c in list(cells.values()) + list(lat.values())
             if c.get("loadavg")]
    span = f"{min(loads):.0f}–{max(loads):.0f}" if loads else "?"
    w("- **Load conditions**: the machine's 2 cores were shared with other engineers' builds, tests "
      f"and fixture generators (1-minute load average {span} while the cells were measured, listed "
      "per cell in results.json). Wall-clock figures can "
      "include waiting for a core, by a factor that varies from cell to cell; **CPU-time figures "
      "are the ones to compare** (contention inflates them much less: cache and TLB sharing). "
      "RSS is unaffected.")
    w("- Threads: every runtime at its default (all cores) except LiteRT, whose default is one "
      "thread: it is given `num_threads=os.cpu_count()`.")
    w("")
    w("What each runtime does between process start and *ready* (first prediction adds one batch-1 "
      "predict on the same input):")
    w("")
    w("| runtime | ready = | first prediction |")
    w("|---|---|---|")
    w("| kerasrt .h5 | `kerasrt bench model.h5 --json --runs 0`: dynamic linking + `Model::load` "
      "| `Model::predict` (batch 1) |")
    w("| kerasrt .krt | same on `model.krt` | |")
    w("| TensorFlow | python start + `import tensorflow` + `tf.keras.models.load_model(model.h5, "
      "compile=False)` (Keras 3) | `model.predict(x, verbose=0)` |")
    w("| ONNX Runtime | python start + `import onnxruntime` + `InferenceSession(model.onnx)` (CPU EP) "
      "| `sess.run` |")
    w("| LiteRT | python start + `from ai_edge_litert.interpreter import Interpreter` + "
      "`Interpreter(model.tflite)` + `allocate_tensors()` (XNNPACK delegate) | `set_tensor`, "
      "`invoke`, `get_tensor` |")
    w("| OpenVINO | python start + `import openvino` + `Core().read_model(model.xml)` + "
      "`compile_model(…, 'CPU')` (no model cache) | `infer` |")
    w("| floor: cat | `cat model.h5 > /dev/null` (whole process, from launch.c's wait4) | |")
    w("| floor: mmap | `touch mmap-byte model.h5` (bench/peers/touch.c): map, read every byte "
      "(whole process, in-process clocks) | |")
    w("")
    w("## Models")
    w("")
    w("| model | description | params | .h5 | weights (kerasrt) | .onnx | .tflite | OpenVINO .bin |")
    w("|---|---|---:|---:|---:|---:|---:|---:|")
    for m in models:
        c = info[m]["convert"]
        kr = cells.get(f"{m}/kerasrt-h5", {})
        wb = kr.get("weight_bytes")
        w(f"| {m} | {info[m]['description']} | {info[m]['params']:,} | "
          + " | ".join(fmt_mb(c.get(k, {}).get("bytes", 0) / 1024) if c.get(k, {}).get("ok")
                       else "failed" for k in ("h5",)) + " | "
          + (fmt_mb(wb / 1024) if wb else "—") + " | "
          + " | ".join(fmt_mb(c.get(k, {}).get("bytes", 0) / 1024) if c.get(k, {}).get("ok")
                       else "failed" for k in ("onnx", "tflite", "openvino")) + " |")
    w("")

    def metric_table(title, metric, fmt, floor_metric=None, note=""):
        w(f"### {title}")
        w("")
        if note:
            w(note)
            w("")
        cols = (["cat", "mmap-byte"] if floor_metric else []) + RUNTIMES
        w("| model | " + " | ".join(("floor: " if c in FLOORS else "") + LABEL[c] for c in cols) + " |")
        w("|---|" + "---:|" * len(cols))
        for m in models:
            base_cell = cells.get(f"{m}/kerasrt-h5") or {}
            base = base_cell.get(metric) if "error" not in base_cell else None
            row = []
            for c in cols:
                cell = cells.get(f"{m}/{c}")
                if c in FLOORS:
                    row.append(cell_text(cell, floor_metric, fmt, base))
                elif c == "kerasrt-h5":
                    row.append("**" + cell_text(cell, metric, fmt) + "**" if cell and "error" not in cell
                               else "kerasrt: " + cell_text(cell, metric, fmt))
                else:
                    row.append(cell_text(cell, metric, fmt, base))
            w(f"| {m} | " + " | ".join(row) + " |")
        w("")

    w("## Process start → model ready")
    w("")
    metric_table("CPU time (user + sys, all threads)", "process_ready_cpu_ms", fmt_ms,
                 "process_ready_cpu_ms")
    w("### Of which: interpreter start + import, and the load proper (CPU)")
    w("")
    w("For the Python peers, *ready* splits into Python start + `import` of the runtime (which a "
      "C/C++ user of the same runtime would partly not pay) and the load proper (load_model / "
      "session creation / interpreter + allocate / read + compile). kerasrt: process start + "
      "dynamic linking, then `Model::load`. Ratios are peer load / kerasrt `Model::load`.")
    w("")
    w("| model | kerasrt start | kerasrt load | " + " | ".join(
        f"{LABEL[p]} start+import | {LABEL[p]} load" for p in PEERS) + " |")
    w("|---|---:|---:|" + "---:|---:|" * len(PEERS))
    for m in models:
        kr = cells.get(f"{m}/kerasrt-h5") or {}
        row = [fmt_ms(kr.get("process_start_to_load_cpu_ms")), fmt_ms(kr.get("load_cpu_ms"))]
        for p in PEERS:
            c = cells.get(f"{m}/{p}") or {}
            if "import_cpu_ms" not in c:
                row += ["—", "—"]
                continue
            start = c["process_start_to_script_cpu_ms"] + c["import_cpu_ms"]
            load = c["process_ready_cpu_ms"] - start
            row += [fmt_ms(start), fmt_ms(load) + (f" ({fmt_ratio(load / kr['load_cpu_ms'])})"
                                                  if kr.get("load_cpu_ms") else "")]
        w(f"| {m} | " + " | ".join(row) + " |")
    w("")
    metric_table("Wall time (inflated by the shared machine; see above)", "process_ready_wall_ms",
                 fmt_ms, "process_ready_wall_ms")
    metric_table("Peak RSS", "peak_rss_after_load_kb", fmt_mb, "peak_rss_after_load_kb")
    w("## Process start → first prediction (batch 1)")
    w("")
    metric_table("CPU time", "process_first_prediction_cpu_ms", fmt_ms)
    metric_table("Wall time (inflated by the shared machine)", "process_first_prediction_wall_ms",
                 fmt_ms)
    metric_table("Peak RSS", "peak_rss_after_first_prediction_kb", fmt_mb)

    w("## kerasrt's load against the floor")
    w("")
    w("`load` is `Model::load` alone (kerasrt bench's `load_cpu_ms`); the floors are the operation "
      "alone inside touch.c (`op_cpu_ms`: open + mmap + reading the bytes, or open + malloc + "
      "read()). Process figures count from process start for both.")
    w("")
    w("In the measured build `Model::load` parses the file and builds the graph; the execution plan "
      "(oneDNN primitives, weight packing, arena) is compiled by the first `predict` for each set "
      "of input shapes, so that work shows in *kerasrt first predict CPU*, not in the load. "
      "`read()` into a new buffer is the floor of any load that copies the weights into private "
      "memory (fresh pages fault in at several ms per MB on this VM); only a load that uses the "
      "mapped file's bytes in place can approach the every-byte mmap floor.")
    w("")
    w("| model | kerasrt load CPU | mmap, 1 byte/page | mmap, every byte | read() | load / every-byte "
      "floor | kerasrt process→ready CPU | touch process CPU | ratio | kerasrt first predict CPU |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in models:
        kr = cells.get(f"{m}/kerasrt-h5") or {}
        if "error" in kr or not kr:
            w(f"| {m} | kerasrt: {kr.get('error', 'not run')} | | | | | | | | |")
            continue
        fl = {f: cells.get(f"{m}/{f}") or {} for f in FLOORS}
        byte = fl["mmap-byte"].get("op_cpu_ms")
        tp = fl["mmap-byte"].get("process_cpu_ms")
        w(f"| {m} | {fmt_ms(kr.get('load_cpu_ms'))} | {fmt_ms(fl['mmap-page'].get('op_cpu_ms'))} | "
          f"{fmt_ms(byte)} | {fmt_ms(fl['read'].get('op_cpu_ms'))} | "
          f"{fmt_ratio(kr['load_cpu_ms'] / byte) if byte else '—'} | "
          f"{fmt_ms(kr.get('process_ready_cpu_ms'))} | {fmt_ms(tp)} | "
          f"{fmt_ratio(kr['process_ready_cpu_ms'] / tp) if tp else '—'} | "
          f"{fmt_ms(kr.get('first_predict_cpu_ms'))} |")
    w("")
    w("### Peak RSS during load against the weight bytes")
    w("")
    overhead = weight_overhead(cells)
    if overhead is not None:
        w(f"Fixed runtime overhead, taken as kerasrt's peak RSS after loading the smallest model "
          f"minus its weight bytes: **{overhead / 2**20:.1f} MB** (binary, libdnnl, libgomp, libc, "
          f"stacks). Criterion: peak RSS ≤ 1.2 × weights + overhead. RSS counts the file pages "
          f"kerasrt maps and touches (shared, reclaimable) as well as its private memory.")
        w("")
    w("| model | weight bytes | kerasrt peak RSS after load | RSS − overhead | ÷ weights | "
      "within 1.2× + overhead |")
    w("|---|---:|---:|---:|---:|---|")
    for m in models:
        kr = cells.get(f"{m}/kerasrt-h5") or {}
        if "error" in kr or not kr:
            w(f"| {m} | | kerasrt: {kr.get('error', 'not run')} | | | |")
            continue
        wb, rss = kr["weight_bytes"], kr["peak_rss_after_load_kb"] * 1024
        net = rss - (overhead or 0)
        w(f"| {m} | {fmt_mb(wb / 1024)} | {fmt_mb(rss / 1024)} | {fmt_mb(net / 1024)} | "
          f"{net / wb:.2f} | {'yes' if net <= 1.2 * wb else '**no**'} |")
    w("")

    w("## Cross-check from the parent (fork → exit, the child's rusage from wait4)")
    w("")
    w("Measured by bench/peers/launch.c, which forks and reaps each measured process; includes "
      "process exit (the Python children skip interpreter teardown with `os._exit`).")
    w("")
    cols = ["cat", "mmap-byte"] + RUNTIMES
    w("| model | " + " | ".join(LABEL[c] + " CPU" for c in cols) + " |")
    w("|---|" + "---:|" * len(cols))
    for m in models:
        base = (cells.get(f"{m}/kerasrt-h5") or {}).get("parent_cpu_ms")
        w(f"| {m} | " + " | ".join(cell_text(cells.get(f"{m}/{c}"), "parent_cpu_ms", fmt_ms,
                                             None if c == "kerasrt-h5" else base)
                                   for c in cols) + " |")
    w("")
    w("| model | " + " | ".join(LABEL[c] + " peak RSS" for c in RUNTIMES) + " |")
    w("|---|" + "---:|" * len(RUNTIMES))
    for m in models:
        w(f"| {m} | " + " | ".join(cell_text(cells.get(f"{m}/{c}"), "parent_peak_rss_kb", fmt_mb)
                                   for c in RUNTIMES) + " |")
    w("")
    if lat:
        w("## Steady state: batch-1 latency p50 (secondary)")
        w("")
        w("After the first prediction: at least 20 predictions and 200 ms per process, p50; median "
          "over the cell's processes (n in results.json); `kerasrt bench --runs 20 --batch 1` for kerasrt. TensorFlow is `Model.predict` "
          "(its per-call overhead dominates small models). Noisy on a shared machine, and most for "
          "runtimes whose thread team waits at a barrier per layer (kerasrt's oneDNN/OpenMP on 2 "
          "threads): a descheduled thread stalls the others. Load figures above are not affected "
          "this way.")
        w("")
        w("| model | " + " | ".join(LABEL[c] for c in RUNTIMES) + " |")
        w("|---|" + "---:|" * len(RUNTIMES))
        for m in models:
            kb = (lat.get(f"{m}/kerasrt-h5") or {}).get("latency_b1", {}).get("p50_ms")
            row = []
            for c in RUNTIMES:
                cell = lat.get(f"{m}/{c}")
                if cell is None:
                    row.append("not run")
                elif "na" in cell or "error" in cell:
                    row.append(cell_text(cell, "", fmt_ms))
                else:
                    v = cell.get("latency_b1", {}).get("p50_ms")
                    row.append(fmt_ms(v) + (f" ({fmt_ratio(v / kb)})" if kb and c != "kerasrt-h5"
                                            else ""))
            w(f"| {m} | " + " | ".join(row) + " |")
        w("")

    w("## Conversions (not part of any load figure)")
    w("")
    w("Made once by `bench/peers/make_models.py` (Keras 3 model → legacy .h5; → SavedModel "
      "(`Model.export`) → ONNX via tf2onnx (opset 17), → TFLite via `TFLiteConverter."
      "from_saved_model` of a batch-1 export (builtin ops only), → OpenVINO IR via "
      "`openvino.convert_model` of the SavedModel (FP32)). Wall seconds, which include waiting for a "
      "core on the shared machine, and in parentheses the CPU seconds of the converting process "
      "(all threads).")
    w("")
    w("| model | .h5 save | SavedModel export | ONNX (tf2onnx) | TFLite | OpenVINO | .krt |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for m in models:
        c = info[m]["convert"]
        row = []
        for k in ("h5", "saved_model", "onnx", "tflite", "openvino", "krt"):
            e = c.get(k)
            if e is None:
                row.append("n/a" if k == "krt" else "—")
            elif e.get("ok"):
                row.append(f"{e['wall_s']:.1f} s ({e.get('cpu_s', 0):.1f} s)")
            else:
                row.append("failed: " + e.get("error", "?").replace("|", "\\|"))
        w(f"| {m} | " + " | ".join(row) + " |")
    w("")
    w("Every peer's first prediction is checked against TensorFlow's output on the same input "
      "(max abs difference, in results.json); kerasrt's numerics are covered by its own test "
      "suites.")
    diffs = []
    for m in models:
        for c in PEERS:
            v = (cells.get(f"{m}/{c}") or {}).get("max_abs_diff_vs_tf")
            if v is not None and v > 1e-3:
                diffs.append(f"{m}/{LABEL[c]}: {v:.2g}")
    if diffs:
        w("Differences above 1e-3 (random weights, activations not normalised): " + ", ".join(diffs)
          + ".")
    w("")
    text = "\n".join(L)
    with open(path, "w") as f:
        f.write(text)
    print(f"run: wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--runtimes", default=",".join(FLOORS + RUNTIMES),
                    help="comma-separated; floors: " + ",".join(FLOORS))
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per cell (median)")
    ap.add_argument("--resume", action="store_true", help="keep cells that already succeeded")
    ap.add_argument("--latency", action="store_true", help="also the steady-state p50 table")
    ap.add_argument("--latency-runs", type=int, default=3,
                    help="processes per steady-state cell (median of their p50s)")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--out", default=REPORT)
    args = ap.parse_args()
    raw = load_raw()
    if not args.report_only:
        if not os.path.exists(KERASRT) and any(r.startswith("kerasrt") for r in
                                                args.runtimes.split(",")):
            sys.exit(f"run: {KERASRT} not built (cmake --build build/release --target kerasrt)")
        models = args.models.split(",")
        runtimes = args.runtimes.split(",")
        for m in models:
            if not os.path.exists(os.path.join(MODELS_DIR, m, "convert.json")):
                sys.exit(f"run: {m} not made; run make_models.py first")
        started, load_start = datetime.datetime.now().isoformat(timespec="seconds"), loadavg()
        warmed = set()
        measured = []
        for m in models:
            for rt in runtimes:
                key = f"{m}/{rt}"
                done = raw["cells"].get(key)
                if not (args.resume and done and "error" not in done and "na" not in done):
                    if rt not in warmed and rt not in FLOORS:
                        # one unmeasured run per runtime: its libraries into the page cache
                        measure_once(rt, os.path.join(MODELS_DIR, m)) if rt != "kerasrt-krt" else None
                        warmed.add(rt)
                    run_cell(raw, m, rt, args.runs, False)
                    if "na" not in raw["cells"][key]:
                        measured.append(key)
                    save_raw(raw)
                if args.latency and rt not in FLOORS:
                    done = raw["latency"].get(key)
                    if not (args.resume and done and "error" not in done):
                        run_cell(raw, m, rt, args.latency_runs, True)
                        measured.append(key + " (latency)")
                        save_raw(raw)
        raw.setdefault("runs", []).append({"started": started, "finished":
                                           datetime.datetime.now().isoformat(timespec="seconds"),
                                           "n": args.runs, "load_start": load_start,
                                           "load_end": loadavg(), "models": models,
                                           "runtimes": runtimes, "measured": measured})
        raw["machine"] = machine_description()
        save_raw(raw)
    report(raw, args.out)


if __name__ == "__main__":
    main()
