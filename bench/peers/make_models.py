#!/usr/bin/env python3
"""Builds the peer benchmark's models and converts them for every peer runtime.

Seven models are built with Keras 3 (random weights, fixed seed), saved as legacy `.h5` (kerasrt's
main input and what TensorFlow loads in the benchmark), and converted:

    model.h5          keras Model.save (legacy HDF5 writer)
    saved_model/      Model.export(format="tf_saved_model"), the source of the conversions below
    model.onnx        tf2onnx.convert.from_function on the exported serving function (opset 17)
    model.tflite      tf.lite.TFLiteConverter.from_saved_model (builtin ops only; no Flex)
    model.xml/.bin    openvino.convert_model(saved_model/) + openvino.save_model (FP32, no compression)
    model.krt         `kerasrt convert model.h5 model.krt`, when that command exists
    input.npy         the batch-1 input every runtime predicts on
    convert.json      what was made, how long each conversion took, and any conversion error

into ${KERASRT_CACHE:-$HOME/.cache/kerasrt}/peers/<model>/. Conversion time is reported separately
(convert.json, and run.py copies it into RESULTS.md); it is never part of a measured load.
Models are rebuilt only when missing or with --force. Run with the venv of setup-venv.sh:

    $(bench/peers/setup-venv.sh) bench/peers/make_models.py [--only mlp,cnn] [--force]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("KERASRT_CACHE", os.path.expanduser("~/.cache/kerasrt"))
OUT = os.path.join(CACHE, "peers")
SEED = 1234

# name -> (description, input shape without batch, input dtype)
MODELS = {
    "mlp": ("MLP 784-1024-512-10 (Dense, relu, softmax)", (784,), "float32"),
    "cnn": ("small CNN 32x32x3: 2x(Conv3x3+MaxPool) + Dense 128 + Dense 10", (32, 32, 3), "float32"),
    "mobilenetv2": ("keras.applications.MobileNetV2 224x224, weights=None", (224, 224, 3), "float32"),
    "resnet50": ("keras.applications.ResNet50 224x224, weights=None", (224, 224, 3), "float32"),
    "efficientnetb0": ("keras.applications.EfficientNetB0 224x224, weights=None", (224, 224, 3), "float32"),
    "lstm": ("text LSTM: Embedding(20000,128) + LSTM(128) + Dense(1), 100 tokens", (100,), "int32"),
    "transformer": ("transformer encoder: Embedding(8000,128) + 2x(MHA 4x32 + LayerNorm + FFN 512) "
                    "+ GAP + Dense(2), 64 tokens", (64,), "int32"),
}


def build(name):
    import keras
    from keras import layers

    keras.utils.set_random_seed(SEED)
    if name == "mlp":
        x = inp = keras.Input((784,), name="x")
        x = layers.Dense(1024, activation="relu")(x)
        x = layers.Dense(512, activation="relu")(x)
        x = layers.Dense(10, activation="softmax")(x)
        return keras.Model(inp, x, name="mlp")
    if name == "cnn":
        x = inp = keras.Input((32, 32, 3), name="x")
        x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Flatten()(x)
        x = layers.Dense(128, activation="relu")(x)
        x = layers.Dense(10, activation="softmax")(x)
        return keras.Model(inp, x, name="cnn")
    if name == "mobilenetv2":
        return keras.applications.MobileNetV2(input_shape=(224, 224, 3), weights=None)
    if name == "resnet50":
        return keras.applications.ResNet50(input_shape=(224, 224, 3), weights=None)
    if name == "efficientnetb0":
        return keras.applications.EfficientNetB0(input_shape=(224, 224, 3), weights=None)
    if name == "lstm":
        x = inp = keras.Input((100,), dtype="int32", name="x")
        x = layers.Embedding(20000, 128)(x)
        x = layers.LSTM(128)(x)
        x = layers.Dense(1, activation="sigmoid")(x)
        return keras.Model(inp, x, name="lstm")
    if name == "transformer":
        x = inp = keras.Input((64,), dtype="int32", name="x")
        x = layers.Embedding(8000, 128)(x)
        for _ in range(2):
            a = layers.MultiHeadAttention(num_heads=4, key_dim=32)(x, x)
            x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, a]))
            f = layers.Dense(512, activation="relu")(x)
            f = layers.Dense(128)(f)
            x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, f]))
        x = layers.GlobalAveragePooling1D()(x)
        x = layers.Dense(2, activation="softmax")(x)
        return keras.Model(inp, x, name="transformer")
    raise ValueError(name)


def make_input(name):
    import numpy as np

    _, shape, dtype = MODELS[name]
    rng = np.random.default_rng(SEED)
    if dtype == "int32":
        return rng.integers(1, 1000, size=(1,) + shape).astype(np.int32)
    return rng.standard_normal((1,) + shape).astype(np.float32)


def kerasrt_binary():
    return os.environ.get("KERASRT", os.path.join(ROOT, "build", "release", "src", "kerasrt"))


def krt_supported():
    exe = kerasrt_binary()
    if not os.path.exists(exe):
        return False
    r = subprocess.run([exe, "convert", "--help"], capture_output=True)
    return r.returncode == 0


def timed(info, key, fn):
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        fn()
        info["convert"][key] = {"ok": True, "wall_s": round(time.perf_counter() - t0, 3),
                                "cpu_s": round(time.process_time() - c0, 3)}
    except Exception as e:  # a failed conversion is a result: the runtime's column says why
        text = str(e).strip()
        # Converter errors are MLIR diagnostics: keep the message after the location.
        m = re.search(r"error: (?:loc\(.*?\)\)*:? ?)?('[^\n]*|[A-Za-z][^\n]*)", text)
        first = m.group(1) if m else (text.splitlines()[0] if text else "")
        msg = f"{type(e).__name__}: {first}"
        info["convert"][key] = {"ok": False, "error": msg[:300],
                                "wall_s": round(time.perf_counter() - t0, 3)}
        traceback.print_exc()
        print(f"make_models: {key}: {msg}", file=sys.stderr)


def conversions(d, model, sm, shape, dtype, spec):
    """The peer formats' converters, by key; each writes its file into d."""
    import tensorflow as tf

    def to_onnx():
        import onnx
        import tf2onnx

        out = os.path.join(d, "model.onnx")
        dyn = tf.TensorSpec((None,) + shape, tf.as_dtype(dtype), name="x")
        loaded = tf.saved_model.load(sm)
        fn = loaded.signatures["serving_default"]
        arg = list(fn.structured_input_signature[1].keys())[0]

        @tf.function(input_signature=[dyn])
        def serve(x):
            return list(fn(**{arg: x}).values())[0]

        tf2onnx.convert.from_function(serve, input_signature=[dyn], opset=17, output_path=out)
        if len(onnx.load(out).graph.input) == 1:
            return
        # Constant tensors captured by the function (EfficientNet's un-adapted Normalization keeps
        # its mean and variance as plain tensors, not variables) come out as extra graph inputs.
        # Convert from the live model instead and turn those inputs into initializers.
        @tf.function(input_signature=[dyn])
        def serve_live(x):
            return model(x, training=False)

        captured = {internal.name: ext.numpy()
                    for ext, internal in serve_live.get_concrete_function().graph.captures
                    if internal.dtype != tf.resource and hasattr(ext, "numpy")}
        tf2onnx.convert.from_function(serve_live, input_signature=[dyn], opset=17, output_path=out)
        g = onnx.load(out)
        for inp in list(g.graph.input)[1:]:
            if inp.name not in captured:
                raise RuntimeError(f"ONNX graph input {inp.name} is not a captured constant")
            g.graph.initializer.append(onnx.numpy_helper.from_array(captured[inp.name], inp.name))
            g.graph.input.remove(inp)
        onnx.save(g, out)


    def to_tflite():
        # From a SavedModel with a fixed batch of 1: with the dynamic batch the LSTM's TensorList
        # ops cannot be lowered to builtins, and LiteRT has no Flex (Select TF) ops.
        import keras

        sm1 = os.path.join(d, "saved_model_b1")
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=[spec])
        archive.write_out(sm1, verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(sm1)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        data = conv.convert()
        with open(os.path.join(d, "model.tflite"), "wb") as f:
            f.write(data)


    def to_openvino():
        import openvino as ov

        m = ov.convert_model(sm)
        ov.save_model(m, os.path.join(d, "model.xml"), compress_to_fp16=False)

    return {"onnx": to_onnx, "tflite": to_tflite, "openvino": to_openvino}


def make(name, force, redo=()):
    import numpy as np
    import tensorflow as tf

    d = os.path.join(OUT, name)
    meta = os.path.join(d, "convert.json")
    if os.path.exists(meta) and redo:
        import keras

        info = json.load(open(meta))
        model = keras.models.load_model(os.path.join(d, "model.h5"), compile=False)
        sm = os.path.join(d, "saved_model")
        shape, dtype = MODELS[name][1], MODELS[name][2]
        spec = tf.TensorSpec((1,) + shape, tf.as_dtype(dtype), name="x")
        convs = conversions(d, model, sm, shape, dtype, spec)
        for key in redo:
            timed(info, key, convs[key])
            p = os.path.join(d, {"onnx": "model.onnx", "tflite": "model.tflite",
                                 "openvino": "model.bin"}.get(key, ""))
            if info["convert"][key]["ok"] and os.path.isfile(p):
                info["convert"][key]["bytes"] = os.path.getsize(p)
        json.dump(info, open(meta, "w"), indent=1)
        print(f"make_models: {name}: redid {', '.join(redo)}")
        return
    if os.path.exists(meta) and not force:
        info = json.load(open(meta))
        if krt_supported() and not info["convert"].get("krt", {}).get("ok"):
            timed(info, "krt", lambda: convert_krt(d))
            json.dump(info, open(meta, "w"), indent=1)
        print(f"make_models: {name}: cached in {d}")
        return
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    desc, shape, dtype = MODELS[name]
    info = {"model": name, "description": desc, "input_shape": [1] + list(shape),
            "input_dtype": dtype, "convert": {}}
    t0 = time.perf_counter()
    model = build(name)
    info["params"] = int(model.count_params())
    info["build_s"] = round(time.perf_counter() - t0, 3)
    x = make_input(name)
    np.save(os.path.join(d, "input.npy"), x)
    h5 = os.path.join(d, "model.h5")
    timed(info, "h5", lambda: model.save(h5))
    sm = os.path.join(d, "saved_model")
    timed(info, "saved_model", lambda: model.export(sm, format="tf_saved_model", verbose=False))
    spec = tf.TensorSpec((1,) + shape, tf.as_dtype(dtype), name="x")

    convs = conversions(d, model, sm, shape, dtype, spec)
    for key in ("onnx", "tflite", "openvino"):
        timed(info, key, convs[key])
    if krt_supported():
        timed(info, "krt", lambda: convert_krt(d))
    # TensorFlow's reference output, so run.py can check every runtime predicts the same thing.
    y = model.predict(x, verbose=0)
    np.save(os.path.join(d, "output_tf.npy"), np.asarray(y))
    for key, fn in (("h5", "model.h5"), ("onnx", "model.onnx"), ("tflite", "model.tflite"),
                    ("openvino", "model.bin")):
        p = os.path.join(d, fn)
        if os.path.exists(p):
            info["convert"][key]["bytes"] = os.path.getsize(p)
    json.dump(info, open(meta, "w"), indent=1)
    print(f"make_models: {name}: {info['params']} params -> {d}")


def convert_krt(d):
    subprocess.run([kerasrt_binary(), "convert", os.path.join(d, "model.h5"),
                    os.path.join(d, "model.krt")], check=True, capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated model names (default: all)")
    ap.add_argument("--force", action="store_true", help="rebuild even if cached")
    ap.add_argument("--redo", help="redo these conversions of cached models (onnx,tflite,openvino)")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(MODELS)
    for n in names:
        if n not in MODELS:
            sys.exit(f"make_models: unknown model {n!r}; known: {', '.join(MODELS)}")
    for n in names:
        make(n, args.force, args.redo.split(",") if args.redo else ())


if __name__ == "__main__":
    main()
