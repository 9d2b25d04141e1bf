// Precompile the stdlib and the client_py wheel to .pyc inside real Pyodide under Node, trim the
// stdlib to what the worker's flow imports, then prove the result works by booting Pyodide again
// from the trimmed files and running the same flow.
//
// Python imports the wheel from the zip itself, as in the worker: written to <client zip> before
// Python starts, which is on PYTHONPATH (see package_loader_stub.py).
//
// usage: node compile_python.mjs <pyodide dir> <py3-none-any wheel> <wasm_build dir> <out dir>
//                                <client zip> <chat-tone weights>
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [pyodideDir, wheelPath, buildDir, outDir, clientZip, tonePath] = process.argv.slice(2);
const { loadPyodide } = await import(join(pyodideDir, "pyodide.mjs"));
const lock = JSON.parse(readFileSync(join(pyodideDir, "pyodide-lock.json"), "utf8"));
const emptyLock = { info: lock.info, packages: {} };
const RECORD_INITS = "client_py/_record_inits.py";
mkdirSync(outDir, { recursive: true });

function addBuildModules(py) {
  py.FS.mkdirTree("/build");
  for (const name of ["pyodide_compile.py", "trace_flow.py"]) {
    py.FS.writeFile(`/build/${name}`, new Uint8Array(readFileSync(join(buildDir, name))));
  }
  py.runPython("import sys; sys.dont_write_bytecode = True; sys.path.append('/build')");
}

async function boot(wheel, options) {
  const t0 = performance.now();
  const py = await loadPyodide({
    indexURL: pyodideDir + "/",
    lockFileContents: emptyLock,
    packages: [],
    env: { PYTHONPATH: clientZip },
    fsInit: (FS) => FS.writeFile(clientZip, wheel),
    ...options,
  });
  const ms = performance.now() - t0;
  // What the worker does on a page's first chat message.
  py.FS.writeFile(py.pyimport("client_py.tone_model").MODEL_FILE, new Uint8Array(readFileSync(tonePath)));
  return { py, ms };
}

// 1. Full stdlib: run the flow, import the extra modules, record what is imported (before the
// compiler's own imports, which the worker never makes), compile.
const first = await boot(new Uint8Array(readFileSync(wheelPath)), {});
addBuildModules(first.py);
const trace = first.py.pyimport("trace_flow").run().toJs({ dict_converter: Object.fromEntries });
const flow = first.py.pyimport("trace_flow");
flow.import_extra_modules();
const imported = first.py.runPython("import sys; list(sys.modules)");
const compiler = first.py.pyimport("pyodide_compile");
const members = compiler.imported_members(imported, flow.LEFT_OUT);
const stdlibSrc = "/lib/python314.zip";
// What Python compiled as it started and ran the flow, compiled ahead (pyodide_compile.py:
// COMPILED_AHEAD_PATCHES).
const aheadMissesIn = compiler.AHEAD_MISSES_IN.toJs();
const aheadMisses = (py) => aheadMissesIn.map((name) => py.pyimport(name)._AHEAD_MISSES);
const ahead = compiler.compiled_ahead_module(...aheadMisses(first.py));
const AHEAD = compiler.COMPILED_AHEAD;
members.add(AHEAD);
const stdlibStats = compiler.compile_archive.callKwargs(stdlibSrc, "/build/python_stdlib.zip", {
  keep: members,
  extra: first.py.toPy({ [AHEAD]: ahead }),
}).toJs({ dict_converter: Object.fromEntries });
first.py.FS.writeFile("/build/client.whl", new Uint8Array(readFileSync(wheelPath)));
// Every record __init__ the flow compiled, compiled ahead (client_py/records.py: _prebuilt).
const recordInits = compiler.record_inits_module(first.py.pyimport("client_py.records").COMPILED);
const wheelStats = compiler.compile_archive.callKwargs("/build/client.whl", "/build/client-compiled.whl", {
  prefix: "/lib/python3.14/site-packages/",
  extra: first.py.toPy({ [RECORD_INITS]: recordInits }),
}).toJs({ dict_converter: Object.fromEntries });
const stdlibOut = join(outDir, "python_stdlib.zip");
const wheelOut = join(outDir, "client.whl");
writeFileSync(stdlibOut, first.py.FS.readFile("/build/python_stdlib.zip"));
writeFileSync(wheelOut, first.py.FS.readFile("/build/client-compiled.whl"));
const version = first.py.version;

// 2. Boot from the trimmed .pyc stdlib and the compiled wheel, and run the same flow.
const second = await boot(new Uint8Array(readFileSync(wheelOut)), { stdLibURL: stdlibOut });
// The worker's snapshot holds what importing the agent imported. Later pages restore it and do
// not reseed `random`, so it must not be among them.
second.py.pyimport("client_py.agent");
if (second.py.pyimport("sys").modules.has("random")) {
  console.error("`random` is imported before the worker's snapshot: pages would share its seed");
  process.exit(1);
}
addBuildModules(second.py);
const check = second.py.pyimport("trace_flow").run().toJs({ dict_converter: Object.fromEntries });
const compiledLate = second.py.runPython("import client_py.records as r; list(r.COMPILED)").toJs();
const aheadMissed = aheadMisses(second.py).flatMap((missed) => missed.toJs());
if (aheadMissed.length) {
  console.error(`Python compiled as it started what ${AHEAD} should hold:`, aheadMissed);
  process.exit(1);
}
if (compiledLate.length) {
  console.error(`records compiled their __init__ at run time, not from ${RECORD_INITS}:`, compiledLate);
  process.exit(1);
}
const present = second.py.runPython(
  `import sys; sorted(m for m in sys.modules if m in ${JSON.stringify(flow.LEFT_OUT.toJs())})`
).toJs();
if (present.length) {
  console.error("left-out modules were imported after all:", present);
  process.exit(1);
}
const leaked = second.py.runPython(
  "import sys; sorted(m for m, mod in sys.modules.items() if (getattr(getattr(mod, '__spec__', None), 'origin', '') or '').endswith('.py') and '/client_py/' in mod.__spec__.origin)"
).toJs();
if (JSON.stringify(check) !== JSON.stringify(trace)) {
  console.error("trimmed stdlib gives a different result", trace, check);
  process.exit(1);
}
if (leaked.length) {
  console.error("client_py was imported from .py sources, not .pyc:", leaked);
  process.exit(1);
}
console.log(JSON.stringify({ pyodide: version, trace, stdlib: stdlibStats, wheel: wheelStats,
  boot_ms_full_py: Math.round(first.ms), boot_ms_trimmed_pyc: Math.round(second.ms) }));
