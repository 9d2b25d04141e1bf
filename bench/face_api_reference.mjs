// face-api.js's own pipeline on raw RGB images, for `python -m bench.face_accuracy --compare-face-api`.
//
//   node bench/face_api_reference.mjs MANIFEST.json
//
// MANIFEST.json: {"images": [{"name", "width", "height", "rgb": "path to raw RGB uint8 bytes"}],
//                 "all_faces": false}
// (written by bench/face_accuracy.py, which decodes the images with Pillow, so both pipelines see
// the same pixels). Runs @vladmandic/face-api@1.7.15's node-wasm build on the tfjs wasm backend
// (pure JS + the .wasm shipped in @tensorflow/tfjs-backend-wasm; no native binaries), with the
// weights shipped in its model/ folder, and prints one JSON object on stdout:
// {"backend", "versions", "results": {name: {variant: {"faces", "score", "box", "expressions"}}}}
// for four variants: SSD MobileNet v1 and TinyFaceDetector, each with and without the 68-point
// landmark net (with landmarks face-api crops the landmark-aligned box, reported as "aligned";
// without it the detector box). All options are face-api's defaults. The highest-scoring face
// per image is reported.
// With "all_faces": true, only SSD MobileNet v1 (no landmarks) runs and every face is reported:
// {"results": {name: [{"score", "box", "expressions"}, …]}} (unlabelled photos: calibration of
// our crop box and agreement with face-api's outputs, bench/face_accuracy.py).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(new URL('../models/package.json', import.meta.url));
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const wasm = require('@tensorflow/tfjs-backend-wasm');

const MODEL_DIR = path.join(
  path.dirname(require.resolve('@vladmandic/face-api/package.json')),
  'model',
);
const WASM_DIR =
  path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) +
  path.sep;

async function main() {
  const manifest = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  wasm.setWasmPaths(WASM_DIR);
  const tf = faceapi.tf;
  let backend = 'wasm';
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend refused');
  } catch (err) {
    process.stderr.write(`wasm backend unavailable (${err.message}); using cpu\n`);
    backend = 'cpu';
    await tf.setBackend('cpu');
  }
  await tf.ready();
  backend = tf.getBackend();
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(MODEL_DIR);
  await faceapi.nets.tinyFaceDetector.loadFromDisk(MODEL_DIR);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(MODEL_DIR);
  await faceapi.nets.faceExpressionNet.loadFromDisk(MODEL_DIR);

  const detectors = {
    ssd_mobilenetv1: () => new faceapi.SsdMobilenetv1Options(),
    tiny_face_detector: () => new faceapi.TinyFaceDetectorOptions(),
  };
  const results = {};
  for (const img of manifest.images) {
    const bytes = readFileSync(img.rgb);
    const input = tf.tensor3d(new Uint8Array(bytes), [img.height, img.width, 3], 'int32');
    if (manifest.all_faces) {
      const found = await faceapi.detectAllFaces(input, new faceapi.SsdMobilenetv1Options()).withFaceExpressions();
      results[img.name] = found.map((f) => ({
        score: f.detection.score,
        box: [f.detection.box.x, f.detection.box.y, f.detection.box.width, f.detection.box.height],
        expressions: { ...f.expressions },
      }));
      input.dispose();
      continue;
    }
    const perImage = {};
    for (const [det, options] of Object.entries(detectors)) {
      // Each detector runs once: face-api's withFaceExpressions() crops each detection's box, or
      // with landmarks its alignedRect, with extractFaceTensors and runs predictExpressions on
      // each crop; we do exactly that for both variants from the same detections (the detector
      // is deterministic, so this equals two separate face-api calls at half the cost).
      const detected = await faceapi.detectAllFaces(input, options()).withFaceLandmarks();
      for (const landmarks of [false, true]) {
        const crops = await faceapi.extractFaceTensors(
          input,
          detected.map((f) => (landmarks ? f.alignedRect : f.detection)),
        );
        const expressions = await Promise.all(
          crops.map((c) => faceapi.nets.faceExpressionNet.predictExpressions(c)),
        );
        crops.forEach((c) => c.dispose());
        const found = detected.map((f, i) => ({ ...f, expressions: expressions[i] }));
        found.sort((a, b) => b.detection.score - a.detection.score);
        const best = found[0];
        perImage[landmarks ? `${det}+landmarks68` : det] = best
          ? {
              faces: found.length,
              score: best.detection.score,
              box: [best.detection.box.x, best.detection.box.y, best.detection.box.width, best.detection.box.height],
              // with landmarks, the rectangle face-api actually crops for the expression net
              ...(landmarks
                ? { aligned: [best.alignedRect.box.x, best.alignedRect.box.y, best.alignedRect.box.width, best.alignedRect.box.height] }
                : {}),
              expressions: { ...best.expressions },
            }
          : { faces: 0 };
      }
    }
    input.dispose();
    results[img.name] = perImage;
  }
  process.stdout.write(
    JSON.stringify({ backend, versions: { 'face-api': faceapi.version, tfjs: tf.version_core }, results }),
  );
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`);
  process.exit(1);
});
