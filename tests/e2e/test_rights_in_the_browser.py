"""A visitor sees, exports and erases their own data from the page, with only their browser's
secret — and afterwards nothing is left on the server and the browser starts afresh."""

from __future__ import annotations

import json
import urllib.request

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from rapport.client_py.identity import visitor_id_from_secret
from rapport.demo_site.stack import Stack
from rapport.server.testing.recording import Recorder
from tests.e2e.test_warm_start import SAVED

pytestmark = pytest.mark.e2e

SECRET = "test-secret-0123456789abcdef"
#: client_py.identity's key and id of SECRET, pinned in tests/client_py/test_identity.py
KEY = "7xKfoCuM3IYgE1qLacddtXVmshvHtStsfxM3aI11cGs"
VISITOR = "1-dsGnRvi962aoPx-E7qV-"


#: Poll (up to 10 s) for the worker's saved boots (Python's memory, its wasm) to be gone.
BOOT_SNAPSHOT_GONE = """async () => {
  const there = () => navigator.storage.getDirectory()
    .then((root) => root.getDirectoryHandle("rapport-boot")).then(() => true, () => false);
  for (let i = 0; i < 100 && (await there()); i++)
    await new Promise((r) => setTimeout(r, 100));
  return !(await there());
}"""


def server_export(stack: Stack, secret: str = SECRET) -> dict[str, object]:
    request = urllib.request.Request(
        f"{stack.api}/v1/visitors/{visitor_id_from_secret(secret)}?site={stack.site_key}",
        headers={"Authorization": f"Bearer {secret}", "Origin": stack.shop},
    )
    with urllib.request.urlopen(request) as response:
        return dict(json.load(response))


def seed(context: BrowserContext, secret: str) -> BrowserContext:
    # Seed the secret once per tab (an erase must be able to remove it for good).
    context.add_init_script(
        "if (!sessionStorage.getItem('seeded')) {"
        f" localStorage.setItem('rapport:vs', '{secret}');"
        " sessionStorage.setItem('seeded', '1'); }"
    )
    return context


@pytest.fixture
def known_visitor(context: BrowserContext) -> BrowserContext:
    return seed(context, SECRET)


def visit_and_send(page: Page, stack: Stack, recorder: Recorder) -> None:
    page.goto(stack.shop + "/product/nova-speaker.html")
    assert page.evaluate("() => rapport.ready") is True
    page.evaluate("document.getElementById('price').scrollIntoView({block: 'center'})")
    for i in range(60):  # attended time on the price until a batch goes out (≤ 30 s)
        page.mouse.move(200 + i % 4, 300)
        page.wait_for_timeout(500)
        if i >= 7 and recorder.collect_bodies(stack.api):
            break
    sent = [r for r in recorder.to(stack.api, "/v1/collect") if r.method == "POST"]
    assert sent, "no batch was sent"
    reply = sent[0].response()  # collect replies after the commit: the batch is stored
    assert reply is not None and reply.ok, "the batch was not stored"


