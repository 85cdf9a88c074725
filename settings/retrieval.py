"""Retrieval settings: the index, hybrid search (BM25 + dense, fused) and how documents are chunked."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from ragloop.settings.metadata import NO_CACHE, RETRIEVAL, setting

Provider = Literal["local", "nvidia", "bedrock"]
Tenancy = Literal["shared", "per-key"]


def ragloop_home() -> str:
    """Where ragloop keeps its index and threads: $RAGLOOP_HOME, default ~/.ragloop."""
    return os.environ.get("RAGLOOP_HOME", "~/.ragloop")


def _default_index() -> str:
    return os.environ.get("RAGLOOP_INDEX", ragloop_home() + "/index")


@dataclass(kw_only=True)
class RetrievalSettings:
    index_path: str = setting(
        _default_index,
        "Where the index lives: a folder (ragloop's embedded index; default $RAGLOOP_INDEX, else "
        "$RAGLOOP_HOME/index), lancedb:///path (a LanceDB table), milvus:///path/file.db (Milvus Lite in this "
        "process) or http(s)://host:19530 (a Milvus server; token from $MILVUS_TOKEN).",
        kind="deployment",
        invalidates=RETRIEVAL,
    )
    milvus_collection: str = setting(
        "ragloop",
        "The Milvus collection ragloop reads and writes, when index_path names a Milvus.",
        kind="deployment",
        invalidates=RETRIEVAL,
    )
    ann_threshold: int = setting(
        50_000,
        "Local and LanceDB indexes: a segment (table) of this many chunks or more searches dense vectors "
        "approximately (HNSW over 8-bit codes, re-scored exactly); smaller ones compare every vector.",
        kind="deployment",
        ge=1_000,
        le=100_000_000,
    )
    ann_probes: int = setting(
        512,
        "Approximate dense search: HNSW ef, the candidates a query explores, in every backend (more: closer "
        "to exact, slower; 512 keeps recall@45 above 0.95 at a million chunks of real text).",
        ge=1,
        le=4096,
        invalidates=RETRIEVAL,
    )
    tenancy: Tenancy = setting(
        "shared",
        "On a server many API keys share: shared (one collection every key reads; only operator keys "
        "change it) or per-key (each key indexes into, and is answered from, its own documents only).",
        kind="deployment",
        invalidates=RETRIEVAL,
    )
    embedding_provider: Provider = setting(
        "local",
        "Embedder for dense retrieval: local (all-MiniLM-L6-v2 int8 ONNX), nvidia or bedrock. The index "
        "must be built with the same one.",
        kind="deployment",
        invalidates=RETRIEVAL,
    )
    nvidia_embedding_model: str = setting(
        "nvidia/nv-embedqa-e5-v5", "NVIDIA NeMo Retriever embedding model.", kind="deployment", invalidates=RETRIEVAL
    )
    bedrock_embedding_model: str = setting(
        "amazon.titan-embed-text-v2:0", "Bedrock embedding model id.", kind="deployment", invalidates=RETRIEVAL
    )
    k: int = setting(
        45, "Candidates returned by hybrid retrieval (BM25 + dense, fused).", ge=1, le=1000, invalidates=RETRIEVAL
    )
    bm25_weight: float = setting(
        0.6, "Weight of the BM25 ranking in reciprocal-rank fusion.", ge=0.0, le=1.0, invalidates=RETRIEVAL
    )
    dense_weight: float = setting(
        0.4, "Weight of the dense ranking in reciprocal-rank fusion.", ge=0.0, le=1.0, invalidates=RETRIEVAL
    )
    rrf_c: int = setting(
        60,
        "Reciprocal-rank-fusion constant c in weight / (c + rank), rank from 1.",
        ge=0,
        le=10_000,
        invalidates=RETRIEVAL,
    )
    chunk_size: int = setting(400, "Index time: chunk length in embedder tokens.", kind="deployment", ge=1, le=100_000)
    chunk_overlap: int = setting(
        50,
        "Index time: overlap between neighbouring chunks, in tokens (less than chunk_size).",
        kind="deployment",
        ge=0,
        le=100_000,
    )
    embed_batch_size: int = setting(
        16,
        "Index time: texts per embedding request (texts of similar length together; progress is reported "
        "after each); the local embedder spreads each request over local_threads workers, one text at a time.",
        kind="deployment",
        ge=1,
        le=4096,
        invalidates=NO_CACHE,
    )

    def fusion(self) -> dict[str, Any]:
        """The reciprocal-rank fusion settings, as `HybridIndex.search` and `fuse` take them."""
        return {"bm25_weight": self.bm25_weight, "dense_weight": self.dense_weight, "rrf_c": self.rrf_c}
