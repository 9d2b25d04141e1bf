// Rapport's testing kit for @playwright/test: the personas of server/testing/journeys.py (same
// steps, same timings) on any page marked with data-rapport-section / -item / -chat, and the
// same assertions. Shipped in the Python package (server/testing/js/); typed by
// rapport-testing.d.ts. Timing is seeded: the same seed makes the same visitor.
import { createHash, randomBytes } from "node:crypto";

const MARKUP = `() => {
  const all = [...document.querySelectorAll('[data-rapport-section]')];
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const links = [...document.querySelectorAll('a[href]')]
    .filter((a) => a.origin === location.origin && a.pathname !== location.pathname)
    .sort((a, b) => (b.closest('main') ? 1 : 0) - (a.closest('main') ? 1 : 0))
    .map((a) => a.origin + a.pathname);
  return { url: location.href,
    sections: all.map((e, i) => ({ name: e.getAttribute('data-rapport-section'),
      item: e.getAttribute('data-rapport-item'), index: i })).filter((s) => visible(all[s.index])),
    chats: [...document.querySelectorAll('[data-rapport-chat]')].filter(visible).length,
    fields: [...document.querySelectorAll('input[type=text]:not([data-rapport-chat]),'
      + 'input:not([type]):not([data-rapport-chat])')].filter(visible).length,
    links: [...new Set(links)] };
}`;
const PICK = (t) => (typeof t === "number" ? document.querySelectorAll("[data-rapport-section]")[t] : document.querySelector(t));
const DEAD_SPOT = (seed) => {
  let n = seed; const rnd = () => (n = (n * 16807) % 2147483647) / 2147483647;
  const live = "a,button,input,textarea,select,label,summary,video,iframe,[onclick],"
    + "[role=button],[role=link],[tabindex],[contenteditable],[data-rapport-show]";
  const big = (e) => { const r = e.getBoundingClientRect(); return r.width >= 120 && r.height >= 80; };
  const cands = [...document.querySelectorAll("main img, img, [data-rapport-section]")].filter((e) => big(e) && !e.closest(live));
  for (const e of cands) {
    e.scrollIntoView({ block: "center" });
    const r = e.getBoundingClientRect();
    for (let k = 0; k < 40; k++) {
      const x = r.x + 30 + rnd() * Math.max(1, r.width - 60);
      const y = Math.max(r.y, 0) + 20 + rnd() * Math.max(1, Math.min(r.height, innerHeight) - 40);
      const at = document.elementFromPoint(x, y);
      if (at && !at.closest(live)) return { x, y };
    }
  }
  return null;
};

export class MissingMarkup extends Error {}
export class RapportNotReady extends Error {}

