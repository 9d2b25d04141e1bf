/* The visitor's rights, from any page of the site, whether or not Rapport runs (GPC, CSP…): rare
 * calls, so their code is an add-on (src/rights.mjs) imported on the first one. It needs the
 * secret (visitor.js); after an erase it stops Rapport on this page (`fail`). */
import { store, site, endpoint, addOn } from "./page.js";
import { sha, visitorKey } from "./visitor.js";
import { fail } from "./boot.js";

const RIGHTS = "__RIGHTS__";

/**
 * rapport.visitor.export() (GET) and erase() (DELETE): {status, body}, status 0 when not possible.
 * @param {"GET" | "DELETE"} method
 * @returns {Promise<{status: number, body: unknown}>}
 */
export const rights = (method) =>
  addOn(RIGHTS)
    .then((m) => m.rights(method, { site: site, endpoint: endpoint, store: store, visitorKey: visitorKey, sha: sha, fail: fail }))
    .catch(() => ({ status: 0, body: null }));
