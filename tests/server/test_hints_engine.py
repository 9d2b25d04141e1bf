"""The hints engine end to end: feedback, holdout, profiles across visits, outcomes, export,
playbook files, uplift statistics, predictive scores and signed webhooks."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import hmac
import io
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rapport.server import cli
from rapport.server.hints import store as hint_store
from rapport.server.holdout import in_control
from rapport.server.holdout.uplift import Unit, newcombe, uplift, wilson
from rapport.server.playbook import PlaybookError, parse_playbook, site_playbook
from rapport.server.profiles import Observations, Profile, apply_observations
from rapport.server.scoring import features_of, lead_scorer, prior_model, score_profile, train
from rapport.server.scoring.model import probabilities, probability
from rapport.server.storage import create_storage
from rapport.server.storage.base import HintLogRow
from rapport.server.webhooks import WebhookDispatcher, enqueue_events, sign
from rapport.server.webhooks import store as webhook_store
from tests.server.conftest import id_of, key_of, treated_visitor
from tests.server.webhook_receiver import Receiver, running_receiver

ORIGIN = "https://shop.example"
MakeBatch = Callable[..., dict[str, Any]]
HESITANT = [
    {"kind": "pattern", "name": "hesitant", "score": 0.8},
    {"kind": "evidence", "pattern": "hesitant", "feature": "dwell_price", "points": 0.3},
    {"kind": "evidence", "pattern": "hesitant", "feature": "revisits", "points": 0.2},
]


def control_visitor(site_id: int) -> str:
    """The name of a test visitor in the control arm."""
    return next(
        f"visitor-{i:04d}"
        for i in range(1000)
        if in_control(site_id, id_of(f"visitor-{i:04d}"), 0.1)
    )


# -- feedback ---------------------------------------------------------------------------------


def test_dismissed_hint_is_suppressed_then_returns_weaker(api: Any, make_batch: MakeBatch) -> None:
    site = api.add_site()
    visitor = treated_visitor(site.site.id)
    key = site.site.site_key
    [hint] = api.collect(make_batch(key, HESITANT, visitor=visitor)).json()["hints"]
    body = {"site": key, "key": key_of(visitor), "hint_id": hint["id"], "outcome": "dismissed"}
    reply = api.client.post(
        "/v1/feedback",
        content=json.dumps(body),
        headers={"Origin": ORIGIN, "Content-Type": "text/plain"},
    )
    assert reply.status_code == 200, reply.text
    assert api.collect(make_batch(key, HESITANT, visitor=visitor)).json()["hints"] == []
    api.clock.advance(31 * 60)
    [again] = api.collect(make_batch(key, HESITANT, visitor=visitor)).json()["hints"]
    assert again["strength"] == 0.4


def test_feedback_is_validated_and_origin_checked(api: Any) -> None:
    site = api.add_site()
    good = {"site": site.site.site_key, "key": key_of("v-1"), "hint_id": "hesitant.reassure"}
    bad = api.client.post(
        "/v1/feedback", json={**good, "outcome": "meh"}, headers={"Origin": ORIGIN}
    )
    assert bad.status_code == 422 and bad.json()["field"] == "$.outcome"
    other = api.client.post(
        "/v1/feedback",
        json={**good, "outcome": "helpful"},
        headers={"Origin": "https://evil.example"},
    )
    assert other.status_code == 403
    unknown = api.client.post(
        "/v1/feedback", json={**good, "outcome": "helpful", "x": 1}, headers={"Origin": ORIGIN}
    )
    assert unknown.status_code == 422


# -- holdout ----------------------------------------------------------------------------------


def test_holdout_is_deterministic_and_about_ten_percent() -> None:
    share = sum(in_control(7, f"v-{i}", 0.1) for i in range(20_000)) / 20_000
    assert 0.09 < share < 0.11
    assert in_control(7, "v-1", 0.1) == in_control(7, "v-1", 0.1)


def test_control_visitor_gets_no_hints_but_a_holdout_flag_and_a_log_row(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    visitor = control_visitor(site.site.id)
    reply = api.collect(make_batch(site.site.site_key, HESITANT, visitor=visitor)).json()
    assert reply["hints"] == [] and reply["holdout"] is True
    got = api.hints(site.site.site_key, visitor).json()
    assert got == {"hints": [], "holdout": True}
    engine = api.client.app.state.services.hints
    api.run(engine.flush)
    log = api.run(lambda: hint_store.hint_log(api.storage, site.site.id))
    assert [(r.visitor, r.hint_id, r.arm) for r in log] == [
        (id_of(visitor), "hesitant.reassure", "control")
    ]


# -- profiles across visits, outcomes, export -------------------------------------------------


def test_profile_counts_visits_purchases_support_and_consent() -> None:
    p = Profile()
    p = apply_observations(
        p, session="s1", at=3600 * 9, observations=Observations(patterns={"urgent": 0.2})
    )
    p = apply_observations(
        p,
        session="s1",
        at=3600 * 9 + 60,
        observations=Observations(
            actions=frozenset({"purchase"}), purchase_values=((10.0, "EUR"),)
        ),
    )
    p = apply_observations(
        p,
        session="s2",
        at=86_400 + 3600 * 9,
        observations=Observations(
            topics={"order_status": 1}, actions=frozenset({"consent_granted"})
        ),
    )
    assert (p.visits, p.purchases, p.revenue, p.support_contacts) == (2, 1, {"EUR": 10.0}, 1)
    assert p.typical_hour == 9 and p.consent == "granted"
    assert p.pattern_history == {"urgent": [0.2]}
    server_side = apply_observations(
        p,
        session="server-outcome",
        at=2 * 86_400,
        observations=Observations(actions=frozenset({"purchase"}), server_side=True),
    )
    assert (server_side.visits, server_side.purchases, server_side.current.id) == (2, 2, "s2")


def test_outcomes_api_is_idempotent_and_export_has_json_and_csv(
    api: Any, make_batch: MakeBatch
) -> None:
    site = api.add_site()
    key, token = site.site.site_key, site.admin_token
    api.collect(make_batch(key, HESITANT, visitor="visitor-0042"))
    auth = {"Authorization": f"Bearer {token}"}
    body = {
        "visitor": id_of("visitor-0042"),
        "kind": "order",
        "id": "A-1",
        "value": 129.0,
        "currency": "EUR",
    }
    first = api.client.post(f"/v1/admin/sites/{key}/outcomes", json=body, headers=auth)
    again = api.client.post(f"/v1/admin/sites/{key}/outcomes", json=body, headers=auth)
    assert first.status_code == 200, first.text
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert again.json()["purchases"] == 1
    assert api.client.post(f"/v1/admin/sites/{key}/outcomes", json=body).status_code == 401
    exported = api.client.get(f"/v1/admin/sites/{key}/profiles", headers=auth).json()
    [row] = exported["profiles"]
    assert (row["visitor"], row["visits"], row["purchases"], row["revenue"]) == (
        id_of("visitor-0042"),
        1,
        1,
        "EUR 129",
    )
    assert 0 < row["lead_score"] < 1 and row["score_hesitant"] == 0.8
    text = api.client.get(f"/v1/admin/sites/{key}/profiles", params={"format": "csv"}, headers=auth)
    assert text.headers["content-type"].startswith("text/csv")
    [csv_row] = list(csv.DictReader(io.StringIO(text.text)))
    assert csv_row["visitor"] == id_of("visitor-0042") and csv_row["purchases"] == "1"


# -- playbook files ---------------------------------------------------------------------------


def test_playbook_errors_name_file_rule_and_field() -> None:
    bad_tone = (
        '[[rules]]\nid = "hesitant.x"\nwhen = "pattern"\nname = "hesitant"\nkind = "reassure"\n'
        'min_score = 0.5\n[rules.chat]\ntone = "rude"\ndirective = {en = "a", ru = "b"}\n'
    )
    with pytest.raises(PlaybookError, match=r"shop\.toml: rule 'hesitant\.x': field chat\.tone"):
        parse_playbook(bad_tone, "shop.toml")
    bad_kind = (
        '[[rules]]\nid = "urgent.y"\nwhen = "pattern"\nname = "urgent"\nkind = "dance"\n'
        "min_score = 0.5\n"
    )
    with pytest.raises(PlaybookError, match=r"rule 'urgent\.y': field kind: unknown kind"):
        parse_playbook(bad_kind, "shop.toml")
    with pytest.raises(PlaybookError, match=r"field rules\[0\]|rule #1: field colour"):
        parse_playbook("[[rules]]\ncolour = 1\n", "shop.toml")
    with pytest.raises(PlaybookError, match="not valid TOML"):
        parse_playbook("rules = [", "shop.toml")


def test_site_playbook_merges_over_the_default(tmp_path: Path) -> None:
    text = (
        'disable = ["urgent.simplify"]\n[experiment]\nholdout = 0.2\n[[rules]]\n'
        'id = "hesitant.reassure"\nwhen = "pattern"\nname = "hesitant"\nkind = "reassure"\n'
        "min_score = 0.9\nmin_evidence = 3\n"
    )
    merged = site_playbook(text)
    ids = {r.id for r in merged.rules}
    assert "urgent.simplify" not in ids and "researcher.expand" in ids
    assert next(r for r in merged.rules if r.id == "hesitant.reassure").min_score == 0.9
    assert merged.experiment.holdout == 0.2
    # the CLI validates first and stores it
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert (
        runner.invoke(
            cli.main, ["site", "add", "Shop", "--origin", ORIGIN, "--database", db]
        ).exit_code
        == 0
    )
    (tmp_path / "bad.toml").write_text("[experiment]\nholdout = 0.9\n")
    bad = runner.invoke(
        cli.main, ["site", "playbook", "Shop", str(tmp_path / "bad.toml"), "--database", db]
    )
    assert bad.exit_code != 0 and "experiment.holdout" in bad.output
    (tmp_path / "ok.toml").write_text(text)
    ok = runner.invoke(
        cli.main, ["site", "playbook", "Shop", str(tmp_path / "ok.toml"), "--database", db]
    )
    assert ok.exit_code == 0 and "holdout 20%" in ok.output, ok.output


# -- uplift statistics ------------------------------------------------------------------------


def test_wilson_and_newcombe_match_published_values() -> None:
    # Newcombe (1998), example (a): 56/70 vs 48/80 → 0.2000, 95 % CI 0.0524 to 0.3339.
    d = newcombe(56, 70, 48, 80)
    assert (round(d.estimate, 4), round(d.low, 4), round(d.high, 4)) == (0.2, 0.0524, 0.3339)
    w = wilson(81, 263)  # Wilson interval of 81/263: 0.2553 to 0.3662
    assert (round(w.low, 4), round(w.high, 4)) == (0.2553, 0.3662)


def test_uplift_recovers_a_known_simulated_effect() -> None:
    rng = random.Random(11)
    units = []
    for arm, rate, seconds, irritation in (
        ("treated", 0.15, 300.0, 0.05),
        ("control", 0.10, 420.0, 0.05),
    ):
        for _ in range(6000 if arm == "treated" else 3000):
            converted = rng.random() < rate
            units.append(
                Unit(
                    arm,
                    converted,
                    rng.expovariate(1 / seconds) if converted else None,
                    rng.random() < irritation,
                )
            )
    report = uplift(units)
    assert report.conversion_uplift is not None
    assert (
        report.conversion_uplift.low > 0
        and report.conversion_uplift.low < 0.05 < report.conversion_uplift.high
    )
    t = report.seconds_to_conversion_difference
    assert t is not None and t.low < -120 < t.high and t.high < 0
    assert report.guardrail_ok is True


def test_uplift_command_reports_both_arms(api: Any, make_batch: MakeBatch, tmp_path: Path) -> None:
    async def fill() -> None:
        async with create_storage(f"sqlite:///{tmp_path / 'u.db'}") as storage:
            created = await storage.create_site("U", [ORIGIN], now=1.0)
            rows = [
                HintLogRow(
                    created.site.id,
                    f"v-{i:03d}",
                    "hesitant.reassure",
                    "reassure",
                    "hesitant",
                    0.8,
                    "control" if i % 5 == 0 else "treated",
                    100.0,
                )
                for i in range(40)
            ]
            await hint_store.log_hints(storage, rows)

    asyncio.run(fill())
    out = CliRunner().invoke(
        cli.main,
        ["report", "uplift", "U", "--json", "--database", f"sqlite:///{tmp_path / 'u.db'}"],
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert (data["treated"]["visitors"], data["control"]["visitors"]) == (32, 8)


# -- predictive scores ------------------------------------------------------------------------


def test_logistic_model_learns_the_signal_and_explains_itself() -> None:
    rng = random.Random(3)
    profiles = []
    for i in range(400):
        urgent = rng.random()
        p = apply_observations(
            Profile(),
            session=f"s{i}",
            at=1000.0,
            observations=Observations(patterns={"urgent": urgent}),
        )
        if rng.random() < 0.1 + 0.7 * urgent:
            p = apply_observations(
                p,
                session=f"s{i}",
                at=1000.0,
                observations=Observations(actions=frozenset({"purchase"})),
            )
        profiles.append(p)
    model = train(profiles, "conversion", now=2000.0)
    assert model.source == "trained" and model.weights["urgent"] > 0.2
    assert max(model.weights, key=lambda k: abs(model.weights[k])) == "urgent"
    few = train(profiles[:10], "conversion", now=2000.0)
    assert few.source == "prior"
    assert set(features_of(Profile(), 0.0)) >= {"urgent", "visits_log"}


def random_visitors(
    seed: int, count: int, *, sessions: int, patterns: tuple[str, ...], topic: str
) -> list[Profile]:
    """``count`` visitors of 1 to ``sessions`` sessions, 15 minutes apart, each session with a
    random score of one of ``patterns``, one action and 0–2 messages on ``topic``: enough
    spread to train a model on (seeded, so the same visitors every run)."""
    rng = random.Random(seed)
    profiles = []
    for i in range(count):
        p = Profile()
        for j in range(rng.randint(1, sessions)):
            p = apply_observations(
                p, session=f"s{i}-{j}", at=1000.0 + 900 * j,
                observations=Observations(
                    patterns={rng.choice(patterns): rng.random()},
                    actions=frozenset(rng.sample(("add_to_cart", "purchase", "view_item"), 1)),
                    topics={topic: rng.randint(0, 2)},
                ),
            )  # fmt: skip
        profiles.append(p)
    return profiles


def test_the_rollups_fused_scorer_gives_each_models_own_probability() -> None:
    """The report's rollups score two models at once (``probabilities``); the numbers are
    the ones :func:`probability` gives each model, for priors and trained models alike."""
    profiles = random_visitors(
        3, 200, sessions=4, patterns=("urgent", "hesitant", "irritated"), topic="order_status"
    )
    trained = train(profiles, "conversion", now=5000.0)
    assert trained.source == "trained"
    models = (prior_model("conversion"), prior_model("abandon"), trained)
    scorer = probabilities(*models)
    for p in profiles:
        features = features_of(p, 5000.0)
        assert scorer(p, 5000.0) == tuple(probability(m, features) for m in models)


def test_the_lead_scorer_decides_as_the_full_scores_at_every_threshold() -> None:
    """The hot-lead check rules visitors out on the model's plain probability first
    (``lead_scorer``): at thresholds on, just above and just below each visitor's score,
    its answer is the one ``score_profile`` alone gives, scores included."""
    visitors = random_visitors(
        5, 150, sessions=3, patterns=("urgent", "researcher", "irritated"), topic="returns"
    )
    profiles = [Profile(), *visitors]
    trained = train(profiles, "conversion", now=5000.0)
    assert trained.source == "trained"
    for model in (prior_model("conversion"), trained):
        scorer = lead_scorer(model)
        reached = 0
        for p in profiles:
            full = score_profile(model, p, 5000.0)
            q = full.probability
            for threshold in (q, q + 0.0001, q - 0.0001, q + 0.003, q - 0.003, q + 0.01, 0.5, 0.7):
                expected = full if q >= threshold else None
                assert scorer(p, 5000.0, threshold) == expected, (model.source, q, threshold)
                reached += expected is not None
        assert 0 < reached < len(profiles) * 8  # both answers were checked


# -- webhooks against a real HTTP receiver ----------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver(fail_first=2) as running:
        yield running


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_webhook_is_signed_retried_with_backoff_and_logged(
    backend: str, receiver: Receiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'w.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("postgres_url")
    )

    async def scenario() -> tuple[list[Any], str]:
        async with create_storage(url) as storage:
            site = (await storage.create_site("W", [ORIGIN], now=1.0)).site
            secret = "whsec_test"
            await webhook_store.add_webhook(
                storage, site.id, receiver.url, ["irritated_customer"], secret, now=1.0
            )
            rows = [
                HintLogRow(
                    site.id,
                    "v-1",
                    "irritated.escalate",
                    "escalate_to_human",
                    "irritated",
                    0.9,
                    "treated",
                    5.0,
                ),
                HintLogRow(
                    site.id,
                    "v-2",
                    "irritated.escalate",
                    "escalate_to_human",
                    "irritated",
                    0.9,
                    "control",
                    5.0,
                ),
                HintLogRow(
                    site.id, "v-3", "hesitant.reassure", "reassure", "hesitant", 0.9, "treated", 5.0
                ),
            ]
            assert (
                await enqueue_events(storage, rows, now=1.0, site_keys={site.id: site.site_key})
                == 1
            )
            dispatcher = WebhookDispatcher(
                storage, base_delay=0.05, max_attempts=5, allow_private=True
            )
            for _ in range(100):
                await dispatcher.run_once()
                log = await webhook_store.deliveries(storage, site.id)
                if log[0].status != "pending":
                    break
                await asyncio.sleep(0.03)
            return log, secret

    log, secret = asyncio.run(scenario())
    assert [(d.status, d.attempts, d.last_status) for d in log] == [("delivered", 3, 204)]
    assert [d.status for d in receiver.seen] == [500, 500, 204]
    headers, body = receiver.seen[-1].headers, receiver.seen[-1].body
    stamp = headers["X-Rapport-Signature"].split(",")[0].removeprefix("t=")
    signed = stamp.encode() + b"." + body
    expected = f"t={stamp},v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert headers["X-Rapport-Signature"] == expected == sign(secret, body, int(stamp))
    assert body == log[0].body.encode()
    assert (
        json.loads(body)["event"] == "irritated_customer" and json.loads(body)["visitor"] == "v-1"
    )
