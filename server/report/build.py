"""Assemble the report from the rollups (and the hint log) under the site's k rule.

Reads only the rollup tables, ``hint_log``/``hint_feedback`` and the profiles of visitors who
got a hint (for uplift) — never raw signals — so its cost grows with hours × cells and the
visitors of the range, not with the signals stored.

Daily buckets are local days of the site's time zone, at the zone's UTC offset at the time of
the report (a DST change inside the range shifts the older days by an hour; zones with a
half-hour offset bucket whole UTC hours by their start).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from rapport.client_py.schema import EXPRESSIONS, PATTERNS, SECTIONS, TONES, TOPICS
from rapport.server.hints import store as hint_store
from rapport.server.holdout.uplift import UpliftReport, units_from, uplift
from rapport.server.profiles import Profile, decode_profile
from rapport.server.report.cache import Slice, or_per_visitor_day, read_rollups
from rapport.server.report.cells import CELLS, DAILY_MASK, SCORE_BUCKETS
from rapport.server.report.model import Cell, KRule, Panel, Report, Table
from rapport.server.report.rollup import FRICTION_COUNTERS, FUNNEL_STEPS
from rapport.server.report.settings import report_settings
from rapport.server.sites.model import Site
from rapport.server.storage.base import HintLogRow, Storage

__all__ = ["MAX_DAYS", "build_report"]

#: The longest range a report covers (rollups are kept forever; the page offers 1, 7, 30).
MAX_DAYS: Final = 90
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECTIONS_SHOWN: Final = (*SECTIONS, "page")
_OUTCOMES: Final = ("helpful", "ignored", "dismissed")


def _bits(words: np.ndarray) -> np.ndarray:
    """Rows of words → rows of 0/1, column ``i`` being cell ``CELLS[i]``."""
    little = np.ascontiguousarray(words.astype("<u8"))
    return np.unpackbits(little.view(np.uint8), axis=1, bitorder="little")


def _reach_counts(
    slices: Sequence[Slice],
) -> tuple[dict[str, int], dict[tuple[str, int], int]]:
    """Distinct visitors per cell over the range, and per (cell, day) for the daily cells.

    A visitor counts once for a cell when any of their rows (of the range, of the day) has its
    bit. Vectorised: a 30-day report over 10 k visitors ORs tens of thousands of rows and must
    stay well under the 300 ms goal.
    """
    visitor, day, words = or_per_visitor_day(
        np.concatenate([s.visitor for s in slices]),
        np.concatenate([s.day for s in slices]),
        np.concatenate([s.words for s in slices]),
    )
    if not len(visitor):
        return {}, {}
    *_, per_visitor = or_per_visitor_day(visitor, np.zeros_like(day), words)
    visitor_bits = _bits(per_visitor)
    totals = visitor_bits.sum(axis=0, dtype=np.int64)
    total = {CELLS[i]: int(v) for i, v in enumerate(totals[: len(CELLS)]) if v}
    for score in ("lead", "abandon"):  # visitors per bucket of their peak score
        columns = visitor_bits[:, [CELLS.index(f"{score}:{i}") for i in range(_BUCKETS)]]
        scored = columns.any(axis=1)
        peak = _BUCKETS - 1 - np.argmax(columns[:, ::-1], axis=1)
        for i, v in enumerate(np.bincount(peak[scored], minlength=_BUCKETS)):
            total[f"{score}_peak:{i}"] = int(v)

    starts = np.flatnonzero(np.r_[True, day[1:] != day[:-1]])
    daily = np.add.reduceat(_bits(words)[:, _DAILY], starts, axis=0, dtype=np.int64)
    by_day = {
        (CELLS[c], int(day[s])): int(daily[row, j])
        for row, s in enumerate(starts)
        for j, c in enumerate(_DAILY)
        if daily[row, j]
    }
    return total, by_day


_BUCKETS: Final = len(SCORE_BUCKETS)
_DAILY: Final = [i for i in range(len(CELLS)) if DAILY_MASK >> i & 1]


class _Rollups:
    """The rollups of the range, indexed by cell (and local day); distinct visitors from the
    bitmaps."""

    def __init__(self, slices: Sequence[Slice]) -> None:
        self.by_day: dict[tuple[str, int], tuple[int, float]] = {}
        self.total: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
        for piece in slices:
            for (cell, day), (n, total) in piece.aggregates.items():
                was = self.by_day.get((cell, day), (0, 0.0))
                self.by_day[(cell, day)] = (was[0] + n, was[1] + total)
                was = self.total[cell]
                self.total[cell] = (was[0] + n, was[1] + total)
        self.reach, self.reach_day = _reach_counts(slices)

    def n(self, cell: str, day: int | None = None) -> int:
        return (self.total[cell] if day is None else self.by_day.get((cell, day), (0, 0.0)))[0]

    def sum(self, cell: str) -> float:
        return self.total[cell][1]

    def visitors(self, cell: str, day: int | None = None) -> int:
        return self.reach.get(cell, 0) if day is None else self.reach_day.get((cell, day), 0)


async def build_report(storage: Storage, site: Site, *, days: int, now: float) -> Report:
    """The report of the last ``days`` × 24 hours up to ``now``."""
    settings = await report_settings(storage, site.id)
    rule = KRule(settings.k)
    offset_delta = datetime.fromtimestamp(now, settings.zone()).utcoffset()
    offset = int(offset_delta.total_seconds()) if offset_delta is not None else 0
    last_hour = int(now // 3600)
    first_hour = last_hour - 24 * days + 1
    data = _Rollups(
        await read_rollups(
            storage, storage.report_cache, site.id, first_hour, last_hour, offset, now
        )
    )
    first_day = (first_hour * 3600 + offset) // 86400
    last_day = (last_hour * 3600 + offset) // 86400
    day_list = list(range(first_day, last_day + 1))
    since, until = first_hour * 3600.0, (last_hour + 1) * 3600.0
    panels = [
        _traffic(data, rule, day_list),
        _patterns(data, rule, day_list),
        _friction(data, rule),
        _emotions(data, rule),
        _chat(data, rule),
        await _hints(storage, site.id, rule, since, until),
        _funnel(data, rule),
        _scores(data, rule),
    ]
    return Report(
        site=site.site_key,
        k=rule.k,
        days=days,
        timezone=settings.timezone,
        start=_label(first_day),
        end=_label(last_day),
        generated_at=round(now, 3),
        visitors=rule.count(data.visitors("visit"), data.visitors("visit")),
        sessions=rule.count(data.n("session"), data.visitors("session")),
        panels=panels,
    )


def _label(day: int) -> str:
    return (_EPOCH + timedelta(days=day)).date().isoformat()


# -- panels ----------------------------------------------------------------------------------


#: Every table of the report: id → (chart, title). One catalogue; each panel gives its columns
#: next to the rows it builds.
_TABLES: Final[dict[str, tuple[str, str]]] = {
    "traffic": ("line", "Visitors and sessions per day"),
    "patterns": ("line", "Share of sessions with each pattern, per day"),
    "overlap": ("bar", "Patterns seen together in one session"),
    "friction": ("bar", "Friction in sessions"),
    "sections": ("bar", "Visitors per declared section"),
    "emotions": ("bar", "Emotions per section, next to its friction"),
    "tones": ("bar", "Sessions by chat tone"),
    "topics": ("bar", "Chat topics"),
    "funnel": ("bar", "View → add to cart → purchase, by pattern"),
    "scores": ("bar", "Visitors by lead score and by abandon risk"),
    "hints_shown": ("bar", "Hints per rule and kind (visitors)"),
    "feedback": ("bar", "Feedback on hints (visitors)"),
    "uplift": ("interval", "Conversion uplift, treated − control (95 %)"),
    "guardrail": ("interval", "Irritation guardrail, treated − control (95 %)"),
}


def _table(table_id: str, columns: Sequence[str], rows: list[list[Cell]], note: str = "") -> Table:
    chart, title = _TABLES[table_id]
    return Table(id=table_id, title=title, chart=chart, columns=list(columns), rows=rows, note=note)


def _traffic(data: _Rollups, rule: KRule, day_list: Sequence[int]) -> Panel:
    rows: list[list[Cell]] = [
        [
            _label(d),
            rule.count(data.visitors("visit", d), data.visitors("visit", d)),
            rule.count(data.n("session", d), data.visitors("session", d)),
            rule.share(
                data.n("camera_session", d),
                data.visitors("camera_session", d),
                data.n("session", d),
                data.visitors("session", d),
            ),
        ]
        for d in day_list
    ]
    return Panel(
        id="traffic",
        title="Traffic",
        note="Visitors whose browser sends Global Privacy Control or Do Not Track send "
        "nothing at all, so they appear nowhere in this report.",
        tables=[
            _table(
                "traffic",
                ["day", "visitors", "sessions", "camera consent (share of sessions)"],
                rows,
            )
        ],
    )


def _patterns(data: _Rollups, rule: KRule, day_list: Sequence[int]) -> Panel:
    daily: list[list[Cell]] = []
    for d in day_list:
        sessions, session_visitors = data.n("session", d), data.visitors("session", d)
        row: list[Cell] = [_label(d)]
        for p in PATTERNS:
            cell = f"pattern:{p}"
            row.append(
                rule.share(data.n(cell, d), data.visitors(cell, d), sessions, session_visitors)
            )
        daily.append(row)
    sessions, session_visitors = data.n("session"), data.visitors("session")
    overlap: list[list[Cell]] = []
    for i, a in enumerate(PATTERNS):
        for b in PATTERNS[i + 1 :]:
            x, y = sorted((a, b))
            cell = f"overlap:{x}+{y}"
            if data.n(cell) == 0:
                continue
            overlap.append(
                [
                    f"{a} + {b}",
                    rule.count(data.n(cell), data.visitors(cell)),
                    rule.share(data.n(cell), data.visitors(cell), sessions, session_visitors),
                ]
            )
    return Panel(
        id="patterns",
        title="Patterns",
        note="A session counts once for a pattern when its score first reaches 0.5.",
        tables=[
            _table("patterns", ["day", *PATTERNS], daily),
            _table("overlap", ["patterns", "sessions", "share of sessions"], overlap),
        ],
    )


def _friction(data: _Rollups, rule: KRule) -> Panel:
    counters: list[list[Cell]] = []
    for name in (*FRICTION_COUNTERS, "price_returns_loops"):
        cell = f"friction:{name}"
        v = data.visitors(cell)
        counters.append([name, rule.count(data.n(cell), v), rule.count(int(data.sum(cell)), v)])
    sections: list[list[Cell]] = []
    for section in SECTIONS:
        cells = [f"section:{section}:{e}" for e in ("dwell", "hover_without_click", "copy")]
        if not any(data.visitors(c) for c in cells):
            continue
        sections.append([section, *(rule.count(data.visitors(c), data.visitors(c)) for c in cells)])
    return Panel(
        id="friction",
        title="Friction",
        tables=[
            _table(
                "friction",
                ["friction", "sessions", "times"],
                counters,
                note="Price↔returns loops count sessions that went back and forth between "
                "the price and the returns policy.",
            ),
            _table(
                "sections",
                ["section", "read it", "hovered without a click", "copied from it"],
                sections,
            ),
        ],
    )


def _emotions(data: _Rollups, rule: KRule) -> Panel:
    rows: list[list[Cell]] = []
    for section in _SECTIONS_SHOWN:
        windows = f"affect:{section}"
        if data.n(windows) == 0:
            continue
        valence = f"valence:{section}"
        shown = []
        for e in EXPRESSIONS:
            cell = f"affect:{section}:{e}"
            if data.n(cell) and data.visitors(cell) >= rule.k:
                shown.append((data.n(cell), e))
        dominant = ", ".join(
            f"{e} {round(100 * n / data.n(windows))} %" for n, e in sorted(shown, reverse=True)[:3]
        )
        hover = f"section:{section}:hover_without_click"
        friction: Cell = (
            "—" if section == "page" else rule.count(data.visitors(hover), data.visitors(hover))
        )
        rows.append(
            [
                section,
                rule.count(data.n(windows), data.visitors(windows)),
                rule.mean(data.sum(valence), data.n(valence), data.visitors(valence)),
                dominant if data.visitors(windows) >= rule.k else None,
                friction,
            ]
        )
    return Panel(
        id="emotions",
        title="Emotions",
        note="Only from visitors who allowed the camera; expressions are averaged on the device "
        "over a few seconds and never leave it as images.",
        tables=[
            _table(
                "emotions",
                [
                    "section",
                    "camera windows",
                    "mean valence",
                    "dominant expressions",
                    "visitors hovering without a click",
                ],
                rows,
            )
        ],
    )


def _chat(data: _Rollups, rule: KRule) -> Panel:
    tones: list[list[Cell]] = []
    for tone in TONES:
        cell = f"tone:{tone}"
        tones.append([tone, rule.count(data.n(cell), data.visitors(cell))])
    topics: list[list[Cell]] = []
    for topic in TOPICS:
        cell = f"topic:{topic}"
        if data.visitors(cell) == 0:
            continue
        v = data.visitors(cell)
        topics.append([topic, rule.count(data.n(cell), v), rule.count(int(data.sum(cell)), v)])
    return Panel(
        id="chat",
        title="Chat",
        note="Tone and topics are recognised on the device; the text never leaves it.",
        tables=[
            _table("tones", ["tone", "sessions"], tones),
            _table("topics", ["topic", "sessions", "messages"], topics),
        ],
    )


def _funnel(data: _Rollups, rule: KRule) -> Panel:
    rows: list[list[Cell]] = []
    for split in ("all", *PATTERNS):
        suffix = "" if split == "all" else f"|{split}"
        cells = [f"funnel:{step}{suffix}" for step in FUNNEL_STEPS]
        if split != "all" and not any(data.n(c) for c in cells):
            continue
        rows.append([split, *(rule.count(data.n(c), data.visitors(c)) for c in cells)])
    return Panel(
        id="funnel",
        title="Funnel",
        note="Sessions reaching each step; split by the patterns the session showed.",
        tables=[_table("funnel", ["sessions", *FUNNEL_STEPS], rows)],
    )


def _scores(data: _Rollups, rule: KRule) -> Panel:
    rows: list[list[Cell]] = []
    low = 0.0
    for i, high in enumerate(SCORE_BUCKETS):
        lead, abandon = data.visitors(f"lead_peak:{i}"), data.visitors(f"abandon_peak:{i}")
        rows.append([f"{low:.1f}–{high:.1f}", rule.count(lead, lead), rule.count(abandon, abandon)])
        low = high
    return Panel(
        id="scores",
        title="Lead score and abandon risk",
        note="Each visitor counts once, in the bucket of their highest score in the range. "
        "Scores come from the transparent prior models (the same for every site and over "
        "time), taken when the visitor arrives in an hour and when they add to cart or a "
        "pattern crosses 0.5.",
        tables=[
            _table("scores", ["score", "lead score (visitors)", "abandon risk (visitors)"], rows)
        ],
    )


# -- hints: from the hint log, not the rollups -------------------------------------------------


async def _hints(storage: Storage, site_id: int, rule: KRule, since: float, until: float) -> Panel:
    shown_rows = await storage.sql_fetch(
        "SELECT hint_id, kind, arm, COUNT(*) FROM hint_log "
        "WHERE site_id = ? AND first_at >= ? AND first_at < ? GROUP BY hint_id, kind, arm",
        (site_id, since, until),
    )
    arms: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for hint_id, kind, arm, n in shown_rows:
        arms[(str(hint_id), str(kind))][str(arm)] = int(n)
    shown: list[list[Cell]] = [
        [
            hint_id,
            kind,
            rule.count(a.get("treated", 0), a.get("treated", 0)),
            rule.count(a.get("control", 0), a.get("control", 0)),
        ]
        for (hint_id, kind), a in sorted(arms.items())
    ]

    feedback_rows = await storage.sql_fetch(
        "SELECT hint_id, outcome, COUNT(DISTINCT visitor) FROM hint_feedback "
        "WHERE site_id = ? AND at >= ? AND at < ? GROUP BY hint_id, outcome",
        (site_id, since, until),
    )
    outcomes: dict[str, dict[str, int]] = defaultdict(dict)
    for hint_id, outcome, n in feedback_rows:
        outcomes[str(hint_id)][str(outcome)] = int(n)
    feedback: list[list[Cell]] = [
        [hint_id, *(rule.count(o.get(x, 0), o.get(x, 0)) for x in _OUTCOMES)]
        for hint_id, o in sorted(outcomes.items())
    ]

    log = await hint_store.hint_log(storage, site_id)
    log = [row for row in log if since <= row.first_at < until]
    profiles = await _profiles_of(storage, site_id, {row.visitor for row in log})
    by_rule: dict[str, list[HintLogRow]] = defaultdict(list)
    for row in log:
        by_rule[row.hint_id].append(row)
    uplift_rows: list[list[Cell]] = []
    guardrail_rows: list[list[Cell]] = []
    for name, rows in [("all hints", log), *sorted(by_rule.items())]:
        if not rows:
            continue
        report = uplift(units_from(rows, profiles))
        uplift_rows.append(_uplift_row(name, report, rule))
        guardrail_rows.append(_guardrail_row(name, report, rule))
    return Panel(
        id="hints",
        title="Hints and uplift",
        note="Uplift compares visitors who were shown hints (treated) with the holdout that "
        "was not (control): conversion after the first hint, 95 % intervals (Newcombe). The "
        "guardrail fails when treated visitors are significantly more often irritated.",
        tables=[
            _table("hints_shown", ["rule", "kind", "shown", "held out"], shown),
            _table("feedback", ["rule", *_OUTCOMES], feedback),
            _table(
                "uplift",
                [
                    "rule",
                    "treated visitors",
                    "control visitors",
                    "treated conversion",
                    "control conversion",
                    "uplift",
                    "low",
                    "high",
                ],
                uplift_rows,
            ),
            _table(
                "guardrail",
                [
                    "rule",
                    "treated irritated",
                    "control irritated",
                    "difference",
                    "low",
                    "high",
                    "ok",
                ],
                guardrail_rows,
            ),
        ],
    )


def _uplift_row(name: str, report: UpliftReport, rule: KRule) -> list[Cell]:
    t, c = report.treated, report.control
    t_rate = rule.share(t.conversions, t.conversions, t.visitors, t.visitors)
    c_rate = rule.share(c.conversions, c.conversions, c.visitors, c.visitors)
    interval = report.conversion_uplift if t_rate is not None and c_rate is not None else None
    return [
        name,
        rule.count(t.visitors, t.visitors),
        rule.count(c.visitors, c.visitors),
        t_rate,
        c_rate,
        *(_interval(interval)),
    ]


def _guardrail_row(name: str, report: UpliftReport, rule: KRule) -> list[Cell]:
    t, c = report.treated, report.control
    t_rate = rule.share(t.irritated, t.irritated, t.visitors, t.visitors)
    c_rate = rule.share(c.irritated, c.irritated, c.visitors, c.visitors)
    # A guardrail verdict needs both arms shown; with no irritated visitor in either arm
    # it holds trivially and can be said without revealing anyone.
    both_arms = t.visitors >= rule.k and c.visitors >= rule.k
    none_irritated = both_arms and t.irritated == 0 and c.irritated == 0
    interval = report.irritation_difference if t_rate is not None and c_rate is not None else None
    ok: Cell = None
    if interval is not None and report.guardrail_ok is not None:
        ok = "ok" if report.guardrail_ok else "FAILED"
    elif none_irritated:
        ok = "ok"
    return [name, t_rate, c_rate, *(_interval(interval)), ok]


def _interval(interval: object) -> list[Cell]:
    if interval is None:
        return [None, None, None]
    return [round(getattr(interval, x), 4) for x in ("estimate", "low", "high")]


async def _profiles_of(storage: Storage, site_id: int, visitors: set[str]) -> dict[str, Profile]:
    """The profiles of the visitors who got a hint (outcomes for uplift)."""
    if not visitors:
        return {}
    rows = await storage.sql_fetch(
        "SELECT visitor, data FROM profiles WHERE site_id = ? AND visitor IN "
        "(SELECT visitor FROM hint_log WHERE site_id = ?)",
        (site_id, site_id),
    )
    return {str(v): decode_profile(d) for v, d in rows if str(v) in visitors}
