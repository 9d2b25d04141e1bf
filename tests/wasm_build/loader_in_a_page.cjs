// Runs a built rapport.js as a classic script, twice, in a bare page where Rapport is off (Global
// Privacy Control), and prints what it left on the page: the globals it added and the API's shape.
// usage: node loader_in_a_page.cjs <rapport.js>   (tests/wasm_build/test_bundle.py)
const fs = require("node:fs");
const vm = require("node:vm");

const code = fs.readFileSync(process.argv[2], "utf8");
const attrs = { "data-site": "pk_test" };
const tag = {
  src: "https://rapport.example/sdk/rapport.js",
  getAttribute: (name) => attrs[name] ?? null,
  hasAttribute: (name) => name in attrs,
};
const listeners = [];
const page = {
  navigator: { globalPrivacyControl: true },
  document: { currentScript: tag, querySelectorAll: () => [], addEventListener: (type) => listeners.push(type) },
  location: { search: "" },
  URL,
  console,
};
page.window = page;
vm.createContext(page);
const before = new Set(Object.getOwnPropertyNames(page));
new vm.Script(code).runInContext(page);
const api = page.rapport;
new vm.Script(code).runInContext(page);
api.ready.then((ready) => {
  console.log(JSON.stringify({
    added: Object.getOwnPropertyNames(page).filter((name) => !before.has(name)),
    api: Object.keys(api),
    visitor: Object.keys(api.visitor),
    camera: Object.keys(api.camera),
    ready,
    second_copy_kept_the_first: page.rapport === api,
    listeners,
  }));
});
