"""Session features computed from raw events, per session and per declared element.

Dwell counts only *attended* time: the section is in view, the tab is visible and focused, and
the visitor showed activity (pointer, scroll, keys, a field's focus) within the short
``attention_ms`` window. A page that merely rendered is not read — opening a listing and doing
nothing gives no dwell, no compared items, no prices "looked at" — and a tab left open over
lunch is not interest. Items count as *considered* only from attention: attended time shared
between the items in view, a pointer resting on one, or a click in it.

Reading is measured against what was readable: each section's attended time is divided by an
estimated reading time from its size (``read_ms_per_screen`` per viewport height of the
section, clamped), so "read the specs" means the same on a short table and a long one.
Besides dwell the session keeps counters of behaviour (rage and dead clicks, quick backs,
excessive scrolling, idle periods, tab switches, abandoned forms, comparisons between items,
hovers without a click, copies from a section) and a coarse context (part of day and week,
device class, entry source class). The thresholds are in :class:`FeatureRules`, one place.

The state is a plain, JSON-able snapshot so the session survives page navigations (the loader
keeps it in the host page's sessionStorage, on the device).
"""

from __future__ import annotations

from typing import Any, Final

from .events import (
    Action,
    Activity,
    Change,
    ChatText,
    Click,
    Context,
    Copy,
    Event,
    FieldFocus,
    Hover,
    PageEnd,
    PageView,
    Scroll,
    SectionIn,
    SectionOut,
    Submit,
    Visibility,
)
from .records import field, record, record_fields
from .schema import (
    COUNTERS,
    CURRENCY_PATTERN,
    DAYPARTS,
    DEVICES,
    SECTIONS,
    SOURCES,
    WEEK_PARTS,
    Key,
    Number,
)

__all__ = [
    "DEFAULT_RULES",
    "IDLE_AFTER_MS",
    "FeatureRules",
    "SessionFeatures",
    "classify_device",
    "classify_source",
    "dwell_key",
    "local_time_parts",
]

#: Without pointer, key or scroll activity for this long the visitor counts as idle.
IDLE_AFTER_MS: Final = 30_000.0
#: Dwell is attended for this long after the visitor's last activity (pointer, scroll, keys…).
ATTENTION_MS: Final = 8_000.0
#: Sections whose alternation with ``price`` shows a weighing-up visitor.
REASSURANCE_SECTIONS: Final = frozenset({"returns", "warranty"})
#: The two sides of the weighing-up loop (price <-> returns/warranty).
_LOOP_GROUP: Final = {"price": "price", **dict.fromkeys(REASSURANCE_SECTIONS, "reassure")}
#: Sections where one item is compared with another.
COMPARABLE_SECTIONS: Final = frozenset({"price", "specs"})
_MAX_TRACKED: Final = 64


