"""Small helpers the nodes share: passage formatting, token accounting, logprob reading."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence

from langchain_core.documents import Document
from langchain_core.messages import AIMessage

from ragloop import providers
from ragloop.errors import InputError
from ragloop.graph.context import Context


def validate_question(question: object, ctx: Context) -> str:
    """The question stripped, or InputError naming what is wrong with it."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("The question is empty; ask a question in words.")
    question = question.strip()
    if len(question) > ctx.max_question_chars:
        raise InputError(
            f"The question is {len(question)} characters long, over the limit of "
            f"{ctx.max_question_chars}; shorten it or raise max_question_chars."
        )
    return question


def hybrid_search(ctx: Context, query: str) -> list[Document]:
    """The ctx.k best chunks for the query from the index, BM25 and dense fused."""
    index = providers.load_index(ctx)
    _, embedder = providers.embeddings(ctx)
    return index.search(query, embedder.embed_query(query), ctx.k, **ctx.fusion())


def format_passages(docs: Sequence[Document]) -> str:
    """Numbered passages, [1] first; the number is what the model cites."""
    blocks = []
    for n, doc in enumerate(docs, start=1):
        title = doc.metadata.get("title")
        head = f"[{n}] ({title}) " if title else f"[{n}] "
        blocks.append(head + " ".join(doc.page_content.split()))
    return "\n\n".join(blocks)


def usage_of(*messages: AIMessage) -> dict[str, int]:
    """Input/output tokens and calls of the messages, as the provider reported them.

    Prompt-cache reads and writes and answers from a fallback model are counted
    too, when there are any.
    """
    total = {"input_tokens": 0, "output_tokens": 0, "calls": 0}
    for message in messages:
        meta = getattr(message, "usage_metadata", None) or {}
        total["input_tokens"] += int(meta.get("input_tokens", 0))
        total["output_tokens"] += int(meta.get("output_tokens", 0))
        total["calls"] += 1
        details = meta.get("input_token_details") or {}
        for key, name in (("cache_read", "cache_read_tokens"), ("cache_creation", "cache_write_tokens")):
            if details.get(key):
                total[name] = total.get(name, 0) + int(details[key])
        if (message.response_metadata or {}).get("ragloop_fallback"):
            total["fallbacks"] = total.get("fallbacks", 0) + 1
    return total


def model_of(message: AIMessage) -> str:
    """The model that wrote the message, as its provider names it."""
    meta = message.response_metadata or {}
    return str(meta.get("model_name") or meta.get("model_id") or meta.get("model") or "unknown")


def spent(node: str, *messages: AIMessage) -> dict:
    """The state update recording these calls: tokens per node and per model."""
    by_model: dict[str, list[AIMessage]] = {}
    for message in messages:
        by_model.setdefault(model_of(message), []).append(message)
    return {"usage": {node: usage_of(*messages)},
            "usage_by_model": {model: usage_of(*replies) for model, replies in by_model.items()}}


def cut_off(message: AIMessage) -> bool:
    """Whether the reply stopped at its output token cap (OpenAI-style `length`, Bedrock's `max_tokens`)."""
    meta = message.response_metadata or {}
    return meta.get("finish_reason") == "length" or meta.get("stopReason") == "max_tokens"


def token_logprobs(message: AIMessage) -> list[dict]:
    """The per-token logprob records of an OpenAI-compatible response, or [] when absent."""
    logprobs = (message.response_metadata or {}).get("logprobs") or {}
    return logprobs.get("content") or []


def mean_token_probability(message: AIMessage) -> float | None:
    """exp(mean token logprob) of the generated text: the model's confidence in it."""
    records = [r for r in token_logprobs(message) if r.get("token", "").strip()]
    if not records:
        return None
    return math.exp(sum(r["logprob"] for r in records) / len(records))


_YES, _NO = "yes", "no"
_VERDICT = re.compile(r"\b(yes|no)\b", flags=re.I)


def _yes_share(candidates: list[dict]) -> float | None:
    yes = sum(math.exp(c["logprob"]) for c in candidates if c["token"].strip().lower() == _YES)
    no = sum(math.exp(c["logprob"]) for c in candidates if c["token"].strip().lower() == _NO)
    return yes / (yes + no) if yes + no > 0 else None


def yes_probabilities(message: AIMessage, n: int) -> list[float | None]:
    """p(yes) for passages 1..n from a reply of n lines like `2: yes`, read in order.

    The k-th verdict belongs to passage k (small models often misnumber lines but
    keep their order). With token logprobs, p(yes) = P(yes) / (P(yes) + P(no)) at
    the verdict token; without them, 1.0 or 0.0 from the text. None for a passage
    the reply does not judge.
    """
    verdicts: list[float] = []
    records = token_logprobs(message)
    for record in records:
        word = record["token"].strip().lower()
        if word in (_YES, _NO):
            share = _yes_share(record.get("top_logprobs") or [record])
            verdicts.append(share if share is not None else float(word == _YES))
    if not records:
        verdicts = [1.0 if v.lower() == _YES else 0.0 for v in _VERDICT.findall(str(message.content))]
    return (verdicts + [None] * n)[:n]


_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Passage numbers cited as [1] or [1, 3], in order of first citation."""
    seen: list[int] = []
    for group in _CITATION.findall(text):
        for number in group.split(","):
            if int(number) not in seen:
                seen.append(int(number))
    return seen


def supporting(answer: str, docs: list[Document], min_share: float) -> list[int]:
    """Numbers (from 1) of the passages holding at least `min_share` of the answer's words, SQuAD-normalised."""
    words = set(normalize_answer(answer).split())
    if not words:
        return []
    return [n for n, doc in enumerate(docs, 1)
            if len(words & set(normalize_answer(doc.page_content).split())) >= min_share * len(words)]


def renumber_citations(text: str, numbers: list[int]) -> str:
    """Citations [k] of passages numbered 1..len(numbers) rewritten as [numbers[k-1]]; others left as written."""

    def swap(match: re.Match) -> str:
        cited = [int(n) for n in match.group(1).split(",")]
        return "[" + ", ".join(str(numbers[n - 1]) if 1 <= n <= len(numbers) else str(n) for n in cited) + "]"

    return _CITATION.sub(swap, text)


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation (lower case, no punctuation, articles or citations) for voting."""
    text = _CITATION.sub(" ", text.lower())
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
