"""``rapport`` commands of the hints engine: playbooks, webhooks, uplift report, models,
and the site owner's dashboard (``site login``, ``site report-settings``).

Registered in ``server/cli/main.py``: ``site playbook``, ``site webhook …``, ``site login``,
``site report-settings``, ``report uplift``, ``model train``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
import msgspec

from rapport.server.cli.options import database_option, with_site
from rapport.server.dashboard.auth import LINK_TTL, create_link
from rapport.server.hints import store as hint_store
from rapport.server.playbook import PlaybookError, site_playbook
from rapport.server.report.settings import InvalidReportSettings, set_report_settings
from rapport.server.sites import config_store
from rapport.server.sites.model import Site
from rapport.server.storage import Storage
from rapport.server.webhooks import store as webhook_store
from rapport.server.webhooks.events import EVENTS

__all__ = [
    "dashboard_link",
    "login_command",
    "model",
    "playbook_command",
    "report",
    "report_settings_command",
    "webhook",
]


@click.command("playbook")
@click.argument("name")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--reset", is_flag=True, help="Go back to the default playbook.")
@click.option("--show", is_flag=True, help="Print the effective playbook as JSON.")
@database_option()
def playbook_command(
    name: str, file: Path | None, reset: bool, show: bool, database_url: str
) -> None:
    """Set a site's playbook from a TOML FILE (validated first; merged over the default)."""
    text: str | None = None
    if file is not None:
        try:
            text = file.read_text("utf-8")
            site_playbook(text, str(file))
        except OSError as exc:
            raise click.ClickException(f"{file}: {exc.strerror}") from None
        except PlaybookError as exc:
            raise click.ClickException(str(exc)) from None

    async def apply(storage: Storage, site: Site) -> str | None:
        if text is not None or reset:
            await config_store.set_site_config(
                storage, site.id, "playbook", text or "", now=time.time()
            )
        return await config_store.site_config(storage, site.id, "playbook")

    stored = with_site(database_url, name, apply)
    effective = site_playbook(stored or None)
    if show:
        click.echo(msgspec.json.encode(effective).decode())
        return
    origin = "its own file over the default" if stored else "the default"
    click.echo(
        f"Site {name!r} uses {origin}: {len(effective.rules)} rules, holdout "
        f"{effective.experiment.holdout:.0%} (running servers pick it up within 5 s)."
    )


@click.group()
def webhook() -> None:
    """CRM webhooks of a site (signed POSTs of hint events)."""


def _events(value: str) -> tuple[str, ...]:
    events = tuple(e.strip() for e in value.split(",") if e.strip())
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise click.BadParameter(f"events are a comma-separated subset of {', '.join(EVENTS)}")
    return events


@webhook.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--events", default=",".join(EVENTS), show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Accept a loopback, private or link-local host, or credentials in the URL (the "
    "server delivers there only with --allow-private-webhooks).",
)
@database_option()
def webhook_add(
    name: str, url: str, events: str, as_json: bool, allow_private: bool, database_url: str
) -> None:
    """Add a webhook; prints its signing secret once."""
    from rapport.server.webhooks import new_secret
    from rapport.server.webhooks.targets import UnsafeWebhookURL, check_url

    try:
        check_url(url, allow_private=allow_private)
    except UnsafeWebhookURL as exc:
        raise click.BadParameter(str(exc), param_hint="URL") from None
    chosen = _events(events)
    secret = new_secret()

    async def add(storage: Storage, site: Site) -> int:
        return await webhook_store.add_webhook(
            storage, site.id, url, chosen, secret, now=time.time()
        )

    hook_id = with_site(database_url, name, add)
    if as_json:
        click.echo(json.dumps({"id": hook_id, "secret": secret, "events": list(chosen)}))
    else:
        click.echo(f"Webhook {hook_id} for {', '.join(chosen)}. Signing secret (shown once):")
        click.echo(secret)


@webhook.command("list")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@database_option()
def webhook_list(name: str, as_json: bool, database_url: str) -> None:
    """List a site's webhooks and their latest deliveries (never secrets)."""

    async def load(storage: Storage, site: Site) -> dict[str, Any]:
        hooks = await webhook_store.webhooks(storage, site.id)
        log = await webhook_store.deliveries(storage, site.id, limit=20)
        return {
            "webhooks": [{"id": h.id, "url": h.url, "events": list(h.events)} for h in hooks],
            "deliveries": [
                {"id": d.id, "webhook": d.webhook_id, "event": d.event, "status": d.status,
                 "attempts": d.attempts, "last_status": d.last_status, "error": d.last_error}
                for d in log
            ],
        }  # fmt: skip

    data = with_site(database_url, name, load)
    if as_json:
        click.echo(json.dumps(data))
        return
    for h in data["webhooks"]:
        click.echo(f"{h['id']}\t{h['url']}\t{','.join(h['events'])}")
    for d in data["deliveries"]:
        click.echo(f"  delivery {d['id']} {d['event']} {d['status']} after {d['attempts']}")


@webhook.command("remove")
@click.argument("name")
@click.argument("webhook_id", type=int)
@database_option()
def webhook_remove(name: str, webhook_id: int, database_url: str) -> None:
    """Remove a webhook (its pending deliveries are dropped)."""

    async def remove(storage: Storage, site: Site) -> bool:
        return await webhook_store.remove_webhook(storage, site.id, webhook_id)

    if not with_site(database_url, name, remove):
        raise click.ClickException(f"site {name!r} has no webhook {webhook_id}")
    click.echo(f"Removed webhook {webhook_id}.")


