#!/usr/bin/env node
// Run the client_py unit tests (tests/client_py) with pytest INSIDE real Pyodide under Node.
//
//   node tests/pyodide/run_pytest.mjs [--wheels DIR] [--repo DIR] [--pyodide DIR]
//        [--requirements FILE] [--json-report FILE] [-- extra pytest args]
//
//   --repo          repo root (default: two levels above this script)
//   --wheels        dir of downloaded wheels (default: REPO/.cache/pyodide-wheels); exactly the
//                   `name==version` pins of --requirements are unpacked, other files ignored
//   --requirements  pins (default: requirements.txt beside this script)
//   --pyodide       the npm package dir (default: REPO/wasm_build/node_modules/pyodide, else
//                   the one beside this script's repo)
//   --json-report   write {exit_code, collected, outcomes, counts, ...} as JSON to FILE
//
// Nothing is mounted: client_py/, tests/client_py/ (and tests/__init__.py, if any) are COPIED
// into Pyodide's in-memory file system under /rapport, so the run cannot write into the repo
// (no Python 3.14 __pycache__, no .hypothesis/ or .pytest_cache/), and tests/conftest.py
// (CPython-only: server, Playwright) is never seen. No network: no micropip, no CDN.
//
// Exit code: pytest's own (0 passed, 1 failures, 2 interrupted, 3 internal error, 4 usage
// error, 5 no tests collected); 2 also when this runner itself fails (message on stderr,
// starting with "run_pytest.mjs: error:").

import fs from "node:fs";
import path from "node:path";
import tty from "node:tty";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const EXIT_RUNNER_ERROR = 2;
const ROOT = "/rapport"; // where the repo's files appear inside Pyodide
const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const INSTALL_HINT =
  ".venv/bin/pip download --only-binary=:all: --no-deps --python-version 3.14 " +
  "--implementation py --abi none --platform any " +
  "-r tests/pyodide/requirements.txt -d .cache/pyodide-wheels";
// Never copied into Pyodide: caches of other interpreters and tools.
const SKIP_NAMES = new Set([
  "__pycache__",
  ".pytest_cache",
  ".hypothesis",
  ".mypy_cache",
  ".ruff_cache",
]);
// Host variables passed through: terminal width/colour, and CI detection (hypothesis picks
// its "ci" settings profile from them, as it does in CPython).
const PASS_ENV = [
  "COLUMNS",
  "LINES",
  "TERM",
  "NO_COLOR",
  "FORCE_COLOR",
  "PY_COLORS",
  "CI",
  "GITHUB_ACTIONS",
];

const started = performance.now();
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

// Synchronous, complete writes straight to the fd: nothing is lost on process.exit(), and
// Python's stdout/stderr keep their order. Retries EAGAIN (a non-blocking pipe that is full).
function writeAllSync(fd, data) {
  let buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  while (buf.length > 0) {
    let n;
    try {
      n = fs.writeSync(fd, buf);
    } catch (e) {
      if (e.code === "EAGAIN") {
        Atomics.wait(sleepCell, 0, 0, 2);
        continue;
      }
      if (e.code === "EPIPE") return; // reader went away; nothing left to tell it
      throw e;
    }
    buf = buf.subarray(n);
  }
}
const out = (s) => writeAllSync(1, s);
const err = (s) => writeAllSync(2, s);

class RunnerError extends Error {}

// Set just before a deliberate exit: an event loop that empties while main() still waits
// (a promise that never settles) would otherwise end the process with code 0.
let finished = false;
process.on("exit", () => {
  if (finished) return;
  err("\nrun_pytest.mjs: error: Node's event loop emptied before the run finished\n");
  process.exitCode = EXIT_RUNNER_ERROR;
});

function finish(code) {
  finished = true;
  process.exit(code);
}

function die(e) {
  let msg;
  if (e instanceof RunnerError) msg = e.message;
  else if (e && e.constructor && e.constructor.name === "PythonError") msg = e.message;
  else msg = (e && e.stack) || String(e);
  try {
    err(`\nrun_pytest.mjs: error: ${msg}\n`);
  } finally {
    finish(EXIT_RUNNER_ERROR);
  }
}
process.on("unhandledRejection", (reason) => die(reason));
process.on("uncaughtException", (e) => die(e));

