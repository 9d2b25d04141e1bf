"""What Rapport costs the host page, measured side by side in one run.

For the demo product page with and without the script tag (alternating, fresh browser context
each run so every download is cold), in real headless Chromium:
  - main-thread long tasks (count, total ms) and the worst gap of a 16 ms heartbeat,
  - bytes transferred (encoded) and requests, split into page and Rapport,
  - time from navigation to Python ready in the worker, and to the first hint for a scripted
    hesitant visitor (3 s idle, 9 s on the price, then the returns policy).
Prints a table and ratios; writes JSON with --json. Numbers, not assertions: these machines are
shared and noisy, so read the ratios.

    .venv/bin/python -m bench.page_cost --runs 3 [--camera]

``--cls`` adds two arms where the reassurance box is placed by Rapport without moving the page
(``data-rapport-place="overlay"`` and ``"reserve"``, set on the box as the page is parsed, as an
owner's markup would): the ``layout_shift`` row (CLS: the sum of layout-shift scores without
recent input, over the whole visit) compares them with the in-flow box and with no Rapport;
``layout_shift_box`` is the part of it in the second after a box is shown or hidden (the box's own
shift, apart from anything else on the page that moves).

``--camera`` adds a third arm, alternating with the other two: the same page and visitor with
the camera on (consent given at once; Chromium's fake camera playing the astronaut; 5 fps), to
show what the camera costs the page's main thread and network.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, sync_playwright

from demo_site.server import serve_demo
from demo_site.stack import CHROMIUM_FLAGS, chromium_executable, running_stack
from tests.e2e.camera import ask_for_camera, astronaut_rgb, launch_playing, write_y4m

PRODUCT = "/product/aria-headphones.html"
#: The owner's markup for a placed box, applied while the page is parsed (before first paint).
PLACE = """
new MutationObserver((_, observer) => {
  const box = document.querySelector('[data-rapport-show]');
  if (!box) return;
  observer.disconnect();
  box.setAttribute('data-rapport-place', %s);
  if (%s === 'reserve') { box.hidden = false; box.style.visibility = 'hidden'; }
}).observe(document, {childList: true, subtree: true});
"""
#: Installed before any page script: a heartbeat and a long-task observer.
PROBE = """
window.__probe = {gap: 0, longTasks: [], start: performance.now()};
(() => {
  let last = performance.now();
  setInterval(() => {
    const t = performance.now();
    __probe.gap = Math.max(__probe.gap, t - last);
    last = t;
  }, 16);
  try {
    new PerformanceObserver(
      list => list.getEntries().forEach(e => __probe.longTasks.push(e.duration))
    ).observe({type: 'longtask', buffered: true});
  } catch (e) {}
  __probe.cls = 0;
  __probe.shifted = [];
  // The box's own part: shifts in the second after a [data-rapport-show] box is shown or hidden.
  __probe.boxCls = 0;
  __probe.boxAt = [];
  new MutationObserver(records => records.forEach(r => {
    if (r.target.hasAttribute('data-rapport-show')) __probe.boxAt.push(performance.now());
  })).observe(document, {attributes: true, subtree: true, attributeFilter: ['hidden', 'style']});
  try {
    new PerformanceObserver(list => list.getEntries().forEach(e => {
      if (e.hadRecentInput) return;
      __probe.cls += e.value;
      if (__probe.boxAt.some(t => e.startTime >= t - 50 && e.startTime <= t + 1000))
        __probe.boxCls += e.value;
      // What moved (for reading the number: the box's own shift or the page's).
      e.sources.forEach(s => s.node && __probe.shifted.push(
        (s.node.id || s.node.className || s.node.nodeName) + ' ' + e.value.toFixed(4)));
    })).observe({type: 'layout-shift', buffered: true});
  } catch (e) {}
  document.addEventListener('rapport:hint', e => {
    if (e.detail.hints.length) __probe.firstHint ??= performance.now();
  });
})();
"""


def one_run(
    browser: Browser,
    shop: str,
    api: str,
    with_rapport: bool,
    camera: bool = False,
    place: str | None = None,
) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    if place:
        context.add_init_script(PLACE % (json.dumps(place), json.dumps(place)))
    if camera:
        ask_for_camera(context)
    sizes: list[tuple[str, int]] = []

    def on_finished(request: Any) -> None:
        try:
            body = request.sizes()["responseBodySize"]
        except Exception:
            body = 0
        sizes.append((request.url, int(body)))

    context.on("requestfinished", on_finished)
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(shop + PRODUCT)
    ready_ms = None
    if with_rapport:
        page.evaluate(
            "() => rapport.ready.then(ok => { __probe.ready = performance.now(); return ok; })"
        )
        ready_ms = page.evaluate("() => __probe.ready")
    if camera:
        page.get_by_role("button", name="Allow camera").click(timeout=30_000)
    page.wait_for_timeout(3000)  # idle page: the worker boots (or nothing happens)
    # A hesitant visitor: price, returns, price again.
    for section, seconds in (("price", 9), ("returns", 9), ("price", 1)):
        page.evaluate(f"document.getElementById('{section}').scrollIntoView({{block: 'center'}})")
        for i in range(seconds):
            page.mouse.move(300 + 10 * (i % 5), 300)
            page.wait_for_timeout(1000)
    first_hint = None
    if with_rapport:
        page.wait_for_function("() => window.__probe.firstHint", timeout=20_000)
        first_hint = page.evaluate("() => __probe.firstHint")
    probe = page.evaluate("() => __probe")
    box_shown = page.evaluate(
        "() => document.querySelector('[data-rapport-show]')"
        ".checkVisibility({visibilityProperty: true})"
    )
    frames = page.evaluate("rapport.camera.stats().frames") if camera else None
    context.close()
    rapport_bytes = sum(b for url, b in sizes if url.startswith(api))
    return {
        "long_tasks": len(probe["longTasks"]),
        "long_task_ms": round(sum(probe["longTasks"]), 1),
        "worst_heartbeat_gap_ms": round(probe["gap"], 1),
        "bytes_total": sum(b for _, b in sizes),
        "bytes_rapport": rapport_bytes,
        "requests": len(sizes),
        "python_ready_ms": None if ready_ms is None else round(ready_ms, 0),
        "first_hint_ms": None if first_hint is None else round(first_hint, 0),
        "camera_frames_analysed": frames,
        "layout_shift": round(probe["cls"], 4),
        "layout_shift_box": round(probe["boxCls"], 4),
        "box_shown_at_end": 1.0 if box_shown else 0.0,
        "shifted": probe["shifted"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument(
        "--camera",
        action="store_true",
        help="a third arm: Rapport with the camera on (consent given, fake camera, 5 fps)",
    )
    parser.add_argument(
        "--cls",
        action="store_true",
        help="two more arms: the box as an overlay and in reserved space (layout shift)",
    )
    args = parser.parse_args(argv)
    results: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    places = ("overlay", "reserve") if args.cls else ()
    for place in places:
        results[f"with {place}"] = []
    if args.camera:
        results["with camera"] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_FLAGS)
        cam_browser = None
        if args.camera:
            clip = write_y4m(Path(tmp) / "astronaut.y4m", astronaut_rgb())
            cam_browser = launch_playing(pw, clip)
        with running_stack(Path(tmp)) as stack:
            bare = serve_demo("localhost", 0, f"{stack.api}/sdk", stack.site_key, omit_sdk=True)
            bare_shop = f"http://localhost:{bare.server_address[1]}"
            try:
                for _ in range(args.runs):  # alternate, so drift on a shared machine hits all
                    results["without"].append(one_run(browser, bare_shop, stack.api, False))
                    results["with"].append(one_run(browser, stack.shop, stack.api, True))
                    for place in places:
                        results[f"with {place}"].append(
                            one_run(browser, stack.shop, stack.api, True, place=place)
                        )
                    if cam_browser is not None:
                        results["with camera"].append(
                            one_run(cam_browser, stack.shop, stack.api, True, camera=True)
                        )
            finally:
                bare.shutdown()
        browser.close()
        if cam_browser is not None:
            cam_browser.close()
    print(
        f"bench.page_cost: {args.runs} run(s) per arm, arms alternating ({', '.join(results)}),"
        " demo product page, headless Chromium, fresh context per run (cold downloads)"
    )
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def report(results: dict[str, list[dict[str, Any]]]) -> None:
    modes = list(results)  # without, with[, with overlay, with reserve][, with camera]
    keys = list(results["with"][0])
    head = f"{'metric (median of runs)':34} {'without':>12} {'with Rapport':>14} {'ratio':>8}"
    for mode in modes[2:]:
        head += f" {mode.replace('with ', '+ '):>14} {'ratio':>8}"
    print(head)

    def fmt(v: float | None) -> str:
        if v is None:
            return "-"
        return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 1 else f"{v:.4f}"

    for key in keys:
        if key == "shifted":  # not a number: printed below the table
            continue
        values = {}
        for mode in modes:
            data = [r[key] for r in results[mode] if r[key] is not None]
            values[mode] = statistics.median(data) if data else None
        without = values["without"]
        line = f"{key:34} {fmt(without):>12}"
        for mode in modes[1:]:
            value = values[mode]
            ratio = f"{value / without:.2f}" if without and value is not None else "-"
            line += f" {fmt(value):>14} {ratio:>8}"
        print(line)
    for mode in modes:
        moved = sorted({s for r in results[mode] for s in r["shifted"]})
        print(f"layout shifts ({mode}): {', '.join(moved) or 'none'}")


if __name__ == "__main__":
    sys.exit(main())
