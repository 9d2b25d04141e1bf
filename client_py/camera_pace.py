"""How often the camera is sampled, decided in Python from what the analysed frames show.

At the site's rate (default 5 fps) while a face is in view. After ``idle_after_ms`` (10 s)
without one — nobody at the screen, or the visitor turned away — one frame a second, until a
face is back. Why: a laptop with nobody in front of it should not spend a CPU core's worth of
analyses on an empty room, and the affect windows over that time say "presence 0" either way.

The page's camera module does the sampling; the worker hands this decision from
:meth:`client_py.agent.Agent.handle` (``"pace"`` in its reply) to the page. Pure logic: the
same in CPython tests and in Pyodide.
"""

from __future__ import annotations

from typing import Literal

from .records import record

__all__ = ["CameraPace", "Pace"]

Pace = Literal["active", "idle"]


@record
class CameraPace:
    """Active while faces are seen; idle after ``idle_after_ms`` of frames without one."""

    idle_after_ms: float = 10_000.0
    pace: Pace = "active"
    _last_face_ms: float | None = None
    _first_frame_ms: float | None = None

    def update(self, t_ms: float, face: bool) -> Pace | None:
        """One analysed frame at ``t_ms``; the new pace when it changes, else None."""
        if self._first_frame_ms is None:
            self._first_frame_ms = t_ms
        if face:
            self._last_face_ms = t_ms
            wanted: Pace = "active"
        else:
            since = self._last_face_ms if self._last_face_ms is not None else self._first_frame_ms
            wanted = "idle" if t_ms - since >= self.idle_after_ms else self.pace
        if wanted == self.pace:
            return None
        self.pace = wanted
        return wanted