function parseCli(argv) {
  const sep = argv.indexOf("--");
  const own = sep === -1 ? argv : argv.slice(0, sep);
  const extra = sep === -1 ? [] : argv.slice(sep + 1);
  let values;
  try {
    ({ values } = parseArgs({
      args: own,
      strict: true,
      allowPositionals: false,
      options: {
        wheels: { type: "string" },
        repo: { type: "string" },
        pyodide: { type: "string" },
        requirements: { type: "string" },
        "json-report": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new RunnerError(`${e.message} (pytest args go after "--")`);
  }
  if (values.help) {
    const text = fs.readFileSync(fileURLToPath(import.meta.url), "utf8");
    out(text.split("\n\nimport ")[0].replace(/^#!.*\n/, "").replace(/^\/\/ ?/gm, "") + "\n");
    finish(0);
  }
  const repo = path.resolve(values.repo ?? path.join(SCRIPT_DIR, "..", ".."));
  return {
    repo,
    wheels: path.resolve(values.wheels ?? path.join(repo, ".cache", "pyodide-wheels")),
    pyodideDir: values.pyodide ? path.resolve(values.pyodide) : null,
    requirements: path.resolve(values.requirements ?? path.join(SCRIPT_DIR, "requirements.txt")),
    jsonReport: values["json-report"] ? path.resolve(values["json-report"]) : null,
    extra,
  };
}

function findPyodide(opts) {
  const candidates = opts.pyodideDir
    ? [opts.pyodideDir]
    : [
        path.join(opts.repo, "wasm_build", "node_modules", "pyodide"),
        path.join(SCRIPT_DIR, "..", "..", "wasm_build", "node_modules", "pyodide"),
      ];
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, "pyodide.mjs"))) return path.resolve(dir);
  }
  throw new RunnerError(
    `no Pyodide at ${candidates.join(" or ")}: run \`npm ci\` in wasm_build/ first`,
  );
}

const normName = (name) => name.toLowerCase().replace(/[-_.]+/g, "_");

// Pins are `name==version` lines (comments and blank lines allowed); the wheels are the files
// `{name}-{version}-...-none-any.whl` in the wheels dir.
function pinnedWheels(requirementsFile, wheelsDir) {
  if (!fs.existsSync(requirementsFile)) throw new RunnerError(`no ${requirementsFile}`);
  if (!fs.existsSync(wheelsDir) || !fs.statSync(wheelsDir).isDirectory()) {
    throw new RunnerError(
      `no wheels dir ${wheelsDir}: run the install step first (from the repo root):\n  ` +
        INSTALL_HINT,
    );
  }
  const files = fs.readdirSync(wheelsDir).filter((f) => f.endsWith(".whl"));
  const chosen = [];
  const missing = [];
  const lines = fs.readFileSync(requirementsFile, "utf8").split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.replace(/(^|\s)#.*$/, "").trim();
    if (!line) continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([A-Za-z0-9.+!_-]+)$/.exec(line);
    if (!m) {
      throw new RunnerError(
        `${requirementsFile}:${i + 1}: only exact "name==version" pins are supported: ${raw}`,
      );
    }
    const [, name, version] = m;
    const matches = files
      .filter((f) => {
        const parts = f.slice(0, -4).split("-");
        return parts.length >= 5 && normName(parts[0]) === normName(name) && parts[1] === version;
      })
      .sort();
    if (matches.length === 0) {
      missing.push(`${name}==${version}`);
      continue;
    }
    const pure = matches.filter((f) => f.endsWith("-none-any.whl"));
    if (pure.length === 0) {
      throw new RunnerError(
        `${name}==${version}: no pure-Python (none-any) wheel in ${wheelsDir}, only ` +
          `${matches.join(", ")}; compiled CPython wheels cannot load in Pyodide`,
      );
    }
    chosen.push(path.join(wheelsDir, pure[0]));
  }
  if (missing.length > 0) {
    throw new RunnerError(
      `wheels missing from ${wheelsDir}: ${missing.join(", ")}; run the install step ` +
        `(from the repo root):\n  ${INSTALL_HINT}`,
    );
  }
  if (chosen.length === 0) throw new RunnerError(`no pins in ${requirementsFile}`);
  return chosen;
}

// Copy a host file or tree into Pyodide's in-memory FS (symlinks followed; caches skipped).
function copyIn(FS, hostPath, destPath) {
  const st = fs.statSync(hostPath);
  if (st.isDirectory()) {
    FS.mkdirTree(destPath);
    let n = 0;
    for (const name of fs.readdirSync(hostPath).sort()) {
      if (SKIP_NAMES.has(name) || name.endsWith(".pyc")) continue;
      n += copyIn(FS, path.join(hostPath, name), `${destPath}/${name}`);
    }
    return n;
  }
  if (!st.isFile()) return 0;
  FS.writeFile(destPath, fs.readFileSync(hostPath));
  return 1;
}

function seconds() {
  return ((performance.now() - started) / 1000).toFixed(1);
}

async function main() {
  const opts = parseCli(process.argv.slice(2));
  for (const [what, rel] of [
    ["client package", "client_py"],
    ["client tests", path.join("tests", "client_py")],
  ]) {
    const p = path.join(opts.repo, rel);
    if (!fs.existsSync(p) || !fs.statSync(p).isDirectory()) {
      throw new RunnerError(`no ${what} at ${p} (is --repo right?)`);
    }
  }
  const wheels = pinnedWheels(opts.requirements, opts.wheels);
  const pyodideDir = findPyodide(opts);

  const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
  const env = { HOME: "/home/pyodide", PYTHONDONTWRITEBYTECODE: "1" };
  for (const key of PASS_ENV) {
    if (process.env[key] !== undefined) env[key] = process.env[key];
  }
  const pyodide = await loadPyodide({ indexURL: pyodideDir + path.sep, env });
  const writer = (fd) => ({
    isatty: tty.isatty(fd),
    write(buf) {
      writeAllSync(fd, buf);
      return buf.length;
    },
  });
  pyodide.setStdout(writer(1));
  pyodide.setStderr(writer(2));

  const ns = pyodide.globals.get("dict")();
  const mainPy = path.join(SCRIPT_DIR, "pyodide_main.py");
  pyodide.runPython(fs.readFileSync(mainPy, "utf8"), { globals: ns, filename: mainPy });
  out(`${ns.get("banner")()} (Node ${process.version}, Pyodide loaded in ${seconds()} s)\n`);

  const sitePackages = pyodide.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
  for (const whl of wheels) {
    pyodide.unpackArchive(new Uint8Array(fs.readFileSync(whl)), "wheel", {
      extractDir: sitePackages,
    });
  }
  out(`pyodide-runner: unpacked ${wheels.map((w) => path.basename(w)).join(", ")}\n`);

  const FS = pyodide.FS;
  let copied = copyIn(FS, path.join(opts.repo, "client_py"), `${ROOT}/client_py`);
  // The tests import rapport.client_py (the installed layout): the same files.
  FS.mkdirTree(`${ROOT}/rapport`);
  FS.writeFile(`${ROOT}/rapport/__init__.py`, "");
  copied += copyIn(FS, path.join(opts.repo, "client_py"), `${ROOT}/rapport/client_py`);
  FS.mkdirTree(`${ROOT}/tests`);
  const testsInit = path.join(opts.repo, "tests", "__init__.py");
  if (fs.existsSync(testsInit)) copied += copyIn(FS, testsInit, `${ROOT}/tests/__init__.py`);
  copied += copyIn(FS, path.join(opts.repo, "tests", "client_py"), `${ROOT}/tests/client_py`);
  const pyproject = path.join(opts.repo, "pyproject.toml");
  const pyprojectText = fs.existsSync(pyproject) ? fs.readFileSync(pyproject, "utf8") : null;
  out(`pyodide-runner: copied ${copied} files of ${opts.repo} to ${ROOT} (${seconds()} s)\n`);

  const config = JSON.stringify({ root: ROOT, extra_args: opts.extra, pyproject_text: pyprojectText });
  const result = JSON.parse(ns.get("run")(config));
  ns.destroy();

  const c = result.counts;
  const summary = ["passed", "failed", "error", "skipped", "xfailed", "xpassed"]
    .map((k) => `${c[k] ?? 0} ${k}`)
    .join(", ");
  out(
    `pyodide-runner: ${result.collected.length} collected, ${summary} on ` +
      `sys.platform=${result.platform}; pytest exit code ${result.exit_code}; ${seconds()} s\n`,
  );
  if (opts.jsonReport) {
    fs.writeFileSync(opts.jsonReport, JSON.stringify({ ...result, pyodide: pyodide.version }));
  }
  const code = result.exit_code;
  return Number.isInteger(code) && code >= 0 && code <= 255 ? code : EXIT_RUNNER_ERROR;
}

main().then(finish, die);
