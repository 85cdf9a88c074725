"""A LangChain Embeddings over fastembed's ONNX runtime, loading a local model folder only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings


class FastEmbedEmbeddings(Embeddings):
    """Mean-pooled, normalised sentence embeddings from an ONNX folder (no hub access)."""

    def __init__(self, model, batch_size: int = 64, tokenizer_file: Path | None = None):
        self._model = model
        self.batch_size = batch_size
        self._tokenizer_file = tokenizer_file
        self._tokenizer: Any = None  # tokenizers.Tokenizer, loaded on first count

    @classmethod
    def from_folder(cls, name: str, folder: Path, *, dim: int, batch_size: int = 64) -> FastEmbedEmbeddings:
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
        model = TextEmbedding(model_id, specific_model_path=str(folder), lazy_load=False)
        return cls(model, batch_size, folder / "tokenizer.json")

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
        return np.asarray(list(self._model.embed(texts, batch_size=self.batch_size))).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
