"""Running the ASGI app under uvicorn, in one process or in several.

Several worker processes each bind their **own** listening socket on the same port with
``SO_REUSEPORT``, and the kernel spreads new connections evenly across them. Two things this
replaces, both measured under ``bench.ingest`` with 2 workers on PostgreSQL:

* uvicorn's ``--workers`` shares one socket that it creates as ``socket.socket(family)``:
  protocol 0, not ``IPPROTO_TCP``. asyncio only sets ``TCP_NODELAY`` on accepted sockets whose
  protocol is ``IPPROTO_TCP``, so every reply waited for Nagle's algorithm and the client's
  delayed ACK — 44 ms per keep-alive request; 1.4k ``/healthz`` req/s against 3.1k for one
  process. Our sockets are made with ``IPPROTO_TCP``.
* with one shared socket, whichever worker is awake accepts: 64 connections split 59/5, 49/15,
  35/29 in three runs, leaving one worker saturated and the other idle.

Each reply leaves in one write (:mod:`server.coalesced_writes`): uvicorn writes a reply's
headers and its body separately, and with ``TCP_NODELAY`` each write was a segment of its own.

The parent process only supervises: it restarts a worker that dies and, on SIGINT/SIGTERM,
asks every worker to shut down gracefully (each drains its writer) and waits for them.

Each process also moves everything that exists once the app is built (modules, routes, the
playbook) out of the garbage collector's sight (``gc.freeze``): a full collection otherwise
walks all of it, and those pauses were the p99.9 of ``/v1/hints`` held at 5k req/s
(52 ms → 4–12 ms, measured side by side; bench/README.md) — and raises the collector's
young-generation threshold (:data:`COLLECTOR_THRESHOLDS`), because the writer's profile
churn made collections a quarter of its time.
"""

from __future__ import annotations

import gc
import logging
import logging.config
import multiprocessing
import os
import signal
import socket
import sys
import threading
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any, Final

from rapport.server.config import Settings
from rapport.server.logs import logging_config

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = [
    "COLLECTOR_THRESHOLDS",
    "app_factory",
    "bind_tcp_socket",
    "freeze_startup_objects",
    "run_server",
]


#: The collector's thresholds in a server process (CPython's defaults: 700, 10, 10). The
#: writer makes a new profile per stored batch and the hot-profile cache keeps up to 50,000
#: alive; with the defaults, a young collection ran every ~35 batches and full collections
#: walked the cached profiles 15 times per million signals: a quarter of the writer's time
#: (bench/report.py, rollups off: GC 2.1 s of 8.3 s; 0.5 s with these). Profiles, batches
#: and rollups are trees, not cycles, so collecting less often costs a few MB of young
#: objects, not memory that is never freed.
COLLECTOR_THRESHOLDS: Final = (10_000, 10, 10)


