// Types of what the loader's concerns share (src/loader/*.js), for `tsc --checkJs` only: the
// build joins the .js files into one classic script and never reads this file.

/** A hint as the worker hands it over (client_py/agent.py → worker.mjs `{t: "hints"}`). */
export interface Hint {
  id?: string;
  pattern: string;
  kind: string;
  /** More pattern names or kinds that show the same boxes. */
  also?: string[];
}

/** One captured event, `["code", t, …]`: client_py.events.EVENT_CODES parses each code. */
export type Captured = [string, number, ...unknown[]];

/** What the worker posts to the page (worker.mjs `post`; `up` first, any message stops the
 * loader's clock on the worker script); anything else goes to the camera. */
export type FromWorker =
  | { t: "up" }
  | { t: "ready" }
  | { t: "hints"; hints: Hint[] }
  | { t: "state"; s: string }
  | { t: "err"; m?: string }
  | { t: "sent"; h: boolean | null; s?: number; b?: string }
  | { t: string; [field: string]: unknown };

/** `localStorage` or `sessionStorage` of the host page. */
export type Area = "localStorage" | "sessionStorage";

/** An add-on module imported on demand (camera.mjs, rights.mjs, debug.mjs). */
export type AddOn = Promise<any>;
