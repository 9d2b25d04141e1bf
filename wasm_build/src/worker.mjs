// Rapport's worker: Pyodide + the client_py wheel, off the host page's main thread.
// The loader starts it through a Blob-URL bootstrap (a cross-origin `new Worker(url)` is refused),
// which queues messages that arrive before this module runs and hands them to start().
// The build replaces the __NAMES__ below with content-hashed file names.
const BUILD = {
  pyodide: "__PYODIDE_DIR__/",
  stdlib: "__STDLIB__",
  wheel: "__WHEEL__",
  client: "__CLIENT_ZIP__", // where the wheel is written for Python to import it from, unpacked
  tone: "__TONE__", // the chat-tone weights: fetched on the page's first chat message only
  lock: __LOCK_INFO__,
  face: "__FACE__", // the camera add-on's worker half: imported only after camera consent
};
const TICK_MS = 1000;
// Rapport's downloads (Pyodide's WebAssembly and stdlib, fetched by Pyodide itself, and the
// wheel) never compete with the host page's own requests: low fetch priority. The collect
// requests go through the browser's fetch as it is.
const netFetch = self.fetch.bind(self);
self.fetch = (url, init) => {
  const started = early.get(String(url));
  if (started) {
    early.delete(String(url)); // Pyodide's own request for a file this worker already asked for
    return started;
  }
  const request = netFetch(url, { priority: "low", ...init });
  return watchdog ? waitFor(request).then(watched) : request;
};
// Pyodide starts its wasm and stdlib downloads, and compiles the wasm, only once its JS (660 KB
// of glue) is imported and running. init() starts them first, beside that import: the stdlib's
// response waits here for Pyodide's fetch of it, and the wasm is compiled meanwhile (from the
// saved boot when there is one, else streamed by URL); Pyodide's fetch of the wasm then gets
// `PRECOMPILED`, which instantiateStreaming below turns into that module.
/** @type {Map<string, Promise<Response>>} */
const early = new Map();
const PRECOMPILED = new Response(null);
/** @type {Promise<WebAssembly.Module> | null} */
let compiled = null;

// Stall watchdog (issue 18): `ready` settles false when a boot download stops moving (no byte
// for `stallMs`), never because one is merely slow: a slow link keeps downloading, and what it
// got stays in the HTTP cache (hashed, immutable files) for the next page. Only waits on the
// network are judged, never Python's own start-up work. A site (or a test) may change the
// bound with data-rapport-config='{"stall_ms": …}'; the loader reads it and passes `cfg.stall`.
let stallMs = 60_000;
let watchdog = 0; // the interval while booting, 0 after
let waiting = 0; // boot downloads in flight: fetches (headers, then body) and module imports
let moved = 0; // when a boot download last started, received bytes or ended (epoch ms)
const touch = () => (moved = Date.now());

/** @template T @param {Promise<T>} promise @returns {Promise<T>} */
function waitFor(promise) {
  waiting += 1;
  touch();
  return promise.finally(() => {
    waiting -= 1;
    touch();
  });
}

// Progress is read on a clone of the body: the Response itself goes to Pyodide untouched, so
// WebAssembly.instantiateStreaming still sees its URL (the key of V8's code cache for the wasm).
/** @param {Response} response */
function watched(response) {
  const reader = response.clone().body?.getReader();
  if (!reader) return response;
  waiting += 1;
  const pump = () =>
    reader.read().then(
      ({ done }) => {
        touch();
        if (done || !watchdog) {
          waiting -= 1;
          if (!done) reader.cancel().catch(() => {});
        } else pump();
      },
      () => (waiting -= 1),
    );
  pump();
  return response;
}

function watch(stall) {
  stallMs = stall || stallMs;
  const period = Math.min(1000, stallMs / 4);
  let last = touch();
  watchdog = setInterval(() => {
    const now = Date.now();
    // A late timer means this thread was busy (compiling, starting Python): no judgement.
    if (now - last > 2 * period) moved = now;
    last = now;
    if (waiting > 0 && now - moved > stallMs) stop("boot stalled: no byte for " + stallMs + " ms");
  }, period);
}

// Pyodide only logs a failed instantiation and then waits forever: here it ends the boot.
const instantiate = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = (source, imports) =>
  Promise.resolve(source)
    .then((response) =>
      response === PRECOMPILED && compiled
        ? compiled.then((module) => {
            boot.wasm = "early";
            return WebAssembly.instantiate(module, imports).then((instance) => ({ module, instance }));
          })
        : instantiate(response, imports),
    )
    .catch((error) => {
      stop("wasm: " + String(error).slice(0, 200));
      throw error;
    });

