"""Model settings: which provider answers, the local model's size and threads, output caps and sampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ragloop.settings.metadata import NO_CACHE, setting

ChatProvider = Literal["local", "nvidia", "bedrock"]
FallbackProvider = Literal["", "local", "nvidia", "bedrock"]


@dataclass(kw_only=True)
class ModelSettings:
    chat_provider: ChatProvider = setting(
        "local", "Chat model provider: local (embedded llama.cpp), nvidia or bedrock.", kind="deployment"
    )
    fallback_chat_provider: FallbackProvider = setting(
        "",
        "Chat provider to answer when the chat provider fails (e.g. local behind bedrock); '' for none. "
        "Fallback answers are counted in usage and compute.fallbacks.",
        kind="deployment",
    )
    local_chat_model: str = setting(
        "qwen2.5-coder-1.5b",
        "Local GGUF model: qwen2.5-coder-1.5b, smollm2-135m, or a path to a .gguf file.",
        kind="deployment",
    )
    local_n_ctx: int = setting(
        8192, "Context window of the local model, in tokens.", kind="deployment", ge=512, le=131_072
    )
    local_prompt_cache_mib: int = setting(
        128,
        "RAM for the local model's cache of earlier prompts (llama.cpp cache_ram), in MiB.",
        kind="deployment",
        ge=0,
        le=65_536,
        invalidates=NO_CACHE,
    )
    local_threads: int = setting(
        0,
        "CPU threads for the local chat model and embedder; 0 uses every core.",
        kind="deployment",
        ge=0,
        le=1024,
        invalidates=NO_CACHE,
    )
    nvidia_chat_model: str = setting("meta/llama-3.1-8b-instruct", "NVIDIA NIM chat model id.", kind="deployment")
    bedrock_chat_model: str = setting(
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "Bedrock model id or inference profile for chat.",
        kind="deployment",
    )
    difficulty_max_tokens: int = setting(24, "Output token cap of the difficulty draft answer.", ge=1, le=4096)
    grade_max_tokens: int = setting(8, "Output token cap of the grader, per graded document.", ge=1, le=256)
    rewrite_max_tokens: int = setting(48, "Output token cap of the query rewriter.", ge=1, le=1024)
    generate_max_tokens: int = setting(160, "Output token cap of each sampled answer.", ge=1, le=8192)
    refine_max_tokens: int = setting(160, "Output token cap of each refinement round.", ge=1, le=8192)
    condense_max_tokens: int = setting(64, "Output token cap of the condensed follow-up question.", ge=1, le=1024)
    temperature: float = setting(
        0.0, "Temperature of single-sample answers, grading, rewriting and refining.", ge=0.0, le=2.0
    )
    sample_temperature: float = setting(
        0.7, "Temperature when several answers are sampled (best-of-N).", ge=0.0, le=2.0
    )
    seed: int = setting(0, "Sampling seed for models that take one.", ge=0, le=2**31 - 1)
