"""The ``rapport`` command group: every sub-command is registered here, one line each.

Commands live in ``server/cli/commands/`` (one module per command or group); what they share
(``--database``, looking a site up by name, ``--retention-days``) is in ``server/cli/options.py``.
"""

from __future__ import annotations

import click

from rapport.server.cli.commands.build_sdk import build_sdk_command
from rapport.server.cli.commands.check import check_command
from rapport.server.cli.commands.db import db
from rapport.server.cli.commands.demo import demo
from rapport.server.cli.commands.face import face_command
from rapport.server.cli.commands.hints import (
    login_command,
    model,
    playbook_command,
    report,
    report_settings_command,
    webhook,
)
from rapport.server.cli.commands.personas import personas_command
from rapport.server.cli.commands.serve import serve
from rapport.server.cli.commands.site import site
from rapport.server.cli.commands.tone import tone_command, train_tone_command

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rapport")
def main() -> None:
    """Rapport: privacy-first, on-device personalization — server and tools."""


# Tools that run the on-device analysis on this machine, for site owners to check it.
main.add_command(face_command)
main.add_command(tone_command)
# Is a page ready to adapt? Headless Chromium, a fix per problem (the optional `check` extra).
main.add_command(check_command)
main.add_command(personas_command)  # scripted visitors try a live page (the testing kit)


# The hints engine (commands/hints.py): site playbook/webhook, report uplift, model train.
main.add_command(report)
main.add_command(model)
model.add_command(train_tone_command)  # rapport model train-tone (issue 16)

main.add_command(serve)
main.add_command(site)
site.add_command(playbook_command)
site.add_command(webhook)
site.add_command(login_command)
site.add_command(report_settings_command)
main.add_command(db)
main.add_command(build_sdk_command)
main.add_command(demo)
