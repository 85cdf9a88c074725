"""The embedded local backend: ragloop's own index folder (retrieval/index.py), loaded once per version."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ragloop.retrieval.index import HybridIndex, update_index


@lru_cache(maxsize=2)
def _load(path: str, stamp: int | None, embedder_name: str) -> HybridIndex:
    return HybridIndex.load(path, embedder_name)


class LocalBackend:
    def __init__(self, location: str, ann_threshold: int, embedder_name: str):
        self.path = Path(location).expanduser()
        self.ann_threshold = ann_threshold
        self.embedder_name = embedder_name

    def _stamp(self) -> int | None:
        manifest = self.path / "manifest.json"
        return manifest.stat().st_mtime_ns if manifest.exists() else None

    def index(self) -> HybridIndex:
        """The index now at the path, loaded once per process and reloaded when a new version is published."""
        return _load(str(self.path), self._stamp(), self.embedder_name)

    def version(self) -> str:
        return f"{os.path.realpath(self.path)}@{self._stamp() or 0}"

    def search(
        self,
        query: str,
        vector: Sequence[float],
        k: int,
        *,
        where: Mapping[str, Any] | None = None,
        probes: int,
        **fusion: Any,
    ) -> list[Document]:
        return self.index().search(query, vector, k, where=where, probes=probes, **fusion)

    def update(self, embedder: Embeddings, embedder_name: str, **change: Any) -> dict[str, Any]:
        return update_index(self.path, embedder, embedder_name, ann_threshold=self.ann_threshold, **change)

    def summary(self, tenant: str | None) -> dict[str, Any]:
        index = self.index()
        manifest = index.manifest
        summary = {k: manifest.get(k) for k in ("chunks", "documents", "sources", "embedder", "created", "last_update")}
        if tenant is not None:
            summary |= index.tenant_summary(tenant) | {"last_update": None}  # the last change may be another's
        return summary
