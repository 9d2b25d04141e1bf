"""``bench.page_cost``'s quiet browser reads, besides when Rapport was ready on a visitor's first
three pages, the page's side of the first page's start: the page's ``load``, the loader's worker
made, its script running, ``ready``. Output only: the timings themselves are the bench's."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.page_cost import PRODUCT, QUIET_STEPS, quiet_ready
from rapport.demo_site.stack import running_stack

pytestmark = pytest.mark.slow


def test_the_first_pages_steps_are_read_in_the_order_the_loader_takes_them(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path) as stack:
        first, second, third, steps = quiet_ready(stack.shop + PRODUCT, tmp_path)
    assert tuple(steps) == QUIET_STEPS
    # The loader makes its worker only once the page has loaded; the worker's script says
    # "up" before Python starts; ready is the first page's figure.
    assert 0 < steps["load"] <= steps["worker"] < steps["up"] < steps["ready"] == first
    assert second > 0 and third > 0
