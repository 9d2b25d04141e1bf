"""Rate limits (token buckets), input limits naming their field, /metrics and JSON logs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rapport.client_py.schema import MAX_SIGNALS_PER_BATCH
from rapport.server.app import create_app
from rapport.server.config import Settings
from rapport.server.limits import TokenBuckets
from rapport.server.logs import JsonFormatter, logging_config
from rapport.server.metrics import Counter, Histogram
from tests.server.conftest import METRICS_AUTH, METRICS_TOKEN, Api, FakeClock, batch

CLICKS = {"kind": "clicks", "count": 1}


class Ticker:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    tick = Ticker()
    buckets = TokenBuckets(10, 20, clock=tick)
    assert all(buckets.take("a") == 0 for _ in range(20))
    wait = buckets.take("a")
    assert wait == pytest.approx(0.1)
    tick.now += 0.1
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0  # keys are independent
    assert TokenBuckets(0).take("x") == 0  # 0 disables


def test_token_buckets_keep_memory_bounded() -> None:
    tick = Ticker()
    buckets = TokenBuckets(1, 2, max_keys=100, clock=tick)
    for i in range(1000):
        buckets.take(f"ip-{i}")
    assert len(buckets) == 100
    # Idle (full again) buckets are swept as new keys arrive.
    tick.now += 10
    for i in range(60):
        buckets.take(f"new-{i}")
    assert len(buckets) <= 100
    assert sum(1 for k in buckets._buckets if k.startswith("ip-")) < 40


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'l.db'}",
        sdk_dir=tmp_path,
        rate_per_ip=1,
        rate_per_site=1000,
        max_body_bytes=64 * 1024,
        metrics_token=METRICS_TOKEN,
    )
    clock = FakeClock()
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        yield Api(client=client, storage=app.state.services.storage, clock=clock, sdk_dir=tmp_path)


def test_per_ip_limit_answers_429_with_retry_after(limited: Api) -> None:
    site = limited.add_site()
    statuses = [limited.collect(batch(site.site.site_key, [CLICKS])).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[2:] == [429, 429]
    reply = limited.collect(batch(site.site.site_key, [CLICKS]))
    assert reply.status_code == 429
    assert int(reply.headers["retry-after"]) >= 1
    assert set(reply.json()) == {"error", "field"}
    # Health, schema and metrics are not rate limited.
    assert limited.client.get("/healthz").status_code == 200
    metrics = limited.client.get("/metrics", headers=METRICS_AUTH).text
    assert 'rapport_rate_limited_total{limit="ip"} 3' in metrics
    assert 'rapport_ingest_rejected_total{status="429"} 3' in metrics


def test_per_site_limit_names_the_site_field(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 's.db'}", sdk_dir=tmp_path, rate_per_site=1,
        rate_per_ip=0,
    )  # fmt: skip
    app = create_app(settings, clock=FakeClock())
    with TestClient(app) as client:
        api = Api(client=client, storage=app.state.services.storage, clock=FakeClock(),
                  sdk_dir=tmp_path)  # fmt: skip
        a, b = api.add_site(), api.add_site()
        codes = [api.collect(batch(a.site.site_key, [])).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        reply = api.collect(batch(a.site.site_key, []))
        assert reply.json()["field"] == "$.site" and "retry-after" in reply.headers
        hints = client.get("/v1/hints/visitor-0001", params={"site": a.site.site_key})
        assert hints.status_code == 429 and hints.json()["field"] == "site"
        assert api.collect(batch(b.site.site_key, [])).status_code == 200  # other site


@pytest.mark.parametrize(
    ("signals", "field"),
    [
        ([CLICKS] * (MAX_SIGNALS_PER_BATCH + 1), "$.signals"),
        ([{"kind": "clicks", "count": 10**9}], "$.signals[0].count"),
        ([{"kind": "pattern", "name": "hesitant", "score": 1.5}], "$.signals[0].score"),
        ([{"kind": "dwell", "section": "price", "item": "x" * 65, "seconds": 1}],
         "$.signals[0].item"),
        ([{"kind": "action", "name": "a" * 41}], "$.signals[0].name"),
    ],
)  # fmt: skip
def test_input_limits_answer_422_naming_the_field(
    api: Api, signals: list[dict[str, Any]], field: str
) -> None:
    site = api.add_site()
    reply = api.collect(batch(site.site.site_key, signals))
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == field


def test_too_long_ids_and_too_large_bodies_are_refused(api: Api) -> None:
    site = api.add_site()
    reply = api.collect(batch(site.site.site_key, [], session="s" * 65))
    assert reply.status_code == 422 and reply.json()["field"] == "$.session"
    reply = api.collect(b'{"site": "' + b"x" * (70 * 1024) + b'"}')
    assert reply.status_code == 413
    assert reply.json()["field"] == "$"


def test_metrics_count_ingest_and_expose_histograms(api: Api) -> None:
    site = api.add_site()
    body = batch(site.site.site_key, [CLICKS, CLICKS], batch_id="batch-metrics-1")
    assert api.collect(body).status_code == 200
    assert api.collect(body).json()["duplicate"] is True
    assert api.collect({"nope": 1}).status_code == 422
    reply = api.client.get("/metrics", headers=METRICS_AUTH)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = reply.text
    for line in (
        "rapport_ingest_batches_total 2",
        "rapport_ingest_signals_total 2",
        "rapport_ingest_duplicates_total 1",
        'rapport_ingest_rejected_total{status="422"} 1',
        'rapport_http_responses_total{route="/v1/collect",status="200"} 2',
        'rapport_http_request_duration_seconds_count{route="/v1/collect"} 3',
        "rapport_write_queue_depth 0",
        'rapport_writer_flush_batches_bucket{le="+Inf"} 2',
        "# TYPE rapport_http_request_duration_seconds histogram",
    ):
        assert line in text, line
    assert 'route="/v1/hints/{visitor:str}"' not in text  # not requested yet


def test_metrics_count_profile_cache_hits_and_misses(api: Api) -> None:
    site = api.add_site()
    for _ in range(3):
        assert api.hints(site.site.site_key, "visitor-cache-1").status_code == 200
    text = api.client.get("/metrics", headers=METRICS_AUTH).text
    assert "rapport_profile_cache_misses_total 1" in text  # the first read went to the file
    assert "rapport_profile_cache_hits_total 2" in text
    assert "rapport_profile_cache_entries 1" in text
    assert "# TYPE rapport_profile_cache_hits_total counter" in text


def test_metric_text_format() -> None:
    counter = Counter("c_total", "help", ["a"])
    counter.inc('x"y\n')
    assert counter.samples() == ['c_total{a="x\\"y\\n"} 1']
    histogram = Histogram("h", "help", [1, 2])
    for value in (0.5, 1, 1.5, 3):
        histogram.observe(value)
    assert histogram.samples() == [
        'h_bucket{le="1"} 2', 'h_bucket{le="2"} 3', 'h_bucket{le="+Inf"} 4', "h_sum 6.0",
        "h_count 4",
    ]  # fmt: skip


def test_json_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    record = logging.LogRecord("rapport.test", logging.INFO, __file__, 1, "hello %s", ("x",), None)
    record.batch = "batch-1"
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "hello x" and entry["level"] == "info"
    assert entry["logger"] == "rapport.test" and entry["batch"] == "batch-1"
    assert "\n" not in line
    config = logging_config("info", "json")
    assert config["formatters"]["default"] == {"()": "rapport.server.logs.JsonFormatter"}
    with pytest.raises(ValueError):
        logging_config("info", "xml")
