"""A month of batches as the real client sends them, for ``bench.report --month personas``.

    python -m bench.persona_month            # re-record bench/data/persona_batches.jsonl

``bench.report``'s own month is the rollups' worst case: every batch carries 20 signals with
a pattern score that usually crosses the threshold, a tone, a topic, two counters and an
action. The client sends far less: only what changed, a pattern's score only when it moved.
This month is built from batches the real client sent: the demo shop's persona visitors
(``demo_site/personas.py``, seeds 1–3) in headless Chromium, stored by a real server, each
batch's signals read back from its SQLite file. ``month()`` replays those visits, each as
many visitors with their own key and a start at a random time of the last 30 days, until it
has the signals asked for. The recording is synthetic visitors on a demo page: nothing of
a person is in it.
"""

from __future__ import annotations

import json
import random
import sqlite3
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import msgspec

from rapport.server.ingest.extract import extract_observations
from rapport.server.ingest.schema import Signal
from rapport.server.profiles import Observations
from rapport.server.storage.base import IngestBatch, StoredSignal, StoredSignals

__all__ = ["RECORDING", "month", "record"]

RECORDING = Path(__file__).with_name("data") / "persona_batches.jsonl"
SEEDS = (1, 2, 3)
_decode_signal = msgspec.json.Decoder(Signal).decode


@dataclass(frozen=True)
class _Batch:
    after: float
    """Seconds since the visit's first batch."""
    session: int
    signals: StoredSignals
    observations: Observations


def record(path: Path = RECORDING) -> int:
    """Run the persona visitors against a fresh stack and write their batches to ``path``
    (one JSON object per batch, in received order); returns the number of batches."""
    from rapport.demo_site.seed import simulate_visitors
    from rapport.demo_site.stack import running_stack

    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        simulate_visitors(stack.shop, stack.api, seeds=list(SEEDS), parallel=4)
        db = sqlite3.connect(stack.database.removeprefix("sqlite:///"))
        try:
            lines = _read_batches(db)
        finally:
            db.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return len(lines)


def _read_batches(db: sqlite3.Connection) -> list[str]:
    visitors: dict[str, int] = {}
    sessions: dict[str, int] = {}
    starts: dict[str, float] = {}
    lines = []
    for visitor, session, received_at, first, last in db.execute(
        "SELECT visitor, session, received_at, first_signal, last_signal FROM batches "
        "ORDER BY received_at, batch_id"
    ):
        signals = db.execute(
            "SELECT kind, body FROM signals WHERE rowid BETWEEN ? AND ? ORDER BY rowid",
            (first, last),
        ).fetchall()
        lines.append(
            json.dumps(
                {
                    "visitor": visitors.setdefault(visitor, len(visitors)),
                    "session": sessions.setdefault(session, len(sessions)),
                    "after": round(received_at - starts.setdefault(visitor, received_at), 3),
                    "signals": [json.loads(body) for _kind, body in signals],
                },
                separators=(",", ":"),
            )
        )
    return lines


def _visits(path: Path) -> list[list[_Batch]]:
    visits: dict[int, list[_Batch]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        bodies = [json.dumps(s, separators=(",", ":")) for s in row["signals"]]
        decoded = [_decode_signal(b) for b in bodies]
        visits.setdefault(row["visitor"], []).append(
            _Batch(
                after=float(row["after"]),
                session=int(row["session"]),
                signals=StoredSignals.of(
                    [StoredSignal(kind=str(s["kind"]), body=b) for s, b in
                     zip(row["signals"], bodies, strict=True)]),
                observations=extract_observations(decoded),
            )
        )  # fmt: skip
    return list(visits.values())


def month(signals: int, now: float, seed: int = 7, path: Path = RECORDING) -> list[IngestBatch]:
    """Recorded visits replayed until ``signals`` signals, in received order (site id 0:
    ``bench.report`` fills it in)."""
    visits = _visits(path)
    rng = random.Random(seed)
    out: list[IngestBatch] = []
    total = 0
    v = 0
    while total < signals:
        visitor = f"p{v:06d}-{uuid.UUID(int=rng.getrandbits(128)).hex[:10]}"
        start = now - rng.uniform(0, 30 * 86_400)
        for i, b in enumerate(rng.choice(visits)):
            out.append(
                IngestBatch(0, visitor, f"p{v:06d}-{b.session}", f"p{v:06d}-{i:03d}",
                            start + b.after, b.signals, b.observations)
            )  # fmt: skip
            total += b.signals.count
        v += 1
    out.sort(key=lambda x: x.received_at)
    return out


def main() -> None:
    print(f"recorded {record()} batches into {RECORDING}")


if __name__ == "__main__":
    main()