/** A seeded random source (mulberry32 over a hash of the seed text). */
export function seeded(seed) {
  let a = createHash("sha256").update(String(seed)).digest().readUInt32BE(0);
  const next = () => { a = (a + 0x6d2b79f5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  return { random: next, uniform: (lo, hi) => lo + (hi - lo) * next(),
    randint: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    choice: (xs) => xs[Math.floor(next() * xs.length)],
    sample: (xs, k) => { const c = [...xs]; const out = []; while (out.length < k && c.length) out.push(c.splice(Math.floor(next() * c.length), 1)[0]); return out; } };
}

const declared = (m) => { const names = [...new Set(m.sections.map((s) => s.name))].sort();
  return names.length ? names.join(", ") + (m.chats ? ", a chat input" : "") : "nothing"; };
const need = (m, persona, ...alts) => { const found = m.sections.filter((s) => alts.includes(s.name));
  if (!found.length) throw new MissingMarkup(`${persona} needs a visible data-rapport-section=${alts.map((a) => `"${a}"`).join(" or ")} element on ${m.url} (the page declares: ${declared(m)})`);
  return found; };
const needChat = (m, persona) => { if (!m.chats) throw new MissingMarkup(`${persona} types into a chat: ${m.url} has no visible input or textarea marked data-rapport-chat (the page declares: ${declared(m)})`); };
const withQuery = (url, params) => { const u = new URL(url); for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v); return u.href; };
const plain = (url) => { const u = new URL(url); u.search = ""; u.hash = ""; return u.href; };

async function open(page, url) {
  await page.goto(url);
  const ready = await page.evaluate("window.rapport ? window.rapport.ready : null");
  if (ready === null) throw new RapportNotReady(`${url} has no Rapport: window.rapport is missing (add the script tag <script src=…/sdk/rapport.js data-site=pk_… async>)`);
  if (ready !== true) throw new RapportNotReady(`Rapport did not get ready on ${url} (rapport.ready is false: blocked by the CSP, an unknown site key or origin, GPC/DNT, or the boot timed out; \`rapport check URL\` says why)`);
  return page.evaluate(`(${MARKUP})()`);
}
async function read(page, target, seconds, rng) {
  await page.evaluate(`(${PICK})(${JSON.stringify(target)}).scrollIntoView({block: 'center'})`);
  let left = seconds * 1000;
  while (left > 0) { await page.mouse.move(rng.uniform(200, 1000), rng.uniform(150, 600));
    const step = Math.min(left, rng.uniform(600, 1300)); await page.waitForTimeout(Math.round(step)); left -= step; }
}
async function restOn(page, target, seconds, rng) {
  const box = await page.evaluate(`(() => { const el = (${PICK})(${JSON.stringify(target)}); el.scrollIntoView({block: 'center'}); const r = el.getBoundingClientRect(); return {x: r.x, y: r.y, width: r.width, height: r.height}; })()`);
  let left = seconds * 1000;
  while (left > 0) { await page.mouse.move(box.x + box.width * rng.uniform(0.2, 0.8), box.y + box.height * rng.uniform(0.2, 0.8));
    const step = Math.min(left, rng.uniform(300, 700)); await page.waitForTimeout(Math.round(step)); left -= step; }
}
async function chat(page, text, rng, typed) {
  const field = page.locator("[data-rapport-chat] >> visible=true").first();
  await field.click(); await field.pressSequentially(text, { delay: rng.randint(15, 40) }); await field.press("Enter");
  typed.push(text); await page.waitForTimeout(rng.randint(300, 900));
}
const natural = (s, rng) => s * rng.uniform(0.85, 1.15);
const URGENT = ["I need it by tomorrow, asap! Is express possible?", "Срочно нужна доставка на завтра!", "Can you ship it today? It's urgent", "Нужно как можно скорее, успеете к пятнице?"];
const RESEARCH = ["What is the battery life with noise cancelling on?", "Какая ёмкость аккумулятора и вес?", "Is it compatible with bluetooth 5.0 laptops?", "What is the packed weight and what are the specs of the frame?"];
const PROBLEM = ["Where is my order? It has not arrived yet", "Где мой заказ? Не пришёл до сих пор", "I want to return the headphones, how do I get a refund?", "Заказ не пришёл, хочу оформить возврат", "Where is my parcel? It still has not arrived"];
const ANGRY = ["This is ridiculous, nothing works on this page!!!", "Ничего не работает, это просто безобразие!!!", "WHY DOES NOTHING HAPPEN?? Terrible site", "Nothing works on this page!!! Where is my order??"];

const JOURNEYS = {
  async hesitant(page, url, rng) {
    const m = await open(page, url);
    const price = need(m, "hesitant", "price")[0]; const calm = rng.choice(need(m, "hesitant", "returns", "warranty"));
    await read(page, price.index, rng.uniform(8, 10), rng); await read(page, calm.index, rng.uniform(8, 10), rng);
    await read(page, price.index, rng.uniform(2, 4), rng);
  },
  async urgent(page, url, rng, typed) {
    const m = await open(page, url);
    const delivery = need(m, "urgent", "delivery")[0]; needChat(m, "urgent");
    await read(page, delivery.index, rng.uniform(6, 8), rng); await chat(page, rng.choice(URGENT), rng, typed);
    for (const p of m.sections.filter((s) => s.name === "price").slice(0, 1)) await read(page, p.index, rng.uniform(1, 2), rng);
    await page.evaluate("window.rapport.track('add_to_cart')"); await page.waitForTimeout(rng.randint(1000, 2000));
  },
  async researcher(page, url, rng, typed) {
    const m = await open(page, url);
    const specs = need(m, "researcher", "specs")[0]; const reviews = need(m, "researcher", "reviews")[0];
    await read(page, specs.index, rng.uniform(14, 17), rng);
    await page.evaluate(`(() => { const s = (${PICK})(${specs.index}); const cell = s.querySelector('td, li, dd, p, span') || s; const r = new Range(); r.selectNodeContents(cell); getSelection().removeAllRanges(); getSelection().addRange(r); cell.dispatchEvent(new ClipboardEvent('copy', {bubbles: true})); })()`);
    await read(page, reviews.index, rng.uniform(10, 13), rng);
    if (m.chats) await chat(page, rng.choice(RESEARCH), rng, typed);
    await page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)"); await page.waitForTimeout(rng.randint(800, 1500));
  },
  async returning_with_problem(page, url, rng, typed) {
    const earlier = await page.context().newPage();
    await open(earlier, plain(url));
    for (let i = rng.randint(2, 4); i > 0; i--) { await earlier.mouse.move(rng.uniform(200, 1000), rng.uniform(150, 600));
      await earlier.mouse.wheel(0, rng.randint(150, 400)); await earlier.waitForTimeout(rng.randint(500, 1000)); }
    await earlier.waitForFunction("window.rapport.holdout() !== null", null, { timeout: 90000 }); await earlier.close();
    const m = await open(page, withQuery(url, { utm_medium: rng.choice(["email", "newsletter"]), utm_source: "crm" }));
    const status = need(m, "returning_with_problem", "order-status")[0]; needChat(m, "returning_with_problem");
    await read(page, status.index, rng.uniform(5, 7), rng);
    if (m.fields) { const code = `ORD-${rng.randint(10000, 99999)}`; await page.locator(":is(input[type=text], input:not([type])):not([data-rapport-chat]) >> visible=true").first().fill(code); typed.push(code); }
    for (const c of m.sections.filter((s) => s.name === "contacts").slice(0, 1)) await read(page, c.index, rng.uniform(3, 5), rng);
    await chat(page, rng.choice(PROBLEM), rng, typed); await read(page, status.index, rng.uniform(2, 3), rng);
  },
  async irritated(page, url, rng, typed) {
    const m = await open(page, url); needChat(m, "irritated");
    const spot = await page.evaluate(DEAD_SPOT, rng.randint(1, 2 ** 31 - 2));
    if (!spot) throw new MissingMarkup(`irritated clicks where nothing happens: ${m.url} has no image or marked section at least 120×80 px with a spot free of links, buttons and fields`);
    for (let b = 0; b < 2; b++) { for (let i = rng.randint(3, 5); i > 0; i--) { await page.mouse.click(spot.x + rng.uniform(-8, 8), spot.y + rng.uniform(-8, 8)); await page.waitForTimeout(rng.randint(80, 300)); }
      await page.waitForTimeout(rng.randint(2800, 3500)); }
    await chat(page, rng.choice(ANGRY), rng, typed); await page.waitForTimeout(rng.randint(2800, 3500));
  },
  async comparison_shopper(page, url, rng) {
    const m = await open(page, url);
    const items = {}; for (const s of m.sections) if (s.item && ["price", "specs"].includes(s.name)) (items[s.item] ||= []).push(s);
    const skus = Object.keys(items).sort();
    if (skus.length < 3) throw new MissingMarkup(`comparison_shopper needs 3 or more items (data-rapport-item on price or specs sections) on ${url}; found ${skus.length}`);
    const picks = rng.sample(skus, Math.min(4, skus.length));
    for (const sku of picks) await restOn(page, rng.choice(items[sku]).index, natural(1.8, rng), rng);
    for (const sku of rng.sample(picks, 2)) { const prices = items[sku].filter((s) => s.name === "price"); await restOn(page, (prices[0] || items[sku][0]).index, natural(1.5, rng), rng); }
  },
  async neutral(page, url, rng) {
    const m = await open(page, url);
    if (!m.sections.length) throw new MissingMarkup(`neutral needs at least one data-rapport-section on ${url}`);
    for (let i = rng.randint(1, 2); i > 0; i--) { await page.mouse.wheel(0, rng.randint(150, 350)); await page.waitForTimeout(rng.randint(600, 1200)); }
    const quiet = m.sections.filter((s) => !["returns", "warranty", "order-status", "contacts"].includes(s.name));
    const pool = quiet.length ? quiet : m.sections;
    // Brief glances in page order: long reads or going back up to the price look like intent.
    const glances = rng.sample(pool, Math.min(2, pool.length)).sort((a, b) => a.index - b.index);
    for (const s of glances) await read(page, s.index, rng.uniform(1.5, 2.5), rng);
  },
};
export const PERSONAS = Object.keys(JOURNEYS);

