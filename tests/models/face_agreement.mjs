// The browser worker's face pipeline (wasm_build/src/face.mjs) under Node, on raw pixels, for
// tests/models/test_browser_agreement.py: the same onnxruntime-web WASM build and session
// options as in the worker (one thread), the committed models, no canvas.
//
//   node tests/models/face_agreement.mjs JOB.json
//
// JOB.json: {"images": [{"name", "width", "height", "rgba": "path to raw RGBA uint8 bytes"}],
//            "resample": [{"name", "width", "height", "rgba", "out": [w, h], "map": [sx, sy, tx, ty],
//                          "valid": [x0, y0, x1, y1], "mul", "add"}],
//            "expose": [{"name", "values": [floats]}],
//            "calibrate": [{"name", "values": [floats], "eighths"}]}
// Prints {"results": {name: {p, f, score, box, raw} | {p: null}}, "resample": {name: [floats]},
//         "expose": {name: [floats]}, "calibrate": {name: [floats]}, "eighths": face.mjs's constant}.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const ORT_DIST = path.join(REPO, "wasm_build", "node_modules", "onnxruntime-web", "dist");
const face = await import(path.join(REPO, "wasm_build", "src", "face.mjs"));

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = { results: {}, resample: {}, expose: {}, calibrate: {}, eighths: face.CALIBRATION_EIGHTHS };
for (const r of job.resample || []) {
  const rgba = new Uint8Array(readFileSync(r.rgba));
  const [ow, oh] = r.out;
  const [sx, sy, tx, ty] = r.map;
  const buf = new Float32Array(ow * oh * 3);
  face.resample(rgba, r.width, r.height, ow, oh, sx, sy, tx, ty, r.valid, buf, r.mul, r.add);
  out.resample[r.name] = Array.from(buf);
}
for (const e of job.expose || []) {
  const buf = Float32Array.from(e.values);
  face.expose(buf);
  out.expose[e.name] = Array.from(buf);
}
for (const c of job.calibrate || []) out.calibrate[c.name] = face.calibrate(c.values, c.eighths);
if ((job.images || []).length) {
  const ort = await import(path.join(ORT_DIST, "ort.wasm.min.mjs"));
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = ORT_DIST + path.sep;
  ort.env.logLevel = "error";
  const model = (name) => readFileSync(path.join(REPO, "models", "onnx", name));
  const detector = await ort.InferenceSession.create(model("blazeface_short_range.onnx"), face.SESSION_OPTIONS);
  const expression = await ort.InferenceSession.create(model("face_expression.onnx"), face.SESSION_OPTIONS);
  const steps = face.pipeline(ort, detector, expression);
  for (const img of job.images) {
    const rgba = new Uint8Array(readFileSync(img.rgba));
    const r = await steps.run(rgba, img.width, img.height);
    out.results[img.name] = r.p ? { p: r.p, f: r.f, score: r.score, box: r.box, raw: r.raw } : { p: null };
  }
}
process.stdout.write(JSON.stringify(out));
