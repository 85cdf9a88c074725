"""Shared fixtures: a fake provider built on LangChain's fake chat models, and small indexes."""

from __future__ import annotations

import inspect
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings.fake import DeterministicFakeEmbedding
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from ragloop import providers
from ragloop.logic import abstention
from ragloop.providers.rerankers import HybridScoreReranker
from ragloop.retrieval.index import build_index
from ragloop.settings import Context

FACTS = [
    ("Normans", "The Normans gave their name to Normandy, a region in France, in the 10th and 11th centuries."),
    ("Oxygen", "Oxygen is a chemical element with symbol O and atomic number 8."),
    ("Amazon", "The Amazon rainforest covers most of the Amazon basin of South America."),
    ("Black_Death", "The Black Death was a bubonic plague pandemic that peaked in Europe from 1347 to 1351."),
    ("Tesla", "Nikola Tesla was a Serbian-American inventor known for alternating current."),
    ("Rhine", "The Rhine flows from the Swiss Alps to the North Sea through Germany and the Netherlands."),
    ("Warsaw", "Warsaw is the capital and largest city of Poland, on the Vistula river."),
    ("Steam", "A steam engine performs mechanical work using steam as its working fluid."),
]


def reply(text: str, tokens_in: int = 100, tokens_out: int = 10) -> AIMessage:
    return AIMessage(
        content=text,
        usage_metadata={"input_tokens": tokens_in, "output_tokens": tokens_out, "total_tokens": tokens_in + tokens_out},
    )


def logprob_reply(
    tokens: list[tuple[str, float]], alternatives: dict[int, list[tuple[str, float]]] | None = None
) -> AIMessage:
    """An AIMessage carrying OpenAI-style token logprobs, as the local model returns them."""
    alternatives = alternatives or {}
    content = [
        {
            "token": t,
            "logprob": lp,
            "top_logprobs": [{"token": a, "logprob": alp} for a, alp in alternatives.get(i, [(t, lp)])],
        }
        for i, (t, lp) in enumerate(tokens)
    ]
    message = reply("".join(t for t, _ in tokens))
    message.response_metadata = {"logprobs": {"content": content}}
    return message


class WordByWord:
    """Streams a fake's reply word by word, as a real client would: the last chunk carries the usage and
    logprobs (LangChain's GenericFakeChatModel streams none of them)."""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs) -> Iterator[ChatGenerationChunk]:
        message = self._generate(messages, stop=stop, **kwargs).generations[0].message
        tokens = re.split(r"(\s)", message.text)
        for i, token in enumerate(tokens):
            last = i == len(tokens) - 1
            chunk = ChatGenerationChunk(
                message=AIMessageChunk(
                    content=token,
                    id=message.id,
                    usage_metadata=message.usage_metadata if last else None,
                    response_metadata=message.response_metadata if last else {},
                )
            )
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


class StreamingFake(WordByWord, GenericFakeChatModel):
    """LangChain's fake chat model, streaming with its usage."""


class PromptReadingFake(WordByWord, BaseChatModel):
    """A fake chat model whose reply is a function of the prompt (for scripts that must see what they are asked)."""

    reply_to: Callable[[str], AIMessage]

    @property
    def _llm_type(self) -> str:
        return "prompt-reading-fake"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages)
        return ChatResult(generations=[ChatGeneration(message=self.reply_to(prompt))])


class FakeProvider:
    """Answers each role from a script: a function of the call number (and, if it takes two, of the prompt)."""

    name = "fake"
    model_class: type[GenericFakeChatModel] = StreamingFake  # a test may record how its calls are made

    def __init__(self, scripts: dict[str, Callable[[int], AIMessage]]):
        self.scripts = scripts
        self.calls: dict[str, int] = {}
        self.requests: list[tuple[str, dict]] = []
        self.lock = threading.Lock()  # generate samples run in parallel

    def chat_model(self, ctx, *, role, temperature, max_tokens, seed, model):
        self.requests.append(
            (role, {"temperature": temperature, "max_tokens": max_tokens, "seed": seed, "model": model})
        )
        script = self.scripts[role]

        def count() -> int:
            with self.lock:
                self.calls[role] = self.calls.get(role, 0) + 1
                return self.calls[role]

        if len(inspect.signature(script).parameters) == 2:
            return PromptReadingFake(reply_to=lambda prompt: script(count(), prompt))
        return self.model_class(messages=(script(count()) for _ in itertools.count()))

    def embeddings(self, ctx):
        return "fake-hash-32", DeterministicFakeEmbedding(size=32)

    def reranker(self, ctx):
        return HybridScoreReranker(bm25_weight=ctx.hybrid_score_bm25_weight)


class CountingEmbedding(DeterministicFakeEmbedding):
    """The fake embedder, recording every text it embeds (what an index update had to embed)."""

    embedded: list[str] = []

    def embed_documents(self, texts):
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def doc(source: str, text: str) -> Document:
    return Document(page_content=text, metadata={"source": source, "doc_key": source})


def fact_documents() -> list[Document]:
    return [
        Document(page_content=text, metadata={"source": "facts.jsonl", "title": t, "doc_key": t}) for t, text in FACTS
    ]


@pytest.fixture
def fake_index(tmp_path: Path) -> Path:
    path = tmp_path / "index"
    build_index(fact_documents(), DeterministicFakeEmbedding(size=32), "fake-hash-32", path)
    return path


@pytest.fixture
def use_provider(monkeypatch):
    """Install a FakeProvider under the name 'local'; returns it."""

    def install(scripts: dict[str, Callable[[int], AIMessage]]) -> FakeProvider:
        provider = FakeProvider(scripts)
        monkeypatch.setitem(providers.PROVIDERS, "local", provider)
        # its reranker is not the shipped cross-encoder, whose scale the abstention thresholds were measured on
        monkeypatch.setattr(abstention, "CALIBRATED", dict.fromkeys(abstention.CALIBRATED, abstention.OFF))
        return provider

    return install


@pytest.fixture
def context(fake_index) -> Callable[..., Context]:
    """A Context on the fake index. The graph's tests run every node, so an easy question is graded and
    answered rather than answered by its difficulty draft (the easy path's own tests turn it back on)."""

    def make(**overrides) -> Context:
        return Context(index_path=str(fake_index), **{"easy_from_draft": False, **overrides})

    return make
