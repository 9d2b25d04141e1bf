"""The writer-only modes of ``bench.ingest`` run end to end (a bench that no longer starts —
its helper had moved — went unnoticed until someone needed its figure). Output shape only:
benches report numbers, tests never judge them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def run_bench(*options: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bench.ingest", *options, "--seconds", "1", "--connections", "8"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_writer_ids_compares_one_id_per_nextval_with_blocks() -> None:
    out = run_bench("--writer-ids")
    assert "fsync=on, synchronous_commit=on" in out
    assert re.search(r"^one id per nextval: [\d,]+ signals/s$", out, re.MULTILINE)
    assert re.search(r"^blocks of 4,096: [\d,]+ signals/s$", out, re.MULTILINE)
    assert re.search(r"^blocks / one per nextval: \d+\.\d\d$", out, re.MULTILINE)


def test_writer_compares_durable_with_fsync_off() -> None:
    out = run_bench("--writer")
    assert re.search(r"^durable \(fsync=on.*\): [\d,]+ signals/s$", out, re.MULTILINE)
    assert re.search(r"^fsync=off \(fsync=off.*\): [\d,]+ signals/s$", out, re.MULTILINE)
    assert re.search(r"^durable / fsync=off: \d+\.\d\d$", out, re.MULTILINE)
