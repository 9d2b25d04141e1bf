"""The testing kit without a browser: what the generic journeys ask of a page, the privacy check
on recorded requests, and the holdout control's choice of visitor."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any, cast

import pytest

from rapport.client_py.identity import visitor_id_from_secret
from rapport.server.holdout import in_control
from rapport.server.testing.drive import BOOT_SLOTS, run_steps_async
from rapport.server.testing.holdout import holdout_script, secret_for
from rapport.server.testing.journeys import JOURNEYS, Journey, MissingMarkup, Step
from rapport.server.testing.privacy import SentRequest, private_findings


def _markup(*sections: tuple[str, str | None], chats: int = 0) -> dict[str, Any]:
    return {
        "url": "http://shop.test/p",
        "sections": [[name, item, i, True] for i, (name, item) in enumerate(sections)],
        "chats": chats,
        "fields": 0,
        "links": [],
    }


def _walk(journey: Journey, markup: dict[str, Any]) -> list[str]:
    """Run a journey against a fake page that declares ``markup``; the step kinds it took."""
    kinds: list[str] = []
    reply: Any = None
    try:
        while True:
            step = journey.send(reply)
            kinds.append(step.kind)
            reply = markup if step.kind == "markup" else None
            if step.kind == "eval" and "getBoundingClientRect" in step.args[0]:
                reply = {"x": 0, "y": 0, "width": 100, "height": 100}
    except StopIteration:
        return kinds


def test_hesitant_names_the_sections_a_page_lacks() -> None:
    journey = JOURNEYS["hesitant"]("http://shop.test/p", random.Random(1))
    with pytest.raises(MissingMarkup) as error:
        _walk(journey, _markup(("price", "a"), ("specs", "a")))
    message = str(error.value)
    assert 'data-rapport-section="returns" or "warranty"' in message
    assert "the page declares: price, specs" in message


def test_a_persona_that_chats_says_the_page_has_no_chat_input() -> None:
    journey = JOURNEYS["urgent"]("http://shop.test/p", random.Random(1))
    with pytest.raises(MissingMarkup, match="data-rapport-chat"):
        _walk(journey, _markup(("delivery", None), ("price", "a")))


def test_comparison_needs_three_items() -> None:
    journey = JOURNEYS["comparison_shopper"]("http://shop.test/list", random.Random(1))
    with pytest.raises(MissingMarkup, match="3 or more items"):
        _walk(journey, _markup(("price", "a"), ("price", "b")))


def test_the_same_seed_makes_the_same_visitor() -> None:
    page = _markup(("price", "a"), ("returns", None), ("warranty", None))
    first = _walk(JOURNEYS["hesitant"]("http://shop.test/p", random.Random("s:1")), page)
    again = _walk(JOURNEYS["hesitant"]("http://shop.test/p", random.Random("s:1")), page)
    assert first == again and first[:2] == ["goto", "markup"]


def _glances(journey: Journey, markup: dict[str, Any]) -> list[tuple[int, float]]:
    """The sections a journey brought into view (by index) and the ms it waited on each."""
    glances: list[tuple[int, float]] = []
    reply: Any = None
    try:
        while True:
            step = journey.send(reply)
            reply = markup if step.kind == "markup" else None
            if step.kind == "eval" and "scrollIntoView" in step.args[0]:
                glances.append((step.args[1], 0.0))
            elif step.kind == "wait" and glances:
                index, ms = glances[-1]
                glances[-1] = (index, ms + step.args[0])
    except StopIteration:
        return glances


@pytest.mark.parametrize("seed", range(20))
def test_a_neutral_visitor_glances_briefly_in_page_order_and_never_at_the_returns(
    seed: int,
) -> None:
    """Going back up to the price after the returns, or a look long enough to read a short
    section through (6 s), is what hesitation or research looks like, not a neutral visit."""
    page = _markup(("price", "a"), ("returns", None), ("warranty", None), ("delivery", None),
                   ("specs", "a"), ("reviews", "a"), chats=1)  # fmt: skip
    glances = _glances(JOURNEYS["neutral"]("http://shop.test/p", random.Random(seed)), page)
    indexes = [index for index, _ in glances]
    assert 1 <= len(glances) <= 2 and indexes == sorted(set(indexes))
    assert not {1, 2} & set(indexes)  # returns and warranty
    assert all(ms <= 2_500 for _, ms in glances)


def test_typed_text_and_query_strings_are_found_in_requests_to_rapport() -> None:
    batch = {"site": "pk_x", "signals": [{"kind": "tone", "text": "Where is my order now"}]}
    requests = [
        SentRequest("http://api.test/v1/collect", "POST", json.dumps(batch).encode()),
        SentRequest("http://api.test/v1/hints/abc?q=1", "GET", b""),
        SentRequest("http://shop.test/search?q=where", "GET", b""),  # the site's own: not ours
    ]
    problems = private_findings(requests, typed=["Where is my order now?"])
    assert any("carries 'is my order'" in p for p in problems), problems
    assert any("query string" in p and "/v1/hints/" in p for p in problems)
    assert not any("shop.test" in p for p in problems)
    assert any("the schema forbids" in p for p in problems)


def test_cyrillic_text_is_found_behind_json_escapes() -> None:
    body = json.dumps({"signals": [], "note": "Где мой заказ"}).encode()  # \\u0413…
    problems = private_findings(
        [SentRequest("http://api.test/v1/feedback", "POST", body)], typed=["Где мой заказ"]
    )
    assert problems


@pytest.mark.parametrize("control", [True, False])
def test_the_holdout_secret_lands_on_the_side_asked_for(control: bool) -> None:
    secret = secret_for(7, 0.1, control=control)
    assert in_control(7, visitor_id_from_secret(secret), 0.1) is control


def test_no_visitor_can_be_in_the_control_group_of_a_site_without_one() -> None:
    class Site:
        site_id, holdout = 3, 0.0

    with pytest.raises(ValueError, match="no control group"):
        holdout_script(Site(), control=True)


def test_page_loads_wait_for_a_boot_slot_when_the_runner_sets_them() -> None:
    """Six journeys at once, two Rapport boots at a time: a page load holds its slot until
    ``rapport.ready`` has settled."""
    loading = 0
    most = 0

    class Page:
        async def goto(self, url: str) -> None:
            nonlocal loading, most
            loading += 1
            most = max(most, loading)
            await asyncio.sleep(0.01)

        async def evaluate(self, script: str, *args: object) -> bool:
            nonlocal loading
            await asyncio.sleep(0.01)  # the boot
            loading -= 1
            return True

    def load(url: str) -> Journey:
        yield Step("goto", (url,))

    async def six() -> None:
        BOOT_SLOTS.set(asyncio.Semaphore(2))
        pages = [cast(Any, Page()) for _ in range(6)]
        await asyncio.gather(*(run_steps_async(page, load("http://shop.test/p")) for page in pages))

    asyncio.run(six())
    assert most == 2