function stop(reason) {
  if (!watchdog) return;
  clearInterval(watchdog);
  watchdog = 0;
  if (reason) post({ t: "err", m: reason }); // the loader settles ready false, ends this worker
}

let agent = null;
let py = null;
let tone = null; // the chat-tone weights' download: started by the first chat text, once
let toneBusy = false; // while they download, messages wait in order behind the chat text
let endpoint = "";
let debug = false; // the owner's debug mode: the page also sees each batch sent
let holdout = null; // in the site's control group? null until the server answered
let erased = false; // the visitor is erasing their data (in any tab): no batch leaves any more
const flying = new Set(); // the batches on their way (an erase's end waits for them)
const pending = [];
// Camera (only after consent): the analyser holds the ORT sessions; `chain` runs frames and
// camera on/off one after the other, so a revoke never races a frame in progress.
let analyser = null;
let camera = 0; // bumped by every on/off: a load that finishes after an "off" is dropped
let chain = Promise.resolve();
let frames = 0;

function post(message) {
  self.postMessage(message);
}

function run(message) {
  if (!agent || toneBusy) {
    pending.push(message);
    return;
  }
  if (!tone && message.t === "ev" && Array.isArray(message.e) && message.e.some((e) => e && e[0] === "txt")) {
    pending.push(message);
    loadTone();
    return;
  }
  // Answered in order after everything posted before it: lets a page (or a bench) know the
  // worker has caught up, without exposing anything of the session.
  if (message.t === "ping") {
    post({ t: "pong", n: message.n });
    return;
  }
  let reply;
  try {
    reply = JSON.parse(agent.handle(JSON.stringify(message), Date.now()));
  } catch (error) {
    post({ t: "err", m: "agent: " + String(error).slice(0, 200) });
    return;
  }
  for (const item of reply.send) send(item);
  if (reply.hints) post({ t: "hints", hints: reply.hints });
  if (reply.state) post({ t: "state", s: reply.state });
  // Python's call on the camera's pace (client_py/camera_pace.py): the page samples accordingly.
  if (reply.pace) post({ t: "pace", idle: reply.pace === "idle" });
}

async function send(item) {
  const deliver = async () => {
    if (erased) return [0, null]; // told between the agent's reply and now
    // text/plain keeps this a CORS "simple" request: no preflight round trip.
    const response = await netFetch(endpoint + "/v1/collect", {
      method: "POST",
      body: item.body,
      headers: { "Content-Type": "text/plain" },
      credentials: "omit",
      keepalive: item.keepalive,
    });
    return [response.status, await response.json().catch(() => null)];
  };
  // Held (shared) while the batch is in flight: an erase in any tab waits for it (rights.mjs).
  // Not for the page's last batch (keepalive): the page is going, it cannot wait.
  const locks = !item.keepalive && self.navigator.locks;
  const sending = locks ? locks.request(COLLECT_LOCK, { mode: "shared" }, deliver) : deliver();
  flying.add(sending);
  let status = 0;
  let body = null;
  try {
    [status, body] = await sending;
  } catch {
    status = 0;
  }
  flying.delete(sending);
  if (erased) return;
  // Whether this visitor is in the site's control group (no hints, to measure uplift), and in
  // debug mode what was sent: for the owner's eyes (rapport.holdout(), the debug panel).
  if (body && status >= 200 && status < 300) holdout = !!body.holdout;
  post({ t: "sent", h: holdout, s: status, b: debug ? item.body : undefined });
  if (!item.keepalive) run({ t: "result", batch: item.batch, status, body });
}

// Sites without chat never download the weights (≈ 44 KB); without them (a failed download)
// the lexicon scores the tone alone (client_py/tone_model.py load()).
function loadTone() {
  toneBusy = true;
  tone = fetch(new URL(BUILD.tone, import.meta.url))
    .then((r) => {
      if (!r.ok) throw new Error("tone " + r.status);
      return r.arrayBuffer();
    })
    .then((data) => py.FS.writeFile(py.pyimport("client_py.tone_model").MODEL_FILE, new Uint8Array(data)))
    .catch(() => {})
    .finally(() => {
      toneBusy = false;
      for (const message of pending.splice(0)) run(message);
    });
}

function serial(task) {
  chain = chain.then(task).catch(() => {});
}

