"""One measurement of one peer runtime, in a fresh process (spawned by run.py).

    python peer_child.py RUNTIME MODEL_DIR [--latency-runs N]

RUNTIME is tf (import tensorflow + tf.keras.models.load_model of model.h5 + Model.predict),
onnxruntime (InferenceSession of model.onnx + run), litert (ai_edge_litert Interpreter of
model.tflite + allocate_tensors + invoke) or openvino (Core.read_model of model.xml +
compile_model on CPU + infer). Prints one JSON line with the clocks of `kerasrt bench --json`:
"process_*" counts from the process's start (field 22 of /proc/self/stat against CLOCK_BOOTTIME;
CPU is CLOCK_PROCESS_CPUTIME_ID, all threads), so interpreter start-up and imports are included;
peak RSS is ru_maxrss. Only the standard library is imported before the runtime itself.
"""

import os
import resource
import sys
import time


def ms_since_process_start():
    with open("/proc/self/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    start_ticks = int(fields[22 - 3])
    return time.clock_gettime(time.CLOCK_BOOTTIME) * 1e3 - start_ticks * 1e3 / os.sysconf("SC_CLK_TCK")


def cpu_ms():
    return time.clock_gettime(time.CLOCK_PROCESS_CPUTIME_ID) * 1e3


def peak_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main():
    runtime, d = sys.argv[1], sys.argv[2]
    latency_runs = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--latency-runs" else 0
    start_wall, start_cpu = ms_since_process_start(), cpu_ms()
    t_import = time.perf_counter()
    c_import = cpu_ms()

    if runtime == "tf":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import tensorflow as tf

        imported = (time.perf_counter(), cpu_ms())
        model = tf.keras.models.load_model(os.path.join(d, "model.h5"), compile=False)

        def predict(x):
            return model.predict(x, verbose=0)
    elif runtime == "onnxruntime":
        import onnxruntime as ort

        imported = (time.perf_counter(), cpu_ms())
        sess = ort.InferenceSession(os.path.join(d, "model.onnx"), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name

        def predict(x):
            return sess.run(None, {name: x})[0]
    elif runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter

        imported = (time.perf_counter(), cpu_ms())
        # LiteRT's default is one thread; the other runtimes use every core.
        interp = Interpreter(model_path=os.path.join(d, "model.tflite"), num_threads=os.cpu_count())
        interp.allocate_tensors()
        inp = interp.get_input_details()[0]["index"]
        out = interp.get_output_details()[0]["index"]

        def predict(x):
            interp.set_tensor(inp, x)
            interp.invoke()
            return interp.get_tensor(out)
    elif runtime == "openvino":
        import openvino as ov

        imported = (time.perf_counter(), cpu_ms())
        core = ov.Core()
        compiled = core.compile_model(core.read_model(os.path.join(d, "model.xml")), "CPU")
        request = compiled.create_infer_request()

        def predict(x):
            request.infer({0: x})
            return request.get_output_tensor(0).data
    else:
        sys.exit(f"peer_child: unknown runtime {runtime!r}")

    ready_wall, ready_cpu = ms_since_process_start(), cpu_ms()
    rss_ready = peak_rss_kb()
    import numpy as np  # already imported by every runtime above

    x = np.load(os.path.join(d, "input.npy"))
    w0, c0 = time.perf_counter(), cpu_ms()
    y = predict(x)
    first_wall, first_cpu = (time.perf_counter() - w0) * 1e3, cpu_ms() - c0
    done_wall, done_cpu = ms_since_process_start(), cpu_ms()
    rss_first = peak_rss_kb()

    result = {
        "runtime": runtime,
        "process_start_to_script_wall_ms": start_wall,
        "process_start_to_script_cpu_ms": start_cpu,
        "import_wall_ms": (imported[0] - t_import) * 1e3,
        "import_cpu_ms": imported[1] - c_import,
        "process_ready_wall_ms": ready_wall,
        "process_ready_cpu_ms": ready_cpu,
        "first_predict_wall_ms": first_wall,
        "first_predict_cpu_ms": first_cpu,
        "process_first_prediction_wall_ms": done_wall,
        "process_first_prediction_cpu_ms": done_cpu,
        "peak_rss_after_load_kb": rss_ready,
        "peak_rss_after_first_prediction_kb": rss_first,
    }
    ref = os.path.join(d, "output_tf.npy")
    if os.path.exists(ref):
        want = np.load(ref)
        got = np.asarray(y, dtype=np.float32).reshape(want.shape)
        result["max_abs_diff_vs_tf"] = float(np.max(np.abs(got - want)))
    if latency_runs:
        times = []
        t_end = time.perf_counter() + 0.2
        while len(times) < latency_runs or time.perf_counter() < t_end:
            t0 = time.perf_counter()
            predict(x)
            times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        result["latency_b1"] = {"runs": len(times), "p50_ms": times[len(times) // 2],
                                "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))]}
    result["peak_rss_kb"] = peak_rss_kb()
    sys.stdout.write(__import__("json").dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: no figure includes it (TF can take seconds there)


if __name__ == "__main__":
    main()
