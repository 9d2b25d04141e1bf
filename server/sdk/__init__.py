"""Serving the built SDK bundle under ``/sdk/``."""

from rapport.server.sdk.controller import SdkController
from rapport.server.sdk.files import IMMUTABLE_CACHE, SHORT_CACHE, STABLE_NAMES, resolve_sdk_file

__all__ = ["IMMUTABLE_CACHE", "SHORT_CACHE", "STABLE_NAMES", "SdkController", "resolve_sdk_file"]
