"""Rapport's server: ingest of derived signals, hints, the SDK bundle, and the CLI.

Entry points: :func:`server.app.create_app` (the Litestar app) and :func:`server.cli.main`
(the ``rapport`` command). See ``docs/server.md``.
"""