const watches = new WeakMap();
const isCollect = (url) => url.split("?")[0].endsWith("/v1/collect");
/** Record the requests of the page's context and the server's answers (idempotent). */
export function watch(page) {
  const context = page.context();
  if (watches.has(context)) return watches.get(context);
  const w = { requests: [], bodies: [], hints: new Map(), holdout: false };
  context.on("request", (r) => { w.requests.push(r); if (isCollect(r.url()) && r.method() === "POST") w.bodies.push(JSON.parse(r.postData() || "{}")); });
  context.on("response", async (r) => { if (!isCollect(r.url()) || r.status() !== 200) return;
    try { const body = await r.json(); w.holdout ||= !!body.holdout; for (const h of body.hints || []) if (!w.hints.has(h.id)) w.hints.set(h.id, h); } catch {} });
  watches.set(context, w);
  return w;
}

/** Drive a persona on the page (url: where to start, else the page's address). */
export async function play(page, persona, { url, seed = 0 } = {}) {
  if (!JOURNEYS[persona]) throw new Error(`unknown persona ${persona}: one of ${PERSONAS.join(", ")}`);
  watch(page);
  const typed = [];
  await JOURNEYS[persona](page, url || page.url(), seeded(`${persona}:${seed}`), typed);
  return { persona, seed, typed };
}

