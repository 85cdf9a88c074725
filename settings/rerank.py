"""Rerank settings: which reranker orders the 45 candidates and how many it keeps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ragloop.settings.metadata import RERANK, setting

RerankProvider = Literal["local", "nvidia", "bedrock", "cohere", "none"]
LocalReranker = Literal["cross-encoder", "hybrid-score"]


@dataclass(kw_only=True)
class RerankSettings:
    rerank_provider: RerankProvider = setting(
        "local",
        "Reranker: local, nvidia (NeMo Retriever NIM), bedrock (Cohere/Amazon Rerank), cohere (Cohere "
        "API) or none (keep the retrieval order).",
        kind="deployment",
        invalidates=RERANK,
    )
    top_n: int = setting(
        5,
        "Documents the reranker keeps (45 -> top_n); the budget table's easy row reads this many.",
        ge=1,
        le=100,
        invalidates=RERANK,
    )
    local_reranker: LocalReranker = setting(
        "cross-encoder",
        "Local reranker: cross-encoder (an int8 ONNX model: ragloop's own, shipped in models/, or "
        "local_reranker_path) or hybrid-score (BM25 + cosine score fusion, no model).",
        invalidates=RERANK,
    )
    local_reranker_path: str = setting(
        "",
        "Folder of an ONNX cross-encoder (model.onnx + tokenizer files, e.g. the output of `ragloop "
        "train-reranker`); empty for the one shipped with ragloop.",
        kind="deployment",
        invalidates=RERANK,
    )
    cross_encoder_candidates: int = setting(
        10,
        "Cross-encoder: score only the best N candidates by the hybrid-score reranker (the rest keep that "
        "order below them); 0 scores every candidate.",
        ge=0,
        le=1000,
        invalidates=RERANK,
    )
    cross_encoder_weight: float = setting(
        0.6,
        "Cross-encoder: a scored candidate's score is this weight x the model's probability + (1 - weight) x "
        "its hybrid score (0-1 over the candidates); 1 = the model alone.",
        ge=0.0,
        le=1.0,
        invalidates=RERANK,
    )
    hybrid_score_bm25_weight: float = setting(
        0.7,
        "hybrid-score reranker: weight of the normalised BM25 score (the rest goes to cosine).",
        ge=0.0,
        le=1.0,
        invalidates=RERANK,
    )
    nvidia_rerank_model: str = setting(
        "nvidia/llama-3.2-nv-rerankqa-1b-v2",
        "NVIDIA NeMo Retriever reranking model.",
        kind="deployment",
        invalidates=RERANK,
    )
    bedrock_rerank_model_arn: str = setting(
        "",
        "Bedrock rerank model ARN, e.g. arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0.",
        kind="deployment",
        invalidates=RERANK,
    )
    cohere_rerank_model: str = setting(
        "rerank-v3.5",
        "Cohere Rerank model (rerank_provider=cohere; COHERE_API_KEY).",
        kind="deployment",
        invalidates=RERANK,
    )
