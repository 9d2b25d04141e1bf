"""Which declared section was in view for most of an affect window (pure Python).

An ``affect`` window says *where* the visitor was when they looked frustrated — the price, the
delivery terms — never *what* they saw: only one word of the closed ``SECTIONS`` vocabulary
leaves the device, and only when a section was in view at all. It is fed the same section and
visibility events the agent already gets from the loader (``SectionIn``/``SectionOut``,
``Visibility``, ``PageView``/``PageEnd``) and keeps, per section, the time it was in view while
the tab was visible, as a short list of intervals. Kept apart from ``features.py`` (which
measures attended dwell for the patterns) because it answers a different question over a
different span: one camera window, on the camera's clock (both are ``Date.now()`` ms).
"""

from __future__ import annotations

from .events import Event, PageEnd, PageView, SectionIn, SectionOut, Visibility
from .records import field, record

__all__ = ["SectionView"]

#: Intervals older than this are forgotten (a window is 5 s; a partial one may be longer).
_KEEP_MS = 120_000.0


@record
class SectionView:
    """Sections in view (by the loader's IntersectionObserver) while the tab is visible."""

    visible: bool = True
    open: dict[str, float] = field(default_factory=dict)
    """Section → since when it has been in view (tab visibility aside)."""
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    """Closed (section, from, to) intervals during which the section was in view and the tab
    visible."""

    def apply(self, event: Event) -> None:
        """Follow one page event; any other event is ignored."""
        if isinstance(event, SectionIn):
            self.open.setdefault(event.section, event.t)
        elif isinstance(event, SectionOut):
            since = self.open.pop(event.section, None)
            if since is not None and self.visible:
                self._close(event.section, since, event.t)
        elif isinstance(event, Visibility):
            if self.visible and not event.attended:
                for section, since in self.open.items():
                    self._close(section, since, event.t)
            elif not self.visible and event.attended:
                self.open = dict.fromkeys(self.open, event.t)
            self.visible = event.attended
        elif isinstance(event, PageView | PageEnd):
            if self.visible:
                for section, since in self.open.items():
                    self._close(section, since, event.t)
            self.open = {}
            self.visible = True

    def _close(self, section: str, start: float, end: float) -> None:
        if end > start:
            self.spans.append((section, start, end))
        self.spans = [s for s in self.spans if s[2] >= end - _KEEP_MS][-64:]

    def most_in_view(self, start_ms: float, end_ms: float) -> str | None:
        """The section in view longest within [start_ms, end_ms] (None: none was)."""
        totals: dict[str, float] = {}
        spans = list(self.spans)
        if self.visible:
            spans += [(s, since, end_ms) for s, since in self.open.items()]
        for section, a, b in spans:
            overlap = min(b, end_ms) - max(a, start_ms)
            if overlap > 0:
                totals[section] = totals.get(section, 0.0) + overlap
        if not totals:
            return None
        return max(sorted(totals), key=lambda s: totals[s])
