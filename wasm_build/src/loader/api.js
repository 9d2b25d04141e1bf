/* window.rapport: the page's API (docs/client.md). Every method is safe to call at any time,
 * whether or not Rapport runs; calls made through the copy-paste stub (src/stub.js) before the
 * loader ran are replayed by main.js. */
import { store, now, safe, off, site, endpoint, conf } from "./page.js";
import { ready, worker, vkey, holdout, push } from "./boot.js";
import { hints, callbacks } from "./hints.js";
import { say } from "./capture.js";
import { rights } from "./rights.js";
import { cam, camera } from "./camera.js";

export const api = {
  version: 1,
  ready: ready,
  hints: () => hints.slice(),
  on: (/** @type {string} */ type, /** @type {Function} */ cb) => {
    if (type == "hint" && typeof cb == "function") {
      callbacks.push(cb);
      hints.length && safe(cb)(hints);
    }
  },
  // Text for on-device tone analysis: it goes to the worker only, never into a request.
  chat: safe(say),
  configure: safe((/** @type {unknown} */ c) => {
    conf.push(c);
    if (worker) worker.postMessage({ t: "cfg", c: c });
  }),
  // Did a hint help? Misses make the server back off (suppress, then weaken) that hint.
  feedback: safe((/** @type {unknown} */ hint, /** @type {unknown} */ outcome) => {
    vkey && fetch(endpoint + "/v1/feedback", { method: "POST", credentials: "omit", keepalive: true,
      body: JSON.stringify({ site: site, key: vkey, hint_id: String(hint), outcome: String(outcome) }) })
      .catch(() => {});
  }),
  visitor: {
    export: () => rights("GET"),
    erase: () => rights("DELETE"),
  },
  // Consent is per site and revocable: stop() ends every camera track and unloads the models.
  camera: {
    ask: () => camera("ask"),
    stop: () => {
      store("localStorage", "rapport:camera", "denied");
      return cam ? camera("stop") : ready.then(() => false);
    },
  },
  track: safe((/** @type {unknown} */ name, /** @type {{value?: unknown, currency?: unknown}} */ props) => {
    props = props || {};
    if (!off) push(["trk", now(), String(name), +props.value || null, props.currency ? String(props.currency).toUpperCase() : null]);
  }),
  // In the site's control group (no hints shown, to measure uplift)? null until the server said.
  holdout: () => holdout,
};