@record(frozen=True)
class FeatureRules:
    """Thresholds of the behaviour features (a site may override them, see ``agent.py``).

    Rage clicks follow PostHog's rule: at least ``rage_clicks`` clicks, each within
    ``rage_radius_px`` of the first and at most ``rage_gap_ms`` after the previous one.
    """

    idle_after_ms: float = IDLE_AFTER_MS
    rage_clicks: int = 3
    rage_radius_px: float = 30.0
    rage_gap_ms: float = 1_000.0
    #: A click with no DOM change, selection, scroll, field focus or navigation this soon after.
    dead_click_ms: float = 2_500.0
    #: Leaving a page this soon, through the browser's back button, is a quick back.
    quick_back_ms: float = 7_000.0
    #: Scrolling more than this many page lengths on one page, with direction reversals.
    excessive_scroll_pages: float = 3.0
    excessive_scroll_reversals: int = 4
    #: A pointer resting on a section this long without clicking in it.
    hover_min_ms: float = 1_000.0
    #: Dwell counts while the visitor was active (pointer, scroll, keys, focus) this recently.
    attention_ms: float = ATTENTION_MS
    #: An item is considered after this much attended time (shared between the items in view),
    #: or after the pointer rested on it ``consider_hover_ms``, or a click in it.
    consider_ms: float = 3_000.0
    consider_hover_ms: float = 600.0
    #: A price or reassurance section (returns, warranty) takes part in the weighing-up loop
    #: once it got this much attended time (shared between such sections in view), or the
    #: pointer rested on it ``consider_hover_ms``, or a click in it: scrolling past a price and
    #: a returns policy is not weighing one against the other.
    loop_attend_ms: float = 1_500.0
    #: A field focus, scroll or navigation this soon after a click is the click's effect;
    #: earlier clicks stay pending (rage clicks followed by typing are still dead clicks).
    effect_link_ms: float = 500.0
    #: Estimated reading time per viewport height of a section, and its bounds (see
    #: ``reading``): attended time / this estimate = how much of the section was read.
    read_ms_per_screen: float = 8_000.0
    read_min_ms: float = 6_000.0
    read_max_ms: float = 24_000.0

    @classmethod
    def with_overrides(cls, data: object, base: FeatureRules | None = None) -> FeatureRules:
        """``base`` with the numeric fields ``data`` names (unknown or bad values ignored)."""
        rules = base or cls()
        if not isinstance(data, dict):
            return rules
        changes: dict[str, Any] = {}
        for f in record_fields(cls):
            value = data.get(f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e7:
                changes[f.name] = int(value) if f.type == "int" else float(value)
        return cls(**{**{f.name: getattr(rules, f.name) for f in record_fields(cls)}, **changes})


DEFAULT_RULES: Final = FeatureRules()

_AD_MEDIUMS: Final = frozenset(
    {"cpc", "ppc", "paid", "paidsearch", "paid_search", "paid-search", "display", "cpm", "cpv"}
    | {"banner", "ad", "ads", "paid_social", "paidsocial", "retargeting", "remarketing"}
)
_EMAIL_MEDIUMS: Final = frozenset({"email", "e-mail", "e_mail", "newsletter", "mail"})
_SEARCH_MEDIUMS: Final = frozenset({"organic", "seo", "search"})
_SEARCH_HOSTS: Final = (
    "google.",
    "bing.com",
    "yandex.",
    "ya.ru",
    "duckduckgo.com",
    "search.yahoo.",
    "baidu.com",
    "ecosia.org",
    "startpage.com",
    "search.brave.com",
    "go.mail.ru",
    "qwant.com",
)
_EMAIL_HOSTS: Final = ("mail.google.", "outlook.", "mail.yahoo.", "e.mail.ru", "mail.yandex.")


def classify_source(utm_medium: str, referrer_host: str) -> str:
    """ad / search / direct / referral / email, from the UTM medium and the referrer host."""
    medium, host = utm_medium.strip().lower(), referrer_host.strip().lower()
    if medium in _AD_MEDIUMS:
        return "ad"
    if medium in _EMAIL_MEDIUMS:
        return "email"
    if medium in _SEARCH_MEDIUMS:
        return "search"
    if host:
        if any(marker in host for marker in _EMAIL_HOSTS):
            return "email"
        if any(marker in host for marker in _SEARCH_HOSTS):
            return "search"
        return "referral"
    return "referral" if medium else "direct"


def classify_device(width: float, coarse: bool) -> str:
    """mobile / tablet / desktop from the viewport width and whether the pointer is coarse."""
    if width < 600 or (coarse and width < 768):
        return "mobile"
    if coarse and width < 1_280:
        return "tablet"
    return "desktop"


def local_time_parts(t_ms: float, tz_offset_min: float) -> tuple[str, str]:
    """(daypart, weekday|weekend) on the visitor's clock; ``tz_offset_min`` as JS gives it."""
    local_ms = t_ms - tz_offset_min * 60_000
    hour = int(local_ms // 3_600_000) % 24
    weekday = (int(local_ms // 86_400_000) + 4) % 7  # 1970-01-01 was a Thursday; 0 = Sunday
    daypart = DAYPARTS[min(hour // 6, 3)]
    return daypart, WEEK_PARTS[1] if weekday in (0, 6) else WEEK_PARTS[0]


def dwell_key(section: str, item: str | None) -> str:
    """Dwell is kept per declared section and item; one string key keeps the state JSON-able."""
    return f"{section}|{item or ''}"


def _nonneg_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def _nonneg_float(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e15:
        return float(value)
    return None


@record
class SessionFeatures:
    """Features of one visitor session, advanced event by event."""

    dwell_ms: dict[str, float] = field(default_factory=dict)
    #: attended time per section with any of its items in view (not summed over items: six
    #: prices in view for 5 s are 5 s on prices, not 30)
    section_ms: dict[str, float] = field(default_factory=dict)
    #: (section, item) key -> its largest size seen, in viewport heights (for reading time)
    sizes: dict[str, float] = field(default_factory=dict)
    clicks: int = 0
    max_scroll: float = 0.0
    page_views: int = 0
    #: item -> number of page views in which it was seen
    item_views: dict[str, int] = field(default_factory=dict)
    #: price <-> returns/warranty alternations (the weighing-up loop)
    back_and_forth: int = 0
    actions: list[str] = field(default_factory=list)
    #: action -> (value, currency) of its first ``rapport.track`` call that carried a value
    action_values: dict[str, tuple[float, str | None]] = field(default_factory=dict)
    #: behaviour counters, by the names in ``schema.COUNTERS``
    counters: dict[str, int] = field(default_factory=dict)
    #: section -> copies from it; section -> hovers of ``hover_min_ms`` without a click
    copies: dict[str, int] = field(default_factory=dict)
    hovers: dict[str, int] = field(default_factory=dict)
    #: items whose price was considered (attended, hovered or clicked — not merely rendered)
    price_items: list[str] = field(default_factory=list)
    #: fastest scrolling this session, page lengths per second
    max_scroll_speed: float = 0.0
    #: attended time on the site this session (any page, in view or not)
    attended_ms: float = 0.0
    #: committed (cart, checkout, purchase) this soon into the session, or None
    commit_after_ms: float | None = None
    context: dict[str, str] = field(default_factory=dict)
    rules: FeatureRules = DEFAULT_RULES
    # Page state kept across a navigation (to judge the page just left).
    _page_started: float | None = None
    _page_fields: int = 0
    _page_submitted: bool = False
    _last_group: str | None = None
    _last_item: str | None = None
    # Volatile page state: not carried over to the next page.
    _in_view: dict[str, float] = field(default_factory=dict)
    _items_this_page: set[str] = field(default_factory=set)
    _attended: bool = True
    _last_t: float | None = None
    _last_activity: float | None = None
    #: the visitor's own last input on this page (a page view is not one): attention
    _last_input: float | None = None
    _last_focus: float | None = None
    _share_ms: dict[str, float] = field(default_factory=dict)
    _considered: set[str] = field(default_factory=set)
    #: price / reassurance sections in view: attended ms this time in view; those attended
    _loop_ms: dict[str, float] = field(default_factory=dict)
    _loop_attended: set[str] = field(default_factory=set)
    #: clicks (t, x, y) waiting for an effect that says they did something
    _pending_clicks: list[tuple[float, float, float]] = field(default_factory=list)
    _rage_run: list[tuple[float, float, float]] = field(default_factory=list)
    _rage_counted: bool = False
    #: (section, item, since, clicked)
    _hover: tuple[str, str | None, float, bool] | None = None
    _scroll_last: tuple[float, float] | None = None
    _scroll_travel: float = 0.0
    _scroll_dir: int = 0
    _scroll_reversals: int = 0
    _scroll_flagged: bool = False

    # -- time accounting -------------------------------------------------------------------
    def advance(self, t: float) -> None:
        """Credit attended time since the last event; settle clicks that turned out dead."""
        last = self._last_t
        if last is None or t <= last:
            self._last_t = t if last is None else max(last, t)
            return
        rules = self.rules
        if self._attended:
            active_until = self._last_activity if self._last_activity is not None else last
            credit = min(t, active_until + rules.idle_after_ms) - last
            if credit > 0:
                self.attended_ms += credit
            if self._last_input is not None:
                self._credit_dwell(min(t, self._last_input + rules.attention_ms) - last)
        self._last_t = t
        hover = self._hover
        if hover is not None and t - hover[2] >= rules.consider_hover_ms:
            if hover[1]:
                self._consider(hover[0], hover[1])
            self._attend_loop(hover[0])
        if self._pending_clicks and t - self._pending_clicks[0][0] > rules.dead_click_ms:
            dead = [c for c in self._pending_clicks if t - c[0] > rules.dead_click_ms]
            self._count("dead_clicks", len(dead))
            self._pending_clicks = self._pending_clicks[len(dead) :]

    def _credit_dwell(self, credit: float) -> None:
        """Attended time to every section in view; shared between the items in view, to say
        which ones the visitor gave enough attention to count as considered."""
        if credit <= 0 or not self._in_view:
            return
        for key in self._in_view:
            self.dwell_ms[key] = self.dwell_ms.get(key, 0.0) + credit
        in_view = {key.split("|", 1)[0] for key in self._in_view}
        for section in in_view:
            self.section_ms[section] = self.section_ms.get(section, 0.0) + credit
        looped = [section for section in in_view if section in _LOOP_GROUP]
        for section in looped:
            attended = self._loop_ms.get(section, 0.0) + credit / len(looped)
            self._loop_ms[section] = attended
            if attended >= self.rules.loop_attend_ms:
                self._attend_loop(section)
        items = [key for key in self._in_view if not key.endswith("|")]
        for key in items:
            share = self._share_ms.get(key, 0.0) + credit / len(items)
            self._share_ms[key] = share
            if share >= self.rules.consider_ms and key not in self._considered:
                self._considered.add(key)
                section, item = key.split("|", 1)
                self._consider(section, item)

    def apply(self, event: Event) -> None:
        """Advance time to the event, then let it change the state."""
        self.advance(event.t)
        if isinstance(event, PageView):
            self._start_page(event)
        elif isinstance(event, PageEnd):
            self._end_hover(event.t)
            self._in_view.clear()
            self._loop_ms.clear()
            self._loop_attended.clear()
            self._effect(event.t, settle=True)
        elif isinstance(event, SectionIn):
            self._section_in(event)
        elif isinstance(event, SectionOut):
            key = dwell_key(event.section, event.item)
            self._in_view.pop(key, None)
            self._share_ms.pop(key, None)  # back in view later, it is attended anew
            self._considered.discard(key)
            if not any(k.split("|", 1)[0] == event.section for k in self._in_view):
                self._loop_ms.pop(event.section, None)
                self._loop_attended.discard(event.section)
        elif isinstance(event, Visibility):
            if self._attended and not event.attended:
                self._count("tab_switches")
            self._attended = event.attended
            if event.attended:
                self._active(event.t)
        elif isinstance(event, Activity | ChatText):
            self._active(event.t, visitor=True)
        elif isinstance(event, Scroll):
            self._active(event.t, visitor=True)
            self._effect(event.t)
            self._scroll(event)
        elif isinstance(event, Click):
            self._active(event.t, visitor=True)
            self._click(event)
        elif isinstance(event, Change):
            self._effect(event.t, within=self.rules.dead_click_ms)
        elif isinstance(event, FieldFocus):
            self._active(event.t, visitor=True)
            self._effect(event.t)
            self._last_focus = event.t
            self._page_fields += 1
        elif isinstance(event, Submit):
            self._page_submitted = True
        elif isinstance(event, Hover):
            self._active(event.t, visitor=True)
            self._end_hover(event.t)
            if event.section is not None:
                self._hover = (event.section, event.item, event.t, False)
        elif isinstance(event, Copy):
            self._active(event.t, visitor=True)
            if event.section is not None:
                self.copies[event.section] = self.copies.get(event.section, 0) + 1
        elif isinstance(event, Context):
            self._context(event)
        elif isinstance(event, Action):
            if event.name not in self.actions and len(self.actions) < 50:
                self.actions.append(event.name)
            if event.value is not None and event.name in self.actions:
                self.action_values.setdefault(event.name, (event.value, event.currency))
            if event.name in COMMITTING_ACTIONS and self.commit_after_ms is None:
                self.commit_after_ms = self.attended_ms

    def _count(self, name: str, n: int = 1) -> None:
        if n > 0:
            self.counters[name] = self.counters.get(name, 0) + n

    def _active(self, t: float, *, visitor: bool = False) -> None:
        last = self._last_activity
        if last is not None and t - last > self.rules.idle_after_ms:
            self._count("idle_periods")
        self._last_activity = t
        if visitor:
            self._last_input = t

    def _effect(self, t: float, *, within: float | None = None, settle: bool = False) -> None:
        """Something happened at ``t`` (a DOM change, field focus, scroll, navigation): it
        answers the last click before it — when that click is at most ``within`` (default
        ``effect_link_ms``) old — and the clicks on the same spot as that one; not the others
        (rage clicks on a dead image, then a click into the chat: the image clicks stay dead).
        Leaving the page (``settle``) makes the unanswered clicks dead: nothing answered them
        while the page lived."""
        rules, pending = self.rules, self._pending_clicks
        link = rules.effect_link_ms if within is None else within
        if pending and 0 <= t - pending[-1][0] <= link:
            _, x0, y0 = pending[-1]
            radius = rules.rage_radius_px**2
            pending = [c for c in pending if (c[1] - x0) ** 2 + (c[2] - y0) ** 2 > radius]
        if settle:
            self._count("dead_clicks", len(pending))
            pending = []
        self._pending_clicks = pending

    def _start_page(self, event: PageView) -> None:
        t = event.t
        started = self._page_started
        back = event.nav == "back_forward" and started is not None
        if back and started is not None and 0 <= t - started < self.rules.quick_back_ms:
            self._count("quick_backs")
        if self._page_fields and not self._page_submitted:
            self._count("forms_abandoned")
        self.page_views += 1
        self.counters["page_views"] = self.page_views
        self.max_scroll = 0.0
        self._page_started = t
        self._page_fields, self._page_submitted = 0, False
        self._in_view.clear()
        self._items_this_page.clear()
        self._share_ms.clear()
        self._considered.clear()
        self._loop_ms.clear()
        self._loop_attended.clear()
        self._pending_clicks.clear()
        self._rage_run.clear()
        self._rage_counted = False
        self._last_input, self._last_focus = None, None
        self._hover = None
        self._scroll_last, self._scroll_travel = None, 0.0
        self._scroll_dir, self._scroll_reversals, self._scroll_flagged = 0, 0, False
        self._attended = True
        self._active(t)

    def _section_in(self, event: SectionIn) -> None:
        key = dwell_key(event.section, event.item)
        if event.size is not None and (key in self.sizes or len(self.sizes) < _MAX_TRACKED):
            self.sizes[key] = round(max(self.sizes.get(key, 0.0), event.size), 2)
        if key in self._in_view:
            return  # the observer reports every visibility step; only the first one counts
        self._in_view[key] = event.t
        item = event.item
        if item and item not in self._items_this_page:
            self._items_this_page.add(item)
            if item in self.item_views or len(self.item_views) < _MAX_TRACKED:
                self.item_views[item] = self.item_views.get(item, 0) + 1
            self.counters["items_viewed"] = len(self.item_views)

    def _attend_loop(self, section: str) -> None:
        """The visitor attended a price or reassurance section (``rules.loop_attend_ms``): a
        switch between the two groups is one more turn of the weighing-up loop. Once per time
        in view, so that dwelling on one section counts it once."""
        group = _LOOP_GROUP.get(section)
        if group is None or section in self._loop_attended:
            return
        self._loop_attended.add(section)
        if self._last_group is not None and group != self._last_group:
            self.back_and_forth += 1
        self._last_group = group

    def _consider(self, section: str, item: str) -> None:
        """The visitor gave this item attention: its price was looked at; moving between
        distinct items on price or specs (back to an earlier one too) is a comparison."""
        new_price = section == "price" and item not in self.price_items
        if new_price and len(self.price_items) < _MAX_TRACKED:
            self.price_items.append(item)
        if section in COMPARABLE_SECTIONS:
            if self._last_item is not None and item != self._last_item:
                self._count("comparisons")
            self._last_item = item

    def _click(self, event: Click) -> None:
        self.clicks += 1
        rules, run = self.rules, self._rage_run
        focused = self._last_focus
        if focused is None or not 0 <= event.t - focused <= rules.effect_link_ms:
            # (a click that focused a field did something: the focus comes just before it)
            self._pending_clicks.append((event.t, event.x, event.y))
        hover = self._hover
        if hover is not None and event.section == hover[0]:
            self._hover = (hover[0], hover[1], hover[2], True)
        if event.section is not None:
            self._attend_loop(event.section)
            if event.item:
                self._consider(event.section, event.item)
        if run:
            _, x0, y0 = run[0]
            near = (event.x - x0) ** 2 + (event.y - y0) ** 2 <= rules.rage_radius_px**2
            if not near or event.t - run[-1][0] > rules.rage_gap_ms:
                run.clear()
        if not run:
            self._rage_counted = False  # a new burst: counted on its own
        run.append((event.t, event.x, event.y))
        if len(run) >= rules.rage_clicks and not self._rage_counted:
            self._count("rage_clicks")
            self._rage_counted = True
        del run[:-_MAX_TRACKED]

    def _end_hover(self, t: float) -> None:
        hover = self._hover
        self._hover = None
        if hover is not None and t - hover[2] >= self.rules.consider_hover_ms:
            if hover[1]:
                self._consider(hover[0], hover[1])
            self._attend_loop(hover[0])
        if hover is not None and not hover[3] and t - hover[2] >= self.rules.hover_min_ms:
            self.hovers[hover[0]] = self.hovers.get(hover[0], 0) + 1
            self._count("hovers_without_click")

    def _scroll(self, event: Scroll) -> None:
        self.max_scroll = max(self.max_scroll, event.depth)
        last = self._scroll_last
        self._scroll_last = (event.t, event.depth)
        if last is None:
            return
        delta = event.depth - last[1]
        self._scroll_travel += abs(delta)
        dt = event.t - last[0]
        if dt >= 100:
            self.max_scroll_speed = min(100.0, max(self.max_scroll_speed, abs(delta) / dt * 1000))
        direction = (delta > 0) - (delta < 0)
        if direction and self._scroll_dir and direction != self._scroll_dir:
            self._scroll_reversals += 1
        if direction:
            self._scroll_dir = direction
        rules = self.rules
        if (
            not self._scroll_flagged
            and self._scroll_travel >= rules.excessive_scroll_pages
            and self._scroll_reversals >= rules.excessive_scroll_reversals
        ):
            self._scroll_flagged = True
            self._count("excessive_scrolls")

    def _context(self, event: Context) -> None:
        daypart, week = local_time_parts(event.t, event.tz_offset_min)
        self.context["daypart"], self.context["week"] = daypart, week
        self.context["device"] = classify_device(event.width, event.coarse)
        if "source" not in self.context:  # the entry of the session decides its source
            self.context["source"] = classify_source(event.utm_medium, event.referrer_host)

    # -- derived views -----------------------------------------------------------------------
    def dwell_seconds(self, *sections: str) -> float:
        """Attended seconds with the given sections in view (items in view together count once)."""
        return sum(self.section_ms.get(section, 0.0) for section in set(sections)) / 1000

    def reading_ms(self, key: str) -> float:
        """Estimated time to read one section: ``read_ms_per_screen`` per viewport height of it
        (one screen when the size is unknown), within [``read_min_ms``, ``read_max_ms``]."""
        rules = self.rules
        estimate = rules.read_ms_per_screen * self.sizes.get(key, 1.0)
        return max(rules.read_min_ms, min(rules.read_max_ms, estimate))

    def read(self, section: str) -> float:
        """How many of the section's instances (items) were read: the sum, over them, of
        attended time / estimated reading time, each capped at one read."""
        return sum(
            min(ms / self.reading_ms(key), 1.0)
            for key, ms in self.dwell_ms.items()
            if key.split("|", 1)[0] == section
        )

    def revisits(self) -> dict[str, int]:
        """Items seen on more than one page this session, with how many times they came back."""
        return {item: views - 1 for item, views in self.item_views.items() if views > 1}

    def counter(self, name: str) -> int:
        return self.counters.get(name, 0)

    # -- persistence across pages ----------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "dwell_ms": dict(self.dwell_ms),
            "section_ms": dict(self.section_ms),
            "sizes": dict(self.sizes),
            "clicks": self.clicks,
            "max_scroll": self.max_scroll,
            "page_views": self.page_views,
            "item_views": dict(self.item_views),
            "back_and_forth": self.back_and_forth,
            "actions": list(self.actions),
            "action_values": {k: list(v) for k, v in self.action_values.items()},
            "counters": dict(self.counters),
            "copies": dict(self.copies),
            "hovers": dict(self.hovers),
            "price_items": list(self.price_items),
            "max_scroll_speed": self.max_scroll_speed,
            "attended_ms": self.attended_ms,
            "commit_after_ms": self.commit_after_ms,
            "context": dict(self.context),
            "last_group": self._last_group,
            "last_item": self._last_item,
            "page_started": self._page_started,
            "page_fields": self._page_fields,
            "page_submitted": self._page_submitted,
        }

    @classmethod
    def restore(cls, data: object, rules: FeatureRules = DEFAULT_RULES) -> SessionFeatures:
        """Rebuild from a snapshot, ignoring anything that doesn't have the right shape."""
        features = cls(rules=rules)
        if not isinstance(data, dict):
            return features
        dwell = data.get("dwell_ms")
        if isinstance(dwell, dict):
            features.dwell_ms = {
                str(k): float(v)
                for k, v in list(dwell.items())[: _MAX_TRACKED * len(SECTIONS)]
                if _nonneg_float(v) is not None
            }
        for name in ("section_ms", "sizes"):
            values = data.get(name)
            if isinstance(values, dict):
                setattr(
                    features,
                    name,
                    {
                        str(k): float(v)
                        for k, v in list(values.items())[: _MAX_TRACKED * len(SECTIONS)]
                        if _nonneg_float(v) is not None
                    },
                )
        views = data.get("item_views")
        if isinstance(views, dict):
            features.item_views = {
                str(k): int(v) for k, v in list(views.items())[:_MAX_TRACKED] if _nonneg_int(v)
            }
        for name in ("clicks", "page_views", "back_and_forth", "page_fields"):
            value = _nonneg_int(data.get(name))
            if value is not None:
                setattr(features, name if name != "page_fields" else "_page_fields", value)
        scroll = data.get("max_scroll")
        if isinstance(scroll, int | float) and 0 <= scroll <= 1:
            features.max_scroll = float(scroll)
        for name in ("max_scroll_speed", "attended_ms", "commit_after_ms", "page_started"):
            number = _nonneg_float(data.get(name))
            if number is not None:
                attr = "_page_started" if name == "page_started" else name
                setattr(
                    features, attr, min(number, 100.0) if name == "max_scroll_speed" else number
                )
        actions = data.get("actions")
        if isinstance(actions, list):
            features.actions = [a for a in actions if isinstance(a, str)][:50]
        features.action_values = _action_values(data.get("action_values"), features.actions)
        features.counters = _counts(data.get("counters"), COUNTERS)
        features.copies = _counts(data.get("copies"), SECTIONS)
        features.hovers = _counts(data.get("hovers"), SECTIONS)
        items = data.get("price_items")
        if isinstance(items, list):
            features.price_items = [i for i in items if isinstance(i, str)][:_MAX_TRACKED]
        context = data.get("context")
        if isinstance(context, dict):
            for name, vocab in (
                ("daypart", DAYPARTS),
                ("week", WEEK_PARTS),
                ("device", DEVICES),
                ("source", SOURCES),
            ):
                if context.get(name) in vocab:
                    features.context[name] = str(context[name])
        group = data.get("last_group")
        features._last_group = group if group in ("price", "reassure") else None
        item = data.get("last_item")
        features._last_item = item if isinstance(item, str) and len(item) <= 64 else None
        features._page_submitted = data.get("page_submitted") is True
        return features


def _action_values(data: object, actions: list[str]) -> dict[str, tuple[float, str | None]]:
    """Restored (value, currency) pairs: only for known actions and only schema-valid ones."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, tuple[float, str | None]] = {}
    for name, pair in data.items():
        if name in actions and isinstance(pair, list) and len(pair) == 2:
            value, currency = pair
            if _ACTION_VALUE.accepts(value) and _CURRENCY.accepts(currency):
                out[name] = (float(value), currency)
    return out


_ACTION_VALUE: Final = Number(0, 1e9)
_CURRENCY: Final = Key(CURRENCY_PATTERN, optional=True)


def _counts(data: object, vocab: tuple[str, ...]) -> dict[str, int]:
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in vocab and _nonneg_int(v)}


#: Actions after which a visitor has committed to buying.
COMMITTING_ACTIONS: Final = frozenset({"add_to_cart", "begin_checkout", "purchase"})
