"""Amazon Bedrock through langchain-aws: Converse chat, Titan embeddings, Cohere/Amazon rerank."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ragloop.errors import ConfigError
from ragloop.providers.optional import require
from ragloop.providers.rerankers import CompressorReranker

if TYPE_CHECKING:
    from ragloop.graph.context import Context


def _package():
    return require("langchain_aws", "bedrock")


class BedrockProvider:
    name = "bedrock"

    def chat_model(self, ctx: Context, *, role: str, temperature: float, max_tokens: int, seed: int, model: str):
        # Converse takes no seed.
        return _package().ChatBedrockConverse(
            model=model or ctx.bedrock_chat_model, region_name=ctx.aws_region, temperature=temperature,
            max_tokens=max_tokens,
        )

    def embeddings(self, ctx: Context):
        model = "amazon.titan-embed-text-v2:0"
        return f"bedrock:{model}", _package().BedrockEmbeddings(model_id=model, region_name=ctx.aws_region)

    def reranker(self, ctx: Context):
        if not ctx.bedrock_rerank_model_arn:
            raise ConfigError("rerank_provider=bedrock needs bedrock_rerank_model_arn (a Cohere or Amazon rerank model ARN).")
        aws = _package()
        return CompressorReranker(
            f"bedrock:{ctx.bedrock_rerank_model_arn.rsplit('/', 1)[-1]}",
            lambda top_n: aws.BedrockRerank(model_arn=ctx.bedrock_rerank_model_arn, top_n=top_n, region_name=ctx.aws_region),
        )
