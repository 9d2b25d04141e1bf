"""The hesitant pattern: long attention on price and on returns/warranty, without buying."""

from client_py.events import parse_events
from client_py.features import SessionFeatures
from client_py.patterns import HesitantWeights, score_hesitant

T = 1_700_000_000_000.0


def session(price_s: float, returns_s: float, *extra: list[object]) -> SessionFeatures:
    raw: list[object] = [
        ["pv", T],
        ["in", T, "price", "a"],
        ["act", T + price_s * 500],
        ["out", T + price_s * 1000, "price", "a"],
        ["in", T + price_s * 1000, "returns", "a"],
        ["act", T + price_s * 1000 + returns_s * 500],
        ["out", T + (price_s + returns_s) * 1000, "returns", "a"],
        *extra,
    ]
    features = SessionFeatures()
    for event in parse_events(raw):
        features.apply(event)
    return features


def test_a_visitor_weighing_price_against_returns_scores_as_hesitant() -> None:
    result = score_hesitant(session(10, 10))
    assert result.score >= 0.9


def test_a_glance_at_the_price_is_not_hesitation() -> None:
    assert score_hesitant(session(1, 0)).score < 0.2


def test_adding_to_cart_ends_hesitation() -> None:
    late = T + 30_000
    result = score_hesitant(session(10, 10, ["trk", late, "add_to_cart", 129, "EUR"]))
    assert result.score == 0.0
    assert result.evidence[0].feature == "action:add_to_cart"


def test_the_evidence_adds_up_to_the_score() -> None:
    result = score_hesitant(session(4, 6))
    assert abs(sum(c.points for c in result.evidence) - result.score) < 1e-9
    assert {c.feature for c in result.evidence} == {
        "dwell:price",
        "dwell:returns+warranty",
        "price<->returns loops",
    }


def test_a_site_can_override_the_weights() -> None:
    strict = HesitantWeights(price_full_seconds=60, reassure_full_seconds=60)
    assert score_hesitant(session(10, 10), strict).score < score_hesitant(session(10, 10)).score


def test_the_score_never_leaves_zero_to_one() -> None:
    generous = HesitantWeights(price_weight=1, reassure_weight=1, loop_weight=1)
    assert score_hesitant(session(100, 100), generous).score == 1.0
