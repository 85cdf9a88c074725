"""A LangChain Embeddings over fastembed's ONNX runtime, loading a local model folder only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings


class FastEmbedEmbeddings(Embeddings):
    """Mean-pooled, normalised sentence embeddings from an ONNX folder (no hub access).

    Texts are embedded one per ONNX call (no padding) by `workers` threads sharing one single-threaded
    session: onnxruntime releases the GIL while it runs, so the threads use the cores in parallel. On this
    project's 2-core machine that ran 300 SQuAD chunks at 38-41 chunks/s, against 24-26 for batches of four
    through one two-threaded session, with the same vectors bit for bit (docs/measurements/scale.md).
    """

    def __init__(self, model, workers: int = 1, tokenizer_file: Path | None = None):
        self._model = model
        self.workers = max(1, workers)
        self._tokenizer_file = tokenizer_file
        self._tokenizer: Any = None  # tokenizers.Tokenizer, loaded on first count
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_folder(cls, name: str, folder: Path, *, dim: int, workers: int = 1) -> FastEmbedEmbeddings:
        from fastembed import TextEmbedding
        from fastembed.common.model_description import ModelSource, PoolingType

        model_id = f"ragloop/{name}"
        if model_id not in {m["model"] for m in TextEmbedding.list_supported_models()}:
            TextEmbedding.add_custom_model(
                model=model_id,
                pooling=PoolingType.MEAN,
                normalization=True,
                # Never fetched: specific_model_path below points at the local folder.
                sources=ModelSource(hf=f"local/{name}"),
                dim=dim,
                model_file="model.onnx",
            )
        model = TextEmbedding(model_id, specific_model_path=str(folder), lazy_load=False, threads=1)
        return cls(model, workers, folder / "tokenizer.json")

    def count_tokens(self, text: str) -> int:
        """The text's length in this model's word pieces (no special tokens, no truncation): what chunk_size
        counts when the index is built with this embedder."""
        if self._tokenizer is None:
            from tokenizers import Tokenizer

            if self._tokenizer_file is None:
                raise ValueError("this embedder was not loaded from a folder with its tokenizer")
            tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
            tokenizer.no_truncation()
            tokenizer.no_padding()
            self._tokenizer = tokenizer
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if self.workers == 1 or len(texts) == 1:
            vectors = [self._embed_one(text) for text in texts]
        else:
            vectors = list(self._pool().map(self._embed_one, texts))
        return np.asarray(vectors).tolist()

    def _embed_one(self, text: str) -> np.ndarray:
        return next(iter(self._model.embed([text], batch_size=1)))

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="ragloop-embed")
            return self._executor

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
