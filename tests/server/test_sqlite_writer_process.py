"""The SQLite writer's connection lives in a child process (server/storage/
sqlite_writer_process.py): it ends with the storage, a Ctrl-C meant for the server does not end
it, and when it dies anyway nothing acknowledged is lost or stored twice."""

from __future__ import annotations

import ast
import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from rapport.server.profiles import Observations
from rapport.server.storage import (
    IngestBatch,
    StorageError,
    StoredSignal,
    StoredSignals,
    sqlite_group,
)
from rapport.server.storage.sqlite import SQLiteStorage
from rapport.server.storage.sqlite_writer_process import WriterProcess

pytestmark = pytest.mark.anyio
ORIGIN = "https://shop.example"


def batch(site_id: int, batch_id: str, pattern: str = "hesitant") -> IngestBatch:
    return IngestBatch(
        site_id=site_id, visitor="v", session="session-0001", batch_id=batch_id,
        received_at=time.time(),
        signals=StoredSignals.of(
            [StoredSignal("clicks", f'{{"kind":"clicks","count":{n}}}') for n in range(3)]
        ),
        observations=Observations(patterns={pattern: 0.5}),
    )  # fmt: skip


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SQLiteStorage]:
    async with SQLiteStorage(tmp_path / "r.db", busy_timeout_ms=10_000) as opened:
        yield opened


async def site_id(storage: SQLiteStorage) -> int:
    return (await storage.create_site("S", [ORIGIN], now=time.time())).site.id


def writer_of(storage: SQLiteStorage) -> WriterProcess:
    writer = storage._group_writer
    assert isinstance(writer, WriterProcess)
    return writer


def child_pid(storage: SQLiteStorage) -> int:
    pid = writer_of(storage).pid
    assert pid is not None
    return pid


async def stored(storage: SQLiteStorage) -> tuple[list[str], int]:
    batches = await storage.sql_fetch("SELECT batch_id FROM batches ORDER BY batch_id")
    signals = await storage.sql_fetch("SELECT COUNT(*) FROM signals")
    return [str(r[0]) for r in batches], int(signals[0][0])


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is not running
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


async def killed(storage: SQLiteStorage) -> None:
    """SIGKILL the writer's process and wait until the storage's side has seen it end."""
    process = writer_of(storage)._process
    assert process is not None
    process.kill()
    await process.wait()


async def test_the_writer_is_a_child_process_that_ends_with_the_storage(tmp_path: Path) -> None:
    async with SQLiteStorage(tmp_path / "r.db") as storage:
        pid = child_pid(storage)
        assert pid != os.getpid()
        assert running(pid)
    await asyncio.sleep(0)
    assert not running(pid)


async def test_a_ctrl_c_reaching_the_writer_process_does_not_end_it(
    storage: SQLiteStorage,
) -> None:
    """A terminal's Ctrl-C goes to the server's whole process group; the server then flushes
    its last groups, which the child must still be there to write."""
    sid = await site_id(storage)
    pid = child_pid(storage)
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    await storage.ingest(batch(sid, "b-1"))
    assert child_pid(storage) == pid
    assert await stored(storage) == (["b-1"], 3)


async def test_a_writer_process_killed_between_groups_is_replaced_and_nothing_is_lost(
    storage: SQLiteStorage,
) -> None:
    sid = await site_id(storage)
    await storage.ingest(batch(sid, "b-1"))
    before = child_pid(storage)
    await killed(storage)
    result = await storage.ingest(batch(sid, "b-2", pattern="urgent"))
    assert not result.duplicate
    assert child_pid(storage) != before
    assert await stored(storage) == (["b-1", "b-2"], 6)
    assert (await storage.profile(sid, "v")).patterns.keys() == {"hesitant", "urgent"}


async def test_a_writer_process_killed_during_a_group_fails_it_and_the_retry_stores_it_once(
    storage: SQLiteStorage,
) -> None:
    sid = await site_id(storage)
    # Another connection holds the write lock: the group waits inside the child's trip.
    blocker = sqlite3.connect(storage.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        ingest = asyncio.ensure_future(storage.ingest(batch(sid, "b-1")))
        await asyncio.sleep(0.3)
        assert not ingest.done()
        await killed(storage)
        with pytest.raises(StorageError, match="writer process ended"):
            await ingest
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert await stored(storage) == ([], 0)
    assert not (await storage.ingest(batch(sid, "b-1"))).duplicate
    assert (await storage.ingest(batch(sid, "b-1"))).duplicate
    assert await stored(storage) == (["b-1"], 3)


async def test_a_group_committed_but_not_answered_leaves_no_stale_profile_in_the_cache(
    storage: SQLiteStorage,
) -> None:
    """The child can die after its COMMIT and before its answer: the group failed for its
    clients but is stored. Their retries are duplicates, and the next batch builds on the
    profile as stored, not on the cache's copy from before the group."""
    sid = await site_id(storage)
    await storage.ingest(batch(sid, "b-1"))
    writer = writer_of(storage)
    real = writer.run

    async def answer_lost(step: Callable[..., Any], *args: Any) -> Any:
        await real(step, *args)
        raise StorageError("the SQLite writer process ended (exit status -9)")

    writer.run = answer_lost  # type: ignore[method-assign]
    with pytest.raises(StorageError):
        await storage.ingest(batch(sid, "b-2", pattern="urgent"))
    writer.run = real  # type: ignore[method-assign]
    assert (await storage.ingest(batch(sid, "b-2", pattern="urgent"))).duplicate
    result = await storage.ingest(batch(sid, "b-3", pattern="researcher"))
    assert result.profile.patterns.keys() == {"hesitant", "urgent", "researcher"}
    assert await stored(storage) == (["b-1", "b-2", "b-3"], 9)


async def test_a_group_larger_than_a_pipes_buffer_travels_both_ways(storage: SQLiteStorage) -> None:
    """256 batches of 20 signals of 1 KB each: ≈ 5 MB to the child; then the same visitors'
    stored profiles, uncached, back from it."""
    sid = await site_id(storage)
    pad = "x" * 1000

    def big(n: int, round_: int) -> IngestBatch:
        return IngestBatch(
            site_id=sid, visitor=f"v{n:03}", session="session-0001",
            batch_id=f"b-{round_}-{n:03}", received_at=time.time(),
            signals=StoredSignals.of(
                [StoredSignal("clicks", f'{{"kind":"clicks","pad":"{pad}","n":{i}}}')
                 for i in range(20)]
            ),
            observations=Observations(patterns={"hesitant": 0.5}),
        )  # fmt: skip

    await asyncio.gather(*(storage.ingest(big(n, 1)) for n in range(256)))
    storage._profiles.clear()
    results = await asyncio.gather(*(storage.ingest(big(n, 2)) for n in range(256)))
    assert all(r.profile.visits == 1 and "hesitant" in r.profile.patterns for r in results)
    batches, signals = await stored(storage)
    assert (len(batches), signals) == (512, 512 * 20)


def test_the_writer_process_runs_on_the_standard_library_alone() -> None:
    """The child runs sqlite_group.py by its path with ``python -I -S``: no site-packages, no
    server. An import of anything else there would fail every storage at its first trip."""
    source = Path(sqlite_group.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported - {"__future__"} <= sys.stdlib_module_names
    ended = subprocess.run(
        [sys.executable, "-I", "-S", sqlite_group.__file__],
        input=b"", capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    assert (ended.returncode, ended.stdout, ended.stderr) == (0, b"", b"")
