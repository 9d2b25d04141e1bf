"""Patterns as live coordinates: every pattern scored at once, each with its evidence."""

from rapport.client_py.events import parse_events
from rapport.client_py.features import SessionFeatures
from rapport.client_py.patterns import (
    HESITANT,
    NEUTRAL_BELOW,
    PATTERN_WEIGHTS,
    PatternScore,
    Term,
    feature_values,
    score_all,
    score_pattern,
    weights_with_overrides,
)
from rapport.client_py.schema import EVIDENCE_FEATURES, PATTERNS
from rapport.client_py.tone import ToneSession

T = 1_700_000_000_000.0


def features_of(*raw: list[object], until: float | None = None) -> SessionFeatures:
    features = SessionFeatures()
    for event in parse_events(list(raw)):
        features.apply(event)
    if until is not None:
        features.advance(until)
    return features


def top_pattern(scores: dict[str, float], threshold: float = NEUTRAL_BELOW) -> str:
    """The highest-scoring pattern, or "neutral" (the kit's reading, ``server/testing/runs.py``;
    not imported from there: these tests also run inside Pyodide, where only client_py is)."""
    best = max(scores.items(), key=lambda kv: kv[1], default=("neutral", 0.0))
    return best[0] if best[1] >= threshold else "neutral"


def score_hesitant(features: SessionFeatures, weights: tuple[Term, ...] = HESITANT) -> PatternScore:
    return score_pattern("hesitant", weights, feature_values(features))


def session(price_s: float, returns_s: float, *extra: list[object]) -> SessionFeatures:
    return features_of(
        ["pv", T],
        *read("price", price_s, T),
        *read("returns", returns_s, T + price_s * 1000),
        *extra,
    )


def read(section: str, seconds: float, start: float, item: str = "a") -> list[list[object]]:
    """A section in view for ``seconds`` with the visitor active (a pointer move a second)."""
    return [
        ["in", start, section, item],
        *[["act", start + i * 1000] for i in range(int(seconds) + 1) if i < seconds],
        ["out", start + seconds * 1000, section, item],
    ]


def scores(
    features: SessionFeatures, tone: ToneSession | None = None, **kw: bool
) -> dict[str, float]:
    return {p.name: p.score for p in score_all(features, tone, **kw)}


def chat(*texts: str) -> ToneSession:
    tone = ToneSession()
    for i, text in enumerate(texts):
        tone.add(text, T + i * 10_000)
    return tone


def test_the_weights_are_in_one_place_and_name_known_features() -> None:
    assert set(PATTERN_WEIGHTS) == set(PATTERNS)
    for terms in PATTERN_WEIGHTS.values():
        assert all(term.feature in EVIDENCE_FEATURES for term in terms)
        assert abs(sum(t.weight for t in terms if t.weight > 0) - 1.0) < 1e-9


def test_a_visitor_weighing_price_against_returns_scores_as_hesitant() -> None:
    assert score_hesitant(session(10, 10)).score >= 0.9
    assert top_pattern(scores(session(10, 10))) == "hesitant"


def test_a_glance_at_the_price_is_not_hesitation() -> None:
    assert score_hesitant(session(1, 0)).score < 0.2


def test_adding_to_cart_ends_hesitation() -> None:
    result = score_hesitant(session(10, 10, ["trk", T + 30_000, "add_to_cart", 129, "EUR"]))
    assert result.score == 0.0
    assert next(c for c in result.evidence if c.points < 0).feature == "committed"


def test_the_evidence_adds_up_to_the_score() -> None:
    result = score_hesitant(session(4, 6))
    assert abs(sum(c.points for c in result.evidence) - result.score) < 1e-9
    assert {c.feature for c in result.evidence} == {
        "dwell_price",
        "dwell_reassure",
        "price_returns_loops",
        "committed",
    }


def test_a_site_can_override_the_weights() -> None:
    strict = weights_with_overrides({"hesitant": {"dwell_price": {"full": 60}}})
    strict_score = score_all(session(10, 10), None, strict)[0].score
    assert strict_score < score_hesitant(session(10, 10)).score
    plain = weights_with_overrides({"hesitant": {"dwell_price": 0.1}})
    assert dict((t.feature, t) for t in plain["hesitant"])["dwell_price"] == Term(
        "dwell_price", 0.1, 8.0
    )


