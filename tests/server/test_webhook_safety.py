"""Issue 18, finding 5: webhooks — per-site isolation with a total deadline per delivery,
removed hooks get nothing more, unsafe targets are refused, no credentials in logs, and a
timestamped signature whose verification (docs/server.md, Python and JavaScript) runs here."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rapport.server.cli import main
from rapport.server.config import REPO_ROOT
from rapport.server.storage import Storage, create_storage
from rapport.server.webhooks import WebhookDispatcher, sign, verify
from rapport.server.webhooks import store as webhook_store
from rapport.server.webhooks.targets import UnsafeWebhookURL, check_url, resolve_target
from tests.server.conftest import ORIGIN
from tests.server.webhook_receiver import running_receiver

DOCS = REPO_ROOT / "docs" / "server.md"


def _url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'hooks.db'}"
    return str(request.getfixturevalue("postgres_url"))


async def _site_with_hook(storage: Storage, name: str, url: str) -> tuple[int, int]:
    site = (await storage.create_site(name, [ORIGIN], now=1.0)).site
    hook = await webhook_store.add_webhook(
        storage, site.id, url, ["hot_lead"], "whsec_" + name, now=1.0
    )
    return site.id, hook


async def _status(storage: Storage, site_id: int) -> list[tuple[str, str]]:
    return [(d.status, d.last_error) for d in await webhook_store.deliveries(storage, site_id)]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_finding_5_a_slow_receiver_holds_only_its_own_site_and_only_until_the_deadline(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = _url(backend, tmp_path, request)
    with running_receiver(trickle=0.1) as slow, running_receiver() as fast:

        async def scenario() -> tuple[list[Any], list[Any], bool]:
            async with create_storage(url) as storage:
                slow_site, slow_hook = await _site_with_hook(storage, "slow", slow.url)
                fast_site, fast_hook = await _site_with_hook(storage, "fast", fast.url)
                # The slow site's delivery is older: a sequential dispatcher would take it first.
                await webhook_store.enqueue_delivery(
                    storage, slow_hook, slow_site, "hot_lead", "{}", now=0.5
                )
                await webhook_store.enqueue_delivery(
                    storage, fast_hook, fast_site, "hot_lead", "{}", now=1.0
                )
                dispatcher = WebhookDispatcher(storage, timeout=3.0, allow_private=True)
                tasks = await dispatcher.start_due()
                assert len(tasks) == 2
                for _ in range(1500):
                    if (await _status(storage, fast_site))[0][0] != "pending":
                        break
                    await asyncio.sleep(0.02)
                slow_still_sending = not all(task.done() for task in tasks)
                await asyncio.gather(*tasks)
                return (
                    await _status(storage, slow_site),
                    await _status(storage, fast_site),
                    slow_still_sending,
                )

        slow_log, fast_log, slow_still_sending = asyncio.run(scenario())
    assert fast_log == [("delivered", "")]
    assert slow_still_sending, "the fast site waited for the slow one"
    # Bytes kept coming (no read ever waited long), yet the attempt ended at its deadline.
    assert slow.trickled >= 3
    [(status, error)] = slow_log
    assert status == "pending" and "no complete answer within 3 s" in error


def test_finding_5_a_removed_webhook_gets_no_delivery_already_fetched(tmp_path: Path) -> None:
    with running_receiver(hold=True) as receiver:

        async def scenario() -> list[Any]:
            async with create_storage(f"sqlite:///{tmp_path / 'r.db'}") as storage:
                site_id, hook = await _site_with_hook(storage, "gone", receiver.url)
                for n in range(3):
                    body = f'{{"n":{n}}}'
                    await webhook_store.enqueue_delivery(
                        storage, hook, site_id, "hot_lead", body, now=1.0
                    )
                dispatcher = WebhookDispatcher(storage, timeout=10.0, allow_private=True)
                tasks = await dispatcher.start_due()  # all three are due and fetched
                assert await asyncio.to_thread(receiver.arrived.wait, 30)
                assert await webhook_store.remove_webhook(storage, site_id, hook)
                receiver.release.set()
                await asyncio.gather(*tasks)
                return await webhook_store.deliveries(storage, site_id)

        remaining = asyncio.run(scenario())
    assert [json.loads(d.body) for d in receiver.seen] == [{"n": 0}]
    assert all(d.status != "pending" for d in remaining)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::1]:8080/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/",
        "https://user:s3cr3t@crm.example/hook",
        "ftp://crm.example/hook",
    ],
)
def test_finding_5_private_loopback_link_local_and_credential_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeWebhookURL) as refused:
        check_url(url, allow_private=False)
    assert "s3cr3t" not in str(refused.value)
    if not url.startswith("ftp"):
        check_url(url, allow_private=True)  # the operator's explicit opt-in


def test_finding_5_unsafe_targets_are_refused_at_add_time_and_at_delivery(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()
    assert runner.invoke(main, ["site", "add", "Shop", "--origin", ORIGIN, "--database",
                                database]).exit_code == 0  # fmt: skip
    refused = runner.invoke(main, ["site", "webhook", "add", "Shop",
                                   "http://169.254.169.254/", "--database", database])  # fmt: skip
    assert refused.exit_code != 0 and "not a public address" in refused.output
    allowed = runner.invoke(main, ["site", "webhook", "add", "Shop", "http://10.0.0.5/hook",
                                   "--allow-private", "--database", database])  # fmt: skip
    assert allowed.exit_code == 0, allowed.output

    async def private_resolver(host: str, port: int) -> list[str]:
        return ["203.0.113.7", "10.0.0.9"]  # one public, one private address: refused

    with pytest.raises(UnsafeWebhookURL, match="non-public"):
        asyncio.run(resolve_target("https://crm.example/hook", allow_private=False,
                                   resolver=private_resolver))  # fmt: skip

    with running_receiver() as receiver:  # a loopback receiver, no opt-in: never contacted

        async def scenario() -> list[Any]:
            async with create_storage(database) as storage:
                site_id, hook = await _site_with_hook(storage, "loop", receiver.url)
                await webhook_store.enqueue_delivery(
                    storage, hook, site_id, "hot_lead", "{}", now=1.0
                )
                await WebhookDispatcher(storage).run_once()
                return await _status(storage, site_id)

        [(status, error)] = asyncio.run(scenario())
    assert receiver.seen == []
    assert status == "failed" and "not a public address" in error


def test_finding_5_webhook_credentials_never_reach_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with running_receiver(fail_first=5) as receiver:
        secret_url = receiver.url.replace("http://", "http://crm-user:hunter2-secret@")

        async def scenario() -> list[Any]:
            async with create_storage(f"sqlite:///{tmp_path / 'l.db'}") as storage:
                site_id, hook = await _site_with_hook(storage, "creds", secret_url)
                await webhook_store.enqueue_delivery(
                    storage, hook, site_id, "hot_lead", "{}", now=1.0
                )
                await WebhookDispatcher(storage, allow_private=True).run_once()
                return await webhook_store.deliveries(storage, site_id)

        with caplog.at_level(logging.INFO):  # serve's default level (aiosqlite's DEBUG
            [delivery] = asyncio.run(scenario())  # lines echo SQL parameters verbatim)
    assert receiver.seen and delivery.last_error == "HTTP 500"
    assert "hunter2" not in caplog.text and "crm-user" not in caplog.text
    assert any("HTTP 500" in r.getMessage() for r in caplog.records)


def test_finding_5_the_signature_covers_the_timestamp_and_expires() -> None:
    body = b'{"event":"hot_lead"}'
    now = int(time.time())
    header = sign("whsec_x", body, now)
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    assert verify("whsec_x", body, header, now=now + 299)
    assert not verify("whsec_x", body, header, now=now + 301)  # a replay, later
    assert not verify("whsec_x", body + b" ", header, now=now)
    forged = header.replace(f"t={now}", f"t={now + 1000}")  # a new time on an old signature
    assert not verify("whsec_x", body, forged, now=now + 1000)
    assert not verify("whsec_y", body, header, now=now)


def _snippet(language: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Verifying a webhook", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, f"one {language} block expected under 'Verifying a webhook'"
    return str(blocks[0])


def _cases() -> list[dict[str, Any]]:
    body = '{"event":"hot_lead","visitor":"v-1"}'
    now = int(time.time())
    good = sign("whsec_docs", body.encode(), now)
    return [
        {"secret": "whsec_docs", "body": body, "header": good, "now": now, "ok": True},
        {"secret": "whsec_docs", "body": body, "header": good, "now": now + 400, "ok": False},
        {"secret": "whsec_docs", "body": body + " ", "header": good, "now": now, "ok": False},
        {"secret": "whsec_other", "body": body, "header": good, "now": now, "ok": False},
        {"secret": "whsec_docs", "body": body, "header": "t=1,v1=00", "now": now, "ok": False},
    ]


def test_finding_5_the_documented_python_verification_works() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_snippet("python"), str(DOCS), "exec"), namespace)
    check = namespace["verify_rapport_signature"]
    for case in _cases():
        got = check(case["secret"], case["body"].encode(), case["header"], now=case["now"])
        assert got is case["ok"], case


def test_finding_5_the_documented_javascript_verification_works(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = tmp_path / "verify.cjs"
    script.write_text(
        _snippet("js")
        + "\nconst cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));\n"
        + "console.log(JSON.stringify(cases.map(c => verifyRapportSignature(c.secret, "
        + "Buffer.from(c.body), c.header, c.now))));\n",
        encoding="utf-8",
    )
    cases = _cases()
    done = subprocess.run([node, str(script)], input=json.dumps(cases), capture_output=True,
                          text=True, check=True, timeout=60)  # fmt: skip
    assert json.loads(done.stdout) == [c["ok"] for c in cases], done.stderr