def freeze_startup_objects() -> None:
    """Exclude what exists now from future collections, and collect less often; call once
    the app is built."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*COLLECTOR_THRESHOLDS)


def app_factory() -> Litestar:
    """What each worker process runs: the app from the environment, startup objects frozen."""
    from rapport.server.app import create_app

    app = create_app()
    freeze_startup_objects()
    return app


def bind_tcp_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket whose accepted connections get ``TCP_NODELAY`` from asyncio."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_server(
    settings: Settings,
    *,
    host: str,
    port: int,
    log_level: str,
    log_format: str = "text",
    workers: int = 1,
    access_log: bool = True,
    access_log_ip: str = "none",
    trusted_proxies: tuple[str, ...] = (),
) -> None:
    """Serve until SIGINT/SIGTERM; each worker drains its writer before it exits.

    ``X-Forwarded-For`` is honoured only from ``trusted_proxies`` (uvicorn's own default
    trusts 127.0.0.1, so any local process could pick its address, rate bucket included).
    """
    import uvicorn

    from rapport.server.app import create_app
    from rapport.server.coalesced_writes import CoalescingHttpToolsProtocol

    log_config = logging_config(log_level, log_format, access_log_ip=access_log_ip)
    common: dict[str, Any] = {
        "http": CoalescingHttpToolsProtocol,
        "proxy_headers": bool(trusted_proxies),
        "forwarded_allow_ips": ",".join(trusted_proxies) or "",
        "host": host,
        "port": port,
        "log_level": log_level,
        "log_config": log_config,
        "access_log": access_log,
        "lifespan": "on",
        "timeout_graceful_shutdown": 10,
        "server_header": False,
    }
    if workers == 1:
        logging.config.dictConfig(log_config)
        app = create_app(settings)
        freeze_startup_objects()
        uvicorn.Server(uvicorn.Config(app, **common)).run()
        return
    # Worker processes are fresh interpreters that build the app from the environment.
    os.environ.update(
        {
            "RAPPORT_DATABASE_URL": settings.database_url,
            "RAPPORT_SDK_DIR": str(settings.sdk_dir),
            "RAPPORT_RATE_PER_IP": repr(settings.rate_per_ip),
            "RAPPORT_RATE_PER_SITE": repr(settings.rate_per_site),
            "RAPPORT_RETENTION_DAYS": repr(settings.retention_days),
            "RAPPORT_MAX_BODY_BYTES": str(settings.max_body_bytes),
            "RAPPORT_MAX_HEADER_BYTES": str(settings.max_header_bytes),
            "RAPPORT_METRICS_TOKEN": settings.metrics_token or "",
            "RAPPORT_ADMIN_CORS": "1" if settings.admin_cors else "",
            "RAPPORT_ALLOW_PRIVATE_WEBHOOKS": "1" if settings.allow_private_webhooks else "",
        }
    )
    logging.config.dictConfig(log_config)
    _supervise(workers, common)


def _worker_main(common: dict[str, Any]) -> None:
    """One worker process: its own ``SO_REUSEPORT`` socket, the app, uvicorn."""
    import uvicorn

    _exit_with_parent()

    logging.config.dictConfig(common["log_config"])
    sock = bind_tcp_socket(common["host"], common["port"], reuse_port=True)
    config = uvicorn.Config("rapport.server.serving:app_factory", factory=True, **common)
    uvicorn.Server(config).run(sockets=[sock])


def _exit_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when the supervisor dies, even by SIGKILL.

    Without it a killed supervisor leaves workers serving on the port with nobody to stop
    them. Elsewhere (no ``prctl``) this does nothing.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not sys.platform.startswith("linux") or name is None:
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(name, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() == 1:  # the supervisor died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _supervise(workers: int, common: dict[str, Any]) -> None:
    log = logging.getLogger("uvicorn.error")
    # Held, bound but not listening, for the parent's lifetime: it fixes the port when
    # --port 0 asked for any free one, and no connection is ever queued on it.
    anchor = bind_tcp_socket(common["host"], common["port"], reuse_port=True)
    common = {**common, "port": anchor.getsockname()[1]}
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    context = multiprocessing.get_context("spawn")

    def start() -> BaseProcess:
        process = context.Process(target=_worker_main, args=(common,), name="rapport-worker")
        process.start()
        return process

    processes = [start() for _ in range(workers)]
    log.info(
        "Rapport listening on http://%s:%d with %d worker processes (SO_REUSEPORT)",
        common["host"],
        common["port"],
        workers,
    )
    try:
        while not stop.wait(0.5):
            for index, process in enumerate(processes):
                if not process.is_alive():
                    log.warning("worker %s exited (%s); starting another", process.pid,
                                process.exitcode)  # fmt: skip
                    processes[index] = start()
    finally:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(common["timeout_graceful_shutdown"] + 5)
            if process.is_alive():
                log.warning("worker %s did not stop in time; killing it", process.pid)
                process.kill()
                process.join()
        anchor.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
