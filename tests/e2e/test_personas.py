"""The persona simulator in the suite: one seeded run per persona, in parallel pages.

The client's own top-1 pattern (from what it sent) must name at least 5 of the 6 personas; the
full accuracy report over many seeds is bench/client_personas.py.
"""

from __future__ import annotations

import asyncio

import pytest

from demo_site.stack import Stack
from tests.e2e.personas import PERSONAS, simulate

pytestmark = pytest.mark.e2e


def test_the_client_recognises_the_personas(stack: Stack) -> None:
    # Three at a time: six Pyodide boots at once on a 2-core machine can outwait the loader.
    runs = asyncio.run(simulate(stack.shop, stack.api, [1], parallel=3))
    assert [r.persona for r in runs] == list(PERSONAS)
    report = {r.persona: (r.predicted, r.scores) for r in runs}
    for run in runs:
        assert run.bodies, f"{run.persona}: nothing was sent"
        assert run.schema_clean
        assert run.errors == []
    right = sum(r.predicted == r.persona for r in runs)
    assert right >= 5, report
