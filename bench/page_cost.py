"""What Rapport costs the host page, measured side by side in one run.

For the demo product page with and without the script tag (alternating, fresh browser context
each run so every download is cold), in real headless Chromium:
  - main-thread long tasks (count, total ms) and the worst gap of a 16 ms heartbeat,
  - bytes transferred (encoded) and requests, split into page and Rapport (``bytes_rapport``:
    the SDK's files and the API's replies; ``bytes_sdk_cold``: the SDK's files alone),
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

Also per run: ``python_ready_warm_ms`` (the same page again in the same context: HTTP cache
warm, Python restored from the memory snapshot the first page saved),
``python_ready_warm_third_page_ms`` (a third page, as every later one), then
``python_ready_warm_http_cache_only_ms`` (once more with that snapshot deleted: the warm start
without it, side by side in the same run), the browser's whole PSS at the end of the visit
(``browser_pss_mb``: every Chromium process of that browser, from /proc/*/smaps_rollup), the
same visit's PSS in a browser that no DevTools Network domain watches
(``browser_pss_quiet_mb``, :func:`quiet_pss`: Playwright's browser keeps a copy of every response
body, so only this row is what a visitor's browser holds; the difference between the arms is
what Rapport costs) and ``browser_pss_quiet_minute_mb`` (the same browser a minute after
navigation, while the visitor reads on), ``python_ready_quiet_ms`` / ``_warm_ms`` /
``_third_page_ms`` (a visitor's first three pages in that browser, :func:`quiet_ready`: the
instrument's copies delay the start-up too; after all arms, the other browsers closed),
Rapport's bytes per file, and the start-up
breakdown, cold and warm: when each step ended, in ms since navigation (the worker's own marks,
``self.rapportBoot`` in worker.mjs), and the page's side of the quiet browser's first page
(``boot_quiet``, :data:`QUIET_STEPS`: the page's ``load``, the loader's worker made, its script
running, ``ready``).

``--throttle MBIT`` runs the slow-link scenario instead (Chromium's network emulation,
``Network.emulateNetworkConditions``, on every page and worker of the context: MBIT down, half
up, 40 ms latency): the host page's ``load`` with and without Rapport, and a visitor who reads
the first page for ``--visit`` seconds then opens a second page: is Rapport ready on the first
or the second page, and which Rapport files were downloaded twice (none should be).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, sync_playwright

from bench.quiet_browser import QuietChromium
from rapport.demo_site.server import serve_demo
from rapport.demo_site.stack import CHROMIUM_FLAGS, chromium_executable, running_stack
from rapport.server.testing.browser import DROP_SAVED_BOOT
from rapport.server.testing.camera import (
    ASK_FOR_CAMERA,
    ask_for_camera,
    astronaut_rgb,
    camera_flags,
    launch_playing,
    write_y4m,
)

PRODUCT = "/product/aria-headphones.html"
#: The scripted hesitant visitor, after 3 s idle: (section, seconds with the mouse moving on it).
HESITANT = (("price", 9), ("returns", 9), ("price", 1))
#: Seconds after navigation when the quiet browser's PSS is taken a second time: the visitor
#: still reading, the worker past its first full garbage collection (see :func:`quiet_pss`).
SETTLED_S = 60
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


#: Start-up steps in the order the worker reaches them (worker.mjs ``mark``); "loader" is when
#: rapport.js finished downloading, "worker_js" when the worker module did.
BOOT_STEPS = (
    "loader",
    "init",
    "pyodide_js",
    "snapshot_read",
    "python",
    "imports",
    "ready",
    "first_events",
)


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
    return kids


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo += _children(current)
    return out


def browser_roots() -> set[int]:
    """PIDs of the Chromium main processes started by this bench (a browser's process tree)."""
    exe = Path(chromium_executable()).name
    roots = set()
    for pid in _tree(os.getpid()):
        try:
            name = Path(os.readlink(f"/proc/{pid}/exe")).name
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            parent_name = Path(os.readlink(f"/proc/{parent}/exe")).name
        except (OSError, ValueError, IndexError):
            continue
        if name == exe and parent_name != exe:
            roots.add(pid)
    return roots


def pss_mb(root: int) -> float:
    """The whole browser's proportional set size: its main process and every descendant."""
    total_kb = 0
    for pid in _tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return round(total_kb / 1024, 1)


def _file(url: str) -> str:
    """An SDK file's name without its content hash (``python_stdlib.zip``)."""
    name = urlsplit(url).path.rsplit("/", 1)[-1]
    parts = name.split(".")
    return ".".join(
        p for p in parts if not (len(p) == 10 and all(c in "0123456789abcdef" for c in p))
    )


def _ready_ms(page: Any) -> float:
    return float(page.evaluate("() => rapport.ready.then(ok => ok ? performance.now() : -1)"))


def _breakdown(page: Any, loader_end: float | None) -> dict[str, float]:
    """When each start-up step ended, in ms since the page's navigation started."""
    origin = page.evaluate("() => performance.timeOrigin")
    marks: dict[str, float] = {}
    for worker in page.workers:
        try:
            marks = worker.evaluate("() => self.rapportBoot || {}") or marks
        except Exception:
            continue
    steps = {k: round(v - origin) for k, v in marks.items() if isinstance(v, (int, float))}
    if loader_end is not None:
        steps["loader"] = round(loader_end - origin)
    return steps


def _restored_page(page: Any, shop: str) -> tuple[int, dict[str, float]]:
    """The product page again in the same context: when Python was ready, and its breakdown."""
    page.goto(shop + PRODUCT)
    ready = round(_ready_ms(page))
    page.wait_for_timeout(300)
    return ready, _breakdown(page, None)


def one_run(
    browser: Browser,
    shop: str,
    api: str,
    with_rapport: bool,
    camera: bool = False,
    place: str | None = None,
    root: int | None = None,
) -> dict[str, Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    if place:
        context.add_init_script(PLACE % (json.dumps(place), json.dumps(place)))
    if camera:
        ask_for_camera(context)
    sizes: list[tuple[str, int]] = []
    ends: dict[str, float] = {}

    def on_finished(request: Any) -> None:
        try:
            body = request.sizes()["responseBodySize"]
            timing = request.timing
            ends[request.url] = timing["startTime"] + timing["responseEnd"]
        except Exception:
            body = 0
        sizes.append((request.url, int(body)))

    context.on("requestfinished", on_finished)
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(shop + PRODUCT)
    ready_ms = None
    steps: dict[str, float] = {}
    if with_rapport:
        page.evaluate(
            "() => rapport.ready.then(ok => { __probe.ready = performance.now(); return ok; })"
        )
        ready_ms = page.evaluate("() => __probe.ready")
        page.wait_for_timeout(300)  # the first events are handled just after ready
        loader_end = next((t for url, t in ends.items() if url.endswith("/rapport.js")), None)
        steps = _breakdown(page, loader_end)
    if camera:
        page.get_by_role("button", name="Allow camera").click(timeout=30_000)
    page.wait_for_timeout(3000)  # idle page: the worker boots (or nothing happens)
    # A hesitant visitor: price, returns, price again.
    for section, seconds in HESITANT:
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
    pss = pss_mb(root) if root is not None else None
    rapport_files = {_file(url): b for url, b in sizes if url.startswith(api + "/sdk/")}
    visit = list(sizes)  # the first page's requests (the warm pages below come on top)
    ready_warm = ready_third = ready_http = None
    warm_steps: dict[str, float] = {}
    third_steps: dict[str, float] = {}
    if with_rapport:
        # The same page again: every file in the HTTP cache, Python restored from the snapshot
        # the first page saved. Then once more without that snapshot (its file removed):
        # the HTTP cache alone, the warm start before the snapshot, side by side in this run.
        # The second page, then a third (what every later page gets).
        (ready_warm, warm_steps), (ready_third, third_steps) = (
            _restored_page(page, shop) for _ in range(2)
        )
        page.evaluate(DROP_SAVED_BOOT)
        page.goto(shop + PRODUCT)
        ready_http = round(_ready_ms(page))
    context.close()
    rapport_bytes = sum(b for url, b in visit if url.startswith(api))
    return {
        "long_tasks": len(probe["longTasks"]),
        "long_task_ms": round(sum(probe["longTasks"]), 1),
        "worst_heartbeat_gap_ms": round(probe["gap"], 1),
        "bytes_total": sum(b for _, b in visit),
        "bytes_rapport": rapport_bytes,  # the SDK's files and the API's replies (hints)
        "bytes_sdk_cold": sum(rapport_files.values()),  # the files alone: issue 19's 3.4 MB
        "requests": len(visit),
        "python_ready_ms": None if ready_ms is None else round(ready_ms, 0),
        "python_ready_warm_ms": ready_warm,
        "python_ready_warm_third_page_ms": ready_third,
        "python_ready_warm_http_cache_only_ms": ready_http,
        # The same three pages in a browser no DevTools Network watches: main() fills them.
        "python_ready_quiet_ms": None,
        "python_ready_quiet_warm_ms": None,
        "python_ready_quiet_third_page_ms": None,
        "browser_pss_mb": pss,  # Playwright's browser: DevTools keeps the response bodies
        "browser_pss_quiet_mb": None,  # the same visit with no DevTools Network: main() fills it
        "browser_pss_quiet_minute_mb": None,  # the same, a minute after navigation
        "first_hint_ms": None if first_hint is None else round(first_hint, 0),
        "camera_frames_analysed": frames,
        "layout_shift": round(probe["cls"], 4),
        "layout_shift_box": round(probe["boxCls"], 4),
        "box_shown_at_end": 1.0 if box_shown else 0.0,
        "shifted": probe["shifted"],
        "files": rapport_files,
        "boot": steps,
        "boot_warm": warm_steps,
        "boot_third": third_steps,
        "boot_quiet": {},  # the quiet browser's first page (its side only): main() fills it
    }


def quiet_pss(
    url: str, with_rapport: bool, tmp: Path, clip: Path | None = None
) -> tuple[float, float]:
    """The whole browser's PSS after the same visit, in a browser no DevTools Network watches,
    and again once the page has been open a minute (:data:`SETTLED_S`).

    Playwright's browser keeps a copy of every response body in the renderer (its DevTools
    Network domain is on), which no visitor's browser does: Rapport's 9.6 MB wasm alone leaves
    12 MB there. So the memory this row reports comes from :class:`QuietChromium` instead: a
    fresh profile on disk (a visitor's, not an incognito context), the same page, the same
    hesitant visitor, measured at the same point. ``clip``: the camera on (consent clicked).

    The second figure is what the page holds while its visitor goes on reading: by then the
    worker has had its first full garbage collection, which V8 runs on an idle worker only
    ≈ 30 s after Rapport is ready (its young generation, grown while Python booted, shrinks only
    then: ≈ 5.5 MB). Both arms wait the same minute.
    """
    args = [*CHROMIUM_FLAGS, *(camera_flags(clip) if clip else [])]
    with QuietChromium(args, Path(tempfile.mkdtemp(dir=tmp))) as browser:
        browser.open(url, ASK_FOR_CAMERA if clip else None)
        if with_rapport and not browser.evaluate("rapport.ready"):
            raise RuntimeError("Rapport did not start in the quiet browser")
        if clip:
            # A trusted click on the consent prompt's "Allow camera" (camera.mjs, open shadow).
            box = browser.evaluate(
                """new Promise(resolve => { const find = () => {
                  const b = document.querySelector('[data-rapport-camera]')
                    ?.shadowRoot?.querySelector('button.yes');
                  if (!b) return setTimeout(find, 100);
                  const r = b.getBoundingClientRect();
                  resolve([r.x + r.width / 2, r.y + r.height / 2]);
                }; find(); })"""
            )
            browser.mouse("mousePressed", *box)
            browser.mouse("mouseReleased", *box)
        browser.evaluate("new Promise(r => setTimeout(r, 3000))")
        for section, seconds in HESITANT:
            browser.evaluate(
                f"document.getElementById('{section}').scrollIntoView({{block: 'center'}})"
            )
            for i in range(seconds):
                browser.mouse("mouseMoved", 300 + 10 * (i % 5), 300)
                browser.evaluate("new Promise(r => setTimeout(r, 1000))")
        if clip and not browser.evaluate("rapport.camera.stats().frames"):
            raise RuntimeError("the camera analysed no frame in the quiet browser")
        after_visit = pss_mb(browser.pid)
        browser.evaluate(
            f"new Promise(r => setTimeout(r, Math.max(0, {SETTLED_S * 1000} - performance.now())))"
        )
        return after_visit, pss_mb(browser.pid)


#: The README's stub, reduced to its resolver: the loader calls it the moment ``ready`` settles
#: (main.js), so the page records when, without an evaluation arriving late to ask. With it, the
#: page's side of the start-up, as the quiet browser cannot read the worker's own marks
#: (``self.rapportBoot``): when the loader made its worker and when the worker's script first
#: spoke (``up``); :func:`quiet_ready` adds when the page's ``load`` ended.
READY_AT = """window.rapport = {q: [], r: ok => {
  window.rapportReadyAt = ok ? performance.now() : -1;
}};
window.rapportMarks = {};
const NativeWorker = window.Worker;
window.Worker = class extends NativeWorker {
  constructor(...args) {
    super(...args);
    rapportMarks.worker ??= performance.now();
    this.addEventListener("message", () => { rapportMarks.up ??= performance.now(); });
  }
};"""
#: Start-up steps the quiet browser reads (:data:`READY_AT`), in the order they happen.
QUIET_STEPS = ("load", "worker", "up", "ready")


def quiet_ready(url: str, tmp: Path) -> tuple[float, float, float, dict[str, float]]:
    """When Rapport was ready (ms since navigation) on a visitor's first, second and third page,
    in a browser no DevTools Network watches (Playwright's copies every body it downloads and
    restores, which delays the worker's start-up as well), and the first page's steps
    (:data:`QUIET_STEPS`)."""
    wait = "new Promise(r => { const t = () => window.rapportReadyAt === undefined"
    wait += " ? setTimeout(t, 20) : r({...rapportMarks, ready: window.rapportReadyAt,"
    wait += " load: performance.getEntriesByType('navigation')[0].loadEventEnd}); t(); })"
    pages = []
    with QuietChromium(CHROMIUM_FLAGS, Path(tempfile.mkdtemp(dir=tmp))) as browser:
        for _ in range(3):
            browser.open(url, READY_AT)
            pages.append({k: round(float(v)) for k, v in browser.evaluate(wait).items()})
            browser.evaluate("new Promise(r => setTimeout(r, 3000))")  # the snapshot is saved
    first = {step: pages[0][step] for step in QUIET_STEPS if step in pages[0]}
    return pages[0]["ready"], pages[1]["ready"], pages[2]["ready"], first


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
    parser.add_argument(
        "--throttle",
        type=float,
        metavar="MBIT",
        help="the slow-link scenario instead, at this many Mbit/s (e.g. 1.5)",
    )
    parser.add_argument(
        "--visit", type=float, default=20, help="seconds on the first page when throttled"
    )
    args = parser.parse_args(argv)
    if args.throttle:
        return slow_link(args.throttle, args.visit, args.runs, args.json)
    results: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    places = ("overlay", "reserve") if args.cls else ()
    for place in places:
        results[f"with {place}"] = []
    if args.camera:
        results["with camera"] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        before = browser_roots()
        browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_FLAGS)
        root = next(iter(browser_roots() - before), None)
        cam_browser = cam_root = None
        if args.camera:
            clip = write_y4m(Path(tmp) / "astronaut.y4m", astronaut_rgb())
            before = browser_roots()
            cam_browser = launch_playing(pw, clip)
            cam_root = next(iter(browser_roots() - before), None)
        with running_stack(Path(tmp)) as stack:
            bare = serve_demo("localhost", 0, f"{stack.api}/sdk", stack.site_key, omit_sdk=True)
            bare_shop = f"http://localhost:{bare.server_address[1]}"
            try:
                for _ in range(args.runs):  # alternate, so drift on a shared machine hits all
                    run = one_run(browser, bare_shop, stack.api, False, root=root)
                    quiet = quiet_pss(bare_shop + PRODUCT, False, Path(tmp))
                    run["browser_pss_quiet_mb"], run["browser_pss_quiet_minute_mb"] = quiet
                    results["without"].append(run)
                    run = one_run(browser, stack.shop, stack.api, True, root=root)
                    quiet = quiet_pss(stack.shop + PRODUCT, True, Path(tmp))
                    run["browser_pss_quiet_mb"], run["browser_pss_quiet_minute_mb"] = quiet
                    results["with"].append(run)
                    for place in places:
                        results[f"with {place}"].append(
                            one_run(browser, stack.shop, stack.api, True, place=place)
                        )
                    if cam_browser is not None:
                        run = one_run(
                            cam_browser, stack.shop, stack.api, True, camera=True, root=cam_root
                        )
                        quiet = quiet_pss(stack.shop + PRODUCT, True, Path(tmp), clip)
                        run["browser_pss_quiet_mb"], run["browser_pss_quiet_minute_mb"] = quiet
                        results["with camera"].append(run)
                # Start-up in the visitor's browser alone, after the arms, the other browsers
                # closed: their processes cannot slow it, as they could between the arms.
                browser.close()
                if cam_browser is not None:
                    cam_browser.close()
                for run in results["with"]:
                    (
                        run["python_ready_quiet_ms"],
                        run["python_ready_quiet_warm_ms"],
                        run["python_ready_quiet_third_page_ms"],
                        run["boot_quiet"],
                    ) = quiet_ready(stack.shop + PRODUCT, Path(tmp))
            finally:
                bare.shutdown()
    print(
        f"bench.page_cost: {args.runs} run(s) per arm, arms alternating ({', '.join(results)}),"
        " demo product page, headless Chromium, fresh context per run (cold downloads);"
        " PSS of the whole browser at the end of the visit (the camera arm: its own browser,"
        " launched with the fake camera); browser_pss_quiet_mb: the same visit in a browser"
        " without DevTools' Network domain (a visitor's; Playwright's keeps every body),"
        f" _minute_mb: the same browser {SETTLED_S} s after navigation, the visitor reading"
    )
    report(results)
    report_startup(results["with"])
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
        if key in ("shifted", "files", "boot", "boot_warm", "boot_third", "boot_quiet"):
            continue  # printed below
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


def report_startup(runs: list[dict[str, Any]]) -> None:
    """Rapport's bytes per file, and when each start-up step ended (medians over the runs)."""
    print("Rapport's bytes per file (encoded, median):")
    names = sorted(
        {name for r in runs for name in r["files"]}, key=lambda n: -runs[0]["files"].get(n, 0)
    )
    for name in names:
        print(f"  {name:34} {statistics.median(r['files'].get(name, 0) for r in runs):>12,.0f}")
    for field, title, steps in (
        ("boot", "cold", BOOT_STEPS),
        ("boot_warm", "second page, Python restored", BOOT_STEPS),
        ("boot_third", "third page, Python restored", BOOT_STEPS),
        ("boot_quiet", "cold, quiet browser, the page's side", QUIET_STEPS),
    ):
        print(f"start-up ({title}), ms since navigation when each step ended (median):")
        previous = 0.0
        for step in steps:
            data = [r[field][step] for r in runs if step in r.get(field, {})]
            if not data:
                continue
            at = statistics.median(data)
            print(f"  {step:34} {at:>8,.0f}  (+{at - previous:,.0f})")
            previous = at


def slow_link(mbit: float, visit_s: float, runs: int, json_path: Path | None) -> int:
    """A visitor on a slow link: the page's load, and when Rapport is ready (page 1 or 2)."""
    conditions = {
        "offline": False,
        "latency": 40,
        "downloadThroughput": mbit * 1e6 / 8,
        "uploadThroughput": mbit * 1e6 / 16,
    }
    out: dict[str, list[dict[str, Any]]] = {"without": [], "with": []}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_executable(), args=CHROMIUM_FLAGS)
        with running_stack(Path(tmp)) as stack:
            bare = serve_demo("localhost", 0, f"{stack.api}/sdk", stack.site_key, omit_sdk=True)
            bare_shop = f"http://localhost:{bare.server_address[1]}"
            try:
                for _ in range(runs):
                    for mode, shop in (("without", bare_shop), ("with", stack.shop)):
                        out[mode].append(
                            _slow_visit(browser, shop, stack, conditions, visit_s, mode)
                        )
            finally:
                bare.shutdown()
        browser.close()
    print(
        f"bench.page_cost --throttle {mbit}: {runs} run(s) per arm, alternating; Chromium network"
        f" emulation {mbit} Mbit/s down, {mbit / 2} up, 40 ms; page 1 read for {visit_s:.0f} s,"
        " then page 2 (the home page) in the same context"
    )
    for key in ("load_ms", "page2_load_ms"):
        w = statistics.median(r[key] for r in out["without"])
        r_ = statistics.median(r[key] for r in out["with"])
        print(f"{key:34} {w:>10,.0f} {r_:>12,.0f} {r_ / w:>8.2f}")
    for i, r in enumerate(out["with"]):
        print(
            f"run {i + 1}: ready on page 1 at {r['ready1_ms']} ms"
            if r["ready1_ms"] is not None
            else f"run {i + 1}: not ready within {visit_s:.0f} s on page 1;"
            f" page 2 ready at {r['ready2_ms']} ms",
            f"| SDK GETs at the server: page 1 {', '.join(r['gets1']) or 'none'};"
            f" page 2 {', '.join(r['gets2']) or 'none'}; complete on page 1 and fetched again"
            f" on page 2: {', '.join(r['twice']) or 'none'}",
        )
    if json_path:
        json_path.write_text(json.dumps(out, indent=2))
    return 0


