"""``bench.ingest`` reads wrk's output: error statuses and socket errors by kind stay apart, so a
table line says whether requests failed or only took longer than wrk waits."""

from __future__ import annotations

from bench.ingest import failures, parse_wrk

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
