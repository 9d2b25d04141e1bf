"""The ``rapport`` command (``server/cli/main.py``) and its sub-commands (``commands/``)."""

from rapport.server.cli.commands.demo import ensure_demo_site
from rapport.server.cli.commands.site import add_site
from rapport.server.cli.main import main

__all__ = ["add_site", "ensure_demo_site", "main"]