def _slow_visit(
    browser: Browser,
    shop: str,
    stack: Any,
    conditions: dict[str, Any],
    visit_s: float,
    mode: str,
) -> dict[str, Any]:
    """One visitor, two pages. What reached the server is read from its access log: a file the
    browser's cache answered never gets there."""
    api = stack.api

    def sdk_gets() -> list[str]:
        return [_file(m) for m in re.findall(r"GET (/sdk/[^\s\"?]+)", stack.log.read_text())]

    seen = len(sdk_gets())
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    got: list[list[tuple[str, int]]] = [[]]

    def on_finished(request: Any) -> None:
        with contextlib.suppress(Exception):  # finished as the context closed
            got[-1].append((request.url, request.sizes()["responseBodySize"]))

    context.on("requestfinished", on_finished)

    def throttle(target: Any) -> None:
        session = context.new_cdp_session(target)
        session.send("Network.enable")
        session.send("Network.emulateNetworkConditions", conditions)

    page = context.new_page()
    throttle(page)
    page.goto(shop + PRODUCT, wait_until="load", timeout=120_000)
    load_ms = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
    ready1 = None
    if mode == "with":
        state = page.evaluate(
            f"""() => Promise.race([
                rapport.ready.then(ok => ok ? performance.now() : -1),
                new Promise(r => setTimeout(() => r(null), {visit_s * 1000}))])"""
        )
        ready1 = None if state is None else round(state)
    else:
        page.wait_for_timeout(visit_s * 1000)
    page1 = got[0]
    gets1 = sdk_gets()[seen:]
    got.append([])
    page.goto(shop + "/", wait_until="load", timeout=120_000)
    load2 = page.evaluate("() => performance.getEntriesByType('navigation')[0].loadEventEnd")
    ready2 = None
    if mode == "with":
        ready2 = round(_ready_ms(page)) if ready1 is None else None
        page.wait_for_timeout(500)
    context.close()
    gets2 = sdk_gets()[seen + len(gets1) :]
    sdk1 = {_file(u): b for u, b in page1 if u.startswith(api + "/sdk/") and b > 0}
    sdk2 = {_file(u): b for u, b in got[1] if u.startswith(api + "/sdk/") and b > 0}
    return {
        "gets1": gets1,
        "gets2": gets2,
        "load_ms": round(load_ms),
        "page2_load_ms": round(load2),
        "ready1_ms": ready1,
        "ready2_ms": ready2,
        "bytes1": sum(sdk1.values()),
        "bytes2": sum(sdk2.values()),
        # Complete on page 1 and fetched again on page 2: what the cache failed to keep.
        "twice": sorted(n for n in gets2 if n in sdk1),
    }


if __name__ == "__main__":
    sys.exit(main())