export const sentRequests = (page) => [...watch(page).requests];
export const capturedSignals = (page, kind) => watch(page).bodies.flatMap((b) => b.signals || []).filter((s) => !kind || s.kind === kind);
export async function hintsReceived(page) {
  const w = watch(page);
  try { for (const h of await page.evaluate("window.rapport && window.rapport.hints ? window.rapport.hints() : []")) if (!w.hints.has(h.id)) w.hints.set(h.id, h); } catch {}
  return [...w.hints.values()];
}
const describe = (h) => `${h.kind} for ${h.pattern} (strength ${h.strength}, source ${h.source || "behaviour"}): ${(h.reasons || []).join("; ") || "no reason given"}`;

/** Wait for a hint with this pattern and/or kind and return it; the failure lists every hint received and why. */
export async function expectHint(page, { pattern, kind, within = 30 } = {}) {
  if (!pattern && !kind) throw new Error("expectHint needs pattern or kind");
  const deadline = Date.now() + within * 1000;
  let hints = [];
  for (;;) {
    hints = await hintsReceived(page);
    const hit = hints.find((h) => (!pattern || h.pattern === pattern) && (!kind || h.kind === kind));
    if (hit) return hit;
    if (Date.now() > deadline) break;
    await page.waitForTimeout(250);
  }
  const last = {}; for (const s of capturedSignals(page, "pattern")) last[s.name] = s.score;
  const scores = Object.entries(last).sort((a, b) => b[1] - a[1]).slice(0, 5).map(([n, s]) => `${n} ${s.toFixed(2)}`).join(", ") || "none sent";
  const wanted = [pattern && `pattern '${pattern}'`, kind && `kind '${kind}'`].filter(Boolean).join(" and ");
  throw new Error(`no hint with ${wanted} within ${within} s on ${page.url()}\nhints received:\n${hints.map((h) => `  - ${describe(h)}`).join("\n") || "  (none)"}\nthe client's last pattern scores: ${scores}${watch(page).holdout ? "\nthis visitor is in the control group (holdout)" : ""}`);
}

