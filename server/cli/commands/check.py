"""``rapport check URL [--site KEY]``: is this page ready to adapt, and if not, what to fix.

It loads the page in headless Chromium as a new visitor would (``page_probe``), then reports,
each with the fix: the script tag and its key, the key known to the API and the page's origin
registered for it, the page's Content-Security-Policy, Python ready and how long it took, the
sections and items declared and which patterns they enable, the boxes and their ``hidden``,
this visitor's holdout state, and the download size cold and warm. Exit code 0 only when the
page is ready to adapt; 1 when something stops it; 2 when the page could not be checked.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from html.parser import HTMLParser
from typing import Final, Literal
from urllib.parse import urlsplit

import click

from rapport.client_py.schema import PATTERNS, SITE_KEY_PATTERN
from rapport.server.cli.commands.page_probe import PageProbe, ProbeError, probe_page

__all__ = ["Finding", "check_command", "findings_for"]

Level = Literal["ok", "info", "warn", "fail"]

#: Which patterns a declared section feeds (client_py/patterns.py: the dwell_* and item terms).
#: ``irritated`` needs no markup (clicks, scrolling, chat tone); ``urgent`` also comes from tone.
SECTION_PATTERNS: Final[dict[str, tuple[str, ...]]] = {
    "price": ("hesitant", "price_sensitive", "comparison_shopper"),
    "returns": ("hesitant", "returning_with_problem"),
    "warranty": ("hesitant", "returning_with_problem"),
    "delivery": ("urgent",),
    "specs": ("researcher", "comparison_shopper"),
    "reviews": ("researcher",),
    "contacts": ("returning_with_problem",),
    "order-status": ("returning_with_problem",),
    "faq": (),
    "cart": (),
}


def box_names() -> frozenset[str]:
    """Names a box may show on: the patterns, and the default playbook's hint kinds (main and
    ``also``)."""
    import rapport.server.hints  # noqa: F401 - server.playbook is importable only after server.hints
    from rapport.server.playbook import default_playbook

    rules = default_playbook().rules
    return frozenset(PATTERNS) | {r.kind for r in rules} | {k for r in rules for k in r.also}


@dataclass(frozen=True)
class Finding:
    level: Level
    what: str
    fix: str = ""


class _Boxes(HTMLParser):
    """``data-rapport-show`` elements of the page as served (before any script ran)."""

    def __init__(self) -> None:
        super().__init__()
        self.boxes: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if "data-rapport-show" in found:
            found["tag"] = tag
            found["has_hidden"] = "1" if "hidden" in found else None
            self.boxes.append(found)


def _directive(csp: str, *names: str) -> list[str] | None:
    """The sources of the first of ``names`` the policy has (CSP's fallback order)."""
    directives: dict[str, list[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            directives.setdefault(words[0].lower(), words[1:])
    for name in names:
        if name in directives:
            return directives[name]
    return None


def _csp_findings(csp: str | None, api: str) -> list[Finding]:
    if not csp:
        return [Finding("ok", "no Content-Security-Policy on the page: nothing to allow")]
    out: list[Finding] = []
    script = _directive(csp, "script-src", "default-src")
    if script is not None and not {"'wasm-unsafe-eval'", "'unsafe-eval'"} & set(script):
        out.append(
            Finding(
                "fail",
                "the CSP forbids WebAssembly: Rapport stays off",
                "add 'wasm-unsafe-eval' to script-src",
            )
        )
    if script is not None and not {api, "*", "https:"} & set(script):
        out.append(Finding("fail", f"the CSP's script-src does not allow {api}", f"add {api}"))
    worker = _directive(csp, "worker-src", "child-src", "script-src", "default-src")
    if worker is not None and "blob:" not in worker:
        out.append(
            Finding("fail", "the CSP refuses a worker from blob:", "add blob: to worker-src")
        )
    connect = _directive(csp, "connect-src", "default-src")
    if connect is not None and not {api, "*", "https:"} & set(connect):
        out.append(Finding("fail", f"the CSP's connect-src does not allow {api}", f"add {api}"))
    return out or [Finding("ok", "the page's CSP allows Rapport")]


def _api_of(probe: PageProbe) -> str:
    attrs = (probe.tag or {}).get("attrs", {})
    endpoint = attrs.get("data-endpoint")
    if endpoint:
        return str(endpoint).rstrip("/")
    parts = urlsplit(str((probe.tag or {}).get("src") or ""))
    return f"{parts.scheme}://{parts.netloc}"


def _key_by_api(api: str, key: str, origin: str) -> tuple[int, str]:
    """Ask the API about the key and the origin without storing anything (GET hints):
    its status and error text."""
    request = urllib.request.Request(
        f"{api}/v1/hints/rapportcheck0?site={key}", headers={"Origin": origin}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read(2000).decode("utf-8", "replace")
    except OSError:
        return 0, ""


def _key_findings(probe: PageProbe, key: str, api: str) -> list[Finding]:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(probe.url))
    answers = [(int(c["status"]), json.dumps(c["body"])) for c in probe.collect]
    if not answers:
        answers = [_key_by_api(api, key, origin)]
    status, text = max(answers, key=lambda a: 200 <= a[0] < 300)
    if status == 404 and "site" in text:
        return [
            Finding(
                "fail",
                f"the site key {key} is unknown to {api}",
                "use the key `rapport site add` printed (rapport site list shows them)",
            )
        ]
    if status == 403 and "origin" in text:
        return [
            Finding(
                "fail",
                f"the origin {origin} is not registered for {key}",
                f"register it: rapport site add NAME --origin {origin}",
            )
        ]
    if 200 <= status < 300:
        return [Finding("ok", f"site key {key} valid, origin {origin} registered")]
    return [
        Finding(
            "warn",
            f"could not confirm the key and origin with {api} (HTTP {status or 'unreachable'})",
            "check that the API is reachable from the page",
        )
    ]


def findings_for(probe: PageProbe, expected_key: str | None) -> list[Finding]:
    """Every finding about one probed page, in the order an owner would fix them."""
    out: list[Finding] = []
    if not 200 <= probe.status < 300:
        out.append(Finding("fail", f"the page answered HTTP {probe.status}"))
    if probe.tag is None:
        out.append(
            Finding(
                "fail",
                "no Rapport script tag on this page",
                'add <script src="https://YOUR-API/sdk/rapport.js" data-site="pk_…" async>'
                "</script> to the <head> of every page",
            )
        )
        return out
    attrs = probe.tag.get("attrs", {})
    key = str(attrs.get("data-site") or "")
    api = _api_of(probe)
    if not re.fullmatch(SITE_KEY_PATTERN, key):
        out.append(
            Finding("fail", f"the tag's data-site {key!r} is not a site key", "use pk_… as issued")
        )
        return out
    out.append(Finding("ok", f"script tag found: {probe.tag.get('src') or '(inline)'}"))
    if expected_key and key != expected_key:
        out.append(
            Finding(
                "fail", f"the tag carries {key}, not {expected_key}", f'data-site="{expected_key}"'
            )
        )
    if "async" not in attrs and "defer" not in attrs:
        out.append(Finding("warn", "the tag is neither async nor defer", "add async"))
    out += _key_findings(probe, key, api)
    out += _csp_findings(probe.csp, api)
    out += _ready_findings(probe)
    out += _markup_findings(probe)
    out += _holdout_findings(probe)
    out.append(
        Finding(
            "info",
            f"download from the API: {probe.cold_bytes / 1024:.0f} KB for a new visitor, "
            f"{probe.warm_bytes / 1024:.1f} KB on the next page ({probe.sdk_requests_warm} SDK "
            "requests, revalidations of rapport.js included)",
        )
    )
    for error in probe.page_errors[:5]:
        out.append(Finding("warn", f"page error: {error}"))
    return out


def _ready_findings(probe: PageProbe) -> list[Finding]:
    if probe.ready is True:
        return [
            Finding(
                "ok",
                f"Python ready {probe.ready_after_navigation_ms or 0:.0f} ms after navigation "
                f"({probe.ready_ms or 0:.0f} ms after the loader ran)",
            )
        ]
    said = [line for line in probe.console if "Rapport" in line]
    why = f": {said[0]}" if said else ""
    if probe.ready is False:
        return [
            Finding(
                "fail",
                f"rapport.ready is false: Rapport does not run on this page{why}",
                "see the CSP finding above; Global Privacy Control also turns it off",
            )
        ]
    return [Finding("fail", "rapport.ready never settled", "is rapport.js reachable?")]


def _markup_findings(probe: PageProbe) -> list[Finding]:
    out: list[Finding] = []
    sections = [s for s, _ in probe.markup.get("sections", [])]
    items = {i for _, i in probe.markup.get("sections", []) if i}
    if not sections:
        out.append(
            Finding(
                "warn",
                "no data-rapport-section on this page: only irritated (and urgent by chat tone)"
                " can be recognised",
                'mark what matters: data-rapport-section="price" data-rapport-item="sku-1"',
            )
        )
    else:
        counts = {s: sections.count(s) for s in sorted(set(sections))}
        enabled = sorted({p for s in counts for p in SECTION_PATTERNS.get(s, ())} | {"irritated"})
        declared = ", ".join(f"{s}×{n}" for s, n in counts.items())
        out.append(
            Finding(
                "ok",
                f"sections {declared}; {len(items)} item(s); patterns enabled: "
                + ", ".join(enabled),
            )
        )
    parser = _Boxes()
    parser.feed(probe.html)
    if not parser.boxes:
        out.append(Finding("info", "no data-rapport-show box: hints reach rapport.on('hint') only"))
    known = box_names()
    for box in parser.boxes:
        name = f'<{box["tag"]} data-rapport-show="{box["data-rapport-show"]}">'
        unknown = set(str(box["data-rapport-show"]).split()) - known
        if unknown:
            out.append(
                Finding(
                    "warn", f"{name} names {', '.join(sorted(unknown))}: no such pattern or kind"
                )
            )
        if box["has_hidden"] is None and box.get("data-rapport-place") != "reserve":
            out.append(
                Finding(
                    "warn",
                    f"{name} has no hidden attribute: it shows until Rapport runs",
                    "add hidden to the element",
                )
            )
        else:
            out.append(Finding("ok", f"{name} hidden until a hint"))
    return out


def _holdout_findings(probe: PageProbe) -> list[Finding]:
    bodies = [c["body"] for c in probe.collect if isinstance(c.get("body"), dict)]
    if not bodies:
        return [Finding("info", "holdout: unknown (no batch was answered)")]
    if any(b.get("holdout") for b in bodies):
        return [
            Finding(
                "warn",
                "this check's visitor is in the site's holdout (control group): it gets no hints",
                "expected for the holdout share ([experiment] holdout in the playbook, 10 % by "
                "default); see it in your browser with ?rapport-debug=1 or rapport.holdout()",
            )
        ]
    return [Finding("ok", "this check's visitor is not in the holdout: hints are shown")]


_MARK: Final = {"ok": "ok  ", "info": "info", "warn": "warn", "fail": "FAIL"}


@click.command("check")
@click.argument("url")
@click.option("--site", "site_key", default=None, help="The site key the page should carry.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option(
    "--wait", default=40.0, show_default=True, type=click.FloatRange(1, 120),
    help="Seconds to wait for rapport.ready.",
)  # fmt: skip
def check_command(url: str, site_key: str | None, as_json: bool, wait: float) -> None:
    """Load URL in headless Chromium and say whether Rapport can adapt it, with a fix for
    each problem (needs `pip install 'rapport[check]'` and Chromium)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise click.UsageError(f"URL must start with http:// or https://: {url!r}")
    try:
        probe = probe_page(url, wait_s=wait)
    except ProbeError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    findings = findings_for(probe, site_key)
    failed = any(f.level == "fail" for f in findings)
    if as_json:
        click.echo(
            json.dumps({"ready_to_adapt": not failed, "findings": [asdict(f) for f in findings]})
        )
    else:
        for f in findings:
            click.echo(f"{_MARK[f.level]}  {f.what}" + (f"\n      fix: {f.fix}" if f.fix else ""))
        click.echo("ready to adapt" if not failed else "NOT ready to adapt: fix the FAIL lines")
    raise SystemExit(1 if failed else 0)
