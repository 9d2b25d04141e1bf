"""Running the ASGI app under uvicorn, in one process or several sharing one socket.

Several processes share one listening socket that we bind ourselves, because uvicorn's own
``bind_socket`` creates it as ``socket.socket(family)``: protocol 0, not ``IPPROTO_TCP``.
asyncio only sets ``TCP_NODELAY`` on accepted sockets whose protocol is ``IPPROTO_TCP``, so
every worker's replies then waited for Nagle's algorithm and the client's delayed ACK —
44 ms per keep-alive request, measured: 2 workers on PostgreSQL served 1.4k /healthz req/s
against 3.1k for one. With the protocol set, replies leave at once.

Each process also moves everything that exists once the app is built (modules, routes, the
playbook) out of the garbage collector's sight (``gc.freeze``): a full collection otherwise
walks all of it, and those pauses were the p99.9 of ``/v1/hints`` held at 5k req/s
(52 ms → 4–12 ms, measured side by side; bench/README.md).
"""

from __future__ import annotations

import gc
import logging
import logging.config
import os
import socket
from typing import TYPE_CHECKING, Any

from server.config import Settings
from server.logs import logging_config

if TYPE_CHECKING:
    from litestar import Litestar

__all__ = ["app_factory", "bind_tcp_socket", "run_server"]


def freeze_startup_objects() -> None:
    """Exclude what exists now from future collections; call once the app is built."""
    gc.collect()
    gc.freeze()


def app_factory() -> Litestar:
    """What each worker process runs: the app from the environment, startup objects frozen."""
    from server.app import create_app

    app = create_app()
    freeze_startup_objects()
    return app


def bind_tcp_socket(host: str, port: int) -> socket.socket:
    """A listening socket the worker processes inherit, with ``TCP_NODELAY`` on accept."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
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
) -> None:
    """Serve until SIGINT/SIGTERM; each worker drains its writer before it exits."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from server.app import create_app

    log_config = logging_config(log_level, log_format)
    common: dict[str, Any] = {
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
        }
    )
    config = uvicorn.Config("server.serving:app_factory", factory=True, workers=workers, **common)
    logging.getLogger("uvicorn.error").info(
        "Rapport listening on http://%s:%d with %d worker processes", host, port, workers
    )
    Multiprocess(config, sockets=[bind_tcp_socket(host, port)]).run()
