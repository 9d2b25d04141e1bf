/* Boot and the worker: once the page has loaded and is idle, the visitor's key (visitor.js) and a
 * Python worker started through a Blob-URL bootstrap (a cross-origin `new Worker(url)` is
 * refused); the queue of captured events posted to it; its messages; and, on any failure,
 * Rapport off for this page. */
/** @import { Captured, FromWorker } from "./types" */
import { w, d, store, safe, listen, site, endpoint, base, conf, debug } from "./page.js";
import { id, visitorKey } from "./visitor.js";
import { apply } from "./hints.js";
import { camMsg } from "./camera.js";
import { dbg } from "./debug.js";

const WORKER = "__WORKER__";
/** @type {Worker | null} */
export let worker = null;
/** @type {Captured[]} */
let queue = [];
let timer = 0;
/** The clock on the worker script's arrival. @type {any} */
let up;
/** The visitor key, once derived: rapport.feedback() proves the visitor with it. @type {string | undefined} */
export let vkey;
/** In the site's control group? null until the server said (`{t: "sent"}`). @type {boolean | null} */
export let holdout = null;
/** @type {(ok: boolean) => void} */
export let resolveReady;
// Ready settles when Python runs (true) or a step fails (false), never on a clock of the whole
// boot: a slow link is never given up while bytes arrive (the worker's stall watchdog judges
// Pyodide's downloads); what arrived stays in the HTTP cache (hashed, immutable files) for the next
// page. The one clock here is on the worker script itself (~2 KB): it must run and say {t: "up"}
// within `stall_ms`, or a request for it that hangs without an error would leave ready unsettled.
export const ready = new Promise((r) => { resolveReady = r; });

/** @param {Captured} e */
export const push = (e) => { if (queue.length < 5000) queue.push(e); };
// Queued events go to the worker every 500 ms, and at once after a chat message, a submit or
// a second click within 1 s (a burst): the events that can change a hint right away.
export const post = () => { if (worker && queue.length) { worker.postMessage({ t: "ev", e: queue }); queue = []; } };
// A host CSP without 'wasm-unsafe-eval' forbids Pyodide: find out with 8 bytes, not 3.7 MB.
export const wasm = () => {
  try { return new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])); } catch (e) {
    console.warn("Rapport off: CSP script-src needs 'wasm-unsafe-eval'");
  }
};

export const fail = () => {
  camMsg && camMsg({ t: "stop" });
  if (worker) worker.terminate();
  worker = null;
  queue = [];
  clearInterval(timer);
  resolveReady(false);
};

const onMessage = safe((/** @type {MessageEvent<FromWorker>} */ e) => {
  clearTimeout(up);
  const m = /** @type {any} */ (e.data || {});
  if (m.t == "ready") resolveReady(true);
  else if (m.t == "hints") apply(m.hints);
  else if (m.t == "state") store("sessionStorage", "rapport:state", m.s);
  else if (m.t == "err") fail();
  else if (m.t == "sent") holdout = m.h;
  else camMsg && camMsg(m);
  dbg && dbg.then((x) => { x.on(m); });
});

const start = safe(() => {
  // Returning: the visitor id existed when this session began (later pages: the worker's state).
  let secret = store("localStorage", "rapport:vs");
  let session = store("sessionStorage", "rapport:sid");
  const returning = !!secret && !session;
  session = session || id();
  if (!secret) store("localStorage", "rapport:vs", secret = id());
  store("sessionStorage", "rapport:sid", session);
  visitorKey(secret).then(safe((/** @type {string} */ key) => { boot(key, session, returning); }), fail);
});

/**
 * @param {string} key
 * @param {string} session
 * @param {boolean} returning
 */
const boot = (key, session, returning) => {
  vkey = key;
  const url = new URL(WORKER, base).href;
  const bootstrap = "var q=[];onmessage=e=>q.push(e.data);import(" + JSON.stringify(url) +
    ").then(m=>m.start(q),e=>postMessage({t:'err',m:''+e}))";
  // Trusted Types or an older CSP may make this throw at once: then Rapport is simply off.
  try {
    worker = new Worker(URL.createObjectURL(new Blob([bootstrap], { type: "text/javascript" })), { type: "module" });
  } catch (e) { return fail(); }
  // The stall bound: the site's last stall_ms of at least 500, or 60 s. Until the worker script
  // runs and says "up", its download is the loader's to judge; then the worker's (`watch`).
  const stall = /** @type {any[]} */ (conf).reduce((s, c) => c && c.stall_ms >= 500 ? +c.stall_ms : s, 6e4);
  up = setTimeout(fail, stall);
  worker.onmessage = onMessage;
  worker.onerror = fail;
  worker.postMessage({
    t: "init",
    state: store("sessionStorage", "rapport:state"),
    cfg: { site: site, key: key, session: session, endpoint: endpoint,
           returning: returning, config: conf, debug: debug, stall: stall },
  });
  timer = setInterval(post, 500);
};

/** Boots once the page has loaded and is idle: Rapport never competes with the page's own start. */
export const bootWhenIdle = () => {
  const later = () => { (/** @type {Function} */ (w.requestIdleCallback || setTimeout))(start, { timeout: 2000 }); };
  d.readyState == "complete" ? later() : listen(w, "load", later);
};
