// Minify the loader with terser (pinned in package-lock.json). usage: node minify.mjs <in> <out>
import { readFileSync, writeFileSync } from "node:fs";
import { minify } from "terser";

const [input, output] = process.argv.slice(2);
const result = await minify(readFileSync(input, "utf8"), {
  ecma: 2017,
  compress: { passes: 3, unsafe_arrows: false },
  mangle: { toplevel: true },
  format: { comments: false },
});
writeFileSync(output, result.code);
