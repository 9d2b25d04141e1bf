"""How fast the on-device Python logic processes page events: in CPython, in real Pyodide under
Node, and in the real SDK worker (Pyodide in a Web Worker) in headless Chromium.

    python -m bench.client_throughput [--seconds 120] [--rate 12]

A synthetic busy visitor (``--rate`` raw events per second: pointer activity, scroll steps,
hovers, section changes, clicks, a chat message now and then) is replayed through
``client_py.agent.Agent.handle`` exactly as the worker calls it: one ``ev`` message per 500 ms
of events and a ``tick`` every second, JSON in and out. The same stream also runs in CPython for
comparison. In Chromium the built worker module is started exactly as the loader starts it (a
Blob-URL bootstrap on the demo shop's origin, the real server as its endpoint); the messages are
posted as fast as it takes them, with event times rebased to the worker's clock, and a ``ping``
after the last one measures when it has caught up (it sends its batches to the server on the
way, as on a real page). Prints events per second and the share of one core the logic takes at
that rate.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from rapport.client_py.agent import Agent

REPO = Path(__file__).resolve().parent.parent
PYODIDE = REPO / "wasm_build" / "node_modules" / "pyodide"
CONFIG = {"site": "pk_benchbench", "key": "k" * 43, "session": "s" * 22}
T0 = 1_700_000_000_000.0
SECTIONS = ["specs", "price", "delivery", "warranty", "returns", "reviews"]

NODE_SCRIPT = r"""
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
const [pyodideDir, repo, messagesFile] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: pyodideDir + path.sep });
const copy = (host, dest) => {
  py.FS.mkdirTree(dest);
  for (const name of fs.readdirSync(host)) {
    const file = path.join(host, name);
    if (/\.(py|bin)$/.test(name)) py.FS.writeFile(`${dest}/${name}`, fs.readFileSync(file));
  }
};
copy(path.join(repo, "client_py"), "/bench/client_py");
py.runPython("import sys; sys.path.insert(0, '/bench')");
const Agent = py.pyimport("client_py.agent").Agent;
const { config, messages, repeat } = JSON.parse(fs.readFileSync(messagesFile, "utf8"));
const texts = messages.map(([m, now]) => [JSON.stringify(m), now]);
let best = Infinity;
for (let r = 0; r < repeat; r++) {
  const agent = Agent(JSON.stringify(config), null);
  const start = performance.now();
  for (const [m, now] of texts) JSON.parse(agent.handle(m, now));
  best = Math.min(best, performance.now() - start);
  agent.destroy();
}
console.log(JSON.stringify({ ms: best, version: py.version }));
"""


def busy_visitor(seconds: float, rate: float, seed: int = 7) -> list[tuple[dict[str, Any], float]]:
    """Messages as the worker sends them: events every 500 ms, a tick every second."""
    rng = random.Random(seed)
    events: list[list[Any]] = [["pv", T0, "navigate"], ["ctx", T0, -60, 1280, 0, "", ""]]
    t, depth, in_view = T0, 0.0, "specs"
    while t < T0 + seconds * 1000:
        t += rng.expovariate(rate) * 1000
        roll = rng.random()
        if roll < 0.3:
            events.append(["act", t])
        elif roll < 0.6:
            depth = min(1.0, max(0.0, depth + rng.uniform(-0.05, 0.08)))
            events.append(["scr", t, depth])
        elif roll < 0.75:
            events.append(["hov", t, rng.choice(SECTIONS), "sku-aria-01"])
        elif roll < 0.9:
            events.append(["out", t, in_view, "sku-aria-01"])
            in_view = rng.choice(SECTIONS)
            events.append(["in", t, in_view, "sku-aria-01"])
        elif roll < 0.98:
            events.append(
                ["clk", t, rng.randint(0, 1280), rng.randint(0, 720), in_view, "sku-aria-01"]
            )
        else:
            events.append(["txt", t, rng.choice(["Where is my order??", "Есть гарантия?"])])
    messages: list[tuple[dict[str, Any], float]] = []
    window, next_tick, i = T0 + 500, T0 + 1000, 0
    while i < len(events):
        batch = []
        while i < len(events) and events[i][1] < window:
            batch.append(events[i])
            i += 1
        if batch:
            messages.append(({"t": "ev", "e": batch}, window))
        if window >= next_tick:
            messages.append(({"t": "tick"}, window))
            next_tick += 1000
        window += 500
    return messages


def run_cpython(messages: list[tuple[dict[str, Any], float]], repeat: int) -> float:
    texts = [(json.dumps(m), now) for m, now in messages]
    best = float("inf")
    for _ in range(repeat):
        agent = Agent(json.dumps(CONFIG))
        start = time.perf_counter()
        for text, now in texts:
            json.loads(agent.handle(text, now))
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def run_pyodide(messages: list[tuple[dict[str, Any], float]], repeat: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        script, data = Path(tmp) / "bench.mjs", Path(tmp) / "messages.json"
        script.write_text(NODE_SCRIPT)
        data.write_text(json.dumps({"config": CONFIG, "messages": messages, "repeat": repeat}))
        done = subprocess.run(
            ["node", str(script), str(PYODIDE), str(REPO), str(data)],
            check=True,
            capture_output=True,
            text=True,
        )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return float(result["ms"]), str(result["version"])


WORKER_PAGE_SCRIPT = """
async ([workerUrl, cfg, messages, t0]) => {
  const boot = "var q=[];onmessage=function(e){q.push(e.data)};import(" + JSON.stringify(workerUrl)
    + ").then(function(m){m.start(q)})";
  const worker = new Worker(URL.createObjectURL(new Blob([boot], {type: "text/javascript"})),
                            {type: "module"});
  const waitFor = (t) => new Promise(resolve => worker.addEventListener("message", function on(e) {
    if (e.data && e.data.t === t) { worker.removeEventListener("message", on); resolve(e.data); }
  }));
  const ready = waitFor("ready");
  worker.postMessage({t: "init", state: null, cfg});
  await ready;
  const base = Date.now();
  const rebased = messages.map(([m]) => m.t === "ev"
    ? {t: "ev", e: m.e.map(ev => [ev[0], ev[1] - t0 + base, ...ev.slice(2)])} : m);
  const pong = waitFor("pong");
  const start = performance.now();
  for (const m of rebased) worker.postMessage(m);
  worker.postMessage({t: "ping", n: 1});
  await pong;
  const ms = performance.now() - start;
  worker.terminate();
  return ms;
}
"""


def run_browser_worker(messages: list[tuple[dict[str, Any], float]], repeat: int) -> float:
    """The built SDK worker in headless Chromium, on the demo shop's origin, warm cache."""
    from playwright.sync_api import sync_playwright

    from rapport.demo_site.stack import CHROMIUM_FLAGS, DIST, chromium_executable, running_stack

    worker_name = json.loads((DIST / "manifest.json").read_text())["entry"]["worker"]
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_FLAGS)
        with running_stack(Path(tmp)) as stack:
            page = browser.new_page()
            page.goto(stack.shop + "/404-bench")  # any page of the shop's origin
            for _ in range(repeat):
                cfg = {**CONFIG, "site": stack.site_key, "endpoint": stack.api}
                ms = page.evaluate(
                    WORKER_PAGE_SCRIPT,
                    [f"{stack.api}/sdk/{worker_name}", cfg, messages, T0],
                )
                best = min(best, float(ms))
        browser.close()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="simulated session length")
    parser.add_argument("--rate", type=float, default=12.0, help="raw events per second")
    parser.add_argument("--repeat", type=int, default=5, help="runs; the best is reported")
    args = parser.parse_args(argv)
    messages = busy_visitor(args.seconds, args.rate)
    n_events = sum(len(m.get("e", [])) for m, _ in messages)
    rate = n_events / args.seconds
    print(f"busy visitor: {n_events} events in {args.seconds:.0f} s ({rate:.1f}/s), "
          f"{len(messages)} messages to the agent")  # fmt: skip
    for name, (ms, extra) in (
        ("CPython 3.11", (run_cpython(messages, args.repeat), "")),
        ("Pyodide (Node)", run_pyodide(messages, args.repeat)),
        ("Pyodide (Chromium worker)", (run_browser_worker(messages, args.repeat), "")),
    ):
        per_second = n_events / (ms / 1000)
        share = (ms / 1000) / args.seconds
        label = f"{name} {extra}".strip()
        print(f"{label:<30} {ms:8.1f} ms  {per_second:10,.0f} events/s  "
              f"{ms / len(messages):6.3f} ms/message  "
              f"{share:7.3%} of one core at {rate:.0f} events/s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