@click.group()
def report() -> None:
    """Reports on the hints engine."""


@report.command("uplift")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--by-source", is_flag=True, help="Also one report per hint source (behaviour/chat/face/…)."
)
@database_option()
def report_uplift(name: str, as_json: bool, by_source: bool, database_url: str) -> None:
    """Treated vs control: conversion, time to conversion, irritation guardrail (95 % CIs)."""
    from rapport.server.holdout.uplift import units_from, uplift, uplift_by_source
    from rapport.server.playbook import site_playbook
    from rapport.server.playbook.engine import rule_source

    async def load(storage: Storage, site: Site) -> Any:
        log = await hint_store.hint_log(storage, site.id)
        profiles = dict(await storage.site_profiles(site.id))
        sources = {
            r.id: rule_source(r)
            for r in site_playbook(
                await config_store.site_config(storage, site.id, "playbook")
            ).rules
        }
        split = uplift_by_source(log, profiles, lambda h: sources.get(h, "retired rule"))
        return uplift(units_from(log, profiles)), split

    result, split = with_site(database_url, name, load)
    if as_json:
        body = msgspec.to_builtins(result)
        click.echo(msgspec.json.encode({**body, "by_source": split} if by_source else body))
        return
    _print_uplift(result)
    for source, report in split.items() if by_source else ():
        click.echo(f"\n-- hints from {source} --")
        _print_uplift(report)


def _print_uplift(result: Any) -> None:
    def pct(i: Any) -> str:
        return "n/a" if i is None else f"{i.estimate:+.1%} [{i.low:+.1%}, {i.high:+.1%}]"

    for label, arm in (("treated", result.treated), ("control", result.control)):
        click.echo(
            f"{label:8} visitors {arm.visitors:6}  conversion {arm.conversion.estimate:6.1%}  "
            f"irritated {arm.irritation.estimate:6.1%}"
        )
    click.echo(f"conversion uplift      {pct(result.conversion_uplift)}")
    click.echo(f"irritation difference  {pct(result.irritation_difference)}")
    t = result.seconds_to_conversion_difference
    click.echo(
        "time to conversion     "
        + ("n/a" if t is None else f"{t.estimate:+.0f} s [{t.low:+.0f}, {t.high:+.0f}]")
    )
    click.echo(f"guardrail              {'ok' if result.guardrail_ok is not False else 'BREACHED'}")
    click.echo(f"method: {result.method}")


@click.group()
def model() -> None:
    """Predictive scores (lead score, abandon risk)."""


@model.command("train")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@database_option()
def model_train(name: str, as_json: bool, database_url: str) -> None:
    """Train the site's conversion and abandon models on its own profiles (priors until
    there is enough data); servers also retrain daily."""
    from rapport.server.scoring.train import train_site

    async def fit(storage: Storage, site: Site) -> Any:
        return await train_site(storage, site.id, now=time.time())

    models = with_site(database_url, name, fit)
    if as_json:
        click.echo(msgspec.json.encode(models).decode())
        return
    for target, m in models.items():
        top = sorted(m.weights.items(), key=lambda kv: -abs(kv[1]))[:3]
        click.echo(
            f"{target}: {m.source} (n={m.trained_on}, accuracy={m.accuracy}); "
            + ", ".join(f"{k} {v:+.2f}" for k, v in top)
        )


# -- the site owner's dashboard (was server/report/cli.py) ------------------------------


async def dashboard_link(storage: Storage, site: Site, base_url: str) -> str:
    """A fresh one-time sign-in link to the dashboard of ``site`` on ``base_url``."""
    token = await create_link(storage, site, now=time.time())
    return f"{base_url.rstrip('/')}/dashboard/link/{token}"


@click.command("login")
@click.argument("name")
@click.option(
    "--url",
    "base_url",
    default="http://127.0.0.1:8000",
    show_default=True,
    envvar="RAPPORT_PUBLIC_URL",
    show_envvar=True,
    help="Where the server is reached from your browser.",
)
@database_option()
def login_command(name: str, base_url: str, database_url: str) -> None:
    """Print a one-time link that signs you in to the site's dashboard."""
    link = with_site(database_url, name, lambda s, site: dashboard_link(s, site, base_url))
    click.echo(link)
    click.echo(f"(works once, for {int(LINK_TTL // 60)} minutes)", err=True)


@click.command("report-settings")
@click.argument("name")
@click.option("--k", type=int, default=None, help="Hide numbers about fewer than k visitors (≥ 2).")
@click.option(
    "--timezone", default=None, help="IANA zone of the daily buckets, e.g. Europe/Berlin."
)
@database_option()
def report_settings_command(
    name: str, k: int | None, timezone: str | None, database_url: str
) -> None:
    """Show or change the report's k (default 5, minimum 2) and time zone (default UTC)."""

    async def run(storage: Storage, site: Site) -> str:
        try:
            settings = await set_report_settings(
                storage, site.id, k=k, timezone=timezone, now=time.time()
            )
        except InvalidReportSettings as exc:
            raise click.BadParameter(str(exc)) from None
        return f"k = {settings.k}, timezone = {settings.timezone}"

    click.echo(with_site(database_url, name, run))
