// Rapport's face pipeline, inside the worker, loaded only after camera consent.
// A frame (ImageBitmap, transferred from the page) is drawn once, read as RGBA and closed at
// once; then BlazeFace (128×128, letterboxed) finds the face, the box face-api.js itself would
// crop goes through face-api.js's FaceExpressionNet (112×112), and only 7 probabilities + a
// frontalness number come out. No pixel outlives its frame.
//
// This is models/infer.py step for step, constant for constant: every resampling goes through
// `resample` below (bilinear, pixel centres, black outside, float64), the same formulas in the
// same order as infer.py's `resample`, so both feed the models the same tensors; decoding is
// float64 on both sides. tests/models/test_browser_agreement.py runs `pipeline` (no canvas
// needed) under Node against infer.py on the same pixels.
// The build replaces the __NAMES__ below with content-hashed file names on our own origin.
const FILES = {
  ort: "__ORT__",
  glue: "__ORT_GLUE__",
  wasm: "__ORT_WASM__",
  detector: "__DETECTOR__",
  expression: "__EXPRESSION__",
};
export const DET = 128;
export const EXP = 112;
export const MARGIN = 0;
export const MIN_SCORE = 0.5;
const NMS_IOU = 0.3;
// face-api's SSD box from BlazeFace's (× its size; models/infer.py: CROP_DY, CROP_W, CROP_H)
export const CROP_DY = -0.14;
export const CROP_W = 0.89;
export const CROP_H = 1.28;
// Face-priority exposure (models/infer.py: EXPOSURE_TARGET, EXPOSURE_MAX_GAIN)
export const EXPOSURE_TARGET = 80;
export const EXPOSURE_MAX_GAIN = 10;
// Temperature of the expression probabilities, p^(eighths/8) (models/infer.py: CALIBRATION_EIGHTHS)
export const CALIBRATION_EIGHTHS = 8;
// Both sessions: WASM, all graph optimisations (they fuse the expression net's running sums into
// its convolutions); arena and memory patterns off (ORT-web's defaults; measured no faster on).
export const SESSION_OPTIONS = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };

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

/**
 * Bilinear resampling of an RGBA image onto an outH×outW RGB grid, written into `out` (NHWC):
 * output pixel (u, v) reads the image at x = sx·(u + 0.5) + tx − 0.5, y = sy·(v + 0.5) + ty − 0.5;
 * source pixels outside `valid` = [x0, y0, x1, y1) (clipped to the image) count as black; each
 * value is stored as value · mul + add. models/infer.py:resample, operation for operation.
 */
export function resample(rgba, width, height, outW, outH, sx, sy, tx, ty, valid, out, mul, add) {
  const x0 = Math.max(valid[0], 0);
  const y0 = Math.max(valid[1], 0);
  const x1 = Math.min(valid[2], width);
  const y1 = Math.min(valid[3], height);
  // per column: the two taps' byte offsets and weights (0 for a tap outside `valid`)
  const xa = new Int32Array(outW);
  const xb = new Int32Array(outW);
  const wa = new Float64Array(outW);
  const wb = new Float64Array(outW);
  for (let u = 0; u < outW; u++) {
    const x = sx * (u + 0.5) + tx - 0.5;
    const xf = Math.floor(x);
    const fx = x - xf;
    xa[u] = Math.min(Math.max(xf, 0), width - 1) * 4;
    xb[u] = Math.min(Math.max(xf + 1, 0), width - 1) * 4;
    wa[u] = xf >= x0 && xf < x1 ? 1 - fx : 0;
    wb[u] = xf + 1 >= x0 && xf + 1 < x1 ? fx : 0;
  }
  let o = 0;
  for (let v = 0; v < outH; v++) {
    const y = sy * (v + 0.5) + ty - 0.5;
    const yf = Math.floor(y);
    const fy = y - yf;
    const rowA = Math.min(Math.max(yf, 0), height - 1) * width * 4;
    const rowB = Math.min(Math.max(yf + 1, 0), height - 1) * width * 4;
    const va = yf >= y0 && yf < y1 ? 1 - fy : 0;
    const vb = yf + 1 >= y0 && yf + 1 < y1 ? fy : 0;
    if (va === 0 && vb === 0) {
      out.fill(0 * mul + add, o, o + outW * 3); // a row outside the image: black
      o += outW * 3;
      continue;
    }
    for (let u = 0; u < outW; u++) {
      const a = rowA + xa[u];
      const b = rowA + xb[u];
      const c = rowB + xa[u];
      const d = rowB + xb[u];
      const ua = wa[u];
      const ub = wb[u];
      for (let ch = 0; ch < 3; ch++) {
        const top = rgba[a + ch] * ua + rgba[b + ch] * ub;
        const bottom = rgba[c + ch] * ua + rgba[d + ch] * ub;
        out[o++] = (top * va + bottom * vb) * mul + add;
      }
    }
  }
  return out;
}

