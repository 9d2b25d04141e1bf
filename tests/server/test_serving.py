"""How ``rapport serve`` runs the app: the listening sockets of its workers, the GC."""

from __future__ import annotations

import asyncio
import gc
import socket
from pathlib import Path

import pytest

from rapport.server.serving import COLLECTOR_THRESHOLDS, app_factory, bind_tcp_socket


async def _nodelay_of_accepted_connection(listening: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
    port = listening.getsockname()[1]
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await asyncio.wait_for(accepted, 5)
    finally:
        writer.close()
        server.close()
        await server.wait_closed()


def test_worker_processes_reply_without_waiting_for_nagle() -> None:
    """uvicorn's own shared socket has protocol 0, so asyncio never set TCP_NODELAY on the
    connections it accepted and every keep-alive reply waited ~40 ms for the client's ACK."""
    listening = bind_tcp_socket("127.0.0.1", 0)
    assert listening.proto == socket.IPPROTO_TCP
    assert listening.get_inheritable()
    assert asyncio.run(_nodelay_of_accepted_connection(listening)) != 0


def test_each_worker_binds_its_own_socket_on_the_same_port() -> None:
    """SO_REUSEPORT: the kernel spreads connections over the workers' sockets (one shared
    socket let whichever worker was awake take them: 59/5 of 64 connections, measured)."""
    first = bind_tcp_socket("127.0.0.1", 0, reuse_port=True)
    second = bind_tcp_socket("127.0.0.1", first.getsockname()[1], reuse_port=True)
    try:
        assert first.getsockname() == second.getsockname()
    finally:
        first.close()
        second.close()


def test_a_worker_freezes_what_exists_once_its_app_is_built(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path / 'worker.db'}")
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        app_factory()
        assert gc.get_freeze_count() > 0
        # and collects less often: the writer's profile churn made collections a quarter
        # of its time with CPython's defaults (bench/report.py)
        assert gc.get_threshold() == COLLECTOR_THRESHOLDS
        assert COLLECTOR_THRESHOLDS[0] > 700  # CPython's default
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
