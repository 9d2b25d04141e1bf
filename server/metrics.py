"""Prometheus metrics in the text exposition format (0.0.4), written by hand.

The format is simple and a dependency would add more than it saves. Each process keeps its
own numbers (with ``--workers N`` a scrape reaches one worker; scrape each process, or
sum over workers on the Prometheus side using the ``pid`` it can attach as a label).

``GET /metrics`` serves :meth:`Metrics.render`. Updates are plain dict operations on the
event loop (one thread), so no locks.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Final

__all__ = ["CONTENT_TYPE", "MEDIA_TYPE", "Counter", "Gauge", "Histogram", "Metrics", "ReadCounter"]

CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
#: What to hand Litestar: it appends ``; charset=utf-8`` to every ``text/*`` media type itself,
#: and a second charset parameter makes strict parsers (Prometheus 3) refuse the scrape.
MEDIA_TYPE: Final = "text/plain; version=0.0.4"
LATENCY_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
FLUSH_SIZE_BUCKETS: Final = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


class _Metric:
    kind = ""

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labels)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError


class Counter(_Metric):
    """A monotonically increasing number per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str, labels: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labels)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + amount

    def value(self, *labels: str) -> float:
        return self.values.get(labels, 0.0)

    def samples(self) -> list[str]:
        if not self.values and not self.labelnames:
            return [f"{self.name} 0"]
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_number(v)}"
            for k, v in sorted(self.values.items())
        ]


class Gauge(_Metric):
    """A value read at scrape time from a callback."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        super().__init__(name, help_text)
        self.read = read

    def samples(self) -> list[str]:
        return [f"{self.name} {_number(float(self.read()))}"]


class ReadCounter(Gauge):
    """A counter kept elsewhere (e.g. by the profile cache), read at scrape time."""

    kind = "counter"


class Histogram(_Metric):
    """Cumulative buckets, ``_sum`` and ``_count`` per label set."""

    kind = "histogram"

    def __init__(
        self, name: str, help_text: str, buckets: Sequence[float], labels: Sequence[str] = ()
    ) -> None:
        super().__init__(name, help_text, labels)
        self.bounds = tuple(sorted(buckets))
        # label values -> [per-bucket counts (+Inf last)..., sum]
        self.series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, value: float, *labels: str) -> None:
        series = self.series.get(labels)
        if series is None:
            series = self.series[labels] = [0.0] * (len(self.bounds) + 2)
        series[bisect.bisect_left(self.bounds, value)] += 1
        series[-1] += value

    def count(self, *labels: str) -> int:
        series = self.series.get(labels)
        return 0 if series is None else int(sum(series[:-1]))

    def samples(self) -> list[str]:
        lines: list[str] = []
        for labels, series in sorted(self.series.items()):
            cumulative = 0.0
            for bound, n in zip((*self.bounds, math.inf), series[:-1], strict=True):
                cumulative += n
                le = 'le="' + _number(float(bound)) + '"'
                label_text = _labels(self.labelnames, labels, le)
                lines.append(f"{self.name}_bucket{label_text} {_number(cumulative)}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, labels)} {series[-1]!r}")
            lines.append(
                f"{self.name}_count{_labels(self.labelnames, labels)} {_number(cumulative)}"
            )
        return lines


class Metrics:
    """Every metric the server exports."""

    def __init__(
        self,
        queue_depth: Callable[[], float] = lambda: 0,
        profile_cache: Callable[[], tuple[float, float, float]] = lambda: (0, 0, 0),
    ) -> None:
        self.ingest_batches = Counter(
            "rapport_ingest_batches_total", "Batches accepted by /v1/collect (new and duplicate)."
        )
        self.ingest_signals = Counter(
            "rapport_ingest_signals_total", "Signals newly stored by /v1/collect."
        )
        self.ingest_duplicates = Counter(
            "rapport_ingest_duplicates_total", "Batches that were already stored (retries)."
        )
        self.ingest_rejected = Counter(
            "rapport_ingest_rejected_total",
            "Refused /v1/collect requests by HTTP status.",
            ["status"],
        )
        self.rate_limited = Counter(
            "rapport_rate_limited_total", "Requests refused with 429, by limit.", ["limit"]
        )
        self.responses = Counter(
            "rapport_http_responses_total",
            "HTTP responses by route and status.",
            ["route", "status"],
        )
        self.latency = Histogram(
            "rapport_http_request_duration_seconds",
            "Time from request to the end of the response, by route.",
            LATENCY_BUCKETS,
            ["route"],
        )
        self.flush_size = Histogram(
            "rapport_writer_flush_batches",
            "Batches committed per group commit.",
            FLUSH_SIZE_BUCKETS,
        )
        self.flush_seconds = Histogram(
            "rapport_writer_flush_duration_seconds",
            "Duration of one group commit.",
            LATENCY_BUCKETS,
        )
        self.pruned = Counter(
            "rapport_retention_pruned_rows_total", "Rows deleted by retention.", ["table"]
        )
        self.queue_depth = Gauge(
            "rapport_write_queue_depth", "Batches waiting for the group-commit writer.", queue_depth
        )
        self.profile_cache_hits = ReadCounter(
            "rapport_profile_cache_hits_total",
            "Profile reads served from this process's cache.",
            lambda: profile_cache()[0],
        )
        self.profile_cache_misses = ReadCounter(
            "rapport_profile_cache_misses_total",
            "Profile reads that went to the database.",
            lambda: profile_cache()[1],
        )
        self.profile_cache_entries = Gauge(
            "rapport_profile_cache_entries",
            "Profiles held in this process's cache.",
            lambda: profile_cache()[2],
        )
        self._all: tuple[_Metric, ...] = (
            self.ingest_batches,
            self.ingest_signals,
            self.ingest_duplicates,
            self.ingest_rejected,
            self.rate_limited,
            self.responses,
            self.latency,
            self.flush_size,
            self.flush_seconds,
            self.pruned,
            self.queue_depth,
            self.profile_cache_hits,
            self.profile_cache_misses,
            self.profile_cache_entries,
        )

    def observe_flush(self, size: int, seconds: float) -> None:
        """The storage writer's flush observer."""
        self.flush_size.observe(size)
        self.flush_seconds.observe(seconds)

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._all:
            lines += metric.header()
            lines += metric.samples()
        return "\n".join(lines) + "\n"
