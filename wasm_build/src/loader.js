/* Rapport loader: the only code on the host page's main thread (budget: 3 KB brotli).
 * It captures cheap, passive page events from its first moment, starts the Python worker once the
 * page has loaded and is idle, applies hints, and exposes window.rapport. It never reads field
 * values or text, and nothing it does may throw into the host page. */
(function () {
  var w = window, d = document, n = navigator;
  if (w.rapport && w.rapport.version) return;
  var script = d.currentScript;
  var WORKER = "__WORKER__";
  // The camera add-on: imported only on sites that ask for it, and only once Python is ready.
  var CAMERA = "__CAMERA__";
  var BOOT_TIMEOUT = 30000;
  var vkey, queue = [], callbacks = [], hints = [], worker = null, resolveReady, timer = 0, started = 0, cam, camMsg;
  var ready = new Promise(function (r) { resolveReady = r; });
  var store = function (area, key, value) {
    try {
      var s = w[area];
      if (value === undefined) return s.getItem(key);
      s.setItem(key, value);
    } catch (e) {}
  };
  var b64 = function (a) {
    return btoa(String.fromCharCode.apply(null, a)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  var id = function () { return b64(crypto.getRandomValues(new Uint8Array(16))); };
  // secret → key → id (client_py/identity.py): the worker holds only the key, which proves the
  // visitor in collect, feedback and hints; only this page holds the secret that opens the rights.
  var sha = function (text) {
    return crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)).then(function (h) { return b64(new Uint8Array(h)); });
  };
  var visitorKey = function (secret) { return sha("rapport/visitor-key/v1:" + secret); };
  var visitorId = function (secret) { return visitorKey(secret).then(sha).then(function (v) { return v.slice(0, 22); }); };
  var now = Date.now;
  var push = function (e) { if (queue.length < 5000) queue.push(e); };
  // Queued events go to the worker every 500 ms, and at once after a chat message, a submit or
  // a second click within 1 s (a burst): the events that can change a hint right away.
  var post = function () { if (worker && queue.length) { worker.postMessage({ t: "ev", e: queue }); queue = []; } };
  var keyOf = function (el) {
    el = el && el.closest && el.closest("[data-rapport-section]");
    return el ? [el.getAttribute("data-rapport-section"), el.getAttribute("data-rapport-item")] : [null, null];
  };
  var safe = function (f) { return function (a, b) { try { return f(a, b); } catch (e) {} }; };
  var off = n.globalPrivacyControl || n.doNotTrack == "1" || w.doNotTrack == "1" || !w.crypto || !crypto.subtle;
  var site = script && script.getAttribute("data-site");
  var endpoint = script && (script.getAttribute("data-endpoint") || new URL(script.src).origin);
  // Site overrides of pattern weights and rules: data-rapport-config='{...}', rapport.configure().
  var conf = [];
  try { conf.push(JSON.parse(script.getAttribute("data-rapport-config"))); } catch (e) {}

  var apply = safe(function (list) {
    hints = list;
    var on = {};
    list.forEach(function (h) {
      on[h.pattern] = on[h.kind] = 1;
      (h.also || []).forEach(function (k) { on[k] = 1; });
    });
    d.querySelectorAll("[data-rapport-show]").forEach(function (el) {
      if (el.getAttribute("data-rapport-show").split(/\s+/).some(function (t) { return on[t]; })) {
        el.hidden = false;
        el.setAttribute("data-rapport-on", "");
      }
    });
    callbacks.forEach(function (c) { if (c[0] == "hint") safe(c[1])(list); });
    d.dispatchEvent(new CustomEvent("rapport:hint", { detail: { hints: list } }));
  });

  var camera = function (f) {
    return ready.then(function (ok) {
      return ok && (cam = cam || import(new URL(CAMERA, script.src).href)).then(function (m) {
        return m[f]({
          post: function (x, t) { worker && worker.postMessage(x, t || []); },
          on: function (h) { camMsg = h; },
        });
      });
    }).catch(function () { return false; });
  };

  var fail = function () {
    camMsg && camMsg({ t: "stop" });
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
    else camMsg && camMsg(m);
  });

  var start = safe(function () {
    // Returning: the visitor id existed when this session began (later pages: the worker's state).
    var secret = store("localStorage", "rapport:vs"), session = store("sessionStorage", "rapport:sid");
    var returning = !!secret && !session;
    session = session || id();
    if (!secret) store("localStorage", "rapport:vs", secret = id());
    store("sessionStorage", "rapport:sid", session);
    visitorKey(secret).then(safe(function (key) { boot(key, session, returning); }), fail);
  });

  var boot = function (key, session, returning) {
    vkey = key;
    var url = new URL(WORKER, script.src).href;
    var boot = "var q=[];onmessage=function(e){q.push(e.data)};import(" + JSON.stringify(url) +
      ").then(function(m){m.start(q)},function(e){postMessage({t:'err',m:String(e)})})";
    worker = new Worker(URL.createObjectURL(new Blob([boot], { type: "text/javascript" })), { type: "module" });
    worker.onmessage = onMessage;
    worker.onerror = fail;
    worker.postMessage({
      t: "init",
      state: store("sessionStorage", "rapport:state"),
      cfg: { site: site, key: key, session: session, endpoint: endpoint,
             returning: returning, config: conf },
    });
    timer = setInterval(post, 500);
    // A host CSP without 'wasm-unsafe-eval' makes Pyodide hang silently: give up, stay harmless.
    setTimeout(function () { started || fail(); }, BOOT_TIMEOUT);
  };

  // The visitor's rights, from any page of the site, whether or not Rapport runs (GPC, CSP…).
  var rights = function (method) {
    var secret = store("localStorage", "rapport:vs");
    if (!secret || !endpoint) return Promise.resolve({ status: 0, body: null });
    return visitorId(secret).then(function (v) {
      return fetch(endpoint + "/v1/visitors/" + v + "?site=" + encodeURIComponent(site),
        { method: method, headers: { Authorization: "Bearer " + secret }, credentials: "omit" });
    }).then(function (r) {
      if (method == "DELETE" && r.ok) {
        // Forgotten: stop here, and the next page starts a new, unlinkable visitor.
        fail();
        ["rapport:vs"].forEach(function (k) { localStorage.removeItem(k); });
        ["rapport:sid", "rapport:state"].forEach(function (k) { sessionStorage.removeItem(k); });
      }
      return r.json().catch(function () { return null; }).then(function (b) { return { status: r.status, body: b }; });
    }).catch(function () { return { status: 0, body: null }; });
  };

  var say = function (text) { if (!off && text) { push(["txt", now(), String(text).slice(0, 2000)]); post(); } };
  var chat = function (el) { el && say(el.value); };
  var listen = function (target, type, f) { target.addEventListener(type, safe(f), { passive: true, capture: true }); };

  var style = d.createElement("style");
  style.textContent = "[data-rapport-show]:not([data-rapport-on]){display:none!important}";
  (d.head || d.documentElement).appendChild(style);

  if (!off && script && w.Worker && w.IntersectionObserver) {
    var nav = (performance.getEntriesByType("navigation")[0] || {}).type;
    push(["pv", now(), nav]);
    // Entry source: only the UTM medium (or an ad click id) and the referrer's host, never a URL.
    var q = new URLSearchParams(location.search), ref = "";
    try { ref = new URL(d.referrer).hostname; } catch (e) {}
    push(["ctx", now(), new Date().getTimezoneOffset(), w.innerWidth, matchMedia("(pointer:coarse)").matches ? 1 : 0,
      (q.get("utm_medium") || (/[?&](gclid|fbclid|msclkid|yclid)=/.test(location.search) ? "cpc" : "")).slice(0, 32),
      ref == location.hostname ? "" : ref]);
    listen(w, "pageshow", function (e) { e.persisted && push(["pv", now(), "back_forward"]); });
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
    // Dead clicks: the first DOM change or selection within 3 s of a click says it did something.
    var lastClk = 0, chg = 1, hov = "";
    var changed = function () { if (!chg && now() - lastClk < 3000) { chg = 1; push(["chg", now()]); } };
    new MutationObserver(safe(changed)).observe(d.documentElement, { childList: true, subtree: true, attributes: true, characterData: true });
    listen(d, "selectionchange", function () { d.getSelection().isCollapsed || changed(); });
    listen(d, "click", function (e) {
      var k = keyOf(e.target), t = now(), burst = t - lastClk < 1000;
      lastClk = t; chg = 0;
      push(["clk", t, e.clientX, e.clientY, k[0], k[1]]);
      burst && post();
    });
    listen(d, "pointerover", function (e) { var k = keyOf(e.target); if (k + "" != hov) { hov = k + ""; push(["hov", now(), k[0], k[1]]); } });
    listen(d, "copy", function () { var a = d.getSelection().anchorNode; push(["cp", now()].concat(keyOf(a && (a.closest ? a : a.parentElement)))); });
    // Fields: only that one got the focus, never its value; chat inputs the owner names are read on send.
    listen(d, "focusin", function (e) { if (e.target.matches("input,textarea,select")) push(["fi", now()]); });
    listen(d, "submit", function (e) { push(["sb", now()]); chat(e.target.querySelector("[data-rapport-chat]")); post(); });
    listen(d, "keydown", function (e) { if (e.key == "Enter" && !e.shiftKey && e.target.matches("[data-rapport-chat]")) chat(e.target); });
    var attended = function () { push(["vis", now(), d.visibilityState == "visible" && d.hasFocus() ? 1 : 0]); };
    listen(d, "visibilitychange", attended);
    listen(w, "focus", attended);
    listen(w, "blur", attended);
    listen(w, "pagehide", function () {
      push(["end", now()]);
      if (worker) { post(); worker.postMessage({ t: "flush" }); }
    });
    var seen = new IntersectionObserver(safe(function (entries) {
      entries.forEach(function (x) {
        var k = keyOf(x.target), vh = x.rootBounds ? x.rootBounds.height : w.innerHeight;
        var inView = x.isIntersecting && (x.intersectionRatio >= 0.5 || x.intersectionRect.height >= vh / 2);
        push([inView ? "in" : "out", now(), k[0], k[1], Math.round(x.boundingClientRect.height / vh * 10) / 10]);
      });
    }), { threshold: [0, 0.25, 0.5, 0.75, 1] });
    var observe = function () { d.querySelectorAll("[data-rapport-section]").forEach(function (el) { seen.observe(el); }); };
    d.readyState == "loading" ? listen(d, "DOMContentLoaded", observe) : observe();
    var later = function () { (w.requestIdleCallback || setTimeout)(start, { timeout: 2000 }); };
    d.readyState == "complete" ? later() : listen(w, "load", later);
    // Camera: only where the site asks for it, and never again on this site once refused.
    script.getAttribute("data-camera") == "ask" && store("localStorage", "rapport:camera") != "denied" && camera("auto");
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
    // Text for on-device tone analysis: it goes to the worker only, never into a request.
    chat: safe(say),
    configure: safe(function (c) {
      conf.push(c);
      if (worker) worker.postMessage({ t: "cfg", c: c });
    }),
    // Did a hint help? Misses make the server back off (suppress, then weaken) that hint.
    feedback: safe(function (hint, outcome) {
      vkey && fetch(endpoint + "/v1/feedback", { method: "POST", credentials: "omit", keepalive: true,
        body: JSON.stringify({ site: site, key: vkey, hint_id: String(hint), outcome: String(outcome) }) })
        .catch(function () {});
    }),
    visitor: {
      export: function () { return rights("GET"); },
      erase: function () { return rights("DELETE"); },
    },
    // Consent is per site and revocable: stop() ends every camera track and unloads the models.
    camera: {
      ask: function () { return camera("ask"); },
      stop: function () {
        store("localStorage", "rapport:camera", "denied");
        return cam ? camera("stop") : ready.then(function () { return false; });
      },
    },
    track: safe(function (name, props) {
      props = props || {};
      if (!off) push(["trk", now(), String(name), +props.value || null, props.currency || null]);
    }),
  };
})();
