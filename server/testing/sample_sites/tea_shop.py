"""Kettle & Leaf, a second site for the testing kit's drivers, with markup of its own: no
class, id or wording of the demo shop or of Fjellstad. Only the ``data-rapport-*`` attributes
say what is what, so the kit's generic journeys find everything through them.

``{{RAPPORT}}`` is the script tag (``RapportServer.tag(site)``). Where each persona goes is
``TEA_PAGES``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["TEA_PAGES", "TEA_SHOP"]

_HEAD: Final = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Kettle &amp; Leaf</title>{{RAPPORT}}
<style>body{font:16px/1.5 Georgia,serif;margin:0 auto;max-width:900px;padding:0 1rem}
.tall{min-height:75vh;padding:1rem 0;border-bottom:1px dotted #aaa}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem}.grid > div{min-height:60vh}
figure{margin:0}</style></head><body><nav><a href="/leaf.html">Oolong</a>
<a href="/teas.html">All teas</a> <a href="/parcel.html">My parcel</a></nav><main>"""
_TAIL: Final = "</main></body></html>"
_CHAT: Final = """<form onsubmit="event.preventDefault(); this.reset()">
<label>Ask the tea room <input name="q" data-rapport-chat autocomplete="off"></label>
<button>Send</button></form>"""
_PICTURE: Final = (
    '<figure class="tall"><img alt="A tin of oolong" width="560" height="380" src="data:image/svg+'
    "xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='560' height='380'%3E%3Crect "
    "width='560' height='380' fill='%23a5c4a0'/%3E%3C/svg%3E\"></figure>"
)

LEAF: Final = f"""{_HEAD}<h1>Tie Guan Yin oolong, 100 g</h1>{_PICTURE}
<div class="tall"><strong data-rapport-section="price" data-rapport-item="tgy-100">£14.50</strong>
 per tin</div>
<article class="tall" data-rapport-section="returns">Unopened tins can be sent back within 60
 days, we cover the postage both ways.</article>
<article class="tall" data-rapport-section="warranty">Freshness promise: if a tin is stale we
 replace it, no questions asked.</article>
<aside data-rapport-show="hesitant reassure" hidden>Not sure? Send it back within 60 days.</aside>
<div class="tall" data-rapport-section="delivery">Royal Mail, 2–3 working days; next day if
 ordered before noon.</div>
<table class="tall" data-rapport-section="specs" data-rapport-item="tgy-100">
<tr><th>Origin</th><td>Anxi, Fujian</td></tr><tr><th>Oxidation</th><td>30 %</td></tr>
<tr><th>Steep</th><td>90 °C, 3 minutes</td></tr></table>
<ol class="tall" data-rapport-section="reviews" data-rapport-item="tgy-100">
<li>Orchid notes, lovely second steep.</li><li>Smooth, not bitter at all.</li></ol>
{_CHAT}<div class="tall"></div>{_TAIL}"""

PARCEL: Final = f"""{_HEAD}<h1>Your parcel</h1>
<div class="tall" data-rapport-section="order-status"><p>Type your parcel code to see where it
 is.</p><input name="code" placeholder="KL-00000" autocomplete="off"></div>
<div class="tall" data-rapport-section="contacts">Write to us: the tea room answers within the
 hour, every day from 8 to 20.</div>
{_CHAT}<div class="tall"></div>{_TAIL}"""

_CARDS: Final = [
    ("tgy-100", "Tie Guan Yin", "£14.50", "Anxi, 30 %"),
    ("dhp-50", "Da Hong Pao", "£22.00", "Wuyi, 60 %"),
    ("sencha-80", "Sencha", "£9.90", "Shizuoka, steamed"),
    ("assam-250", "Assam", "£7.20", "Assam, CTC"),
    ("puerh-357", "Shou pu-erh", "£31.00", "Yunnan, cake"),
    ("darj-ff", "Darjeeling", "£18.40", "First flush"),
]
TEAS: Final = (
    f"{_HEAD}<h1>All teas</h1><section class='grid'>"
    + "".join(
        f"<div><h2>{name}</h2><em data-rapport-section='price' data-rapport-item='{sku}'>"
        f"{price}</em><p data-rapport-section='specs' data-rapport-item='{sku}'>{facts}</p></div>"
        for sku, name, price, facts in _CARDS
    )
    + f"</section>{_TAIL}"
)

TEA_SHOP: Final = {"/leaf.html": LEAF, "/parcel.html": PARCEL, "/teas.html": TEAS}
TEA_PAGES: Final = {
    "hesitant": "/leaf.html",
    "urgent": "/leaf.html",
    "researcher": "/leaf.html",
    "returning_with_problem": "/parcel.html",
    "irritated": "/leaf.html",
    "comparison_shopper": "/teas.html",
    "neutral": "/leaf.html",
}