def test_bad_overrides_are_ignored() -> None:
    junk = {"nope": {}, "hesitant": {"typed_text": 1, "dwell_price": "9", "committed": 7}}
    assert weights_with_overrides(junk)["hesitant"] == HESITANT
    assert weights_with_overrides("x") == PATTERN_WEIGHTS


def test_the_score_never_leaves_zero_to_one() -> None:
    generous = weights_with_overrides(
        {"hesitant": {"dwell_price": 1, "dwell_reassure": 1, "price_returns_loops": 1}}
    )
    assert score_all(session(100, 100), None, generous)[0].score == 1.0


def test_urgent_delivery_reader_who_buys_fast_and_says_so() -> None:
    f = features_of(
        ["pv", T],
        *read("delivery", 7, T + 1_000),
        ["trk", T + 9_000, "add_to_cart"],
        until=T + 9_000,
    )
    s = scores(f, chat("I need it by tomorrow, asap!"))
    assert s["urgent"] >= 0.8 and top_pattern(s) == "urgent"


def test_researcher_reads_specs_and_reviews_at_length() -> None:
    f = features_of(
        ["pv", T], *read("specs", 25, T), *read("reviews", 20, T + 26_000), ["scr", T + 46_000, 1.0]
    )
    s = scores(f)
    assert s["researcher"] >= 0.6 and top_pattern(s) == "researcher"


def test_returning_with_a_problem_goes_to_order_status_and_contacts() -> None:
    f = features_of(
        ["pv", T],
        ["ctx", T, 0, 1280, 0, "email", ""],
        *read("order-status", 10, T),
        *read("contacts", 5, T + 11_000),
    )
    s = scores(f, chat("Where is my order?"), returning=True)
    assert s["returning_with_problem"] >= 0.75 and top_pattern(s) == "returning_with_problem"


def test_irritated_by_rage_and_dead_clicks_and_tone() -> None:
    clicks = [
        ["clk", T + 1_000 + i * 200 + k * 5_000, 100, 100] for k in range(2) for i in range(3)
    ]
    f = features_of(["pv", T], *clicks, until=T + 20_000)
    s = scores(f, chat("This is ridiculous!!!"))
    assert f.counter("rage_clicks") == 2
    assert s["irritated"] >= 0.8 and top_pattern(s) == "irritated"


def test_comparison_shopper_switches_between_items() -> None:
    raw: list[list[object]] = [["pv", T]]
    for k, item in enumerate(["a", "b", "c", "a"]):
        raw += read("price", 3, T + k * 4_000, item)
    s = scores(features_of(*raw))
    assert s["comparison_shopper"] >= 0.8 and top_pattern(s) == "comparison_shopper"


def test_price_sensitive_copies_the_price_and_asks_for_discounts() -> None:
    f = features_of(["pv", T], *read("price", 12, T), ["cp", T + 5_000, "price", "a"])
    s = scores(f, chat("Do you have a discount code?"))
    assert s["price_sensitive"] >= 0.75 and top_pattern(s) == "price_sensitive"


def test_a_neutral_visit_scores_below_the_threshold_everywhere() -> None:
    f = features_of(["pv", T], *read("specs", 4, T), *read("price", 3, T + 5_000))
    assert top_pattern(scores(f)) == "neutral"
    assert max(scores(f).values()) < NEUTRAL_BELOW


def test_top_pattern_of_nothing_is_neutral() -> None:
    assert top_pattern({}) == "neutral"


def test_the_documented_weights_table_matches_pattern_weights() -> None:
    """docs/client.md's table is the owners' reference: it must say what the code does."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "client.md"
    if not doc.exists():  # inside Pyodide only the tests and client_py are mounted
        return
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `(\w+)` \| (.*) \|$", doc.read_text(encoding="utf-8"), re.M)
    }
    for name, terms in PATTERN_WEIGHTS.items():
        for term in terms:
            shown = rf"{re.escape(term.feature)}[^,|]*?[+−-]{abs(term.weight):.2f}"
            assert re.search(shown, rows[name]), (name, term)
