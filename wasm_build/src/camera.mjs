// Rapport's camera add-on (main thread), imported by the loader only on sites that ask for it
// (data-camera="ask" on the script tag, or rapport.camera.ask()). It shows the consent prompt,
// and only after the visitor allows it opens the camera, grabs small frames at a low rate and
// transfers them to the worker, which analyses each one on the device and then drops it.
// The choice is kept per site (first-party localStorage "rapport:camera" = granted | denied).
// Refusing or revoking changes nothing else: the same hints keep coming from behaviour.
const KEY = "rapport:camera";
const WIDTH = 320;
const HEIGHT = 240;
const FPS = 5; // the script tag's data-camera-fps overrides it (1–15)

let ctx = null; // from the loader: {post(message, transfer), on(handler)}
let stream = null;
let video = null;
let timer = 0;
let idle = false; // the worker's Python saw no face for a while: one frame a second
let busy = false;
let frames = 0;
let timings = [];
let prompt = null; // the open consent dialog, if any
let badge = null;
let asking = null;

const api = () => (window.rapport && window.rapport.camera) || {};
const stored = () => {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
};
const store = (value) => {
  try {
    localStorage.setItem(KEY, value);
  } catch {
    // storage blocked: the choice holds for this page only
  }
};
const setState = (state) => {
  api().state = state;
  document.dispatchEvent(new CustomEvent("rapport:camera", { detail: { state } }));
};

function fps() {
  const script = document.querySelector("script[data-camera-fps]");
  const value = Number(script && script.getAttribute("data-camera-fps"));
  return value >= 1 && value <= 15 ? value : FPS;
}

/** (Re)start the frame timer at the current pace: the site's rate, or 1 fps while idle. */
function sample() {
  clearInterval(timer);
  timer = setInterval(grab, 1000 / (idle ? Math.min(1, fps()) : fps()));
}

function attach(context) {
  ctx = context;
  ctx.on(onWorker);
  const camera = api();
  camera.stats = () => ({ frames, ms: timings.slice(), idle });
  if (!camera.state) camera.state = "off";
}

function onWorker(message) {
  if (message.t === "fd") {
    busy = false;
    if (message.ms && stream) {
      frames = message.n;
      timings.push(message.ms);
      if (timings.length > 200) timings = timings.slice(-200);
    }
  } else if (message.t === "pace") {
    idle = !!message.idle;
    if (stream) sample();
  } else if (message.t === "cam" && message.ok === false) {
    halt(); // the models could not load here: stay harmless, ask nothing again this page
  } else if (message.t === "stop") {
    halt(); // the worker is gone (failure, or the visitor erased their data)
  }
}

const STYLE = `
:host{all:initial}
.box{position:fixed;z-index:2147483647;right:16px;bottom:16px;max-width:360px;box-sizing:border-box;
 background:#fff;color:#1b1b1b;border:2px solid #1b1b1b;border-radius:10px;padding:16px;
 font:15px/1.45 system-ui,sans-serif;box-shadow:0 6px 24px rgba(0,0,0,.25)}
h2{font-size:17px;margin:0 0 8px}
p{margin:0 0 10px}
.row{display:flex;gap:8px;flex-wrap:wrap}
button{font:inherit;padding:8px 14px;border-radius:6px;border:2px solid #1b1b1b;cursor:pointer;background:#fff;color:#1b1b1b}
button.yes{background:#1b1b1b;color:#fff}
button:focus-visible{outline:3px solid #1565c0;outline-offset:2px}
.badge{padding:8px 12px;display:flex;gap:10px;align-items:center}
`;

/** @returns {[HTMLDivElement, ShadowRoot]} */
function host(html) {
  const el = document.createElement("div");
  el.setAttribute("data-rapport-camera", "");
  const root = el.attachShadow({ mode: "open" });
  root.innerHTML = `<style>${STYLE}</style>${html}`;
  document.body.appendChild(el);
  return [el, root];
}

