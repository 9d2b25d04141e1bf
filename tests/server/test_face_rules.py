"""Face rules of the default playbook, and how face hints are fused with the others."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapport.server.hints import Hint, hints_for
from rapport.server.hints import store as hint_store
from rapport.server.playbook import FeedbackEntry, default_playbook, site_playbook
from rapport.server.playbook.load import PlaybookError, parse_playbook
from rapport.server.profiles import Observations, Profile, apply_observations
from rapport.server.profiles.affect import AffectObservation
from tests.server.affect_windows import window

NOW = 1_800_000_000.0


def seen(*windows: AffectObservation, profile: Profile | None = None, at: float = NOW,
         **observed: object) -> Profile:  # fmt: skip
    return apply_observations(
        profile or Profile(), session="s1", at=at,
        observations=Observations(affect=tuple(windows), **observed),  # type: ignore[arg-type]
    )  # fmt: skip


def fired(profile: Profile, now: float = NOW, **kwargs: object) -> dict[str, Hint]:
    return {h.id: h for h in hints_for(profile, now=now, **kwargs)}  # type: ignore[arg-type]


# -- every face rule, at and just past its thresholds ------------------------------------------


def test_frustration_at_the_price_gets_reassurance_from_the_face() -> None:
    hints = fired(seen(*[window(-0.25)] * 3))
    assert list(hints) == ["face_frustrated.reassure"]
    hint = hints["face_frustrated.reassure"]
    assert (hint.source, hint.kind, hint.pattern) == ("face", "reassure", "frustrated")
    assert hint.also == ["emphasise:returns", "emphasise:warranty"]
    assert hint.chat is not None and (hint.chat.tone, hint.chat.length) == ("empathetic", "short")


def test_frustration_just_above_the_threshold_or_too_brief_gets_nothing() -> None:
    assert fired(seen(*[window(-0.24)] * 3)) == {}
    assert fired(seen(*[window(-0.6)] * 2)) == {}  # 10 s is not sustained


def test_the_reason_reads_like_a_person_wrote_it_and_the_evidence_names_face_features() -> None:
    hint = fired(seen(*[window(-0.42)] * 3))["face_frustrated.reassure"]
    assert hint.reasons[0] == (
        "looked frustrated for 15 s while reading the price (valence −0.42 vs own baseline)"
    )
    evidence = {e.feature: (e.value, e.threshold) for e in hint.evidence}
    assert evidence["face:valence"] == (-0.42, -0.25)
    assert evidence["face:negative_share"] == (1.0, 0.5)
    assert evidence["face:windows"] == (3, 3)


def test_frustration_at_the_delivery_terms_offers_help() -> None:
    hints = fired(seen(*[window(-0.25, section="delivery")] * 3))
    assert list(hints) == ["face_frustrated_delivery.offer_help"]
    assert hints["face_frustrated_delivery.offer_help"].chat.handoff == "offer"  # type: ignore[union-attr]


def test_a_puzzled_look_at_the_specs_simplifies() -> None:
    puzzled = window(-0.15, dominant="sad", section="specs", micro=1)
    assert list(fired(seen(puzzled, puzzled))) == ["face_confused_specs.simplify"]
    calm = window(-0.15, dominant="sad", section="specs")
    assert fired(seen(puzzled, calm)) == {}  # one micro-expression < 2
    assert fired(seen(*[window(-0.14, dominant="sad", section="specs", micro=1)] * 2)) == {}


def test_upset_on_the_order_status_gets_empathy_and_a_human_offered() -> None:
    hints = fired(seen(*[window(-0.25, dominant="sad", section="order-status")] * 3))
    assert list(hints) == ["face_upset_support.offer_help"]
    chat = hints["face_upset_support.offer_help"].chat
    assert chat is not None and (chat.tone, chat.handoff) == ("empathetic", "offer")
    assert fired(seen(*[window(-0.2, dominant="sad", section="order-status")] * 3)) == {}


def test_upset_with_rage_clicks_escalates_apologetically() -> None:
    upset = [window(-0.25, section=None)] * 2
    hints = fired(seen(*upset, counters={"rage_clicks": 2}))
    assert list(hints) == ["face_upset_rage.escalate"]
    assert hints["face_upset_rage.escalate"].chat.tone == "apologetic"  # type: ignore[union-attr]
    assert fired(seen(*upset, counters={"rage_clicks": 1})) == {}
    evidence = {e.feature for e in hints["face_upset_rage.escalate"].evidence}
    assert {"face:valence", "counter:rage_clicks"} <= evidence


def test_surprise_at_the_price_emphasises_returns_and_warranty() -> None:
    surprised = window(0.2, dominant="surprised", surprised=0.3)
    hints = fired(seen(surprised))
    assert list(hints) == ["face_surprised_price.emphasise"]
    assert hints["face_surprised_price.emphasise"].also == ["emphasise:warranty"]
    assert fired(seen(window(0.2, dominant="surprised", surprised=0.29))) == {}


def test_a_happy_absorbed_visitor_is_not_interrupted() -> None:
    hints = fired(seen(*[window(0.25, dominant="happy", attention=0.7)] * 3))
    assert list(hints) == ["face_engaged.hold_back"]
    assert hints["face_engaged.hold_back"].chat.opener is None  # type: ignore[union-attr]
    assert fired(seen(*[window(0.25, dominant="happy", attention=0.69)] * 3)) == {}
    assert fired(seen(*[window(0.24, dominant="happy", attention=1.0)] * 3)) == {}


def test_low_attention_gets_concise_answers() -> None:
    hints = fired(seen(*[window(0.0, dominant="neutral", attention=0.4)] * 3))
    assert list(hints) == ["face_inattentive.simplify"]
    assert hints["face_inattentive.simplify"].chat.tone == "concise"  # type: ignore[union-attr]
    assert fired(seen(*[window(0.0, dominant="neutral", attention=0.41)] * 3)) == {}


# -- relative to the visitor, recent only, controls ---------------------------------------------


def test_thresholds_are_relative_to_the_visitors_own_resting_face() -> None:
    resting = seen(*[window(-0.3, dominant="neutral", section=None)] * 10, at=NOW - 120)
    assert fired(seen(*[window(-0.45)] * 3, profile=resting)) == {}  # only −0.2 below rest
    assert "face_frustrated.reassure" in fired(seen(*[window(-0.45)] * 3))  # fresh visitor


def test_windows_older_than_the_rule_looks_back_do_not_count() -> None:
    profile = seen(*[window(-0.5)] * 3, at=NOW - 31)
    assert fired(profile) == {}


def test_face_hints_expire_soon_after_the_last_window() -> None:
    profile = seen(*[window(-0.5)] * 3)
    [hint] = hints_for(profile, now=NOW)
    assert hint.expires_at == NOW + 10  # two windows: one, and slack for a slow camera
    assert hints_for(profile, now=NOW + 10) == []


def test_one_switch_turns_every_face_rule_off_for_a_site() -> None:
    off = site_playbook("[face]\nenabled = false\n")
    assert fired(seen(*[window(-0.5)] * 3), playbook=off) == {}
    assert fired(seen(*[window(0.5, dominant="happy")] * 3), playbook=off) == {}


def test_a_site_can_disable_or_retune_a_face_rule() -> None:
    profile = seen(*[window(-0.3)] * 3)
    disabled = site_playbook('disable = ["face_frustrated.reassure"]\n')
    assert fired(profile, playbook=disabled) == {}
    stricter = site_playbook(
        '[[rules]]\nid = "face_frustrated.reassure"\nwhen = "face"\nname = "frustrated"\n'
        'kind = "reassure"\nmin_score = 0.5\nmin_evidence = 3\n'
        '[rules.face]\nsections = ["price"]\nvalence_below = -0.4\n'
    )
    assert fired(profile, playbook=stricter) == {}


def test_a_dismissed_face_hint_backs_off_like_any_other() -> None:
    profile = seen(*[window(-0.5)] * 3)
    miss = FeedbackEntry("face_frustrated.reassure", "dismissed", NOW - 60)
    assert fired(profile, feedback=[miss]) == {}
    later = FeedbackEntry("face_frustrated.reassure", "dismissed", NOW - 3600)
    hint = fired(profile, feedback=[later])["face_frustrated.reassure"]
    assert hint.strength == 0.5 and any("missed" in r for r in hint.reasons)


def test_a_face_rule_needs_its_face_block_and_known_sections() -> None:
    rule = '[[rules]]\nid = "face_x.y"\nwhen = "face"\nname = "upset"\nkind = "reassure"\n'
    with pytest.raises(PlaybookError, match=r"rule 'face_x\.y': field face"):
        parse_playbook(rule + "min_score = 0.5\n")
    with pytest.raises(PlaybookError, match=r"face\.sections"):
        parse_playbook(rule + 'min_score = 0.5\n[rules.face]\nsections = ["cart-page"]\n')


def test_every_default_face_rule_says_it_comes_from_the_face() -> None:
    face_rules = [r for r in default_playbook().rules if r.when == "face"]
    assert len(face_rules) >= 8
    assert all(r.face is not None and r.chat is not None for r in face_rules)


# -- fusion ---------------------------------------------------------------------------------

HESITANT = {"hesitant": 0.7}
HESITANT_EVIDENCE = {"hesitant": {"dwell_price": 0.3, "price_returns_loops": 0.25}}


def test_without_a_camera_the_behaviour_hints_are_unchanged() -> None:
    profile = seen(patterns=HESITANT, evidence=HESITANT_EVIDENCE)
    [hint] = hints_for(profile, now=NOW)
    assert (hint.id, hint.strength, hint.source) == ("hesitant.reassure", 0.7, "behaviour")
    assert not any("face" in r for r in hint.reasons)


def test_face_and_behaviour_agreeing_make_both_hints_stronger_and_say_so() -> None:
    profile = seen(*[window(-0.5)] * 3, patterns=HESITANT, evidence=HESITANT_EVIDENCE)
    hints = fired(profile)
    behaviour, face = hints["hesitant.reassure"], hints["face_frustrated.reassure"]
    assert behaviour.strength == 0.85  # 0.7 + 0.5 × 0.3 × 1.0
    assert any(r.startswith("the face agrees (looked frustrated") for r in behaviour.reasons)
    assert any(r.startswith("behaviour agrees (hesitating") for r in face.reasons)
    assert {"feature": "agrees:face_frustrated.reassure", "value": 1.0} in [
        {"feature": e.feature, "value": e.value} for e in behaviour.evidence
    ]
    assert behaviour.reasons[-1] == "rule hesitant.reassure"


def test_when_face_and_behaviour_disagree_the_stronger_wins_and_the_reasons_say_why() -> None:
    happy = [window(0.5, dominant="happy")] * 3
    hints = fired(seen(*happy, patterns=HESITANT, evidence=HESITANT_EVIDENCE))
    assert list(hints) == ["face_engaged.hold_back"]
    assert any(
        "behaviour suggested reassure instead" in r
        and "face won: the stronger signal (1.00 vs 0.70)" in r
        for r in hints["face_engaged.hold_back"].reasons
    )
    mostly = [*happy[:2], window(0.0, dominant="neutral")]  # 2 of 3 windows happy: 0.67
    strong = seen(*mostly, patterns={"hesitant": 0.9}, evidence=HESITANT_EVIDENCE)
    hints = fired(strong)
    assert list(hints) == ["hesitant.reassure"]
    assert any("behaviour won: the stronger signal (0.90 vs 0.67)" in r
               for r in hints["hesitant.reassure"].reasons)  # fmt: skip


def test_what_the_visitor_typed_outranks_the_face() -> None:
    happy = [window(0.5, dominant="happy")] * 3
    hints = fired(seen(*happy, tones={"urgency": 0.65}))
    assert list(hints) == ["chat_urgency.simplify"]
    assert any("chat won: what the visitor typed outranks the face" in r
               for r in hints["chat_urgency.simplify"].reasons)  # fmt: skip
    assert any(e.feature == "overrode:face_engaged.hold_back"
               for e in hints["chat_urgency.simplify"].evidence)  # fmt: skip


# -- uplift by source -----------------------------------------------------------------------


def test_report_uplift_splits_by_source(tmp_path: Path) -> None:
    from rapport.server import cli
    from rapport.server.storage import create_storage
    from rapport.server.storage.base import HintLogRow

    url = f"sqlite:///{tmp_path / 'u.db'}"

    async def fill() -> None:
        async with create_storage(url) as storage:
            site = (await storage.create_site("U", ["https://shop.example"], now=1.0)).site
            rows = [
                HintLogRow(
                    site.id,
                    f"v-{i:03d}",
                    rule,
                    kind,
                    pattern,
                    0.8,
                    "control" if i % 5 == 0 else "treated",
                    100.0,
                )
                for i in range(30)
                for rule, kind, pattern in (
                    [("face_frustrated.reassure", "reassure", "frustrated")] if i < 10 else []
                )
                + [("hesitant.reassure", "reassure", "hesitant")]
            ]
            await hint_store.log_hints(storage, rows)

    asyncio.run(fill())
    out = CliRunner().invoke(cli.main, ["report", "uplift", "U", "--json", "--by-source",
                                        "--database", url])  # fmt: skip
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["treated"]["visitors"] == 24
    assert set(data["by_source"]) == {"behaviour", "face"}
    assert data["by_source"]["face"]["treated"]["visitors"] == 8
    assert data["by_source"]["face"]["control"]["visitors"] == 2
    text = CliRunner().invoke(cli.main, ["report", "uplift", "U", "--by-source", "--database", url])
    assert "-- hints from face --" in text.output
