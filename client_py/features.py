"""Session features computed from raw events: attended dwell, scroll depth, clicks, revisits.

Dwell counts only *attended* time: the section is in view, the tab is visible and focused, and
the visitor was active within the idle window. A tab left open over lunch is not interest.
The state is a plain, JSON-able snapshot so the session survives page navigations (the loader
keeps it in the host page's sessionStorage, on the device).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from client_py.events import (
    Action,
    Activity,
    Click,
    Event,
    PageEnd,
    PageView,
    Scroll,
    SectionIn,
    SectionOut,
    Visibility,
)

__all__ = ["IDLE_AFTER_MS", "SessionFeatures", "dwell_key"]

#: Without pointer, key or scroll activity for this long the visitor counts as idle.
IDLE_AFTER_MS: Final = 30_000.0
#: Sections whose alternation with ``price`` shows a weighing-up visitor.
REASSURANCE_SECTIONS: Final = frozenset({"returns", "warranty"})


def dwell_key(section: str, item: str | None) -> str:
    """Dwell is kept per declared section and item; one string key keeps the state JSON-able."""
    return f"{section}|{item or ''}"


@dataclass
class SessionFeatures:
    """Features of one visitor session, advanced event by event."""

    dwell_ms: dict[str, float] = field(default_factory=dict)
    clicks: int = 0
    max_scroll: float = 0.0
    page_views: int = 0
    #: item -> number of page views in which it was seen
    item_views: dict[str, int] = field(default_factory=dict)
    #: price <-> returns/warranty alternations (the weighing-up loop)
    back_and_forth: int = 0
    actions: list[str] = field(default_factory=list)
    # Volatile page state: not carried over to the next page.
    _in_view: dict[str, float] = field(default_factory=dict)
    _items_this_page: set[str] = field(default_factory=set)
    _attended: bool = True
    _last_t: float | None = None
    _last_activity: float | None = None
    _last_group: str | None = None

    # -- time accounting -------------------------------------------------------------------
    def advance(self, t: float) -> None:
        """Credit attended time since the last event to every section in view."""
        last = self._last_t
        if last is None or t <= last:
            self._last_t = t if last is None else max(last, t)
            return
        if self._attended and self._in_view:
            active_until = self._last_activity if self._last_activity is not None else last
            counted_until = min(t, active_until + IDLE_AFTER_MS)
            credit = counted_until - last
            if credit > 0:
                for key in self._in_view:
                    self.dwell_ms[key] = self.dwell_ms.get(key, 0.0) + credit
        self._last_t = t

    def apply(self, event: Event) -> None:
        """Advance time to the event, then let it change the state."""
        self.advance(event.t)
        if isinstance(event, PageView):
            self._start_page(event.t)
        elif isinstance(event, PageEnd):
            self._in_view.clear()
        elif isinstance(event, SectionIn):
            self._section_in(event)
        elif isinstance(event, SectionOut):
            self._in_view.pop(dwell_key(event.section, event.item), None)
        elif isinstance(event, Visibility):
            self._attended = event.attended
            if event.attended:
                self._last_activity = event.t
        elif isinstance(event, Activity):
            self._last_activity = event.t
        elif isinstance(event, Scroll):
            self._last_activity = event.t
            self.max_scroll = max(self.max_scroll, event.depth)
        elif isinstance(event, Click):
            self._last_activity = event.t
            self.clicks += 1
        elif isinstance(event, Action) and event.name not in self.actions:
            self.actions.append(event.name)

    def _start_page(self, t: float) -> None:
        self.page_views += 1
        self.max_scroll = 0.0
        self._in_view.clear()
        self._items_this_page.clear()
        self._attended = True
        self._last_activity = t

    def _section_in(self, event: SectionIn) -> None:
        key = dwell_key(event.section, event.item)
        if key in self._in_view:
            return  # the observer reports every visibility step; only the first one counts
        self._in_view[key] = event.t
        if event.item and event.item not in self._items_this_page:
            self._items_this_page.add(event.item)
            self.item_views[event.item] = self.item_views.get(event.item, 0) + 1
        group = (
            "price"
            if event.section == "price"
            else "reassure"
            if event.section in REASSURANCE_SECTIONS
            else None
        )
        if group is not None:
            if self._last_group is not None and group != self._last_group:
                self.back_and_forth += 1
            self._last_group = group

    # -- derived views -----------------------------------------------------------------------
    def dwell_seconds(self, *sections: str) -> float:
        """Attended seconds on the given sections, summed over items."""
        wanted = set(sections)
        return sum(ms for key, ms in self.dwell_ms.items() if key.split("|", 1)[0] in wanted) / 1000

    def revisits(self) -> dict[str, int]:
        """Items seen on more than one page this session, with how many times they came back."""
        return {item: views - 1 for item, views in self.item_views.items() if views > 1}

    # -- persistence across pages ----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "dwell_ms": dict(self.dwell_ms),
            "clicks": self.clicks,
            "max_scroll": self.max_scroll,
            "page_views": self.page_views,
            "item_views": dict(self.item_views),
            "back_and_forth": self.back_and_forth,
            "actions": list(self.actions),
            "last_group": self._last_group,
        }

    @classmethod
    def restore(cls, data: object) -> SessionFeatures:
        """Rebuild from a snapshot, ignoring anything that doesn't have the right shape."""
        features = cls()
        if not isinstance(data, dict):
            return features
        dwell = data.get("dwell_ms")
        if isinstance(dwell, dict):
            features.dwell_ms = {
                str(k): float(v)
                for k, v in dwell.items()
                if isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
            }
        views = data.get("item_views")
        if isinstance(views, dict):
            features.item_views = {
                str(k): int(v) for k, v in views.items() if isinstance(v, int) and v > 0
            }
        for name in ("clicks", "page_views", "back_and_forth"):
            value = data.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                setattr(features, name, value)
        scroll = data.get("max_scroll")
        if isinstance(scroll, int | float) and 0 <= scroll <= 1:
            features.max_scroll = float(scroll)
        actions = data.get("actions")
        if isinstance(actions, list):
            features.actions = [a for a in actions if isinstance(a, str)][:50]
        group = data.get("last_group")
        features._last_group = group if group in ("price", "reassure") else None
        return features
