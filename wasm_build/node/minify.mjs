// Minify with terser (pinned in package-lock.json): the loader (a classic script) or, with
// "module", an ES module (the worker, the add-ons, Pyodide's JS). Licence comments (@license,
// @preserve, /*! …) are kept. usage: node minify.mjs <in> <out> [module]
import { readFileSync, writeFileSync } from "node:fs";
import { minify } from "terser";

const [input, output, kind] = process.argv.slice(2);
const module = kind === "module";
const result = await minify(readFileSync(input, "utf8"), {
  ecma: module ? 2020 : 2017,
  module,
  compress: { passes: 3, unsafe_arrows: false },
  mangle: { toplevel: true },
  format: { comments: "some" },
});
writeFileSync(output, result.code);
