"""One ``send`` per reply: uvicorn's HTTP protocol with a transport that joins its writes.

uvicorn writes a reply's status line and headers in one ``transport.write`` and its body in
another; with ``TCP_NODELAY`` (which the server needs: :mod:`server.serving`) each write is a
system call and a TCP segment of its own, and the client wakes up twice. On these machines a
loopback TCP write costs ≈ 18 µs of CPU (bench/README.md), and every collect's reply paid two.

:class:`CoalescingTransport` holds what is written during one step of the event loop and
hands it to the real transport once, at the end of that step: a reply whose headers and body
are sent together (every JSON reply of this server) leaves in one write. Order is kept (every
write goes through the buffer), a close or ``write_eof`` flushes first, and a step that writes
more than :data:`FLUSH_AT` bytes flushes at once, so the real transport's flow control (its
``pause_writing``) still sees a long stream as it grows.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["FLUSH_AT", "CoalescingHttpToolsProtocol", "CoalescingTransport"]

#: Bytes held within one step before they are handed over at once (asyncio's default high
#: water mark is 64 KiB: below it, a transport accepts writes without pausing its writer).
FLUSH_AT: Final = 64 * 1024


class CoalescingTransport(asyncio.Transport):
    """A transport that writes what one loop step wrote in one ``write`` of ``transport``."""

    __slots__ = ("_held", "_held_bytes", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes | bytearray | memoryview] = []
        self._held_bytes = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= FLUSH_AT:
            self.flush()

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Hand what is held to the real transport (scheduled by the step's first write)."""
        if not self._held:
            return
        held, self._held, self._held_bytes = self._held, [], 0
        if self._transport.is_closing():
            return  # the connection is gone: the real transport would drop it too
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held, self._held_bytes = [], 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return self._held_bytes + self._transport.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's ``httptools`` protocol, writing through a :class:`CoalescingTransport`.

    Pass it as uvicorn's ``http`` setting (``rapport serve`` does). A reply leaves at the end
    of the loop step that completed it, with the other replies that step completed (a group
    commit resumes all of its requests in one step). Handing each over as soon as it was
    complete measured no better than uvicorn's two writes (bench/README.md, two pairs): the
    replies leaving together seem to be what gains, for the clients and for the server's next
    ``epoll`` wait. The price: a reply may wait for the rest of its step.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))
