"""Put a test visitor in or out of the control group, on purpose.

The server decides the holdout by a hash of the site id and the visitor id
(``server.holdout.in_control``), and the visitor id derives from a secret the loader keeps in
``localStorage`` (``client_py.identity``). So a test picks a secret whose visitor falls on the
side it wants and plants it before the loader runs: the real server then puts that visitor
there by its own rule, and ``rapport.holdout()`` in the page says so after the first batch.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Protocol

from rapport.client_py.identity import visitor_id_from_secret
from rapport.server.holdout import in_control

__all__ = ["holdout_script", "secret_for"]


class _Site(Protocol):
    @property
    def site_id(self) -> int: ...
    @property
    def holdout(self) -> float: ...


def secret_for(site_id: int, share: float, *, control: bool) -> str:
    """A fresh visitor secret whose visitor is (``control``) or is not in the control group."""
    if control and share <= 0:
        raise ValueError(
            "this site has no control group (holdout share 0): no visitor can be in it; "
            "register the test site with a share, e.g. add_site(origin, holdout=0.1)"
        )
    while True:
        secret = base64.urlsafe_b64encode(secrets.token_bytes(18)).decode().rstrip("=")
        if in_control(site_id, visitor_id_from_secret(secret), share) == control:
            return secret


def holdout_script(site: _Site, *, control: bool) -> str:
    """An init script (``context.add_init_script``) that makes this browser context's visitor
    one of the control group (``control=True``) or a treated one. It runs on every page of the
    context but plants the secret only once, with a session of its own so the first page is
    not taken for a returning visitor."""
    secret = secret_for(site.site_id, site.holdout, control=control)
    return f"""(() => {{ try {{
  if (localStorage.getItem('rapport:vs')) return;
  localStorage.setItem('rapport:vs', {json.dumps(secret)});
  sessionStorage.getItem('rapport:sid') || sessionStorage.setItem('rapport:sid',
    {json.dumps(secrets.token_urlsafe(16))});
}} catch (e) {{}} }})();"""
