"""Source names: what a client may call a document it indexes or deletes (the routes and the index graph)."""

from __future__ import annotations

MAX_SOURCE_CHARS = 512


def source_problem(source: object) -> str | None:
    """Why a source name is refused, or None: it names a document, never a path to follow."""
    if not isinstance(source, str) or not source.strip() or len(source) > MAX_SOURCE_CHARS:
        return f"A source name is text of 1 to {MAX_SOURCE_CHARS} characters."
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in source):
        return "A source name holds no control characters."
    if source.startswith(("/", "\\")) or ".." in source.replace("\\", "/").split("/"):
        return f"The source name {source!r} looks like a path out of the index; name the document instead."
    return None
