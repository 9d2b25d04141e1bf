// Rapport's face pipeline, inside the worker, loaded only after camera consent.
// A frame (ImageBitmap, transferred from the page) is drawn once and closed at once; then
// BlazeFace (128×128, letterboxed) finds the face, a square crop goes through face-api.js's
// FaceExpressionNet (112×112), and only 7 probabilities + a frontalness number come out.
// Same steps and constants as models/infer.py (the reference). No pixel outlives its frame.
// The build replaces the __NAMES__ below with content-hashed file names on our own origin.
const FILES = {
  ort: "__ORT__",
  glue: "__ORT_GLUE__",
  wasm: "__ORT_WASM__",
  detector: "__DETECTOR__",
  expression: "__EXPRESSION__",
};
const DET = 128;
const EXP = 112;
const MARGIN = 0.1;
const MIN_SCORE = 0.5;
const NMS_IOU = 0.3;

// The 896 anchor centres of BlazeFace short-range, in 128-px units (models/infer.py:anchors).
const ANCHORS = (() => {
  const out = [];
  for (const [stride, perCell] of [[8, 2], [16, 6]]) {
    const grid = DET / stride;
    for (let y = 0; y < grid; y++) {
      for (let x = 0; x < grid; x++) {
        for (let k = 0; k < perCell; k++) out.push(((x + 0.5) / grid) * DET, ((y + 0.5) / grid) * DET);
      }
    }
  }
  return Float32Array.from(out);
})();

function iou(a, b) {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(0, w) * Math.max(0, h);
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return inter / Math.max(union, 1e-9);
}

/** Raw outputs → [{score, v: 16 values in 128-px units (box xyxy + 6 keypoints)}], weighted NMS. */
export function decode(regressors, logits, minScore = MIN_SCORE) {
  const cands = [];
  for (let i = 0; i < logits.length; i++) {
    const score = 1 / (1 + Math.exp(-Math.min(100, Math.max(-100, logits[i]))));
    if (score < minScore) continue;
    const r = regressors.subarray(i * 16, i * 16 + 16);
    const ax = ANCHORS[2 * i];
    const ay = ANCHORS[2 * i + 1];
    const cx = r[0] + ax;
    const cy = r[1] + ay;
    const v = new Float64Array(16);
    v[0] = cx - r[2] / 2;
    v[1] = cy - r[3] / 2;
    v[2] = cx + r[2] / 2;
    v[3] = cy + r[3] / 2;
    for (let k = 0; k < 6; k++) {
      v[4 + 2 * k] = r[4 + 2 * k] + ax;
      v[5 + 2 * k] = r[5 + 2 * k] + ay;
    }
    cands.push({ score, v });
  }
  cands.sort((a, b) => b.score - a.score); // stable, like numpy's argsort(kind="stable")
  const out = [];
  let remaining = cands;
  while (remaining.length) {
    const first = remaining[0];
    const group = [];
    const rest = [];
    for (const c of remaining) (iou(first.v, c.v) >= NMS_IOU ? group : rest).push(c);
    const merged = new Float64Array(16);
    let total = 0;
    for (const c of group) {
      total += c.score;
      for (let k = 0; k < 16; k++) merged[k] += c.v[k] * c.score;
    }
    for (let k = 0; k < 16; k++) merged[k] /= total;
    out.push({ score: first.score, v: merged });
    remaining = rest;
  }
  return out;
}

/** 1 = facing the camera, 0 = turned ≥ ~45° (nose tip vs ear tragions; models/infer.py). */
export function frontalness(kx) {
  const dRight = Math.abs(kx[2] - kx[4]);
  const dLeft = Math.abs(kx[5] - kx[2]);
  const total = dRight + dLeft;
  if (total <= 1e-6) return 0;
  return Math.min(1, Math.max(0, 1 - Math.abs(dRight - dLeft) / total / 0.5));
}

function context(canvas) {
  return canvas.getContext("2d", { willReadFrequently: true });
}

