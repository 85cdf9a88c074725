"""The reranker interface and its implementations.

A reranker takes the query and the retrieved candidates and returns the best
``top_n`` of them, best first, each with ``rerank_score`` in its metadata. The
local rerankers' scores lie in [0, 1], so the ``retrieval`` difficulty estimator's
weights and the merge of documents found by several queries read them on one scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document

from ragloop.errors import ConfigError
from ragloop.providers.calls import either, off_loop


class Reranker(Protocol):
    name: str

    def rerank(self, query: str, documents: Sequence[Document], top_n: int) -> list[Document]: ...


def _ranked(documents: Sequence[Document], scores: Sequence[float] | np.ndarray, top_n: int) -> list[Document]:
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")[:top_n]
    return [
        Document(
            page_content=documents[i].page_content,
            metadata={**documents[i].metadata, "rerank_score": round(float(scores[i]), 6)},
        )
        for i in order
    ]


def _minmax(values: np.ndarray) -> np.ndarray:
    span = float(values.max() - values.min()) if len(values) else 0.0
    return (values - values.min()) / span if span > 0 else np.zeros_like(values)


class RetrievalOrder:
    """No reranking: keeps the retrieval order (the fused score), for baselines and tight budgets."""

    name = "none"

    def rerank(self, query: str, documents: Sequence[Document], top_n: int) -> list[Document]:
        scores = [float(d.metadata.get("retrieval_score", 0.0)) for d in documents]
        return _ranked(documents, scores, top_n)


class HybridScoreReranker:
    """Score-level fusion of BM25 and cosine similarity over the candidate set.

    Reciprocal-rank fusion throws away how far apart candidates are; this
    reranker keeps it: both scores are min-max normalised over the candidates
    and mixed linearly (CombSUM). It needs the ``bm25_score`` and
    ``dense_score`` that :meth:`HybridIndex.search` writes into each candidate.
    """

    name = "local/hybrid-score"

    def __init__(self, bm25_weight: float):
        self.bm25_weight = bm25_weight

    def rerank(self, query: str, documents: Sequence[Document], top_n: int) -> list[Document]:
        if not documents:
            return []
        try:
            bm25 = np.array([d.metadata["bm25_score"] for d in documents], dtype=np.float64)
            dense = np.array([d.metadata["dense_score"] for d in documents], dtype=np.float64)
        except KeyError as exc:
            raise ConfigError(
                "The hybrid-score reranker needs candidates from ragloop's hybrid index "
                f"(metadata {exc.args[0]!r} is missing)."
            ) from exc
        scores = self.bm25_weight * _minmax(bm25) + (1 - self.bm25_weight) * _minmax(dense)
        return _ranked(documents, scores, top_n)


class CrossEncoderReranker:
    """An ONNX cross-encoder folder (model.onnx + tokenizer files) run by fastembed's TextCrossEncoder.

    Like the embedder, one single-threaded ONNX session scores one (query, passage) pair per call, with no
    padding across passages of other lengths, and `workers` threads share it (onnxruntime releases the GIL
    while it runs): two threads inside one small matrix product cost more CPU than they save on two shared
    cores (docs/measurements/scale.md).

    With a ``prefilter`` and ``candidates`` > 0, only the prefilter's best
    ``candidates`` are scored by the model (a cascade); the others follow them in
    the prefilter's order. The model's cost grows with every pair it reads. With a
    prefilter and ``weight`` < 1, a scored candidate's score is ``weight`` × the
    model's probability + (1 − ``weight``) × the prefilter's score (CombSUM: the
    small model and the lexical/dense evidence err on different candidates).
    """

    def __init__(
        self,
        encoder,
        name: str,
        workers: int = 1,
        prefilter: Reranker | None = None,
        candidates: int = 0,
        weight: float = 1.0,
        pool: ThreadPoolExecutor | None = None,
    ):
        self._encoder = encoder
        self.name = name
        self.workers = max(1, workers)
        self.prefilter = prefilter
        self.candidates = candidates
        self.weight = weight
        self._pool = pool or (
            ThreadPoolExecutor(self.workers, thread_name_prefix="ragloop-rerank") if self.workers > 1 else None
        )

    @classmethod
    def from_folder(cls, folder: str, **options) -> CrossEncoderReranker:
        path = Path(folder).expanduser()
        if not folder or not (path / "model.onnx").is_file():
            raise ConfigError(
                f"local_reranker=cross-encoder needs local_reranker_path to name a folder holding model.onnx; got {folder!r}."
            )
        from fastembed.common.model_description import ModelSource
        from fastembed.rerank.cross_encoder import TextCrossEncoder

        model_id = f"ragloop/{path.name}"
        if model_id not in {m["model"] for m in TextCrossEncoder.list_supported_models()}:
            TextCrossEncoder.add_custom_model(
                model=model_id, sources=ModelSource(hf=f"local/{path.name}"), model_file="model.onnx"
            )
        encoder = TextCrossEncoder(model_id, specific_model_path=str(path), threads=1)
        return cls(encoder, name=f"local/cross-encoder:{path.name}", **options)

    def with_cascade(self, prefilter: Reranker, candidates: int, weight: float = 1.0) -> CrossEncoderReranker:
        """The same loaded model and workers, scoring only prefilter's best ``candidates`` (0: all), its
        probability weighted by ``weight`` against the prefilter's score."""
        return CrossEncoderReranker(self._encoder, self.name, self.workers, prefilter, candidates, weight, self._pool)

    def _logit(self, query: str, text: str) -> float:
        return float(next(iter(self._encoder.rerank(query, [text], batch_size=1))))

    def logits(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """The model's score of each (query, text) pair, one pair per ONNX call, on the workers."""
        if self._pool is None or len(texts) == 1:
            return np.asarray([self._logit(query, text) for text in texts], dtype=np.float64)
        return np.fromiter(self._pool.map(lambda text: self._logit(query, text), texts), dtype=np.float64)

    def rerank(self, query: str, documents: Sequence[Document], top_n: int) -> list[Document]:
        if not documents:
            return []
        tail: list[Document] = []
        cut = self.prefilter is not None and 0 < self.candidates < len(documents)
        mix = self.prefilter is not None and self.weight < 1
        if self.prefilter is not None and (cut or mix):  # the prefilter's order, or its scores to mix in
            try:
                documents = self.prefilter.rerank(query, documents, len(documents))
            except ConfigError as exc:
                raise ConfigError(
                    f"{exc} To score other passages with the cross-encoder alone, set "
                    "cross_encoder_candidates=0 and cross_encoder_weight=1."
                ) from exc
            if cut:
                documents, tail = documents[: self.candidates], documents[self.candidates :]
        scores = 1 / (1 + np.exp(-self.logits(query, [d.page_content for d in documents])))
        if mix:
            prior = np.array([d.metadata["rerank_score"] for d in documents], dtype=np.float64)
            scores = self.weight * scores + (1 - self.weight) * prior
        head = _ranked(documents, scores, len(documents))
        # the rest keep the prefilter's order and scores, scaled below the model's lowest
        floor = head[-1].metadata["rerank_score"]
        tail = _ranked(tail, [floor * d.metadata["rerank_score"] for d in tail], len(tail))
        return (head + tail)[:top_n]


class CompressorReranker:
    """Adapts a LangChain document compressor (NVIDIARerank, BedrockRerank, CohereRerank)."""

    def __init__(self, name: str, make: Callable[[int], BaseDocumentCompressor]):
        self.name = name
        self._make = make  # top_n -> BaseDocumentCompressor

    def rerank(self, query: str, documents: Sequence[Document], top_n: int) -> list[Document]:
        if not documents:
            return []
        return self._ranked(self._make(top_n).compress_documents(list(documents), query), top_n)

    async def arerank(self, query: str, documents: Sequence[Document], top_n: int) -> list[Document]:
        """As `rerank`, awaiting the compressor's async call (a cancelled run drops the request)."""
        if not documents:
            return []
        return self._ranked(await self._make(top_n).acompress_documents(list(documents), query), top_n)

    @staticmethod
    def _ranked(compressed: Sequence[Document], top_n: int) -> list[Document]:
        scores = [float(d.metadata.get("relevance_score", 0.0)) for d in compressed]
        return _ranked(list(compressed), scores, top_n)


class RerankerCompressor(BaseDocumentCompressor):
    """Any ragloop reranker as a LangChain document compressor: the `top_n` best documents, best first, each
    with its ``rerank_score``. Build one with :func:`ragloop.compressor` (the Context's reranker)."""

    reranker: Any
    top_n: int = 5

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        return self.reranker.rerank(query, documents, self.top_n)

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        return await rerank_awaited(self.reranker, query, documents, self.top_n)


async def rerank_awaited(reranker: Reranker, query: str, documents: Sequence[Document], top_n: int) -> list[Document]:
    """`reranker.rerank`, waited for as providers/calls.py says: an HTTP reranker's own async call awaited, a
    local one on a worker thread (in place in a sync run)."""
    if hasattr(reranker, "arerank"):
        return await either(reranker.rerank, reranker.arerank, query, documents, top_n)
    return await off_loop(reranker.rerank, query, documents, top_n)
