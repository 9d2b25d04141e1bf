// Types for `tsc --checkJs` over the worker's modules (tsconfig.worker.json).
// Replaced by the build (wasm_build/build.py) with Pyodide's lock info, a JSON object.
declare const __LOCK_INFO__: unknown;
interface WorkerGlobalScope {
  /** When each start-up step ended (epoch ms), for bench/page_cost.py. */
  rapportBoot: Record<string, number>;
}
