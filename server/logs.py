"""Log configuration for ``rapport serve``: plain text or one JSON object per line.

Returned as a ``logging.config.dictConfig`` dict, which uvicorn applies in every worker
process (``--workers N`` starts fresh interpreters), so the format holds everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["ACCESS_LOG_IPS", "LOG_FORMATS", "AccessLogClientFilter", "JsonFormatter",
           "logging_config"]  # fmt: skip

LOG_FORMATS: Final = ("text", "json")
#: What access-log lines show of the client address (``--access-log-ip``).
ACCESS_LOG_IPS: Final = ("none", "hash", "full")
_TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is kept.
_STANDARD: Final = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC ISO 8601), ``level``, ``logger``, ``message``,
    ``exc_info`` when there is an exception, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in entry:
                entry[key] = value if isinstance(value, str | int | float | bool) else repr(value)
        return json.dumps(entry, ensure_ascii=False)


class AccessLogClientFilter(logging.Filter):
    """Replace the client address in uvicorn's access lines (``"%s - \"%s %s HTTP/%s\" %d"``).

    Paths carry visitor ids (``/v1/hints/<visitor>``), so an address next to them pairs a
    person's IP with their browsing profile, line after line. ``none`` writes ``-``;
    ``hash`` writes ``ip-`` and 12 hex digits of an HMAC under a key drawn at start, so
    lines of one client can be grouped while the process runs but not reversed or joined
    with another process's logs; ``full`` leaves the line alone.
    """

    def __init__(self, mode: str = "none") -> None:
        super().__init__()
        if mode not in ACCESS_LOG_IPS:
            raise ValueError(f"access-log ip mode must be one of {ACCESS_LOG_IPS}")
        self.mode = mode
        self._key = secrets.token_bytes(32)

    def _shown(self, client: object) -> str:
        if self.mode == "none":
            return "-"
        host = str(client).rsplit(":", 1)[0]  # uvicorn writes "host:port"
        return "ip-" + hmac.new(self._key, host.encode(), hashlib.sha256).hexdigest()[:12]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.mode != "full" and isinstance(record.args, tuple) and record.args:
            record.args = (self._shown(record.args[0]), *record.args[1:])
        return True


def logging_config(
    level: str = "info", log_format: str = "text", *, access_log_ip: str = "none"
) -> dict[str, Any]:
    """A dictConfig for the root logger (uvicorn's loggers propagate to it)."""
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {LOG_FORMATS}")
    if access_log_ip not in ACCESS_LOG_IPS:
        raise ValueError(f"access-log ip mode must be one of {ACCESS_LOG_IPS}")
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if log_format == "json" else {"format": _TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "filters": {
            "access_client": {"()": f"{__name__}.AccessLogClientFilter", "mode": access_log_ip},
        },
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            **{
                name: {"handlers": [], "propagate": True, "level": level.upper()}
                for name in ("uvicorn", "uvicorn.error")
            },
            "uvicorn.access": {
                "handlers": [],
                "propagate": True,
                "level": level.upper(),
                "filters": ["access_client"],
            },
            # httpx logs every request URL at INFO (webhook URLs may hold secrets).
            "httpx": {"handlers": [], "propagate": True, "level": "WARNING"},
            "httpcore": {"handlers": [], "propagate": True, "level": "WARNING"},
        },
    }
