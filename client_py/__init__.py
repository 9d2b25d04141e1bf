"""Rapport's on-device logic, run in the visitor's browser (Pyodide, Web Worker) and in CPython.

Everything here is pure Python with no I/O: the worker feeds it raw page events and gets back
the derived, schema-checked signals to send. Raw events never leave this package except as
those signals.
"""

__all__: list[str] = []
