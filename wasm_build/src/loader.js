/* Rapport loader: the only code on the host page's main thread (budget: 3 KB brotli).
 * It captures cheap, passive page events from its first moment, starts the Python worker once the
 * page has loaded and is idle, applies hints, and exposes window.rapport. It never reads field
 * values or text, and nothing it does may throw into the host page. */
(function () {
  var w = window, d = document, n = navigator;
  if (w.rapport && w.rapport.version) return;
  var script = d.currentScript;
  var WORKER = "__WORKER__";
  var BOOT_TIMEOUT = 30000;
  var queue = [], callbacks = [], hints = [], worker = null, resolveReady, timer = 0, started = 0;
  var ready = new Promise(function (r) { resolveReady = r; });
  var store = function (area, key, value) {
    try {
      var s = w[area];
      if (value === undefined) return s.getItem(key);
      s.setItem(key, value);
    } catch (e) {}
  };
  var id = function () {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return btoa(String.fromCharCode.apply(null, a)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  var now = Date.now;
  var push = function (e) { if (queue.length < 5000) queue.push(e); };
  var keyOf = function (el) {
    el = el && el.closest && el.closest("[data-rapport-section]");
    return el ? [el.getAttribute("data-rapport-section"), el.getAttribute("data-rapport-item")] : [null, null];
  };
  var safe = function (f) { return function (a, b) { try { return f(a, b); } catch (e) {} }; };
  var off = n.globalPrivacyControl || n.doNotTrack == "1" || w.doNotTrack == "1";

  var apply = safe(function (list) {
    hints = list;
    var on = {};
    list.forEach(function (h) { on[h.pattern] = on[h.kind] = 1; });
    d.querySelectorAll("[data-rapport-show]").forEach(function (el) {
      if (el.getAttribute("data-rapport-show").split(/\s+/).some(function (t) { return on[t]; })) {
        el.hidden = false;
        el.setAttribute("data-rapport-on", "");
      }
    });
    callbacks.forEach(function (c) { if (c[0] == "hint") safe(c[1])(list); });
    d.dispatchEvent(new CustomEvent("rapport:hint", { detail: { hints: list } }));
  });

  var fail = function () {
    if (worker) worker.terminate();
    worker = null;
    queue = [];
    clearInterval(timer);
    resolveReady(false);
  };

  var onMessage = safe(function (e) {
    var m = e.data || {};
    if (m.t == "ready") { started = 1; resolveReady(true); }
    else if (m.t == "hints") apply(m.hints);
    else if (m.t == "state") store("sessionStorage", "rapport:state", m.s);
    else if (m.t == "err") fail();
  });

  var start = safe(function () {
    var visitor = store("localStorage", "rapport:v") || id();
    var session = store("sessionStorage", "rapport:sid") || id();
    store("localStorage", "rapport:v", visitor);
    store("sessionStorage", "rapport:sid", session);
    var url = new URL(WORKER, script.src).href;
    var boot = "var q=[];onmessage=function(e){q.push(e.data)};import(" + JSON.stringify(url) +
      ").then(function(m){m.start(q)},function(e){postMessage({t:'err',m:String(e)})})";
    worker = new Worker(URL.createObjectURL(new Blob([boot], { type: "text/javascript" })), { type: "module" });
    worker.onmessage = onMessage;
    worker.onerror = fail;
    worker.postMessage({
      t: "init",
      state: store("sessionStorage", "rapport:state"),
      cfg: { site: script.getAttribute("data-site"), visitor: visitor, session: session,
             endpoint: script.getAttribute("data-endpoint") || new URL(script.src).origin },
    });
    timer = setInterval(function () {
      if (queue.length) { worker.postMessage({ t: "ev", e: queue }); queue = []; }
    }, 500);
    // A host CSP without 'wasm-unsafe-eval' makes Pyodide hang silently: give up, stay harmless.
    setTimeout(function () { started || fail(); }, BOOT_TIMEOUT);
  });

  var listen = function (target, type, f) { target.addEventListener(type, safe(f), { passive: true, capture: true }); };

  var style = d.createElement("style");
  style.textContent = "[data-rapport-show]:not([data-rapport-on]){display:none!important}";
  (d.head || d.documentElement).appendChild(style);

  if (!off && script && w.Worker && w.IntersectionObserver) {
    push(["pv", now()]);
    var lastAct = 0, lastScroll = 0;
    var act = function () { var t = now(); if (t - lastAct > 1000) { lastAct = t; push(["act", t]); } };
    ["pointermove", "keydown", "wheel", "touchstart"].forEach(function (type) { listen(w, type, act); });
    listen(w, "scroll", function () {
      var t = now();
      if (t - lastScroll > 250) {
        lastScroll = t;
        var el = d.documentElement, max = el.scrollHeight - el.clientHeight;
        push(["scr", t, max > 0 ? Math.min(1, Math.max(0, w.scrollY / max)) : 1]);
      }
      act();
    });
    listen(d, "click", function (e) { var k = keyOf(e.target); push(["clk", now(), e.clientX, e.clientY, k[0], k[1]]); });
    var attended = function () { push(["vis", now(), d.visibilityState == "visible" && d.hasFocus() ? 1 : 0]); };
    listen(d, "visibilitychange", attended);
    listen(w, "focus", attended);
    listen(w, "blur", attended);
    listen(w, "pagehide", function () {
      push(["end", now()]);
      if (worker) { worker.postMessage({ t: "ev", e: queue }); worker.postMessage({ t: "flush" }); queue = []; }
    });
    var seen = new IntersectionObserver(safe(function (entries) {
      entries.forEach(function (x) {
        var k = keyOf(x.target), vh = x.rootBounds ? x.rootBounds.height : w.innerHeight;
        var inView = x.isIntersecting && (x.intersectionRatio >= 0.5 || x.intersectionRect.height >= vh / 2);
        push([inView ? "in" : "out", now(), k[0], k[1]]);
      });
    }), { threshold: [0, 0.25, 0.5, 0.75, 1] });
    var observe = function () { d.querySelectorAll("[data-rapport-section]").forEach(function (el) { seen.observe(el); }); };
    d.readyState == "loading" ? listen(d, "DOMContentLoaded", observe) : observe();
    var later = function () { (w.requestIdleCallback || setTimeout)(start, { timeout: 2000 }); };
    d.readyState == "complete" ? later() : listen(w, "load", later);
  } else {
    resolveReady(false);
  }

  w.rapport = {
    version: 1,
    ready: ready,
    hints: function () { return hints.slice(); },
    on: function (type, cb) {
      if (typeof cb == "function") callbacks.push([type, cb]);
      if (type == "hint" && hints.length) safe(cb)(hints);
    },
    track: safe(function (name, props) {
      props = props || {};
      if (!off) push(["trk", now(), String(name), +props.value || null, props.currency || null]);
    }),
  };
})();
