"""Northwind Audio: a small demo shop with Rapport's script tag, served from its own origin.

``demo_site.server.serve_demo`` serves the static pages in this folder and fills in the
``{{RAPPORT_SDK}}`` and ``{{SITE_KEY}}`` placeholders of the one Rapport ``<script>`` tag.
"""

__all__: list[str] = []
