"""Amazon Bedrock through langchain-aws: Converse chat, Titan embeddings, Cohere/Amazon rerank."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.runnables import RunnableLambda

from ragloop.errors import ConfigError
from ragloop.providers.optional import require
from ragloop.providers.rerankers import CompressorReranker
from ragloop.providers.resilience import rate_limiter

if TYPE_CHECKING:
    from ragloop.settings import Context


def _package():
    return require("langchain_aws", "bedrock")


def _client_settings(ctx: Context) -> dict:
    """Region, profile, endpoint and a botocore Config: the call's timeouts, and no botocore retries (the
    graph's RetryPolicy retries whole nodes with backoff, so retrying here too would multiply attempts)."""
    from botocore.config import Config

    settings = {
        "region_name": ctx.aws_region,
        "config": Config(
            connect_timeout=min(10.0, ctx.request_timeout),
            read_timeout=ctx.request_timeout,
            retries={"total_max_attempts": 1, "mode": "standard"},
        ),
    }
    if ctx.aws_profile:
        settings["credentials_profile_name"] = ctx.aws_profile
    if ctx.bedrock_endpoint_url:
        settings["endpoint_url"] = ctx.bedrock_endpoint_url
    return settings


#: Model families whose Converse API takes cache points (Bedrock prompt caching).
CACHING_MODELS = ("claude-3-5-haiku", "claude-3-7-sonnet", "claude-sonnet-4", "claude-opus-4", "amazon.nova-")
#: Where the passages end in a prompt: ragloop's prompts open with "Passages:\n" and numbered passages
#: separated by blank lines (each passage on one line); the first blank line not followed by "[n]" ends them.
_PASSAGES_END = re.compile(r"\n\n(?!\[\d+\])")


def cache_passages(messages: list[BaseMessage]) -> list[BaseMessage]:
    """Put a Bedrock cache point after the passage block of each prompt that has one.

    Every role reads the same passages first, so grading, sampling, verifying and
    refining read them from the cache after the first call writes it.
    """
    from langchain_aws import ChatBedrockConverse

    shaped = []
    for message in messages:
        text = message.content if isinstance(message, HumanMessage) and isinstance(message.content, str) else ""
        end = _PASSAGES_END.search(text) if text.startswith("Passages:\n") else None
        if end:
            message = HumanMessage(
                content=[
                    {"type": "text", "text": text[: end.start()]},
                    ChatBedrockConverse.create_cache_point(),
                    {"type": "text", "text": text[end.end() :]},
                ]
            )
        shaped.append(message)
    return shaped


class BedrockProvider:
    name = "bedrock"

    def chat_model(self, ctx: Context, *, role: str, temperature: float, max_tokens: int, seed: int, model: str):
        # Converse takes no seed.
        model = model or ctx.bedrock_chat_model
        chat = _package().ChatBedrockConverse(
            model=model,
            temperature=temperature,
            max_tokens=max_tokens,
            rate_limiter=rate_limiter(self.name, ctx.requests_per_second),
            **_client_settings(ctx),
        )
        if ctx.bedrock_prompt_caching and any(family in model for family in CACHING_MODELS):
            return RunnableLambda(cache_passages, name="bedrock_cache_points") | chat
        return chat

    def embeddings(self, ctx: Context):
        model = ctx.bedrock_embedding_model
        return f"bedrock:{model}", _package().BedrockEmbeddings(model_id=model, **_client_settings(ctx))

    def reranker(self, ctx: Context):
        if not ctx.bedrock_rerank_model_arn:
            raise ConfigError(
                "rerank_provider=bedrock needs bedrock_rerank_model_arn (a Cohere or Amazon rerank model ARN)."
            )
        aws = _package()
        from langchain_aws.utils import create_aws_client

        # BedrockRerank accepts its endpoint only as `base_url` and then ignores it when it builds its own
        # client (langchain-aws 1.9), so the bedrock-agent-runtime client is built here.
        client = create_aws_client("bedrock-agent-runtime", **_client_settings(ctx))
        return CompressorReranker(
            f"bedrock:{ctx.bedrock_rerank_model_arn.rsplit('/', 1)[-1]}",
            lambda top_n: aws.BedrockRerank(
                model_arn=ctx.bedrock_rerank_model_arn, top_n=top_n, client=client, region_name=ctx.aws_region
            ),
        )
