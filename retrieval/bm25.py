"""BM25 over rank-bm25 with an English analyser (lower-case, stop words out, Snowball stems)."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
from py_rust_stemmers import SnowballStemmer
from rank_bm25 import BM25Okapi

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)

# The usual English stop-word list (Lucene's plus question words, which carry
# no topical signal in questions).
STOP_WORDS = frozenset(
    """a an and are as at be but by for if in into is it no not of on or such that the their
    then there these they this to was will with what which who whom whose when where why how
    do does did has have had i you he she we his her its our your from were been being than
    so can could would should may might about""".split()
)


@lru_cache(maxsize=1)
def _stemmer() -> SnowballStemmer:
    return SnowballStemmer("english")


def analyse(text: str) -> list[str]:
    """Terms BM25 indexes and searches: lower-cased word stems without stop words."""
    words = [w for w in _WORD.findall(text.lower()) if w not in STOP_WORDS]
    return _stemmer().stem_words(words) if words else []


def count_tokens(text: str) -> int:
    """Approximate model tokens: words and punctuation marks (a word-piece tokenizer gives ~1.2x)."""
    return len(_TOKEN.findall(text))


class BM25:
    """rank-bm25's Okapi BM25 plus the state needed to save it as JSON."""

    def __init__(self, corpus_terms: list[list[str]], k1: float = 1.5, b: float = 0.75, epsilon: float = 0.25):
        self.corpus_terms = corpus_terms
        self.params = {"k1": k1, "b": b, "epsilon": epsilon}
        # rank-bm25 divides by zero on an all-empty corpus; an empty term list is harmless.
        self._bm25 = BM25Okapi([t or [""] for t in corpus_terms], k1=k1, b=b, epsilon=epsilon)

    def scores(self, query: str) -> np.ndarray:
        terms = analyse(query)
        if not terms:
            return np.zeros(len(self.corpus_terms), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)

    def to_json(self) -> dict:
        return {"params": self.params, "corpus_terms": self.corpus_terms}

    @classmethod
    def from_json(cls, data: dict) -> BM25:
        return cls(data["corpus_terms"], **data["params"])