/** Load ORT (WASM, one thread) and both models from `base` (our SDK origin); returns an analyser. */
export async function load(base) {
  const url = (name) => new URL(name, base).href;
  const ort = await import(url(FILES.ort));
  ort.env.wasm.numThreads = 1; // threads need COOP/COEP, which a third-party script cannot set
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: url(FILES.glue), wasm: url(FILES.wasm) }; // never a CDN
  ort.env.logLevel = "error";
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const detector = await ort.InferenceSession.create(url(FILES.detector), options);
  let expression;
  try {
    expression = await ort.InferenceSession.create(url(FILES.expression), options);
  } catch (error) {
    await detector.release();
    throw error;
  }
  const frame = new OffscreenCanvas(1, 1);
  const fctx = context(frame);
  const det = new OffscreenCanvas(DET, DET);
  const dctx = context(det);
  const crop = new OffscreenCanvas(EXP, EXP);
  const cctx = context(crop);
  const detInput = new Float32Array(DET * DET * 3);
  const expInput = new Float32Array(EXP * EXP * 3);
  let released = false;

  function pixels(ctx, size, out, scale, shift) {
    const data = ctx.getImageData(0, 0, size, size).data;
    for (let i = 0, j = 0; i < data.length; i += 4, j += 3) {
      out[j] = data[i] * scale + shift;
      out[j + 1] = data[i + 1] * scale + shift;
      out[j + 2] = data[i + 2] * scale + shift;
    }
    data.fill(0);
  }

  /** One frame → {p: 7 probabilities (model order) | null, f: frontal, ms: [prep, detect, classify]}. */
  async function analyse(bitmap) {
    if (released) {
      bitmap.close();
      throw new Error("released");
    }
    const t0 = performance.now();
    const width = bitmap.width;
    const height = bitmap.height;
    if (frame.width !== width || frame.height !== height) {
      frame.width = width;
      frame.height = height;
    }
    fctx.drawImage(bitmap, 0, 0);
    bitmap.close(); // the frame is now only in our scratch canvas, wiped below
    try {
      // 1. letterbox to 128×128 in [-1, 1]
      const scale = DET / Math.max(width, height);
      const nw = Math.max(1, Math.round(width * scale));
      const nh = Math.max(1, Math.round(height * scale));
      const padX = Math.floor((DET - nw) / 2);
      const padY = Math.floor((DET - nh) / 2);
      dctx.fillStyle = "#000";
      dctx.fillRect(0, 0, DET, DET);
      dctx.drawImage(frame, padX, padY, nw, nh);
      pixels(dctx, DET, detInput, 1 / 127.5, -1);
      const t1 = performance.now();
      const found = await detector.run({ input: new ort.Tensor("float32", detInput, [1, DET, DET, 3]) });
      const faces = decode(found.regressors.data, found.classificators.data);
      found.regressors.dispose();
      found.classificators.dispose();
      const t2 = performance.now();
      let best = null;
      for (const face of faces) {
        const px = [];
        const py = [];
        for (let k = 0; k < 8; k++) {
          px.push((face.v[2 * k] - padX) / scale);
          py.push((face.v[2 * k + 1] - padY) / scale);
        }
        const x0 = Math.max(0, px[0]);
        const y0 = Math.max(0, py[0]);
        const x1 = Math.min(width, px[1]);
        const y1 = Math.min(height, py[1]);
        if (x1 > x0 && y1 > y0) {
          best = { box: [x0, y0, x1 - x0, y1 - y0], kx: px.slice(2) };
          break;
        }
      }
      if (!best) return { p: null, f: 0, ms: [t1 - t0, t2 - t1, 0] };
      // 2. square crop around the box centre, side max(w, h)·(1 + margin), black outside
      const [x, y, w, h] = best.box;
      const side = Math.max(w, h) * (1 + MARGIN);
      const left = Math.round(x + w / 2 - side / 2);
      const top = Math.round(y + h / 2 - side / 2);
      const size = Math.max(1, Math.round(side));
      cctx.fillStyle = "#000";
      cctx.fillRect(0, 0, EXP, EXP);
      cctx.drawImage(frame, left, top, size, size, 0, 0, EXP, EXP);
      pixels(cctx, EXP, expInput, 1, 0);
      const t3 = performance.now();
      // 3. expression (raw 0–255 RGB; the graph normalises and applies softmax)
      const out = await expression.run({ input: new ort.Tensor("float32", expInput, [1, EXP, EXP, 3]) });
      const p = Array.from(out.probs.data);
      out.probs.dispose();
      return { p, f: frontalness(best.kx), ms: [t1 - t0 + (t3 - t2), t2 - t1, performance.now() - t3] };
    } finally {
      fctx.clearRect(0, 0, width, height);
      dctx.clearRect(0, 0, DET, DET);
      cctx.clearRect(0, 0, EXP, EXP);
      detInput.fill(0);
      expInput.fill(0);
    }
  }

  async function release() {
    if (released) return;
    released = true;
    await Promise.allSettled([detector.release(), expression.release()]);
  }

  return { analyse, release };
}
