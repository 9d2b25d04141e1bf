"""Event on the page → hint applied, in real headless Chromium with Python already running.

For each run a fresh visitor (storage cleared; the SDK stays in the HTTP cache, so Pyodide is
warm) opens the demo product page, waits until the worker is ready and the first batches have
settled, reads the specs for a random 3-5 s (moving the pointer, so batches go at the outbox's
pace and the event lands anywhere in its interval), then sends one irritated chat message with
``rapport.chat`` (the qualifying event: the on-device tone crosses the
``chat_irritation.escalate`` threshold). The clock runs from that
call (``performance.now()`` in the page) to the ``rapport:hint`` event that carries the new hint.

Breakdown, from the page clock and the network timing of the batch that carried the tone:
  - queue+python: event → the worker starts the request (loader queue, postMessage,
    Agent.handle, the outbox's pacing),
  - network+server: the request's start → its response's end,
  - page: response end → ``rapport:hint`` (the worker's Python on the result, postMessage, apply).

``--reading`` also counts ``/v1/collect`` requests per minute of a reading visitor (the
``bench/page_cost.py`` scenario: 3 s idle, 9 s on the price, 9 s on the returns, 1 s on the price,
then 30 s more of reading the specs), from Python ready to the end.

    .venv/bin/python -m bench.hints_latency --runs 15 --reading 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Request, sync_playwright

from rapport.demo_site.stack import CHROMIUM_FLAGS, chromium_executable, running_stack

PRODUCT = "/product/aria-headphones.html"
HINT_ID = "chat_irritation.escalate"
MESSAGE = "This is ridiculous!!! Where is my order?? Nothing works, I want a refund NOW!!!"
#: Installed before any page script: records when the wanted hint arrives.
PROBE = """
window.__lat = {hint: null};
document.addEventListener('rapport:hint', e => {
  if (__lat.hint === null && __lat.t0 !== undefined
      && e.detail.hints.some(h => h.id === 'HINT_ID')) __lat.hint = performance.now();
});
""".replace("HINT_ID", HINT_ID)


def _collects(api: str, requests: list[Request]) -> list[Request]:
    return [r for r in requests if r.url.startswith(api + "/v1/collect")]


def fresh_visitor(context: BrowserContext, shop: str) -> Any:
    """A page of a new visitor: storage cleared (new secret, new session), HTTP cache kept."""
    page = context.new_page()
    page.goto(shop + "/favicon.svg")
    page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    page.goto(shop + PRODUCT)
    page.evaluate("() => rapport.ready")
    return page


def one_latency(context: BrowserContext, shop: str, api: str, rng: random.Random) -> dict[str, Any]:
    requests: list[Request] = []

    def on_request(request: Request) -> None:
        requests.append(request)

    context.on("request", on_request)
    page = fresh_visitor(context, shop)
    page.wait_for_timeout(2000)  # the first batches go and come back
    # A visitor reading the specs (activity every 250 ms, so batches go at the outbox's pace),
    # for a random 3-5 s: the message lands anywhere in the pacing interval.
    page.evaluate("document.getElementById('specs').scrollIntoView({block: 'center'})")
    for i in range(12 + rng.randrange(9)):
        page.mouse.move(300 + 10 * (i % 5), 300)
        page.wait_for_timeout(250)
    origin = page.evaluate("() => performance.timeOrigin")
    page.evaluate("m => { __lat.t0 = performance.now(); rapport.chat(m); }", MESSAGE)
    page.wait_for_function("() => __lat.hint !== null", timeout=20_000)
    lat = page.evaluate("() => __lat")
    page.wait_for_timeout(200)  # the request's timing is final once its response is read
    context.remove_listener("request", on_request)
    page.close()
    t0, hint = origin + lat["t0"], origin + lat["hint"]
    out: dict[str, Any] = {"total_ms": lat["hint"] - lat["t0"]}
    carrier = [
        r
        for r in _collects(api, requests)
        if '"name":"irritation"' in (r.post_data or "") and r.timing["startTime"] >= t0 - 1
    ]
    if carrier:
        timing = carrier[0].timing
        start, end = timing["startTime"], timing["startTime"] + timing["responseEnd"]
        out |= {
            "queue_python_ms": start - t0,
            "network_server_ms": end - start,
            "page_ms": hint - end,
        }
    return out


def one_reading(context: BrowserContext, shop: str, api: str) -> dict[str, Any]:
    requests: list[Request] = []

    def on_request(request: Request) -> None:
        requests.append(request)

    context.on("request", on_request)
    page = fresh_visitor(context, shop)
    ready = len(_collects(api, requests))
    page.wait_for_timeout(3000)
    plan = (("price", 9), ("returns", 9), ("price", 1), ("specs", 30))
    for section, seconds in plan:
        page.evaluate(f"document.getElementById('{section}').scrollIntoView({{block: 'center'}})")
        for i in range(seconds):
            page.mouse.move(300 + 10 * (i % 5), 300)
            page.wait_for_timeout(1000)
    seconds = 3 + sum(s for _, s in plan)
    count = len(_collects(api, requests)) - ready
    context.remove_listener("request", on_request)
    page.close()
    return {"collects": count, "per_minute": count * 60 / seconds}


def summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return f"median {statistics.median(ordered):7.0f}   p90 {p90:7.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="latency runs (fresh visitors)")
    parser.add_argument("--reading", type=int, default=0, help="reading-visitor runs (~55 s each)")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, Any]]] = {"latency": [], "reading": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_FLAGS)
        with running_stack(Path(tmp)) as stack:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.add_init_script(PROBE)
            fresh_visitor(context, stack.shop).close()  # warm the HTTP cache and the wasm compile
            rng = random.Random(6)
            for _ in range(args.runs):
                results["latency"].append(one_latency(context, stack.shop, stack.api, rng))
            for _ in range(args.reading):
                results["reading"].append(one_reading(context, stack.shop, stack.api))
            context.close()
        browser.close()
    runs = results["latency"]
    if runs:
        print(f"event → hint applied, {len(runs)} fresh visitors, warm SDK (ms):")
        for key in ("total_ms", "queue_python_ms", "network_server_ms", "page_ms"):
            print(f"  {key:20} {summary([r[key] for r in runs if key in r])}")
    if results["reading"]:
        rates = [r["per_minute"] for r in results["reading"]]
        print(
            f"reading visitor: {statistics.median(rates):.1f} collect requests/min "
            f"(median of {len(rates)}; {[round(r, 1) for r in rates]})"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
