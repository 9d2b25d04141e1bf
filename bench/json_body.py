"""What refusing duplicate JSON keys costs ``/v1/collect``: side by side, in one process.

``python -m bench.json_body [--seconds 1.0]``

For collect bodies of 1, 20 and 200 signals it times, interleaved, (a) msgspec's decode
alone (what ``/v1/collect`` did before), (b) ``server.json_body.decode_body`` (decode plus
the colon-count check that usually proves there is no repeated key) and (c) the exact check
alone (``json.loads`` with ``object_pairs_hook``, what a naive fix would run on every body).
It prints µs per body and the ratios to (a).

Then whole ``/v1/collect`` requests (20 signals, new batch ids, the real app on a temporary
SQLite file, in process through Litestar's TestClient) in interleaved rounds with the check on
and off (``decode_body`` swapped for a plain decode), and prints the median ms per request of
each and their ratio: what the check costs a request, next to everything else a request does.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from typing import Any

from rapport.server.ingest.schema import BATCH_DECODER
from rapport.server.json_body import decode_body, duplicate_key

SIGNALS = [
    {"kind": "clicks", "count": 3},
    {"kind": "pattern", "name": "hesitant", "score": 0.74},
    {"kind": "dwell", "section": "price", "item": "sku-1234", "seconds": 12.5},
    {"kind": "action", "name": "add_to_cart"},
]


def body(signals: int) -> bytes:
    return json.dumps({
        "site": "pk_benchbenchbenchbench00", "visitor": "visitor-0001",
        "session": "session-0001", "batch": "batch-00000001",
        "signals": [SIGNALS[i % len(SIGNALS)] for i in range(signals)],
    }).encode()  # fmt: skip


def per_call(fn: Callable[[], object], seconds: float) -> float:
    """Best of 5 rounds of µs per call (each round ≈ seconds/5)."""
    best = float("inf")
    for _ in range(5):
        calls, started = 0, time.perf_counter()
        deadline = started + seconds / 5
        while time.perf_counter() < deadline:
            for _ in range(50):
                fn()
            calls += 50
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per variant and size")
    parser.add_argument("--rounds", type=int, default=6, help="request rounds per variant")
    parser.add_argument("--requests", type=int, default=150, help="requests per round")
    args = parser.parse_args()
    print(f"bench.json_body on {platform.python_implementation()} {platform.python_version()}, "
          f"{args.seconds:g} s per variant and size, best of 5 rounds")  # fmt: skip
    print("| signals | bytes | msgspec µs | decode_body µs | × | exact scan µs | × |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for count in (1, 20, 200):
        raw = body(count)
        assert decode_body(BATCH_DECODER, raw, where="bench") == BATCH_DECODER.decode(raw)
        base = per_call(lambda raw=raw: BATCH_DECODER.decode(raw), args.seconds)
        ours = per_call(lambda raw=raw: decode_body(BATCH_DECODER, raw, where="bench"),
                        args.seconds)  # fmt: skip
        exact = per_call(lambda raw=raw: duplicate_key(raw), args.seconds)
        print(f"| {count} | {len(raw):,} | {base:.1f} | {ours:.1f} | {ours / base:.2f} | "
              f"{exact:.1f} | {exact / base:.2f} |")  # fmt: skip
    requests(args.rounds, args.requests)


def requests(rounds: int, per_round: int) -> None:
    """Median ms per /v1/collect with the duplicate-key check on and off, interleaved."""
    import statistics
    import tempfile
    from pathlib import Path

    from litestar.testing import TestClient

    import rapport.server.ingest.controller as collect_controller
    from rapport.server.app import create_app
    from rapport.server.config import Settings

    def plain(decoder: Any, raw: bytes, *, where: str) -> Any:
        return decoder.decode(raw)

    checked = collect_controller.decode_body
    origin = "https://bench.example"
    times: dict[str, list[float]] = {"check on": [], "check off": []}
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'b.db'}", rate_per_ip=0,
                            rate_per_site=0, retention_days=0)  # fmt: skip
        app = create_app(settings)
        with TestClient(app) as client:
            storage = app.state.services.storage
            key = client.blocking_portal.call(
                lambda: storage.create_site("Bench", [origin], now=time.time())
            ).site.site_key
            template = json.loads(body(20))
            number = 0
            variants = [("check on", checked), ("check off", plain)]
            for round_number in range(rounds):  # alternate which goes first
                for name, decode in variants[:: 1 if round_number % 2 else -1]:
                    collect_controller.decode_body = decode  # type: ignore[assignment]
                    started = time.perf_counter()
                    for _ in range(per_round):
                        number += 1
                        raw = json.dumps({**template, "site": key,
                                          "batch": f"batch-{number:08d}"}).encode()  # fmt: skip
                        reply = client.post("/v1/collect", content=raw,
                                            headers={"Origin": origin})  # fmt: skip
                        assert reply.status_code == 200, reply.text
                    times[name].append((time.perf_counter() - started) / per_round * 1e3)
    collect_controller.decode_body = checked
    on, off = (statistics.median(times[k]) for k in ("check on", "check off"))
    print(f"\n/v1/collect in process, 20 signals, {rounds} interleaved rounds of {per_round} "
          "requests per variant (alternating which goes first), median of rounds:")  # fmt: skip
    print("| check on ms/request | check off ms/request | on / off |")
    print("|---:|---:|---:|")
    print(f"| {on:.3f} | {off:.3f} | {on / off:.3f} |")


if __name__ == "__main__":
    main()
