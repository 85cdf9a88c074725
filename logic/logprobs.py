"""Reading a reply: its token probabilities, its yes/no verdicts, whether it was cut at its token cap."""

from __future__ import annotations

import math
import re

from langchain_core.messages import AIMessage

_YES, _NO = "yes", "no"
_VERDICT = re.compile(r"\b(yes|no)\b", flags=re.I)


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
    verdicts: list[float | None] = []
    records = token_logprobs(message)
    for record in records:
        word = record["token"].strip().lower()
        if word in (_YES, _NO):
            share = _yes_share(record.get("top_logprobs") or [record])
            verdicts.append(share if share is not None else float(word == _YES))
    if not records:
        verdicts = [1.0 if v.lower() == _YES else 0.0 for v in _VERDICT.findall(str(message.content))]
    return (verdicts + [None] * n)[:n]