function iou(a, b) {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  const inter = Math.max(0, w) * Math.max(0, h);
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return inter / Math.max(union, 1e-9);
}

/**
 * Brighten a dark face crop (0–255 values, in place) towards a mean of EXPOSURE_TARGET, by at
 * most EXPOSURE_MAX_GAIN, as a camera's face-priority auto-exposure would; a crop at or above the
 * target is left as is. models/infer.py:expose, operation for operation (sequential float64 sum,
 * float64 gain and product, clipped, rounded to float32 on store).
 */
export function expose(buf) {
  let total = 0;
  for (let i = 0; i < buf.length; i++) total += buf[i];
  const mean = total / Math.max(buf.length, 1);
  if (mean >= EXPOSURE_TARGET) return;
  const gain = Math.min(EXPOSURE_MAX_GAIN, EXPOSURE_TARGET / Math.max(mean, 1e-9));
  for (let i = 0; i < buf.length; i++) buf[i] = Math.min(buf[i] * gain, 255);
}

/**
 * The temperature step: p_k^(eighths/8), renormalised (every top-1 kept). models/infer.py:calibrate,
 * operation for operation (square roots and products in the same order, sequential sum), so both
 * give bit-identical probabilities for the same net output.
 */
export function calibrate(probs, eighths = CALIBRATION_EIGHTHS) {
  const powered = [];
  for (const value of probs) {
    const x = value;
    const r2 = Math.sqrt(x);
    const r4 = Math.sqrt(r2);
    const r8 = Math.sqrt(r4);
    let acc = 1;
    for (let i = 0; i < Math.floor(eighths / 8); i++) acc *= x;
    if (eighths & 4) acc *= r2;
    if (eighths & 2) acc *= r4;
    if (eighths & 1) acc *= r8;
    powered.push(acc);
  }
  let total = 0;
  for (const v of powered) total += v;
  return total > 0 ? powered.map((v) => v / total) : Array.from(probs);
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

/** The rectangle face-api.js would crop, from BlazeFace's unclipped box (infer.py:crop_box). */
export function cropBox(raw, margin = MARGIN) {
  const [x, y, w, h] = raw;
  const size = Math.max(w, h);
  const cx = x + w / 2;
  const cy = y + h / 2 + CROP_DY * size;
  const cw = CROP_W * size * (1 + margin);
  const ch = CROP_H * size * (1 + margin);
  return [cx - cw / 2, cy - ch / 2, cw, ch];
}

/**
 * The per-frame pipeline on RGBA pixels, given ORT and the two sessions (no canvas: the worker
 * reads the frame, Node tests pass pixels). run(rgba, width, height) → null (no face) or
 * {p: 7 probabilities (model order), f: frontal, score, box, raw, ms: [prep, detect, classify]}.
 * The two input buffers are reused and wiped by `wipe()`.
 */
export function pipeline(ort, detector, expression) {
  const detInput = new Float32Array(DET * DET * 3);
  const expInput = new Float32Array(EXP * EXP * 3);
  const detTensor = new ort.Tensor("float32", detInput, [1, DET, DET, 3]);
  const expTensor = new ort.Tensor("float32", expInput, [1, EXP, EXP, 3]);

  async function run(rgba, width, height, t0 = performance.now()) {
    // 1. letterbox to 128×128 in [-1, 1] (infer.py:detector_input)
    const longest = Math.max(width, height);
    const scale = DET / longest;
    const padX = (DET - width * scale) / 2;
    const padY = (DET - height * scale) / 2;
    const step = longest / DET;
    resample(rgba, width, height, DET, DET, step, step, -padX * step, -padY * step, [0, 0, width, height], detInput, 1 / 127.5, -1);
    const t1 = performance.now();
    const found = await detector.run({ input: detTensor });
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
        const raw = [px[0], py[0], px[1] - px[0], py[1] - py[0]];
        best = { score: face.score, box: [x0, y0, x1 - x0, y1 - y0], raw, kx: px.slice(2) };
        break;
      }
    }
    if (!best) return { p: null, f: 0, ms: [t1 - t0, t2 - t1, 0] };
    // 2. face-api's box, padded to a centred black square, 112×112, exposed (infer.py:crop_face)
    const [x, y, w, h] = cropBox(best.raw);
    const side = Math.max(w, h);
    const cstep = side / EXP;
    const left = x + w / 2 - side / 2;
    const top = y + h / 2 - side / 2;
    const valid = [Math.ceil(x - 0.5), Math.ceil(y - 0.5), Math.ceil(x + w - 0.5), Math.ceil(y + h - 0.5)];
    resample(rgba, width, height, EXP, EXP, cstep, cstep, left, top, valid, expInput, 1, 0);
    expose(expInput);
    const t3 = performance.now();
    // 3. expression (raw 0–255 RGB; the graph normalises and applies softmax)
    const out = await expression.run({ input: expTensor });
    // 4. temperature (infer.py:calibrate)
    const p = calibrate(Array.from(out.probs.data));
    out.probs.dispose();
    const ms = [t1 - t0 + (t3 - t2), t2 - t1, performance.now() - t3];
    return { p, f: frontalness(best.kx), score: best.score, box: best.box, raw: best.raw, ms };
  }

  function wipe() {
    detInput.fill(0);
    expInput.fill(0);
  }

  return { run, wipe };
}

