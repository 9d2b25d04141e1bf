// Candidate face pipelines inside Rapport's real worker, for `python -m bench.face_worker_cost`.
//
// The bench copies the built SDK, keeps the shipped face module as `face-base.mjs` and puts this
// file in its place (the worker imports it by the same name after camera consent). Each analysed
// frame goes to the next candidate in turn (frame i → candidate i mod n), so every candidate is
// timed in the same worker, page, Pyodide and moment: side by side in one run. Every candidate
// starts with today's whole pipeline (face-base.mjs `pipeline`, unchanged) and adds only what it
// needs on top, timed inside the worker:
//   0 today                      — nothing more (1 expression pass)
//   1 today + flip (TTA)         — the mirrored crop (same resampling, step negated), exposure, a
//                                  2nd expression pass, the mean
//   2 today + rotated crop       — one 112×112 crop turned with the eye line (roll alignment's
//                                  only extra work; an upper bound: roll alignment replaces the
//                                  crop, it does not add one)
//   3 today + Human's emotion    — BlazeFace's box as 64×64 grey, Human's mini-Xception (when the
//                                  bench converted it; else skipped)
// The frame's ms row carries the candidate's index and its extra work's ms as 4th and 5th values.
// __HUMAN__ is replaced by the bench (the converted model's file name in the copied SDK, or "").
import * as face from "./face-base.mjs";

const HUMAN = "__HUMAN__";

function flippedCrop(rgba, width, height, raw, out) {
  const [x, y, w, h] = face.cropBox(raw);
  const side = Math.max(w, h);
  const step = side / face.EXP;
  const left = x + w / 2 - side / 2;
  const top = y + h / 2 - side / 2;
  const valid = [Math.ceil(x - 0.5), Math.ceil(y - 0.5), Math.ceil(x + w - 0.5), Math.ceil(y + h - 0.5)];
  face.resample(rgba, width, height, face.EXP, face.EXP, -step, step, left + side, top, valid, out, 1, 0);
  face.expose(out);
}

function rotatedCrop(rgba, width, height, raw, angle, out) {
  const [x, y, w, h] = face.cropBox(raw);
  const side = Math.max(w, h);
  const step = side / face.EXP;
  const cx = x + w / 2;
  const cy = y + h / 2;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const tap = (yy, xx, ch) =>
    xx >= 0 && xx < width && yy >= 0 && yy < height ? rgba[(yy * width + xx) * 4 + ch] : 0;
  let o = 0;
  for (let v = 0; v < face.EXP; v++) {
    const dv = (v + 0.5) * step - side / 2;
    for (let u = 0; u < face.EXP; u++) {
      const du = (u + 0.5) * step - side / 2;
      const inside = Math.abs(du) <= w / 2 && Math.abs(dv) <= h / 2;
      const sx = cx + c * du - s * dv - 0.5;
      const sy = cy + s * du + c * dv - 0.5;
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      for (let ch = 0; ch < 3; ch++) {
        let value = 0;
        if (inside) {
          value =
            tap(y0, x0, ch) * (1 - fx) * (1 - fy) +
            tap(y0, x0 + 1, ch) * fx * (1 - fy) +
            tap(y0 + 1, x0, ch) * (1 - fx) * fy +
            tap(y0 + 1, x0 + 1, ch) * fx * fy;
        }
        out[o++] = value;
      }
    }
  }
  face.expose(out);
}

function greyCrop(rgba, width, height, raw, out) {
  const [x, y, w, h] = raw;
  const side = Math.max(w, h);
  const step = side / 64;
  const rgb = new Float32Array(64 * 64 * 3);
  const left = x + w / 2 - side / 2;
  const top = y + h / 2 - side / 2;
  face.resample(rgba, width, height, 64, 64, step, step, left, top, [0, 0, width, height], rgb, 1, 0);
  for (let i = 0; i < 64 * 64; i++) {
    const g = rgb[3 * i] * 0.2989 + rgb[3 * i + 1] * 0.587 + rgb[3 * i + 2] * 0.114;
    out[i] = (g / 255 - 0.5) * 2;
  }
}

export async function load(base) {
  const url = (name) => new URL(name, base).href;
  const files = (await (await fetch(url("manifest.json"))).json()).camera.files;
  const ort = await import(url(files.ort));
  ort.env.wasm.numThreads = 1; // as face-base.mjs `load` does
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: url(files.ort_glue), wasm: url(files.ort_wasm) };
  ort.env.logLevel = "error";
  const session = (name) => ort.InferenceSession.create(url(name), face.SESSION_OPTIONS);
  const detector = await session(files.detector);
  const expression = await session(files.expression);
  const human = HUMAN ? await session(HUMAN) : null;
  const steps = face.pipeline(ort, detector, expression);
  const expInput = new Float32Array(face.EXP * face.EXP * 3);
  const expTensor = new ort.Tensor("float32", expInput, [1, face.EXP, face.EXP, 3]);
  const greyInput = new Float32Array(64 * 64);
  const greyTensor = human ? new ort.Tensor("float32", greyInput, [1, 64, 64, 1]) : null;
  const n = human ? 4 : 3;
  const canvas = new OffscreenCanvas(1, 1);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  let frame = 0;

  async function analyse(bitmap) {
    const t0 = performance.now();
    const width = bitmap.width;
    const height = bitmap.height;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    const pixels = ctx.getImageData(0, 0, width, height).data;
    ctx.clearRect(0, 0, width, height);
    const which = frame++ % n;
    const result = await steps.run(pixels, width, height, t0);
    let extra = 0;
    if (result.p && which > 0) {
      const t1 = performance.now();
      let p = result.p;
      if (which === 1) {
        flippedCrop(pixels, width, height, result.raw, expInput);
        const out = await expression.run({ input: expTensor });
        const q = face.calibrate(Array.from(out.probs.data));
        out.probs.dispose();
        p = p.map((v, k) => (v + q[k]) / 2);
      } else if (which === 2) {
        rotatedCrop(pixels, width, height, result.raw, 0.1, expInput); // the angle does not change the cost
      } else if (which === 3) {
        greyCrop(pixels, width, height, result.raw, greyInput);
        const out = await human.run({ [human.inputNames[0]]: greyTensor });
        out[human.outputNames[0]].dispose();
      }
      extra = performance.now() - t1;
      result.ms[2] += extra;
      result.p = p;
    }
    pixels.fill(0);
    steps.wipe();
    return { p: result.p, f: result.f, ms: [...result.ms, which, extra] };
  }

  async function release() {
    await Promise.allSettled([detector.release(), expression.release(), human?.release()]);
  }

  return { analyse, release };
}
