/* The owner's debug panel (src/debug.mjs), imported only with data-debug on the tag or
 * ?rapport-debug=1 in the page's URL; it is shown every message of the worker (boot.js). */
/** @import { AddOn } from "./types" */
import { w, off, debug, addOn } from "./page.js";

const DEBUG = "__DEBUG__";
/** The panel's module once asked for; 0 when it could not be imported. @type {AddOn | 0 | undefined} */
export let dbg;

export const openDebug = () => {
  if (debug) dbg = addOn(DEBUG).then((m) => { m.start(w.rapport, off); return m; }, () => { dbg = 0; });
};
