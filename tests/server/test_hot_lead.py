"""``hot_lead`` in a running server: a treated visitor's conversion probability reaching the
site's threshold (``[webhooks] hot_lead`` in its playbook) becomes one signed delivery to a real
local HTTP receiver, once per visitor and session, never for a control visitor — both backends."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from rapport.server.app import create_app
from rapport.server.config import Settings
from rapport.server.holdout import in_control
from rapport.server.playbook import PlaybookError, site_playbook
from rapport.server.sites import config_store
from rapport.server.webhooks import store as webhook_store
from rapport.server.webhooks import verify
from tests.server.conftest import id_of, key_of
from tests.server.webhook_receiver import Receiver, running_receiver

ORIGIN = "https://shop.example"
PLAYBOOK = """
version = 1

[experiment]
holdout = 0.5

[webhooks]
hot_lead = 0.5
"""
#: With the priors: urgent 1.0 and researcher 1.0 → p ≈ 0.25; adding to the cart → p ≈ 0.6.
BROWSING = [
    {"kind": "pattern", "name": "urgent", "score": 1.0},
    {"kind": "pattern", "name": "researcher", "score": 1.0},
]
CART = [{"kind": "action", "name": "add_to_cart", "value": None, "currency": None}]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(fail_first=0) as running:
        yield running


def _visitor(site_id: int, control: bool, prefix: str) -> str:
    return next(
        f"{prefix}-{i:04d}"
        for i in range(1000)
        if in_control(site_id, id_of(f"{prefix}-{i:04d}"), 0.5) == control
    )


def _wait(condition: Any, what: str, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_hot_lead_fires_once_per_session_for_treated_visitors_only(
    backend: str, receiver: Receiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'hot.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    # The receiver is on 127.0.0.1: the operator's explicit opt-in.
    settings = Settings(database_url=url, sdk_dir=tmp_path / "sdk", allow_private_webhooks=True)
    app = create_app(settings)
    storage = app.state.services.storage
    with TestClient(app) as client:
        portal = client.blocking_portal
        site = portal.call(lambda: storage.create_site("Hot", [ORIGIN], now=time.time())).site
        portal.call(
            lambda: config_store.set_site_config(storage, site.id, "playbook", PLAYBOOK, now=1.0)
        )
        secret = "whsec_hot"
        portal.call(
            lambda: webhook_store.add_webhook(
                storage, site.id, receiver.url, ["hot_lead"], secret, now=1.0
            )
        )
        treated, control = _visitor(site.id, False, "lead"), _visitor(site.id, True, "lead")

        def collect(visitor: str, session: str, signals: list[dict[str, Any]]) -> None:
            body = {
                "site": site.site_key,
                "key": key_of(visitor),
                "session": session,
                "batch": uuid.uuid4().hex,
                "signals": signals,
            }
            reply = client.post(
                "/v1/collect",
                content=json.dumps(body).encode(),
                headers={"Origin": ORIGIN, "Content-Type": "application/json"},
            )
            assert reply.status_code == 200, reply.text

        for visitor in (treated, control):
            collect(visitor, "session-0001", BROWSING)  # below the threshold: nothing
            collect(visitor, "session-0001", CART)  # crosses it
            collect(visitor, "session-0001", CART)  # still above: no repeat
        portal.call(app.state.services.hints.flush)
        _wait(lambda: len(receiver.seen) >= 1, "the hot_lead delivery")
        # Another flush with nothing new, and a fresh engine (a restart) seeing the same
        # session again: the delivery log keeps it at one.
        app.state.services.hints._hot.clear()
        collect(treated, "session-0001", CART)
        portal.call(app.state.services.hints.flush)
        deliveries = portal.call(lambda: webhook_store.deliveries(storage, site.id))
        assert [(d.event, d.status) for d in deliveries] == [("hot_lead", "delivered")]
        # A new session is a new chance.
        collect(treated, "session-0002", CART)
        portal.call(app.state.services.hints.flush)
        _wait(lambda: len(receiver.seen) >= 2, "the second session's delivery")

    headers, body = receiver.seen[0].headers, receiver.seen[0].body
    assert headers["X-Rapport-Event"] == "hot_lead"
    assert verify(secret, body, headers["X-Rapport-Signature"])
    event = json.loads(body)
    assert event["event"] == "hot_lead" and event["site"] == site.site_key
    assert (event["visitor"], event["session"]) == (id_of(treated), "session-0001")
    assert event["lead_score"] >= event["threshold"] == 0.5
    assert event["contributions"]["added_to_cart"] > 0
    assert [json.loads(d.body)["session"] for d in receiver.seen] == [
        "session-0001",
        "session-0002",
    ]
    assert all(json.loads(d.body)["visitor"] == id_of(treated) for d in receiver.seen)


def test_the_hot_lead_threshold_defaults_and_is_validated() -> None:
    assert site_playbook(None).webhooks.hot_lead == 0.7
    assert site_playbook("[webhooks]\nhot_lead = 0.9\n").webhooks.hot_lead == 0.9
    with pytest.raises(PlaybookError, match=r"webhooks\.hot_lead"):
        site_playbook("[webhooks]\nhot_lead = 1.5\n")
