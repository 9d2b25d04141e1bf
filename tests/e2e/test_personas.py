"""The testing kit's personas on the demo shop: one seeded run per persona, all at once.

The client's own top-1 pattern (from what it sent) must name at least 6 of the 7 personas, and
nothing private may leave; the 5-seed sweep is ``python -m bench.kit_personas`` (and the
accuracy report with a confusion table, bench/client_personas.py).
"""

from __future__ import annotations

import asyncio

import pytest

from rapport.demo_site.personas import PERSONAS
from rapport.demo_site.stack import Stack
from rapport.server.testing.runs import simulate

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(600)  # seven journeys of 15–40 s at once, three Pyodide boots at a time
def test_the_client_recognises_the_personas(stack: Stack) -> None:
    # All seven at once (they mostly wait through scripted dwell), but three page loads at a
    # time: more Pyodide boots at once on a 2-core machine can outwait the loader.
    runs = asyncio.run(
        simulate(stack.shop, stack.api, [1], parallel=len(PERSONAS), scripts=PERSONAS, boots=3)
    )
    assert [r.persona for r in runs] == list(PERSONAS)
    report = {r.persona: (r.predicted, r.scores, r.errors) for r in runs}
    for run in runs:
        assert run.bodies, f"{run.persona}: nothing was sent"
        assert run.schema_clean and run.privacy_problems == []
        assert run.errors == []
    right = sum(r.predicted == r.persona for r in runs)
    assert right >= len(runs) - 1, report