/** Show the consent prompt; resolves true (allowed) or false (refused or dismissed). */
function ask() {
  if (asking) return asking;
  if (stream) return Promise.resolve(true);
  setState("asking");
  const before = /** @type {HTMLElement | null} */ (document.activeElement);
  const site = location.hostname.replace(/^www\./, "");
  asking = new Promise((resolve) => {
    const [el, root] = host(
      `<div class="box" role="dialog" aria-modal="false" aria-labelledby="rc-t" aria-describedby="rc-d">
<h2 id="rc-t">Use your camera to adapt this page?</h2>
<div id="rc-d"><p>If you allow it, ${escape(site)} reads your facial expression <strong>on this device</strong>
to adapt the page (for example, offering help when you look puzzled).</p>
<p><strong>Video never leaves your device.</strong> Only averages over a few seconds (such as
“mostly neutral”) are sent. No photo, no face data, no recognition.</p>
<p>Refusing changes nothing else on this site. You can turn the camera off at any time.</p></div>
<div class="row"><button class="yes" type="button">Allow camera</button>
<button class="no" type="button">No thanks</button></div></div>`,
    );
    prompt = el;
    const [yes, no] = root.querySelectorAll("button");
    const done = (allowed, remember) => {
      el.remove();
      prompt = null;
      asking = null;
      if (remember) store(allowed ? "granted" : "denied");
      if (before && before.focus && document.contains(before)) before.focus();
      if (!allowed) setState("off");
      resolve(allowed ? start() : false);
    };
    yes.addEventListener("click", () => done(true, true));
    no.addEventListener("click", () => done(false, true));
    root.addEventListener("keydown", (/** @type {any} */ event) => {
      if (event.key === "Escape") done(false, false); // dismissed: not stored, nothing happens
      if (event.key === "Tab") {
        // keep keyboard focus on the two choices while the prompt is open
        event.preventDefault();
        (root.activeElement === yes ? no : yes).focus();
      }
    });
    yes.focus();
  });
  return asking;
}

function escape(text) {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function start() {
  if (stream) return true;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return fallback();
  setState("starting");
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { width: { ideal: WIDTH }, height: { ideal: HEIGHT }, frameRate: { ideal: fps() }, facingMode: "user" },
    });
  } catch {
    stream = null;
    return fallback(); // the browser's own permission was refused: nothing else changes
  }
  video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play().catch(() => {});
  ctx.post({ t: "cam", on: true });
  busy = false;
  idle = false;
  sample();
  showBadge();
  setState("on");
  return true;
}

function fallback() {
  setState("off");
  return false;
}

async function grab() {
  if (busy || !stream || !video || video.readyState < 2 || document.hidden) return;
  busy = true;
  let bitmap;
  try {
    // A camera that ignored the 320×240 request: scale the frame down to fit it here, so the
    // worker reads few pixels (models/infer.py's pipeline starts from this frame).
    const w = video.videoWidth;
    const h = video.videoHeight;
    const k = Math.min(1, WIDTH / w, HEIGHT / h);
    bitmap =
      k < 1
        ? await createImageBitmap(video, {
            resizeWidth: Math.max(1, Math.round(w * k)),
            resizeHeight: Math.max(1, Math.round(h * k)),
            resizeQuality: "medium",
          })
        : await createImageBitmap(video);
  } catch {
    busy = false;
    return;
  }
  if (!stream) {
    bitmap.close();
    busy = false;
    return;
  }
  // Transferred, not copied: after this line the page holds no pixels of the frame.
  ctx.post({ t: "frame", b: bitmap, ts: Date.now() }, [bitmap]);
}

function showBadge() {
  if (badge) return;
  const [el, root] = host(
    `<div class="box badge" role="region" aria-label="Camera"><span>Camera on: analysed on this device only</span>
<button type="button">Turn off</button></div>`,
  );
  badge = el;
  root.querySelector("button").addEventListener("click", () => {
    store("denied");
    halt();
  });
}

/** Stop everything: every track, the frame timer, the worker's models. */
function halt() {
  clearInterval(timer);
  timer = 0;
  if (stream) {
    for (const track of stream.getTracks()) track.stop();
    stream = null;
    if (ctx) ctx.post({ t: "cam", on: false });
  }
  if (video) {
    video.pause();
    video.srcObject = null;
    video = null;
  }
  busy = false;
  if (badge) badge.remove();
  badge = null;
  if (prompt) prompt.remove();
  prompt = null;
  setState("off");
  return false;
}

// ---- the loader calls these (each with its context) ----------------------------------------

/** Page load on a site with data-camera="ask": start if allowed before, else ask. */
export function auto(context) {
  attach(context);
  const choice = stored();
  if (choice === "denied") return false;
  return choice === "granted" ? start() : ask();
}

/** rapport.camera.ask(): show the prompt again (e.g. from the site's own "use camera" button). */
export function ask_(context) {
  attach(context);
  return ask();
}

/** rapport.camera.stop(): revoke (the loader has already stored "denied"). */
export function stop(context) {
  attach(context);
  return halt();
}

export { ask_ as ask };