/** Load ORT (WASM, one thread) and both models from `base` (our SDK origin); returns an analyser. */
export async function load(base) {
  const url = (name) => new URL(name, base).href;
  const ort = await import(url(FILES.ort));
  ort.env.wasm.numThreads = 1; // threads need COOP/COEP, which a third-party script cannot set
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: url(FILES.glue), wasm: url(FILES.wasm) }; // never a CDN
  ort.env.logLevel = "error";
  const detector = await ort.InferenceSession.create(url(FILES.detector), SESSION_OPTIONS);
  let expression;
  try {
    expression = await ort.InferenceSession.create(url(FILES.expression), SESSION_OPTIONS);
  } catch (error) {
    await detector.release();
    throw error;
  }
  const steps = pipeline(ort, detector, expression);
  const frame = new OffscreenCanvas(1, 1);
  const fctx = frame.getContext("2d", { willReadFrequently: true });
  let released = false;

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
    let pixels = null;
    try {
      pixels = fctx.getImageData(0, 0, width, height).data;
      fctx.clearRect(0, 0, width, height);
      const result = await steps.run(pixels, width, height, t0);
      return { p: result.p, f: result.f, ms: result.ms };
    } finally {
      if (pixels) pixels.fill(0);
      fctx.clearRect(0, 0, width, height);
      steps.wipe();
    }
  }

  async function release() {
    if (released) return;
    released = true;
    await Promise.allSettled([detector.release(), expression.release()]);
  }

  return { analyse, release };
}
