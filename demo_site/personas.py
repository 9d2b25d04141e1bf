"""Where the testing kit's personas go on the demo shop (the journeys themselves are generic:
server/testing/journeys.py). Used by demo_site/seed.py, tests/e2e and the benches."""

from __future__ import annotations

from typing import Final

from rapport.server.testing.runs import Script, at

__all__ = ["DEMO_PAGES", "PERSONAS"]

PRODUCTS: Final = tuple(
    f"/product/{name}.html" for name in ("aria-headphones", "echo-earbuds", "nova-speaker")
)
#: A product page at random for most; the order status for the visitor with a problem; the
#: home page (its cards link to the product pages) for the comparison.
DEMO_PAGES: Final[dict[str, str | tuple[str, ...]]] = {
    "hesitant": PRODUCTS,
    "urgent": PRODUCTS,
    "researcher": PRODUCTS,
    "returning_with_problem": "/order-status.html",
    "irritated": PRODUCTS,
    "comparison_shopper": "/",
    "neutral": PRODUCTS,
}
PERSONAS: Final[dict[str, Script]] = {name: at(where, name) for name, where in DEMO_PAGES.items()}
