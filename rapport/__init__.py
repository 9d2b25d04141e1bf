"""Rapport: privacy-first, on-device personalization.

The one top-level package the wheel installs. Its sub-packages are the repository's folders
(``rapport/server`` → ``server/`` and so on, symlinks in a checkout, copies in the wheel):
``rapport.server`` (the API and the ``rapport`` command), ``rapport.client_py`` (the
on-device analysis, also shipped as its own ``client_py`` wheel inside Pyodide),
``rapport.models``, ``rapport.wasm_build``, ``rapport.demo_site``.
"""
