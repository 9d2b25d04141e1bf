// The visitor's rights (see, export, erase), imported by the loader on the first
// rapport.visitor.export() / erase(): rare calls whose code need not weigh on every page.
// `ctx` is the loader's: the site, the API endpoint, its storage helper, how the visitor key is
// derived from the secret and its base64url SHA-256 (id = sha(key)[:22], client_py/identity.py),
// and `fail` (stop Rapport on this page).
// Both named in worker.mjs too.
const ERASED = "rapport-erased";
const COLLECT_LOCK = "rapport-collect";

function tellTabs() {
  if (self.BroadcastChannel) new BroadcastChannel(ERASED).postMessage(0);
}

export function rights(method, { site, endpoint, store, visitorKey, sha, fail }) {
  const secret = store("localStorage", "rapport:vs");
  if (!secret || !endpoint) return Promise.resolve({ status: 0, body: null });
  const erasing = method == "DELETE";
  // Erasing: every tab of the site, this one included, stops sending first (worker.mjs listens),
  // or a batch sent while the erase runs would be stored after it, under the erased visitor. If
  // the erase then fails, Rapport stays off in those tabs, as here.
  if (erasing) tellTabs();
  const call = (v) => {
    if (erasing) fail(); // this page's worker ends here, its batches in flight answered
    return fetch(endpoint + "/v1/visitors/" + v.slice(0, 22) + "?site=" + encodeURIComponent(site), {
      method,
      headers: { Authorization: "Bearer " + secret },
      credentials: "omit",
    });
  };
  // A batch a tab had already sent may still be on its way: every tab's worker holds this lock
  // (shared) while a batch is in flight, so the erase, holding it alone, runs after the last.
  const locks = erasing && self.navigator.locks;
  return visitorKey(secret)
    .then(sha)
    .then((v) => (locks ? locks.request(COLLECT_LOCK, () => call(v)) : call(v)))
    .then((r) => {
      if (erasing && r.ok) {
        // Forgotten: the next page starts a new, unlinkable visitor. The warm-start snapshot
        // holds nothing of the visitor, but Rapport leaves nothing of its own behind either.
        ["rapport:vs"].forEach((k) => localStorage.removeItem(k));
        ["rapport:sid", "rapport:state"].forEach((k) => sessionStorage.removeItem(k));
        navigator.storage
          ?.getDirectory()
          .then((root) => root.removeEntry("rapport-boot", { recursive: true }))
          .catch(() => {});
        // Again, for a tab that started while the erase ran.
        tellTabs();
      }
      return r
        .json()
        .catch(() => null)
        .then((b) => ({ status: r.status, body: b }));
    })
    .catch(() => ({ status: 0, body: null }));
}