function cameraOn(on) {
  const generation = ++camera;
  serial(async () => {
    if (!on) {
      const old = analyser;
      analyser = null;
      if (old) await old.release(); // ORT sessions unloaded; no further frame is analysed
      run({ t: "cam", on: false });
      return;
    }
    if (analyser) return post({ t: "cam", ok: true });
    try {
      const face = await import(new URL(BUILD.face, import.meta.url).href);
      const loaded = await face.load(new URL(".", import.meta.url).href);
      if (generation !== camera) return loaded.release();
      analyser = loaded;
      post({ t: "cam", ok: true });
    } catch (error) {
      post({ t: "cam", ok: false, m: String(error).slice(0, 200) });
    }
  });
}

function onFrame(bitmap, ts) {
  serial(async () => {
    let result = null;
    try {
      if (analyser && bitmap) result = await analyser.analyse(bitmap);
    } catch {
      result = null;
    } finally {
      if (bitmap) bitmap.close(); // already closed after preprocessing; this covers every other path
    }
    if (!result) return post({ t: "fd", n: frames });
    frames += 1;
    // Only these numbers reach Python; window aggregates of them may leave the device.
    run({ t: "face", ts, p: result.p, f: result.f });
    post({ t: "fd", n: frames, ms: result.ms });
  });
}

function onMessage(data) {
  if (!data || typeof data !== "object") return;
  if (data.t === "init")
    init(data).catch((error) => {
      stop("");
      post({ t: "err", m: String(error).slice(0, 200) });
    });
  else if (data.t === "cam") cameraOn(!!data.on);
  else if (data.t === "frame") onFrame(data.b, data.ts);
  else run(data);
}

// Warm start (issue 19): the first boot on a site saves Python's memory right after importing
// client_py, before anything of the visitor or the page enters it (Pyodide's memory snapshot),
// with the WebAssembly it runs on, in one file of the page origin's private file system (OPFS),
// named for this hashed worker file, so a new build never restores an old one. Later pages
// compile that wasm and restore the memory instead of starting Python and importing: no wasm
// download or brotli decoding (≈ 110 ms for its 9.6 MB from the HTTP cache, bench/README.md),
// the stdlib and wheel still come from the HTTP cache.
const SNAPSHOTS = "rapport-boot";
const bootDir = (create) =>
  navigator.storage.getDirectory().then((root) => root.getDirectoryHandle(SNAPSHOTS, { create }));

// Python's memory is 30 MB, of which two thirds are pages of zeros: the file keeps only the 4 KB
// pages with a non-zero byte. Its header: the memory's length and the wasm's (u32), then one
// byte per page (kept or not); then the kept pages, then the wasm. Not compressed: unzipping
// (≈ 100 ms on this worker's one thread, on every later page) cost more than reading 11 MB
// instead of 4 (bench/README.md, "sparse snapshot"). Read with a synchronous handle, each run of
// kept pages straight into its place in the memory Pyodide gets: no copy of the file in between.
const PAGE = 4096;

/** @param {string} name @returns {Promise<{ memory: Uint8Array, wasm: Uint8Array } | null>} */
async function savedBoot(name) {
  let file;
  try {
    const handle = await (await bootDir(false)).getFileHandle(name);
    // @ts-ignore: the mode (Chrome 121): other tabs may restore at the same time
    file = await handle.createSyncAccessHandle({ mode: "read-only" });
    const [length, size] = read(file, new Uint32Array(2), 0);
    const kept = read(file, new Uint8Array(Math.ceil(length / PAGE)), 8);
    let at = 8 + kept.length;
    const memory = new Uint8Array(length); // zero pages stay untouched: not resident either
    for (let p = 0, q; p < kept.length; p = q + 1) {
      for (q = p; kept[q]; ) q++;
      if (q > p) at += read(file, memory.subarray(p * PAGE, q * PAGE), at).byteLength;
    }
    const wasm = read(file, new Uint8Array(size), at);
    // A file cut short, or one whose write never finished (its first bytes are written last).
    if (!length || at + size !== file.getSize()) throw new Error("saved boot of the wrong size");
    return { memory, wasm };
  } catch {
    return null; // none saved, no file system for this origin, or an unreadable file
  } finally {
    file?.close();
  }
}

/** @template {Uint8Array | Uint32Array} T @param {any} file @param {T} into @param {number} at @returns {T} */
function read(file, into, at) {
  if (file.read(into, { at }) !== into.byteLength) throw new Error("saved boot cut short");
  return into;
}

