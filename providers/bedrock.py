"""Amazon Bedrock through langchain-aws: Converse chat, Titan embeddings, Cohere/Amazon rerank."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragloop.errors import ConfigError
from ragloop.providers.optional import require
from ragloop.providers.rerankers import CompressorReranker
from ragloop.providers.resilience import rate_limiter

if TYPE_CHECKING:
    from ragloop.graph.context import Context


def _package():
    return require("langchain_aws", "bedrock")


def _client_settings(ctx: Context) -> dict:
    """Region, profile, endpoint and a botocore Config: the call's timeouts, and no botocore retries (the
    graph's RetryPolicy retries whole nodes with backoff, so retrying here too would multiply attempts)."""
    from botocore.config import Config

    settings = {"region_name": ctx.aws_region,
                "config": Config(connect_timeout=min(10.0, ctx.request_timeout), read_timeout=ctx.request_timeout,
                                 retries={"total_max_attempts": 1, "mode": "standard"})}
    if ctx.aws_profile:
        settings["credentials_profile_name"] = ctx.aws_profile
    if ctx.bedrock_endpoint_url:
        settings["endpoint_url"] = ctx.bedrock_endpoint_url
    return settings


class BedrockProvider:
    name = "bedrock"

    def chat_model(self, ctx: Context, *, role: str, temperature: float, max_tokens: int, seed: int, model: str):
        # Converse takes no seed.
        limiter = rate_limiter(self.name, ctx.requests_per_second) if ctx.requests_per_second else None
        return _package().ChatBedrockConverse(
            model=model or ctx.bedrock_chat_model, temperature=temperature, max_tokens=max_tokens,
            rate_limiter=limiter, **_client_settings(ctx),
        )

    def embeddings(self, ctx: Context):
        model = ctx.bedrock_embedding_model
        return f"bedrock:{model}", _package().BedrockEmbeddings(model_id=model, **_client_settings(ctx))

    def reranker(self, ctx: Context):
        if not ctx.bedrock_rerank_model_arn:
            raise ConfigError("rerank_provider=bedrock needs bedrock_rerank_model_arn (a Cohere or Amazon rerank model ARN).")
        aws = _package()
        return CompressorReranker(
            f"bedrock:{ctx.bedrock_rerank_model_arn.rsplit('/', 1)[-1]}",
            lambda top_n: aws.BedrockRerank(model_arn=ctx.bedrock_rerank_model_arn, top_n=top_n,
                                            **_client_settings(ctx)),
        )
