/* The camera, only where the site asks for it (data-camera="ask") and never again on this site
 * once refused: its consent prompt and frame capture are an add-on (src/camera.mjs) imported once
 * Python is ready; it talks to the worker through `post` and hears the worker's camera messages. */
/** @import { AddOn } from "./types" */
import { attr, store, addOn } from "./page.js";
import { ready, worker } from "./boot.js";

const CAMERA = "__CAMERA__";
/** The camera add-on once asked for. @type {AddOn | undefined} */
export let cam;
/** The add-on's handler of the worker's messages. @type {((m: any) => void) | undefined} */
export let camMsg;

/**
 * Calls the add-on's `f` ("auto", "ask", "stop"): false when Rapport does not run.
 * @param {string} f
 * @returns {Promise<any>}
 */
export const camera = (f) =>
  ready.then((ok) => ok && (cam = cam || addOn(CAMERA)).then((m) => m[f]({
    post: (/** @type {any} */ x, /** @type {Transferable[]} */ t) => { worker && worker.postMessage(x, t || []); },
    on: (/** @type {(m: any) => void} */ h) => { camMsg = h; },
  }))).catch(() => false);
/** On a site that asks, the prompt (or, once allowed, the camera) when Python is ready. */
export const cameraOnArrival = () => {
  attr("data-camera") == "ask" && store("localStorage", "rapport:camera") != "denied" && camera("auto");
};
