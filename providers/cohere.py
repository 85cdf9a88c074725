"""Cohere's Rerank API directly (langchain-cohere), for users without Bedrock: reranking only.

The API key comes from COHERE_API_KEY; `cohere_base_url` points at a private
deployment (or a test server).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ragloop.errors import ConfigError
from ragloop.providers.optional import require
from ragloop.providers.rerankers import CompressorReranker

if TYPE_CHECKING:
    from ragloop.settings import Context


class CohereProvider:
    name = "cohere"

    def chat_model(self, ctx: Context, **_):
        raise ConfigError("The cohere provider only reranks: set chat_provider to local, nvidia or bedrock.")

    def embeddings(self, ctx: Context):
        raise ConfigError("The cohere provider only reranks: set embedding_provider to local, nvidia or bedrock.")

    def reranker(self, ctx: Context):
        lc = require("langchain_cohere", "cohere")
        import cohere

        key = os.environ.get("COHERE_API_KEY")
        if not key:
            raise ConfigError("rerank_provider=cohere needs the COHERE_API_KEY environment variable.")
        client = cohere.ClientV2(api_key=key, base_url=ctx.cohere_base_url or None, timeout=ctx.request_timeout)
        return CompressorReranker(
            f"cohere:{ctx.cohere_rerank_model}",
            lambda top_n: lc.CohereRerank(
                client=client, model=ctx.cohere_rerank_model, top_n=top_n, cohere_api_key=key
            ),
        )
