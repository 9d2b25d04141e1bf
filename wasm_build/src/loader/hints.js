/* Hints on the page. Boxes (data-rapport-show) are Rapport's: hidden until a hint names them,
 * hidden again when it ends. data-rapport-place: "reserve" keeps the box's space (visibility),
 * "overlay" shows it fixed at the viewport's bottom (in view wherever the visitor scrolled; Rapport
 * never scrolls the page); in place by default. Only attributes and CSSOM: no <style> a CSP could
 * refuse. Then the `rapport:hint` event and the rapport.on("hint") callbacks. */
/** @import { Hint } from "./types" */
import { d, safe } from "./page.js";

/** The current hints, as the worker last sent them. @type {Hint[]} */
export let hints = [];
/** rapport.on("hint", cb) callbacks. @type {Function[]} */
export const callbacks = [];

/**
 * @param {HTMLElement} el
 * @param {boolean} show
 */
const box = (el, show) => {
  const place = el.getAttribute("data-rapport-place");
  const st = el.style;
  el.toggleAttribute("data-rapport-on", show);
  el.hidden = !show && place != "reserve";
  st.visibility = show ? "" : "hidden";
  if (show && place == "overlay") {
    st.cssText += "position:fixed;right:16px;bottom:16px;z-index:2147483600;margin:0;max-width:calc(100vw - 32px)";
  }
};
/**
 * Shows the boxes that a name in `on` names, hides the others; without `on`, hides them all.
 * @param {Record<string, number>} [on]
 */
export const boxes = (on) => {
  d.querySelectorAll("[data-rapport-show]").forEach((/** @type {HTMLElement} */ el) => {
    const show = !!on && el.getAttribute("data-rapport-show").split(/\s+/).some((t) => on[t]);
    if (show || !on || el.hasAttribute("data-rapport-on")) box(el, show);
  });
};
export const apply = safe((/** @type {Hint[]} */ list) => {
  hints = list;
  /** @type {Record<string, number>} */
  const on = {};
  list.forEach((h) => {
    on[h.pattern] = on[h.kind] = 1;
    (h.also || []).forEach((k) => { on[k] = 1; });
  });
  boxes(on);
  callbacks.forEach((c) => { safe(c)(list); });
  d.dispatchEvent(new CustomEvent("rapport:hint", { detail: { hints: list } }));
});
