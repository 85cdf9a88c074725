"""Every tunable of the graph, in one place.

`Context` is the graph's ``context_schema``: LangGraph Studio renders it as a
form, ``ragloop ask --set name=value`` overrides any field, and nodes read it
through :func:`get_context`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from langgraph.runtime import Runtime

from ragloop.errors import ConfigError

PROVIDERS = ("local", "nvidia", "bedrock")
RERANK_PROVIDERS = ("local", "nvidia", "bedrock", "cohere", "none")
LOCAL_RERANKERS = ("hybrid-score", "cross-encoder")
LEVELS = ("easy", "medium", "hard")
ESTIMATORS = ("logprob", "verbal", "retrieval", "fixed")
SELECTIONS = ("vote", "confidence", "verifier", "merge")
#: A hard ceiling on query rewrites, whatever the Context says: the graph's
#: recursion limit is derived from it.
MAX_REWRITES_CEILING = 10
#: The same for refinement rounds.
MAX_REFINE_CEILING = 10


def ragloop_home() -> str:
    """Where ragloop keeps its index and threads: $RAGLOOP_HOME, default ~/.ragloop."""
    return os.environ.get("RAGLOOP_HOME", "~/.ragloop")


@dataclass(kw_only=True)
class Context:
    """Run-time configuration of the ragloop graph."""

    # --- index and retrieval -------------------------------------------------
    index_path: str = field(
        default_factory=lambda: os.environ.get("RAGLOOP_INDEX", ragloop_home() + "/index"),
        metadata={"description": "Folder of the index written by `ragloop index`."},
    )
    k: int = field(
        default=45,
        metadata={"description": "Candidates returned by hybrid retrieval (BM25 + dense, fused)."},
    )
    bm25_weight: float = field(
        default=0.6,
        metadata={"description": "Weight of the BM25 ranking in reciprocal-rank fusion."},
    )
    dense_weight: float = field(
        default=0.4,
        metadata={"description": "Weight of the dense (FAISS) ranking in reciprocal-rank fusion."},
    )
    rrf_c: int = field(
        default=60,
        metadata={"description": "Reciprocal-rank-fusion constant c in weight / (c + rank)."},
    )
    chunk_size: int = field(
        default=400,
        metadata={"description": "Index time: chunk length in embedder tokens."},
    )
    chunk_overlap: int = field(
        default=50,
        metadata={"description": "Index time: overlap between neighbouring chunks, in tokens."},
    )
    embed_batch_size: int = field(
        default=16,
        metadata={"description": "Index time: texts embedded per batch."},
    )

    # --- rerank ----------------------------------------------------------------
    rerank_provider: str = field(
        default="local",
        metadata={"description": "Reranker: local, nvidia (NeMo Retriever NIM), bedrock (Cohere/Amazon Rerank), cohere (Cohere API) or none (keep the retrieval order)."},
    )
    top_n: int = field(
        default=5,
        metadata={"description": "Documents the reranker keeps (45 -> top_n); budget table, easy: documents given to the model."},
    )
    local_reranker: str = field(
        default="cross-encoder",
        metadata={"description": "Local reranker: cross-encoder (an int8 ONNX model: ragloop's own, trained by "
                                 "`ragloop train-reranker` and shipped in models/, or local_reranker_path) or "
                                 "hybrid-score (BM25 + cosine score fusion, no model)."},
    )
    local_reranker_path: str = field(
        default="",
        metadata={"description": "Folder of an ONNX cross-encoder (model.onnx + tokenizer files, e.g. the output of "
                                 "`ragloop train-reranker`); empty for the one shipped with ragloop."},
    )
    cross_encoder_candidates: int = field(
        default=10,
        metadata={"description": "Cross-encoder: score only the best N candidates by the hybrid-score reranker "
                                 "(the rest keep that order below them); 0 scores every candidate."},
    )
    cross_encoder_weight: float = field(
        default=0.6,
        metadata={"description": "Cross-encoder: a scored candidate's score is this weight x the model's probability "
                                 "+ (1 - weight) x its hybrid score (0-1 over the candidates); 1 = the model alone."},
    )
    hybrid_score_bm25_weight: float = field(
        default=0.7,
        metadata={"description": "hybrid-score reranker: weight of the normalised BM25 score (the rest goes to cosine)."},
    )
    nvidia_rerank_model: str = field(
        default="nvidia/llama-3.2-nv-rerankqa-1b-v2",
        metadata={"description": "NVIDIA NeMo Retriever reranking model."},
    )
    nvidia_base_url: str = field(
        default="",
        metadata={"description": "Base URL of a self-hosted NIM; empty for NVIDIA's hosted API (NVIDIA_API_KEY)."},
    )
    bedrock_rerank_model_arn: str = field(
        default="",
        metadata={"description": "Bedrock rerank model ARN, e.g. arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0."},
    )
    cohere_rerank_model: str = field(
        default="rerank-v3.5", metadata={"description": "Cohere Rerank model (rerank_provider=cohere; COHERE_API_KEY)."}
    )
    cohere_base_url: str = field(
        default="", metadata={"description": "Cohere API base URL; '' for api.cohere.com."}
    )
    aws_region: str = field(
        default_factory=lambda: os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-west-2")),
        metadata={"description": "AWS region for Bedrock (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-west-2)."},
    )
    aws_profile: str = field(
        default_factory=lambda: os.environ.get("AWS_PROFILE", ""),
        metadata={"description": "AWS named profile for Bedrock credentials; '' for the default credential chain."},
    )
    bedrock_endpoint_url: str = field(
        default="",
        metadata={"description": "Endpoint URL for Bedrock runtime and agent-runtime calls (a VPC endpoint); "
                                 "'' for the region's public one."},
    )
    bedrock_prompt_caching: bool = field(
        default=True,
        metadata={"description": "Mark the passage block of every prompt as a Bedrock cache point (models that "
                                 "support prompt caching: Claude 3.5 Haiku and later, Nova)."},
    )
    bedrock_embedding_model: str = field(
        default="amazon.titan-embed-text-v2:0", metadata={"description": "Bedrock embedding model id."}
    )
    nvidia_embedding_model: str = field(
        default="nvidia/nv-embedqa-e5-v5", metadata={"description": "NVIDIA NeMo Retriever embedding model."}
    )

    # --- models ------------------------------------------------------------------
    chat_provider: str = field(
        default="local",
        metadata={"description": "Chat model provider: local (embedded llama.cpp), nvidia or bedrock."},
    )
    embedding_provider: str = field(
        default="local",
        metadata={"description": "Embedder for dense retrieval: local (all-MiniLM-L6-v2 int8 ONNX), nvidia or bedrock. The index must be built with the same one."},
    )
    fallback_chat_provider: str = field(
        default="",
        metadata={"description": "Chat provider to answer when the chat provider fails (e.g. local behind bedrock); "
                                 "'' for none. Fallback answers are counted in usage and compute.fallbacks."},
    )
    request_timeout: float = field(
        default=120.0,
        metadata={"description": "Seconds one model, embedding or rerank call may take before it fails (and is "
                                 "retried with backoff, or falls back)."},
    )
    requests_per_second: float = field(
        default=0.0,
        metadata={"description": "Client-side rate limit on chat calls per provider, shared by every run in the "
                                 "process (0 = none)."},
    )
    local_chat_model: str = field(
        default="qwen2.5-coder-1.5b",
        metadata={"description": "Local GGUF model: qwen2.5-coder-1.5b, smollm2-135m, or a path to a .gguf file."},
    )
    local_n_ctx: int = field(
        default=8192,
        metadata={"description": "Context window of the local model, in tokens."},
    )
    local_prompt_cache_mib: int = field(
        default=128,
        metadata={"description": "RAM for the local model's cache of earlier prompts (llama.cpp cache_ram), in MiB."},
    )
    local_threads: int = field(
        default=0,
        metadata={"description": "CPU threads for the local model; 0 uses every core."},
    )
    nvidia_chat_model: str = field(
        default="meta/llama-3.1-8b-instruct",
        metadata={"description": "NVIDIA NIM chat model id."},
    )
    bedrock_chat_model: str = field(
        default="us.anthropic.claude-3-5-haiku-20241022-v1:0",
        metadata={"description": "Bedrock model id or inference profile for chat."},
    )
    difficulty_max_tokens: int = field(
        default=24, metadata={"description": "Output token cap of the difficulty draft answer."}
    )
    grade_max_tokens: int = field(
        default=8, metadata={"description": "Output token cap of the grader, per graded document."}
    )
    rewrite_max_tokens: int = field(
        default=48, metadata={"description": "Output token cap of the query rewriter."}
    )
    generate_max_tokens: int = field(
        default=160, metadata={"description": "Output token cap of each sampled answer."}
    )
    refine_max_tokens: int = field(
        default=160, metadata={"description": "Output token cap of each refinement round."}
    )
    temperature: float = field(
        default=0.0,
        metadata={"description": "Temperature of single-sample answers, grading, rewriting and refining."},
    )
    sample_temperature: float = field(
        default=0.7,
        metadata={"description": "Temperature when several answers are sampled (best-of-N)."},
    )
    seed: int = field(default=0, metadata={"description": "Sampling seed for models that take one."})
    price_table: str = field(
        default="",
        metadata={"description": "JSON file of USD per 1M tokens per model id (input, output, cache_read, "
                                 "cache_write) that updates the shipped table (providers/prices.json)."},
    )
    input_price_per_mtok: float = field(
        default=0.0,
        metadata={"description": "USD per 1M input tokens for a model the price table does not list (0: local)."},
    )
    output_price_per_mtok: float = field(
        default=0.0,
        metadata={"description": "USD per 1M output tokens for a model the price table does not list."},
    )

    # --- difficulty and budget ---------------------------------------------------
    difficulty_estimator: str = field(
        default="logprob",
        metadata={"description": "How difficulty is estimated: logprob (token probabilities of a short draft "
                                 "answer), verbal (the model states its confidence; for models without logprobs), "
                                 "retrieval (reranker scores, no model call) or fixed (always medium: benchmarks)."},
    )
    difficulty_passages: int = field(
        default=2,
        metadata={"description": "Top reranked passages the difficulty draft answer reads (they open the grader's prompt too, so its prefix is cached)."},
    )
    easy_below: float = field(
        default=0.25,
        metadata={"description": "difficulty = 1 - confidence below this is easy."},
    )
    hard_above: float = field(
        default=0.6,
        metadata={"description": "difficulty above this is hard; between the two, medium."},
    )
    hard_retrieval_below: float = field(
        default=0.0,
        metadata={"description": "A question the draft left medium is hard when the reranker-score confidence "
                                 "(retrieval_confidence) is below this too: retrieval may have missed, so it gets the "
                                 "hard row's documents (0 = off). The scale depends on the reranker: measure it with "
                                 "`ragloop bench answers` before relying on a value."},
    )
    retrieval_top_weight: float = field(
        default=-0.86,
        metadata={"description": "retrieval estimator: confidence = sigmoid(top_weight * s1 + margin_weight * (s1 - s5) + bias) "
                                 "over the reranker's first and fifth scores, read as the chance of a right answer. "
                                 "The defaults are fitted to the local stack's answers (top-5 x N=1, 140 SQuADShifts "
                                 "questions); `ragloop bench answers` prints the fit for your model and data."},
    )
    retrieval_margin_weight: float = field(
        default=2.26, metadata={"description": "retrieval estimator: weight of the first-to-fifth score margin."}
    )
    retrieval_bias: float = field(default=-0.67, metadata={"description": "retrieval estimator: bias inside the sigmoid."})
    easy_from_draft: bool = field(
        default=True,
        metadata={"description": "Budget table, easy: answer with the difficulty draft (logprob or verbal "
                                 "estimator), skipping grading and generation; it cites the passages it read that hold the answer."},
    )
    easy_samples: int = field(default=1, metadata={"description": "Budget table, easy: answers sampled (best-of-N)."})
    easy_refine_rounds: int = field(default=0, metadata={"description": "Budget table, easy: refinement rounds."})
    easy_partitions: int = field(
        default=1, metadata={"description": "Budget table, easy: disjoint document slices the samples answer from (1 = all see every document)."}
    )
    easy_chat_model: str = field(
        default="", metadata={"description": "Budget table, easy: chat model for answers ('' = the provider's chat model)."}
    )
    medium_docs: int = field(default=2, metadata={"description": "Budget table, medium: documents given to the model."})
    medium_samples: int = field(default=1, metadata={"description": "Budget table, medium: answers sampled."})
    medium_refine_rounds: int = field(default=0, metadata={"description": "Budget table, medium: refinement rounds."})
    medium_partitions: int = field(default=1, metadata={"description": "Budget table, medium: document slices."})
    medium_chat_model: str = field(default="", metadata={"description": "Budget table, medium: chat model for answers."})
    hard_docs: int = field(default=2, metadata={"description": "Budget table, hard: documents given to the model."})
    hard_samples: int = field(default=1, metadata={"description": "Budget table, hard: answers sampled."})
    hard_refine_rounds: int = field(default=0, metadata={"description": "Budget table, hard: refinement rounds."})
    hard_partitions: int = field(default=1, metadata={"description": "Budget table, hard: document slices (context-partition ensemble)."})
    hard_chat_model: str = field(default="", metadata={"description": "Budget table, hard: chat model for answers."})
    selection: str = field(
        default="vote",
        metadata={"description": "How one answer is picked from several: vote (majority of normalised answers), "
                                 "confidence (highest token probability), verifier (the model checks each against "
                                 "the passages) or merge (the model writes one answer from all of them)."},
    )
    citation_min_share: float = field(
        default=0.5,
        metadata={"description": "An answer without [n] markers cites the passages it read that hold at least this "
                                 "share of its words (SQuAD-normalised); all of them when none does."},
    )
    max_docs: int = field(default=20, metadata={"description": "Cap on documents passed to the model."})
    max_samples: int = field(default=8, metadata={"description": "Cap on answers sampled per question."})
    max_refine_rounds: int = field(
        default=3, metadata={"description": f"Cap on refinement rounds (at most {MAX_REFINE_CEILING})."}
    )
    max_tokens_per_query: int = field(
        default=0,
        metadata={"description": "Token budget of one question, input + output over every model call (0 = none). "
                                 "A call that would pass it is skipped: fewer samples, no refinement, no grading; "
                                 "the question is still answered."},
    )

    # --- grading and the rewrite loop -------------------------------------------
    grade_threshold: float = field(
        default=0.2,
        metadata={"description": "A document is relevant when p(yes) from the grader is at least this. The default "
                                 "drops only what the grader is fairly sure is irrelevant: the local 1.5B grader "
                                 "barely tells relevant from irrelevant, and at 0.5 dropped a third to two fifths "
                                 "of the passages holding the answer."},
    )
    answer_when_nothing_relevant: bool = field(
        default=True,
        metadata={"description": "When grading keeps nothing even after the rewrites, answer from the reranker's "
                                 "top documents (a warning says so; the model can still reply 'not found') "
                                 "instead of replying 'not found' outright."},
    )
    min_relevant: int = field(
        default=1,
        metadata={"description": "Fewer relevant documents than this triggers a query rewrite."},
    )
    max_rewrites: int = field(
        default=2,
        metadata={"description": f"Cap on query rewrites (at most {MAX_REWRITES_CEILING})."},
    )

    # --- threads ---------------------------------------------------------------------
    history_turns: int = field(
        default=4,
        metadata={"description": "In a thread (a checkpointer with a thread id), how many earlier turns the "
                                 "condense step reads to make a follow-up standalone (0 = never condense)."},
    )
    condense_max_tokens: int = field(
        default=64, metadata={"description": "Output token cap of the condensed follow-up question."}
    )

    # --- caching -------------------------------------------------------------------
    cache_ttl_seconds: int = field(
        default=3600,
        metadata={"description": "How long a cached retrieve or rerank result serves a repeated query with the "
                                 "same settings and index (0 = no cache hits; at most a day). Needs a graph "
                                 "compiled with a cache (RAGLOOP_CACHE_URL: memory, sqlite:////abs/path or redis://…)."},
    )
    answer_cache_ttl_seconds: int = field(
        default=3600,
        metadata={"description": "How long a finished answer serves the same question asked again with the same "
                                 "settings and index, with no model call (0 = off; at most a day). Follow-ups in "
                                 "a thread and answers a fallback provider gave are never cached."},
    )

    # --- input ---------------------------------------------------------------------
    max_question_chars: int = field(
        default=2000, metadata={"description": "Longest question accepted, in characters."}
    )

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ConfigError with one clear sentence for an unusable setting."""
        for name, allowed in (
            ("chat_provider", PROVIDERS),
            ("rerank_provider", RERANK_PROVIDERS),
            ("embedding_provider", PROVIDERS),
            ("local_reranker", LOCAL_RERANKERS),
            ("difficulty_estimator", ESTIMATORS),
            ("selection", SELECTIONS),
            ("fallback_chat_provider", ("", *PROVIDERS)),
        ):
            value = getattr(self, name)
            if value not in allowed:
                raise ConfigError(
                    f"Unknown {name} {value!r}: choose one of {', '.join(allowed)}."
                )
        positive = ("k", "top_n", "chunk_size", "embed_batch_size", "max_docs", "max_samples",
                    "difficulty_passages", "max_question_chars", "local_n_ctx",
                    "medium_docs", "hard_docs",
                    *(f"{level}_{part}" for level in LEVELS for part in ("samples", "partitions")))
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if not 0 <= self.chunk_overlap < self.chunk_size:
            raise ConfigError("chunk_overlap must be at least 0 and smaller than chunk_size.")
        if self.max_refine_rounds > MAX_REFINE_CEILING:
            raise ConfigError(f"max_refine_rounds must be at most {MAX_REFINE_CEILING}.")
        if not 0 <= self.max_rewrites <= MAX_REWRITES_CEILING:
            raise ConfigError(f"max_rewrites must be between 0 and {MAX_REWRITES_CEILING}.")
        if not 0.0 <= self.easy_below <= self.hard_above <= 1.0:
            raise ConfigError("Thresholds must satisfy 0 <= easy_below <= hard_above <= 1.")
        for name in ("grade_threshold", "hard_retrieval_below", "citation_min_share", "cross_encoder_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name} must be between 0 and 1.")
        for name in ("max_tokens_per_query", "max_refine_rounds", *(f"{level}_refine_rounds" for level in LEVELS)):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be 0 or more, got {getattr(self, name)}.")
        for name in ("cache_ttl_seconds", "answer_cache_ttl_seconds"):
            if not 0 <= getattr(self, name) <= 86_400:
                raise ConfigError(f"{name} must be between 0 (off) and 86400 (a day).")
        if self.request_timeout <= 0 or self.requests_per_second < 0:
            raise ConfigError("request_timeout must be positive and requests_per_second 0 (none) or more.")
        if self.cross_encoder_candidates < 0:
            raise ConfigError("cross_encoder_candidates must be 0 (all) or more.")
        if self.bm25_weight < 0 or self.dense_weight < 0 or self.bm25_weight + self.dense_weight == 0:
            raise ConfigError("bm25_weight and dense_weight must be non-negative and not both 0.")

    # --- helpers ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fusion(self) -> dict[str, Any]:
        """The reciprocal-rank fusion settings, as `HybridIndex.search` and `fuse` take them."""
        return {"bm25_weight": self.bm25_weight, "dense_weight": self.dense_weight, "rrf_c": self.rrf_c}

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None = None) -> Context:
        """Build a Context from a mapping, naming any unknown key clearly.

        Values may be strings (from a command line or a config file); each is
        converted to the type of the setting's default.
        """
        defaults = cls()
        typed = {}
        for name, value in (overrides or {}).items():
            name = str(name).strip().replace("-", "_")
            if not hasattr(defaults, name):
                raise ConfigError(f"Unknown setting {name!r}: `ragloop settings` lists them.")
            typed[name] = _coerce(name, value, getattr(defaults, name))
        return cls(**typed)


def _coerce(name: str, value: Any, default: Any) -> Any:
    """value as the type of default; ConfigError naming the setting when it does not fit."""
    kind = type(default)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raw = str(value).strip()
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return raw.lower() in ("true", "1", "yes")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError:
        raise ConfigError(f"Setting {name} takes a {kind.__name__}, got {value!r}.") from None
    return raw


def get_context(runtime: Runtime[Context] | None) -> Context:
    """The run's Context; defaults when invoked without ``context=``."""
    ctx = getattr(runtime, "context", None)
    if ctx is None:
        return Context()
    if isinstance(ctx, dict):
        return Context.from_overrides(ctx)
    return ctx
