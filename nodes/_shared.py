"""Small helpers the nodes share: passage formatting, token accounting, logprob reading."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Sequence

from langchain_core.documents import Document
from langchain_core.messages import AIMessage

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


def format_passages(docs: Sequence[Document]) -> str:
    """Numbered passages, [1] first; the number is what the model cites."""
    blocks = []
    for n, doc in enumerate(docs, start=1):
        title = doc.metadata.get("title")
        head = f"[{n}] ({title}) " if title else f"[{n}] "
        blocks.append(head + " ".join(doc.page_content.split()))
    return "\n\n".join(blocks)


def usage_of(*messages: AIMessage) -> dict[str, int]:
    """Input/output tokens and calls of the messages, as the provider reported them."""
    total = {"input_tokens": 0, "output_tokens": 0, "calls": 0}
    for message in messages:
        meta = getattr(message, "usage_metadata", None) or {}
        total["input_tokens"] += int(meta.get("input_tokens", 0))
        total["output_tokens"] += int(meta.get("output_tokens", 0))
        total["calls"] += 1
    return total


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


_LINE_NUMBER = re.compile(r"(\d+)\s*[:.)\-]?\s*$")
_YES, _NO = "yes", "no"


def _yes_share(candidates: list[dict]) -> float | None:
    yes = sum(math.exp(c["logprob"]) for c in candidates if c["token"].strip().lower() == _YES)
    no = sum(math.exp(c["logprob"]) for c in candidates if c["token"].strip().lower() == _NO)
    return yes / (yes + no) if yes + no > 0 else None


def yes_probabilities(message: AIMessage, n: int) -> list[float | None]:
    """p(yes) for passages 1..n from a reply of lines like `2: yes`.

    With token logprobs, p(yes) = P(yes) / (P(yes) + P(no)) at the token where the
    model wrote its verdict for that line; without them, 1.0 or 0.0 from the text.
    None for a passage the reply does not judge.
    """
    probs: list[float | None] = [None] * n
    records = token_logprobs(message)
    if records:
        text = ""
        for record in records:
            token = record["token"]
            word = token.strip().lower()
            if word in (_YES, _NO):
                match = _LINE_NUMBER.search(text.splitlines()[-1] if text.strip() else "")
                if match and 1 <= int(match.group(1)) <= n and probs[int(match.group(1)) - 1] is None:
                    share = _yes_share(record.get("top_logprobs") or [record])
                    probs[int(match.group(1)) - 1] = share if share is not None else float(word == _YES)
            text += token
        if any(p is not None for p in probs):
            return probs
    for number, verdict in re.findall(r"(\d+)\s*[:.)\-]?\s*(yes|no)\b", str(message.content), flags=re.I):
        index = int(number) - 1
        if 0 <= index < n and probs[index] is None:
            probs[index] = 1.0 if verdict.lower() == _YES else 0.0
    return probs


_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Passage numbers cited as [1] or [1, 3], in order of first citation."""
    seen: list[int] = []
    for group in _CITATION.findall(text):
        for number in group.split(","):
            if int(number) not in seen:
                seen.append(int(number))
    return seen


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation (lower case, no punctuation, articles or citations) for voting."""
    text = _CITATION.sub(" ", text.lower())
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())
