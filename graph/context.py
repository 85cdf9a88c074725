"""Alias kept for code written against ragloop 0.1 (`from ragloop.graph.context import Context`).

The settings live in :mod:`ragloop.settings`; import them from there.
"""

from ragloop.settings import Context, get_context

__all__ = ["Context", "get_context"]
