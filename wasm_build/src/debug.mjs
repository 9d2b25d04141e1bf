// Rapport's debug mode for site owners (main thread), imported by the loader only when asked
// for: `data-debug` on the script tag or `?rapport-debug=1` in the page's address. It shows, for
// this browser's own visitor only: whether Rapport runs (and why not), the patterns and scores
// of the last batch sent, the active hints and their reasons, holdout membership, and every
// batch sent — in a small panel (a shadow root, styled through CSSOM only, so no CSP refuses
// it) and as a console group per batch. Nothing here is sent anywhere.

let panel = null;
let rapport = null;
let state = { status: "starting…", holdout: null, patterns: {}, hints: [], batches: 0 };

const fmt = (n) => (typeof n === "number" ? n.toFixed(2) : String(n));

function el(tag, text, style) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  Object.assign(node.style, style || {});
  return node;
}

function render() {
  if (!panel) return;
  const root = panel.shadowRoot;
  root.replaceChildren();
  const box = el("section", undefined, {
    font: "12px/1.4 system-ui, sans-serif",
    background: "#111",
    color: "#eee",
    padding: "8px 10px",
    borderRadius: "6px",
    maxWidth: "320px",
    maxHeight: "50vh",
    overflow: "auto",
    boxShadow: "0 2px 8px rgba(0,0,0,.4)",
  });
  box.setAttribute("aria-label", "Rapport debug");
  box.append(el("strong", "Rapport debug"));
  const holdout =
    state.holdout === null ? "not known yet" : state.holdout ? "yes — no hints shown" : "no";
  const lines = [
    `status: ${state.status}`,
    `holdout (control group): ${holdout}`,
    `batches sent: ${state.batches}`,
  ];
  for (const line of lines) box.append(el("div", line));
  const names = Object.keys(state.patterns).sort((a, b) => state.patterns[b] - state.patterns[a]);
  box.append(el("div", "patterns:", { marginTop: "4px", fontWeight: "bold" }));
  if (!names.length) box.append(el("div", "(none sent yet)"));
  for (const name of names) box.append(el("div", `${name} ${fmt(state.patterns[name])}`));
  box.append(el("div", "hints:", { marginTop: "4px", fontWeight: "bold" }));
  if (!state.hints.length) box.append(el("div", "(none)"));
  for (const hint of state.hints) {
    const reasons = (hint.reasons || []).map((r) => (typeof r === "string" ? r : JSON.stringify(r)));
    box.append(el("div", `${hint.id || hint.kind} (${hint.pattern}) — ${reasons.join("; ")}`));
  }
  root.append(box);
}

function mount() {
  if (panel || !document.body) return;
  panel = el("div", undefined, { position: "fixed", left: "8px", bottom: "8px", zIndex: "2147483600" });
  panel.setAttribute("data-rapport-debug", "");
  panel.attachShadow({ mode: "open" });
  document.body.append(panel);
  render();
}

/** Called by the loader with window.rapport and whether privacy settings (GPC/DNT) turned it off. */
export function start(api, off) {
  rapport = api;
  window.__rapportDebug = state; // for `rapport check` and the owner's console
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
  if (off) state.status = "off: Global Privacy Control / Do Not Track, or no Web Crypto";
  rapport.ready.then((ok) => {
    if (ok) state.status = "running";
    else if (!off) state.status = "off: see the console (CSP, worker refused, or no endpoint)";
    console.info("[rapport] ready:", ok, "—", state.status);
    render();
  });
  rapport.on("hint", (hints) => {
    state.hints = hints;
    console.groupCollapsed(`[rapport] ${hints.length} hint(s)`);
    for (const h of hints) console.info(h.id || h.kind, h.pattern, "strength", h.strength, h.reasons);
    console.groupEnd();
    render();
  });
}

/** Every message the worker posts to the page; batches sent arrive as {t: "sent"}. */
export function on(message) {
  if (!message || message.t !== "sent") return;
  state.holdout = message.h;
  state.batches += 1;
  let body = null;
  try {
    body = message.b ? JSON.parse(message.b) : null;
  } catch {
    body = null;
  }
  const signals = (body && body.signals) || [];
  for (const s of signals) if (s.kind === "pattern") state.patterns[s.name] = s.score;
  console.groupCollapsed(
    `[rapport] batch sent: HTTP ${message.s || "network error"}, ${signals.length} signal(s)` +
      (message.h ? " — this visitor is in the holdout (control group): no hints are shown" : ""),
  );
  console.table(signals);
  console.groupEnd();
  render();
}
