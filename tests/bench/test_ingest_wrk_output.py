"""``bench.ingest`` reads wrk's output: error statuses and socket errors by kind stay apart, so a
table line says whether requests failed or only took longer than wrk waits."""

from __future__ import annotations

from bench.ingest import failures, merged, parse_wrk

WRK = """Running 10s test @ http://127.0.0.1:8000/v1/hints/v1
  2 threads and 64 connections
  Latency Distribution
     50%    1.20ms
     99%    9.00ms
  150000 requests in 10.00s, 31.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 59
  Non-2xx or 3xx responses: 2
Requests/sec:  15000.00
"""


def test_socket_errors_are_counted_by_kind_beside_the_error_statuses() -> None:
    result = parse_wrk(WRK)
    assert (result["non2xx"], result["socket_read"], result["socket_timeout"]) == (2, 3, 59)
    assert result["socket_errors"] == 62
    assert failures(result) == "2 (+ socket read 3, timeout 59)"


def test_a_clean_run_shows_zero() -> None:
    clean = WRK.replace("  Socket errors: connect 0, read 3, write 0, timeout 59\n", "").replace(
        "  Non-2xx or 3xx responses: 2\n", ""
    )
    assert failures(parse_wrk(clean)) == "0"


def test_interleaved_slices_merge_into_one_rate_over_the_summed_time() -> None:
    slices = [
        {"rps": 100.0, "requests": 300.0, "p50": 0.010, "p99": 0.050, "non2xx": 1.0},
        {"rps": 50.0, "requests": 150.0, "p50": 0.030, "p99": 0.090, "non2xx": 0.0},
        {"rps": 90.0, "requests": 270.0, "p50": 0.020, "p99": 0.070, "non2xx": 2.0},
    ]
    assert merged(slices, 9.0) == {
        "requests": 720.0,
        "non2xx": 3.0,
        "rps": 80.0,
        "p50": 0.020,
        "p99": 0.070,
    }
