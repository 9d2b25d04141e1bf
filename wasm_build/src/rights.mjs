// The visitor's rights (see, export, erase), imported by the loader on the first
// rapport.visitor.export() / erase(): rare calls whose code need not weigh on every page.
// `ctx` is the loader's: the site, the API endpoint, its storage helper, how the visitor key is
// derived from the secret and its base64url SHA-256 (id = sha(key)[:22], client_py/identity.py),
// and `fail` (stop Rapport on this page).
export function rights(method, { site, endpoint, store, visitorKey, sha, fail }) {
  const secret = store("localStorage", "rapport:vs");
  if (!secret || !endpoint) return Promise.resolve({ status: 0, body: null });
  // Erasing: this page stops sending first, or a batch it sends while the erase runs would be
  // stored after it, under the erased visitor. If the erase then fails, Rapport stays off here.
  if (method == "DELETE") fail();
  return visitorKey(secret)
    .then(sha)
    .then((v) =>
      fetch(endpoint + "/v1/visitors/" + v.slice(0, 22) + "?site=" + encodeURIComponent(site), {
        method,
        headers: { Authorization: "Bearer " + secret },
        credentials: "omit",
      }),
    )
    .then((r) => {
      if (method == "DELETE" && r.ok) {
        // Forgotten: the next page starts a new, unlinkable visitor. The warm-start snapshot
        // holds nothing of the visitor, but Rapport leaves nothing of its own behind either.
        ["rapport:vs"].forEach((k) => localStorage.removeItem(k));
        ["rapport:sid", "rapport:state"].forEach((k) => sessionStorage.removeItem(k));
        self.caches?.delete("rapport-boot").catch(() => {});
        // Other tabs of the site stop sending (worker.mjs listens): nothing re-creates the visitor.
        if (self.BroadcastChannel) new BroadcastChannel("rapport-erased").postMessage(0);
      }
      return r
        .json()
        .catch(() => null)
        .then((b) => ({ status: r.status, body: b }));
    })
    .catch(() => ({ status: 0, body: null }));
}
