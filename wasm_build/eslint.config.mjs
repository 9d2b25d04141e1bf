// ESLint over the bundle's own JavaScript (wasm_build/src): run by `make test` (target lint-js).
// The loader catches and drops errors on purpose (nothing may throw into the host page), so an
// empty catch and an unused caught error are allowed; everything else is eslint:recommended.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["src/**/*.js", "src/**/*.mjs"],
    languageOptions: {
      ecmaVersion: 2022,
      globals: { ...globals.browser, ...globals.worker },
    },
    rules: {
      "no-empty": ["error", { allowEmptyCatch: true }],
      "no-unused-vars": ["error", { caughtErrors: "none" }],
    },
  },
  { files: ["src/stub.js"], languageOptions: { sourceType: "script" } },
  // The loader's modules, joined by the build into one closure (wasm_build/loader_join.py): one
  // top-level binding per statement, never `var`, so that the join can see every name it declares.
  { files: ["src/loader/*.js"], rules: { "no-var": "error", "one-var": ["error", "never"] } },
  // Replaced by the build (wasm_build/build.py) with Pyodide's lock info, a JSON object.
  { files: ["src/worker.mjs"], languageOptions: { globals: { __LOCK_INFO__: "readonly" } } },
];