def hold_the_next_batch(page: Page, stack: Stack) -> Route:
    """The next batch the page's worker sends, held on its way (not yet at the server): the
    visitor attends to the price until one goes out (≤ 30 s). Later batches pass."""
    held: list[Route] = []

    def hold(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.context.route(f"{stack.api}/v1/collect", hold)
    for i in range(60):
        page.mouse.move(200 + i % 4, 300)
        page.wait_for_timeout(500)
        if held:
            return held[0]
    raise AssertionError("no second batch was sent")


def test_batches_carry_the_key_derived_from_the_secret_never_the_secret(
    stack: Stack, known_visitor: BrowserContext, recorder: Recorder
) -> None:
    page = known_visitor.new_page()
    visit_and_send(page, stack, recorder)
    assert {b["key"] for b in recorder.collect_bodies(stack.api)} == {KEY}
    assert all(SECRET not in (r.post_data or "") + r.url for r in recorder.requests)
    # Collect stays a no-preflight text/plain request: the key rides in the body.
    collects = [r for r in recorder.requests if r.url.endswith("/v1/collect")]
    assert collects and all(r.method == "POST" for r in collects)


def test_export_then_erase_leaves_nothing_and_the_next_page_is_a_new_visitor(
    stack: Stack, known_visitor: BrowserContext, recorder: Recorder
) -> None:
    page = known_visitor.new_page()
    visit_and_send(page, stack, recorder)

    assert page.evaluate(SAVED)
    exported = page.evaluate("() => rapport.visitor.export()")
    assert exported["status"] == 200
    assert exported["body"]["visitor"] == VISITOR
    assert exported["body"]["signals"], "the export shows what was stored"

    erased = page.evaluate("() => rapport.visitor.erase()")
    assert erased["status"] == 200
    assert erased["body"]["removed"]["signals"] >= 1

    after = server_export(stack)
    assert after["signals"] == [] and after["batches"] == []
    assert page.evaluate("() => localStorage.getItem('rapport:vs')") is None
    assert page.evaluate(BOOT_SNAPSHOT_GONE) is True  # the warm-start snapshot went too

    page.goto(stack.shop + "/product/nova-speaker.html")
    assert page.evaluate("() => rapport.ready") is True
    secret = page.evaluate("() => localStorage.getItem('rapport:vs')")
    assert secret not in (None, SECRET)


def test_an_erase_in_one_tab_stops_the_other_tabs_so_nothing_stores_the_visitor_again(
    stack: Stack, context: BrowserContext, recorder: Recorder
) -> None:
    """Two tabs of the shop share the visitor's secret. Without a word from the erasing tab,
    the other's worker would go on sending batches under the erased visitor's key, and the
    server would store the visitor anew right after the erase. (A visitor of its own: the
    rights limit is per visitor, and this module's other tests spend SECRET's.)"""
    secret = "test-secret-two-tabs-0123456789"
    tabs = seed(context, secret)
    other = tabs.new_page()
    visit_and_send(other, stack, recorder)  # this tab sends batches as the visitor
    key = recorder.collect_bodies(stack.api)[0]["key"]
    erasing = tabs.new_page()
    erasing.goto(stack.shop + "/product/nova-speaker.html")
    assert erasing.evaluate("() => rapport.ready") is True
    assert erasing.evaluate("() => rapport.visitor.erase()")["status"] == 200
    sent_before = len(recorder.collect_bodies(stack.api))

    # The other tab goes on as before: attended time on the price, which sent a batch above.
    other.bring_to_front()
    other.evaluate("document.getElementById('price').scrollIntoView({block: 'center'})")
    for i in range(24):
        other.mouse.move(200 + i % 4, 300)
        other.wait_for_timeout(500)
    other.evaluate("() => rapport.chat('is the battery replaceable?')")
    other.wait_for_timeout(2000)

    assert len(recorder.collect_bodies(stack.api)) == sent_before

    # That tab's next page is a new visitor, and nothing of the erased one's session (its
    # unsent signals included, kept in the tab's sessionStorage) is sent under the new key.
    other.goto(stack.shop + "/product/nova-speaker.html")
    assert other.evaluate("() => rapport.ready") is True
    for _ in range(40):
        if len(recorder.collect_bodies(stack.api)) > sent_before:
            break
        other.mouse.move(200, 300)
        other.wait_for_timeout(500)
    new = recorder.collect_bodies(stack.api)[sent_before:]
    assert new and {b["key"] for b in new}.isdisjoint({key})
    before = recorder.collect_bodies(stack.api)[:sent_before]
    assert {b["batch"] for b in new}.isdisjoint({b["batch"] for b in before})
    after = server_export(stack, secret)
    assert after["signals"] == [] and after["batches"] == []


def test_a_batch_another_tab_has_in_flight_is_stored_before_the_erase_not_after(
    stack: Stack, context: BrowserContext, recorder: Recorder
) -> None:
    """Telling the other tabs stops their next batches, not one already on its way: stored after
    the erase, it would bring the erased visitor back. The erase waits for it (every tab's worker
    holds a shared Web Lock while a batch is in flight; the erase takes it alone)."""
    secret = "test-secret-in-flight-0123456789"
    tabs = seed(context, secret)
    other = tabs.new_page()
    visit_and_send(other, stack, recorder)
    held = hold_the_next_batch(other, stack)
    erasing = tabs.new_page()
    erasing.goto(stack.shop + "/product/nova-speaker.html")
    assert erasing.evaluate("() => rapport.ready") is True
    erasing.evaluate("() => { window.erased = rapport.visitor.erase(); }")
    erasing.wait_for_timeout(1500)
    assert recorder.to(stack.api, "/v1/visitors/") == [], "the erase did not wait for the batch"

    held.continue_()
    assert erasing.evaluate("() => window.erased")["status"] == 200
    assert [r.method for r in recorder.to(stack.api, "/v1/visitors/")] == ["DELETE"]
    after = server_export(stack, secret)
    assert after["signals"] == [] and after["batches"] == []


def test_a_batch_this_tab_has_in_flight_is_stored_before_its_erase_not_after(
    stack: Stack, context: BrowserContext, recorder: Recorder
) -> None:
    """The erasing tab's own worker ends only once its batch on the way is answered: ended at
    once, it would free the lock while the server may still store that batch after the erase."""
    secret = "test-secret-own-flight-0123456789"
    page = seed(context, secret).new_page()
    visit_and_send(page, stack, recorder)
    held = hold_the_next_batch(page, stack)
    page.evaluate("() => { window.erased = rapport.visitor.erase(); }")
    page.wait_for_timeout(1500)
    assert recorder.to(stack.api, "/v1/visitors/") == [], "the erase did not wait for the batch"

    held.continue_()
    assert page.evaluate("() => window.erased")["status"] == 200
    after = server_export(stack, secret)
    assert after["signals"] == [] and after["batches"] == []


def test_the_privacy_page_shows_and_erases_the_visitors_data(
    stack: Stack, known_visitor: BrowserContext, recorder: Recorder
) -> None:
    page = known_visitor.new_page()
    visit_and_send(page, stack, recorder)
    page.goto(stack.shop + "/privacy.html")
    page.locator("#data-show").click()
    page.locator("#data-view").wait_for(state="visible")
    assert VISITOR in page.locator("#data-view").text_content()
    page.locator("#data-erase").click()
    page.get_by_text("Erased:").wait_for()
    assert server_export(stack)["signals"] == []
