"""Sites that are not the demo shop, for the kit's own tests, the e2e suite and the benches.

* :mod:`.tea_shop`: Kettle & Leaf, three pages written as strings with markup of their own
  (only the ``data-rapport-*`` attributes say what is what), served by ``static_pages``;
* :mod:`.fjellstad`: Fjellstad Outdoor, a folder of pages (help, a product, a listing) with
  wording, ids and scripts of its own, served in the demo shop's place
  (``running_stack(root=fjellstad.PAGES)``); nobody tuned the patterns on it (issue 17).

They live in the package (not under ``tests/``) so that ``bench/`` can drive them too without
importing the test suite.
"""
