/* Capture: cheap, passive page events from the loader's first moment, as compact arrays (a code,
 * the time, then its fields: client_py.events.EVENT_CODES parses each code; the table is in
 * docs/client.md). Never field values, typed text, pointer traces or URLs — except chat text the
 * site owner opts into (`say`). */
import { w, d, now, safe, listen, off } from "./page.js";
import { push, post, worker } from "./boot.js";

/**
 * The declared section and item an element is in: [section, item], or [null, null].
 * @param {any} el
 */
const keyOf = (el) => {
  el = el && el.closest && el.closest("[data-rapport-section]");
  return el ? [el.getAttribute("data-rapport-section"), el.getAttribute("data-rapport-item")] : [null, null];
};

/**
 * Text for on-device tone analysis: it goes to the worker only, never into a request.
 * @param {unknown} text
 */
export const say = (text) => { if (!off && text) { push(["txt", now(), String(text).slice(0, 2000)]); post(); } };
const chat = (/** @type {HTMLInputElement | null} */ el) => { el && say(el.value); };

/** Starts capturing: the page view and its context, then a listener per kind of event. */
export const capture = () => {
  const nav = /** @type {any} */ (performance.getEntriesByType("navigation")[0] || {}).type;
  push(["pv", now(), nav]);
  // Entry source: only the UTM medium (or an ad click id) and the referrer's host, never a URL.
  const q = new URLSearchParams(location.search);
  let ref = "";
  try { ref = new URL(d.referrer).hostname; } catch (e) {}
  push(["ctx", now(), new Date().getTimezoneOffset(), w.innerWidth, matchMedia("(pointer:coarse)").matches ? 1 : 0,
    (q.get("utm_medium") || (/[?&](gclid|fbclid|msclkid|yclid)=/.test(location.search) ? "cpc" : "")).slice(0, 32),
    ref == location.hostname ? "" : ref]);
  listen(w, "pageshow", (e) => { e.persisted && push(["pv", now(), "back_forward"]); });
  let lastAct = 0;
  let lastScroll = 0;
  const act = () => { const t = now(); if (t - lastAct > 1000) { lastAct = t; push(["act", t]); } };
  ["pointermove", "keydown", "wheel", "touchstart"].forEach((type) => { listen(w, type, act); });
  listen(w, "scroll", () => {
    const t = now();
    if (t - lastScroll > 250) {
      lastScroll = t;
      const el = d.documentElement;
      const max = el.scrollHeight - el.clientHeight;
      push(["scr", t, max > 0 ? Math.min(1, Math.max(0, w.scrollY / max)) : 1]);
    }
    act();
  });
  // Dead clicks: the first DOM change or selection within 3 s of a click says it did something.
  let lastClk = 0;
  let chg = 1;
  let hov = "";
  const changed = () => { if (!chg && now() - lastClk < 3000) { chg = 1; push(["chg", now()]); } };
  new MutationObserver(safe(changed)).observe(d.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
  listen(d, "selectionchange", () => { d.getSelection().isCollapsed || changed(); });
  listen(d, "click", (e) => {
    const k = keyOf(e.target);
    const t = now();
    const burst = t - lastClk < 1000;
    lastClk = t; chg = 0;
    push(["clk", t, e.clientX, e.clientY, k[0], k[1]]);
    burst && post();
  });
  listen(d, "pointerover", (e) => { const k = keyOf(e.target); if (k + "" != hov) { hov = k + ""; push(["hov", now(), k[0], k[1]]); } });
  listen(d, "copy", () => { const a = /** @type {any} */ (d.getSelection().anchorNode); push(["cp", now(), ...keyOf(a && (a.closest ? a : a.parentElement))]); });
  // Fields: only that one got the focus, never its value; chat inputs the owner names are read on send.
  listen(d, "focusin", (e) => { if (e.target.matches("input,textarea,select")) push(["fi", now()]); });
  listen(d, "submit", (e) => { push(["sb", now()]); chat(e.target.querySelector("[data-rapport-chat]")); post(); });
  listen(d, "keydown", (e) => { if (e.key == "Enter" && !e.shiftKey && e.target.matches("[data-rapport-chat]")) chat(e.target); });
  const attended = () => { push(["vis", now(), d.visibilityState == "visible" && d.hasFocus() ? 1 : 0]); };
  listen(d, "visibilitychange", attended);
  listen(w, "focus", attended);
  listen(w, "blur", attended);
  listen(w, "pagehide", () => {
    push(["end", now()]);
    if (worker) { post(); worker.postMessage({ t: "flush" }); }
  });
  const seen = new IntersectionObserver(safe((/** @type {IntersectionObserverEntry[]} */ entries) => {
    entries.forEach((x) => {
      const k = keyOf(x.target);
      const vh = x.rootBounds ? x.rootBounds.height : w.innerHeight;
      const inView = x.isIntersecting && (x.intersectionRatio >= 0.5 || x.intersectionRect.height >= vh / 2);
      push([inView ? "in" : "out", now(), k[0], k[1], Math.round(x.boundingClientRect.height / vh * 10) / 10]);
    });
  }), { threshold: [0, 0.25, 0.5, 0.75, 1] });
  const observe = () => { d.querySelectorAll("[data-rapport-section]").forEach((el) => { seen.observe(el); }); };
  d.readyState == "loading" ? listen(d, "DOMContentLoaded", observe) : observe();
};
