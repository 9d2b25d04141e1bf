// The page's own measurement (not Rapport's): when rapport.js finished running (its script
// element's load event) and when rapport.ready settled, in the page's clock; console messages.
window.__probe = { readyMs: null, ready: null, shifts: [] };
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.__probe.shifts.push(e.value); });
}).observe({ type: "layout-shift", buffered: true });
document.addEventListener("load", function (e) {
  var s = e.target;
  if (!s || s.tagName != "SCRIPT" || !/rapport\.js/.test(s.src)) return;
  var t0 = performance.now();
  window.__probe.loaderRan = t0;
  Promise.resolve(window.rapport && window.rapport.ready).then(function (ok) {
    window.__probe.readyMs = performance.now() - t0;
    window.__probe.ready = ok;
  });
}, true);