/** The box becomes visible. */
export async function expectShown(locator, { within = 30 } = {}) {
  await locator.waitFor({ state: "visible", timeout: within * 1000 });
}

const words = (t) => t.split(/\s+/).map((w) => w.replace(/^[.,!?;:"'()«»…]+|[.,!?;:"'()«»…]+$/g, ""));
/** No typed text, field value, query string, pixels or oversized body in any request to Rapport. */
export function assertNothingPrivate(requests, { typed = [], endpoint } = {}) {
  const needles = new Set();
  for (const t of typed) { const text = t.split(/\s+/).join(" "); if (text.length >= 4) needles.add(text.toLowerCase());
    const w = words(text); for (let i = 0; i + 2 < w.length; i++) { const run = w.slice(i, i + 3).join(" "); if (run.length >= 10) needles.add(run.toLowerCase()); } }
  const problems = [];
  for (const r of requests) {
    const url = r.url(); if (url.startsWith("blob:") || url.startsWith("data:")) continue;
    const ours = endpoint ? url.startsWith(endpoint.replace(/\/$/, "") + "/") : /\/(v1|sdk)\//.test(new URL(url).pathname);
    if (!ours) continue;
    const where = `${r.method()} ${url}`;
    if (new URL(url).search && (url.includes("/v1/") || r.method() !== "GET")) problems.push(`${where}: a query string`);
    const body = r.postDataBuffer(); if (!body || !body.length) continue;
    if (body.length > 64000) problems.push(`${where}: a ${body.length}-byte body (pixels?)`);
    let text = body.toString("utf8"); try { text = JSON.stringify(JSON.parse(text)); } catch {}
    if (/data:(image|video)/.test(text)) problems.push(`${where}: a data: image`);
    for (const n of needles) if (text.toLowerCase().includes(n)) problems.push(`${where}: carries '${n}'`);
  }
  if (problems.length) throw new Error("private data left the page:\n  " + problems.join("\n  "));
}

const b64 = (buf) => buf.toString("base64url");
const sha = (text) => createHash("sha256").update(text, "utf8").digest();
/** An init script that puts this context's visitor in (control: true) or out of the control group of a site. */
export function holdoutScript({ siteId, share, control }) {
  if (control && share <= 0) throw new Error("this site has no control group (holdout share 0): no visitor can be in it");
  for (;;) {
    const secret = b64(randomBytes(18));
    const visitor = b64(sha(b64(sha("rapport/visitor-key/v1:" + secret)))).slice(0, 22);
    const inControl = share > 0 && sha(`rapport-holdout:${siteId}:${visitor}`).readBigUInt64BE(0) < BigInt(Math.floor(share * 2 ** 53)) * 2048n;
    if (inControl === control) return `(() => { try { if (localStorage.getItem('rapport:vs')) return; localStorage.setItem('rapport:vs', ${JSON.stringify(secret)}); sessionStorage.getItem('rapport:sid') || sessionStorage.setItem('rapport:sid', ${JSON.stringify(b64(randomBytes(16)))}); } catch (e) {} })();`;
  }
}
/** rapport.holdout() says `control` once the server answered a batch. */
export async function expectHoldout(page, control, { within = 30 } = {}) {
  const state = await page.waitForFunction("window.rapport && window.rapport.holdout() !== null && window.rapport.holdout()", null, { timeout: within * 1000 }).then((h) => h.jsonValue()).catch(() => null);
  if (state !== control) throw new Error(`rapport.holdout() is ${state}, expected ${control}`);
}

// One function per persona: hesitant(page, {url, seed}) …
export const hesitant = (page, o) => play(page, "hesitant", o);
export const urgent = (page, o) => play(page, "urgent", o);
export const researcher = (page, o) => play(page, "researcher", o);
export const returningWithProblem = (page, o) => play(page, "returning_with_problem", o);
export const irritated = (page, o) => play(page, "irritated", o);
export const comparisonShopper = (page, o) => play(page, "comparison_shopper", o);
export const neutral = (page, o) => play(page, "neutral", o);
