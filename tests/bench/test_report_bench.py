"""``bench.report`` runs end to end on both of its months, and the persona month is made of
batches the server accepts. Output shape only: benches report numbers, tests never judge them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from bench.persona_month import RECORDING, month
from rapport.server.ingest.schema import Signal

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_report_bench_prints_both_arms_and_the_report_latency_for_both_months() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.report", "--signals", "6000", "--visitors", "60",
         "--runs", "3", "--backend", "sqlite"],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    months = re.findall(r"^bench.report: (\w+) month,", done.stdout, re.MULTILINE)
    assert months == ["personas", "synthetic"]  # the real-client month first, by default
    ingest = re.findall(
        r"^sqlite +ingest .* rollups off +[\d,]+ signals/s +on +[\d,]+ signals/s +ratio on/off "
        r"\d\.\d\d",
        done.stdout,
        re.MULTILINE,
    )
    report = re.findall(r"^sqlite +report 30 d: .* p50 +[\d.]+ ms +p99 +[\d.]+ ms", done.stdout,
                        re.MULTILINE)  # fmt: skip
    assert len(ingest) == len(report) == 2


def test_every_recorded_signal_passes_the_servers_schema() -> None:
    decode = msgspec.json.Decoder(Signal).decode
    lines = RECORDING.read_text(encoding="utf-8").splitlines()
    visitors = set()
    for line in lines:
        row = msgspec.json.decode(line)
        visitors.add(row["visitor"])
        for signal in row["signals"]:
            decode(msgspec.json.encode(signal))
    assert len(lines) > 200
    assert len(visitors) > 15


def test_the_persona_month_replays_the_recording_as_new_visitors_until_the_signal_count() -> None:
    batches = month(5_000, now=1_800_000_000.0)
    assert sum(b.signals.count for b in batches) >= 5_000
    assert [b.received_at for b in batches] == sorted(b.received_at for b in batches)
    assert len({b.batch_id for b in batches}) == len(batches)
    assert all(1_800_000_000.0 - 30 * 86_400 <= b.received_at <= 1_800_000_100.0
               for b in batches)  # fmt: skip
