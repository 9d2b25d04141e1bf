/* Rapport loader: the only code on the host page's main thread (budget: 3 KB brotli).
 * It captures cheap, passive page events from its first moment, starts the Python worker once the
 * page has loaded and is idle, applies hints, and exposes window.rapport. It never reads field
 * values or text, and nothing it does may throw into the host page.
 *
 * This is the entry of src/loader/: one concern per module (page, visitor, hints, boot, capture,
 * camera, rights, debug, api), joined by the build into ONE classic script, one closure, in the
 * order ES modules would run (wasm_build/loader_join.py), then minified. The other modules only
 * declare; everything the page can observe starts here, once per page. */
import { w, d, safe, listen, off, base } from "./page.js";
import { hints, boxes } from "./hints.js";
import { ready, resolveReady, wasm, fail, bootWhenIdle } from "./boot.js";
import { capture } from "./capture.js";
import { cameraOnArrival } from "./camera.js";
import { openDebug } from "./debug.js";
import { api } from "./api.js";

const stub = w.rapport;
// Twice on one page (two tags, or a tag and an inlined copy): the first one runs.
if (!(stub && stub.version)) {
  // Boxes stay hidden whether or not Rapport runs, also when the owner forgot `hidden`.
  listen(d, "DOMContentLoaded", () => { hints.length || boxes(); });
  openDebug();

  // The whole capture is guarded: whatever the page, its CSP or the browser, nothing throws into it.
  try {
    boxes();
    if (!off && base && w.WebAssembly && wasm()) {
      capture();
      bootWhenIdle();
      cameraOnArrival();
    } else {
      resolveReady(false);
    }
  } catch (e) { fail(); }

  w.rapport = api;
  // Calls made through the copy-paste stub before this script ran (wasm_build/src/stub.js).
  if (stub && stub.q) {
    stub.q.forEach((/** @type {[string, IArguments]} */ c) => { safe(() => { w.rapport[c[0]].apply(0, c[1]); })(); });
    stub.q = 0;
    ready.then(stub.r);
  }
}
