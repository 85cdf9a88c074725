"""Answers compared as SQuAD compares them: normalised, voted on, and told apart from "not found"."""

from __future__ import annotations

import re
import string
from collections import Counter

#: What the model is told to reply when the passages do not hold the answer.
NOT_FOUND = "Not found in the documents."
#: The answer of a question that a hard token budget (Context.hard_token_budget) could not pay for.
OVER_BUDGET = "Not answered: the token budget left for this question is too small."

#: The stop reason of a run whose answer is NOT_FOUND: the documents do not hold the answer.
UNANSWERABLE = "unanswerable"

#: A citation marker: [1] or [1, 3].
CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD-style normalisation (lower case, no punctuation, articles or citations) for voting and scoring."""
    text = CITATION.sub(" ", text.lower())
    text = "".join(ch for ch in text if ch not in _PUNCTUATION)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def found(text: str) -> bool:
    """Whether a reply is an answer, not the model saying the passages lack one."""
    return bool(text) and normalize_answer(text) not in (normalize_answer(NOT_FOUND), normalize_answer(OVER_BUDGET))


def majority(answers: list[str]) -> str:
    """The most frequent answer after normalisation; ties go to the earliest sample."""
    counts = Counter(normalize_answer(a) for a in answers)
    best = max(counts.values())
    return next(a for a in answers if counts[normalize_answer(a)] == best)
