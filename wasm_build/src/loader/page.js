/* The host page and the script tag that loaded Rapport: what the site configured, whether Rapport
 * may run at all, and the small guards every concern uses. Nothing the loader does may throw into
 * the host page: `safe`, `store` and `listen` drop errors on purpose. */
/** @import { Area, AddOn } from "./types" */

export const w = window;
export const d = document;
export const n = navigator;
// The loader may run as an async tag, be inlined by the site, or be injected: when it is not
// the current script, the tag that names the site is.
const script = /** @type {HTMLScriptElement} */ (d.currentScript || d.querySelector("script[data-site]") || d.createElement("script"));

/**
 * Reads (no value) or writes the host page's storage; undefined where it throws (disabled, full).
 * @param {Area} area
 * @param {string} key
 * @param {string} [value]
 */
export const store = (area, key, value) => {
  try { return w[area][value === undefined ? "getItem" : "setItem"](key, value); } catch (e) {}
};
export const now = Date.now;
/**
 * `f`, returning undefined instead of throwing.
 * @param {Function} f
 * @returns {(a?: any, b?: any) => any}
 */
export const safe = (f) => (a, b) => { try { return f(a, b); } catch (e) {} };
/** @param {string} name */
export const attr = (name) => script.getAttribute(name);
/** Rapport collects nothing under Global Privacy Control, Do Not Track, or without WebCrypto. */
export const off = n.globalPrivacyControl || n.doNotTrack == "1" || w.doNotTrack == "1" || !w.crypto || !crypto.subtle;
export const site = attr("data-site");
/** The API's origin and the SDK's URL: undefined when the tag's URLs make no sense. */
/** @type {string | undefined} */
export let endpoint;
/** @type {string | undefined} */
export let base;
try {
  endpoint = attr("data-endpoint") || new URL(script.src).origin;
  base = script.src || endpoint + "/sdk/";
} catch (e) {}
// Site overrides of pattern weights and rules: data-rapport-config='{...}', rapport.configure().
/** @type {unknown[]} */
export const conf = [];
try { conf.push(JSON.parse(attr("data-rapport-config"))); } catch (e) {}
export const debug = script.hasAttribute("data-debug") || /[?&]rapport-debug=1/.test(location.search);
/**
 * One of the SDK's add-on modules by its hashed name, imported only where it is used.
 * @param {string} name
 * @returns {AddOn}
 */
export const addOn = (name) => import(new URL(name, base).href);
/**
 * A passive, capturing listener whose errors never reach the page.
 * @param {EventTarget} target
 * @param {string} type
 * @param {(e: any) => void} f
 */
export const listen = (target, type, f) => { target.addEventListener(type, safe(f), { passive: true, capture: true }); };