/** @param {Uint8Array} bytes @param {number} wasm its length @returns {Uint8Array[]} the header, then runs of kept pages (views) */
function pack(bytes, wasm) {
  const pages = Math.ceil(bytes.length / PAGE);
  const head = new Uint8Array(8 + pages);
  new Uint32Array(head.buffer, 0, 2).set([bytes.length, wasm]);
  /** @type {Uint8Array[]} */
  const parts = [head];
  let run = -1; // the first page of the run being gathered
  for (let p = 0; p <= pages; p++) {
    let i = p * PAGE;
    const end = Math.min(i + PAGE, bytes.length); // p == pages: an empty page ends the last run
    while (i < end && !bytes[i]) i++;
    const kept = i < end;
    if (kept) head[8 + p] = 1;
    if (run >= 0 && !kept) {
      parts.push(bytes.subarray(run * PAGE, p * PAGE));
      run = -1;
    }
    if (kept && run < 0) run = p;
  }
  return parts;
}

/**
 * @param {string} name @param {Uint8Array | null} memory null: drop every saved boot
 * @param {Promise<ArrayBuffer>} [wasm] the module's bytes, as downloaded
 */
async function saveBoot(name, memory, wasm) {
  let file, dir;
  try {
    self.caches?.delete(SNAPSHOTS).catch(() => {}); // where builds before OPFS kept the memory
    dir = await bootDir(true);
    // @ts-ignore: a directory handle is async-iterable in workers
    for await (const old of dir.keys())
      if (old !== name || !memory) await dir.removeEntry(old).catch(() => {});
    if (!memory || !wasm) return;
    const code = new Uint8Array(await wasm);
    file = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
    file.truncate(0);
    const [head, ...runs] = pack(memory, code.length);
    let at = file.write(head.subarray(4), { at: 4 }) + 4;
    for (const run of runs) at += file.write(run, { at });
    file.write(code, { at });
    file.flush();
    file.write(head.subarray(0, 4), { at: 0 }); // last: a file without it is never restored
    file.flush();
  } catch {
    // A full or unavailable file system, or another tab writing: the next page tries again.
    // What this page wrote of it goes, not to hold the origin's quota half-written.
    if (file) {
      file.close();
      file = null;
      dir?.removeEntry(name).catch(() => {});
    }
  } finally {
    file?.close();
    if (memory) release(memory);
    drop(wasm); // saved or not
  }
}

/** @param {Promise<ArrayBuffer> | undefined} bytes freed now, unless already */
const drop = (bytes) => bytes?.then((b) => b.byteLength && release(new Uint8Array(b)), () => {});

// Frees a snapshot's 30 MB (or a download once Python's file system holds a copy) now rather
// than at the worker's next full collection, which an idle worker runs only ≈ 30 s after boot
// (bench/README.md): the buffer moves into a message that is dropped unread.
/** @param {Uint8Array} bytes */
function release(bytes) {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [bytes.buffer]);
  port1.close();
  port2.close();
}

// When each start-up step ended (epoch ms): read by bench/page_cost.py's breakdown, never sent.
/** @type {Record<string, number | string>} */
const boot = (self.rapportBoot = {});
const mark = (step) => (boot[step] = performance.timeOrigin + performance.now());

