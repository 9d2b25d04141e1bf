"""Moved into the testing kit: ``server.testing.camera`` (kept so imports keep working)."""

from rapport.server.testing.camera import (
    CAMERA_FLAGS,
    WATCH_CAMERA,
    _fit,
    affect_signals,
    ask_for_camera,
    astronaut_rgb,
    camera_flags,
    check_no_image_left,
    consented,
    expression_clip,
    launch_playing,
    playing,
    wait_for,
    write_y4m,
)

__all__ = [
    "CAMERA_FLAGS",
    "WATCH_CAMERA",
    "_fit",
    "affect_signals",
    "ask_for_camera",
    "astronaut_rgb",
    "camera_flags",
    "check_no_image_left",
    "consented",
    "expression_clip",
    "launch_playing",
    "playing",
    "wait_for",
    "write_y4m",
]
