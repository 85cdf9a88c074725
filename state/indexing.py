"""The indexing graph's state: documents to add or replace, sources to delete, and what changed."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document
from typing_extensions import TypedDict


class IndexInput(TypedDict, total=False):
    documents: list[dict[str, Any]]  # [{"source", "text", "title"?}]: a known source is replaced
    delete: list[str]  # sources to remove


class IndexOutput(TypedDict, total=False):
    chunks: int  # in the index after the update
    read: list[str]  # every document's source read from the payload (a file that cannot be read is an error)
    update: dict[str, Any]  # what changed: added, replaced, deleted sources, chunks embedded and reused


class IndexState(IndexInput, IndexOutput, total=False):
    parsed: list[Document]
