"""The report's cells and their bit in a visitor's reach bitmap.

``report_reach`` keeps one row per (site, UTC hour, visitor) whose four 64-bit words say which
cells the visitor touched in that hour; the report ORs a visitor's rows per local day (and
over the range) and counts set bits per cell — the distinct visitors the k rule needs. One row
per visitor-hour instead of one per visitor-hour-cell is what keeps the writer's share of the
rollups small (bench/report.py).

The list only grows at its end: a cell's bit is its position, stored in rows already written.
Cells outside the list (none today) would get aggregates but no reach, so the report shows them
as under k.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Final

from rapport.client_py.schema import EXPRESSIONS, PATTERNS, SECTIONS, TONES, TOPICS

__all__ = [
    "BIT",
    "CELLS",
    "DAILY_MASK",
    "SCORE_BUCKETS",
    "SECTION_BIT",
    "WORDS",
    "bucket",
    "cell_names",
    "from_words",
    "to_words",
]

#: 64-bit words per reach row (columns ``w0`` … ``w3``).
WORDS: Final = 4
#: Upper bounds of the lead-score and abandon-risk buckets (``lead:0`` is [0, 0.2) …): the
#: report shows each visitor in the bucket of their highest score in the range.
SCORE_BUCKETS: Final = (0.2, 0.4, 0.6, 0.8, 1.0)
_LAST_BUCKET: Final = len(SCORE_BUCKETS) - 1
_SECTIONS: Final = (*SECTIONS, "page")


def _cells() -> tuple[str, ...]:
    cells = ["visit", "session", "camera"]
    cells += [f"pattern:{p}" for p in PATTERNS]
    cells += [f"overlap:{a}+{b}" for i, a in enumerate(sorted(PATTERNS)) for b in
              sorted(PATTERNS)[i + 1:]]  # fmt: skip
    cells += [f"funnel:{s}" for s in ("view", "add_to_cart", "purchase")]
    cells += [f"funnel:{s}|{p}" for s in ("view", "add_to_cart", "purchase") for p in PATTERNS]
    cells += [f"friction:{n}" for n in ("rage_clicks", "dead_clicks", "quick_backs",
                                        "hovers_without_click", "price_returns_loops")]  # fmt: skip
    cells += [f"section:{s}:{e}" for s in SECTIONS for e in ("dwell", "hover_without_click",
                                                             "copy")]  # fmt: skip
    cells += [f"affect:{s}" for s in _SECTIONS]
    cells += [f"valence:{s}" for s in _SECTIONS]
    cells += [f"affect:{s}:{e}" for s in _SECTIONS for e in EXPRESSIONS]
    cells += [f"tone:{t}" for t in TONES]
    cells += [f"topic:{t}" for t in TOPICS]
    cells += ["camera_session"]
    cells += [f"lead:{i}" for i in range(len(SCORE_BUCKETS))]
    cells += [f"abandon:{i}" for i in range(len(SCORE_BUCKETS))]
    return tuple(cells)


#: Every cell with a reach bit, in bit order.
CELLS: Final = _cells()
if len(CELLS) > 64 * WORDS:  # pragma: no cover - a schema change that needs a migration
    raise RuntimeError(f"{len(CELLS)} report cells do not fit {WORDS} reach words")
#: Cell → its bit (``1 << index``).
BIT: Final[dict[str, int]] = {cell: 1 << i for i, cell in enumerate(CELLS)}
#: The cells the report counts per day (traffic and patterns); the rest only over the range.
DAILY_MASK: Final = (
    BIT["visit"] | BIT["session"] | BIT["camera"] | BIT["camera_session"]
    | sum(BIT[f"pattern:{p}"] for p in PATTERNS)
)  # fmt: skip
#: ``(section, "dwell" or a section event's name)`` → its ``section:…`` bit. The request
#: handler ORs a batch's into :attr:`Observations.section_bits`, so the writer never looks at
#: a dwell or section event again (bench/report.py).
SECTION_BIT: Final[dict[tuple[str, str], int]] = {
    (cell.split(":")[1], cell.split(":")[2]): bit
    for cell, bit in BIT.items()
    if cell.startswith("section:")
}
_MASK: Final = (1 << 64) - 1


def cell_names(bits: int) -> set[str]:
    """The cells whose bits are set in ``bits`` (for tests and debugging: readable bitmaps)."""
    return {cell for cell, bit in BIT.items() if bits & bit}


def to_words(bits: int) -> tuple[int, ...]:
    """The bitmap as ``WORDS`` signed 64-bit integers (what both databases store)."""
    out = []
    for i in range(WORDS):
        word = (bits >> (64 * i)) & _MASK
        out.append(word - (1 << 64) if word >> 63 else word)
    return tuple(out)


def from_words(words: tuple[int, ...] | list[int]) -> int:
    """The bitmap from its stored words."""
    bits = 0
    for i, word in enumerate(words):
        bits |= (int(word) & _MASK) << (64 * i)
    return bits


def bucket(probability: float) -> int:
    """The :data:`SCORE_BUCKETS` index of a probability: the first bucket whose upper bound
    is above it (the last one for 1.0). A bisection in C, not a loop: the writer's rollups
    bucket two scores per scored batch."""
    return min(bisect_right(SCORE_BUCKETS, probability), _LAST_BUCKET)