async function init({ cfg, state }) {
  mark("init");
  // cfg.key is the visitor key the loader derived from its secret (client_py/identity.py): the
  // agent puts it in every collect body, the server derives the visitor id from it. This worker
  // never sees the secret, so nothing running here can export or erase the visitor's data.
  endpoint = cfg.endpoint;
  debug = !!cfg.debug;
  watch(cfg.stall); // the loader's bound (boot.js): one rule, one place
  const base = new URL(".", import.meta.url);
  const indexURL = new URL(BUILD.pyodide, base).href;
  const stdlibURL = new URL(BUILD.stdlib, base).href;
  const wasmURL = new URL("pyodide.asm.wasm", indexURL).href;
  /** The stdlib as Pyodide reads it, freed once copied. @type {ArrayBuffer | null} */
  let stdlibBody = null;
  const stdlib = self.fetch(stdlibURL).then((response) => {
    const read = response.arrayBuffer.bind(response);
    response.arrayBuffer = () => read().then((body) => (stdlibBody = body));
    return response;
  });
  stdlib.catch(() => {}); // Pyodide reads it, and reports a failure
  early.set(stdlibURL, stdlib);
  const key = import.meta.url.split("/").pop() + ".boot";
  // A file system that does not answer within 3 s is skipped (the watchdog judges only the
  // network, so a hung read would otherwise hang the boot).
  const reading = Promise.race([savedBoot(key), new Promise((r) => setTimeout(r, 3000, null))]);
  reading.then(() => mark("snapshot_read"));
  /** The wasm's bytes as downloaded, for the saved boot. @type {Promise<ArrayBuffer> | undefined} */
  let wasmBytes;
  compiled = reading.then((saved) => {
    const module = saved
      ? WebAssembly.compile(saved.wasm) // copies the bytes
      : WebAssembly.compileStreaming(
          self.fetch(wasmURL).then((response) => {
            wasmBytes = response.clone().arrayBuffer();
            wasmBytes.catch(() => {});
            return response;
          }),
        );
    // Pyodide asks for the wasm only once `reading` settled (below), after this.
    early.set(wasmURL, Promise.resolve(PRECOMPILED));
    return module;
  });
  compiled.catch(() => {}); // a failure surfaces through loadPyodide's instantiation
  // Pyodide's two modules load side by side (it would import pyodide.asm.mjs only once
  // pyodide.mjs ran); it starts the wasm and stdlib fetches itself, the wheel's starts here.
  const asm = waitFor(import(indexURL + "pyodide.asm.mjs"));
  asm.catch(() => {}); // a failure surfaces through loadPyodide, which awaits it
  const { loadPyodide } = await waitFor(import(indexURL + "pyodide.mjs"));
  mark("pyodide_js");
  const wheel = fetch(new URL(BUILD.wheel, base)).then((r) => {
    if (!r.ok) throw new Error("wheel " + r.status);
    return r.arrayBuffer().then((b) => new Uint8Array(b));
  });
  const saved = await reading;
  boot.snapshot = saved ? "restored" : "made";
  try {
    py = await loadPyodide({
      indexURL,
      createPyodideModule: asm.then((m) => m.default),
      stdLibURL: stdlibURL,
      packageBaseUrl: indexURL, // never the CDN default, even by accident
      lockFileContents: { info: BUILD.lock, packages: {} },
      packages: [],
      stdout: () => {},
      stderr: () => {},
      // Before Python starts, on every page: a restored heap imports the rest of client_py from
      // the same file. A failed download surfaces below.
      env: { PYTHONPATH: BUILD.client },
      fsInit: (FS) => wheel.then((bytes) => FS.writeFile(BUILD.client, bytes), () => {}),
      ...(saved ? { _loadSnapshot: saved.memory } : { _makeSnapshot: true }),
    });
  } catch (error) {
    if (saved) saveBoot(key, null); // this page fails; the next one boots afresh and saves anew
    throw error;
  }
  mark("python");
  if (saved) {
    delete py._api.config._loadSnapshot; // Pyodide keeps its options: not this copy of its memory
    release(saved.memory);
    release(saved.wasm); // compiled
    // No `random` state came back with the heap: the build proves nothing imports `random`
    // before the snapshot (node/compile_python.mjs), so no two pages share a seed.
  }
  release(await wheel); // copied into Pyodide's file system
  // So is the stdlib's download, by Pyodide (unless the file is that download itself).
  const lib = py.FS.readdir("/lib").find((name) => name.endsWith(".zip"));
  if (stdlibBody && lib && py.FS.lookupPath("/lib/" + lib).node.contents?.buffer !== stdlibBody)
    release(new Uint8Array(stdlibBody));
  const Agent = py.pyimport("client_py.agent").Agent;
  mark("imports");
  // Taken here, before the Agent holds the site's config or the visitor's state.
  let made = null;
  try {
    if (!saved) made = py.makeMemorySnapshot();
  } catch {
    // a page that cannot save its start still runs; the next one tries again
  }
  agent = Agent(JSON.stringify(cfg), state || null);
  stop("");
  post({ t: "ready" });
  mark("ready");
  if (made) saveBoot(key, made, wasmBytes);
  else drop(wasmBytes); // restored, or no snapshot could be taken: the download is not kept
  for (const message of pending.splice(0)) run(message);
  mark("first_events");
  setInterval(() => run({ t: "tick" }), TICK_MS);
}

// rights.mjs's names: the channel it tells every tab of the site on before and after an erase,
// and the lock a batch in flight holds (shared), which the erase takes alone.
const ERASED = "rapport-erased";
const COLLECT_LOCK = "rapport-collect";

export function start(early) {
  // First act: this script arrived and runs. The loader gives up on a worker that has not said
  // so within `stall_ms` (a request for this file that hangs without an error).
  post({ t: "up" });
  self.onmessage = (event) => onMessage(event.data);
  for (const data of early.splice(0)) onMessage(data);
  // The visitor is erasing their data, in this tab or another of the site (rights.mjs): this
  // worker stops, or its next batch would store the erased visitor anew. The loader ends it.
  if (self.BroadcastChannel)
    new BroadcastChannel(ERASED).onmessage = () => {
      erased = true;
      // Not before this worker's batches in flight are answered: ending it would free their lock
      // while the server may still be storing them, and the erase would run before they land.
      Promise.allSettled(flying).then(() => post({ t: "err", m: "erased" }));
    };
}
