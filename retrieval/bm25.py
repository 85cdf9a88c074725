"""BM25 on a term-major sparse matrix of term frequencies, scored with corpus-wide statistics at query time.

Each index segment keeps its postings as three NumPy arrays (CSR by term: ``indptr``, ``docs``, ``tfs``) and
its chunk lengths; they are saved as ``.npy`` files and memory-mapped, so loading never re-analyses text.
Statistics (document frequency, chunk count, mean length) are summed over all segments when a query is
scored, so a segment added later changes every score exactly as a rebuild would (deleted chunks keep
counting in the document frequencies until their segment is merged, as in Lucene).

The score is Okapi BM25 with Lucene's always-positive idf, log(1 + (N - df + 0.5) / (df + 0.5)), k1 = 1.5,
b = 0.75: what bm25s, Elasticsearch and Milvus compute. It replaced rank-bm25, whose per-query Python loop
over every chunk took 233 ms at 100 k chunks (docs/measurements/scale.md).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from py_rust_stemmers import SnowballStemmer

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)

K1, B = 1.5, 0.75

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


FILES = ("terms.json", "indptr.npy", "docs.npy", "tfs.npy", "lengths.npy")


@dataclass
class Postings:
    """One segment's inverted index: for term row r, chunks docs[indptr[r]:indptr[r+1]] hold it tfs times."""

    rows: dict[str, int]
    indptr: np.ndarray
    docs: np.ndarray
    tfs: np.ndarray
    lengths: np.ndarray  # terms per chunk

    @classmethod
    def build(cls, corpus_terms: Iterable[Sequence[str]], batch: int = 50_000) -> Postings:
        """Postings of the chunks' terms, read in batches (PostingsBuilder)."""
        builder = PostingsBuilder()
        chunk_terms = iter(corpus_terms)
        while block := list(itertools.islice(chunk_terms, batch)):
            builder.add(block)
        return builder.finish()

    def save(self, folder: Path) -> None:
        terms = sorted(self.rows, key=self.rows.__getitem__)
        (folder / "terms.json").write_text(json.dumps(terms, ensure_ascii=False), encoding="utf-8")
        for name in ("indptr", "docs", "tfs", "lengths"):
            np.save(folder / f"{name}.npy", getattr(self, name), allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> Postings:
        terms = json.loads((folder / "terms.json").read_text(encoding="utf-8"))
        arrays = {n: np.load(folder / f"{n}.npy", mmap_mode="r", allow_pickle=False) for n in ("indptr", "docs", "tfs")}
        lengths = np.load(folder / "lengths.npy", allow_pickle=False)
        return cls({t: i for i, t in enumerate(terms)}, lengths=lengths, **arrays)

    def df(self, term: str) -> int:
        row = self.rows.get(term)
        return 0 if row is None else int(self.indptr[row + 1] - self.indptr[row])

    def scores(self, weights: dict[str, float], avgdl: float) -> np.ndarray:
        """BM25 of every chunk for query terms weighted by their idf (float32, 0 where no term occurs)."""
        out = np.zeros(len(self.lengths), dtype=np.float32)
        for term, idf in weights.items():
            row = self.rows.get(term)
            if row is None:
                continue
            lo, hi = int(self.indptr[row]), int(self.indptr[row + 1])
            docs, tf = np.asarray(self.docs[lo:hi]), np.asarray(self.tfs[lo:hi], dtype=np.float32)
            norm = K1 * (1 - B + B * self.lengths[docs] / max(avgdl, 1e-9))
            out[docs] += (idf * (K1 + 1)) * tf / (tf + norm)  # a term occurs once per chunk in its postings
        return out


class PostingsBuilder:
    """Postings built as chunks arrive, in bounded memory: each batch is reduced at once to its (term, chunk,
    tf) triples (10 bytes each, in NumPy), and the term-major arrays are laid out by counting at the end, so a
    million chunks never sit in Python lists or in one big sort."""

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per batch: terms, chunks, tfs
        self._lengths: list[np.ndarray] = []
        self.chunks = 0

    def add(self, block: Sequence[Sequence[str]]) -> None:
        """The next chunks' terms, in chunk order."""
        rows, m = self.rows, max(len(block), 1)
        ids = np.fromiter((rows.setdefault(t, len(rows)) for chunk in block for t in chunk), dtype=np.int64)
        length = np.fromiter(map(len, block), dtype=np.int32, count=len(block))
        local = np.repeat(np.arange(len(block), dtype=np.int64), length)
        pairs, tfs = np.unique(ids * m + local, return_counts=True)  # sorted by term, then chunk
        chunk = (pairs % m + self.chunks).astype(np.int32)
        self._parts.append(((pairs // m).astype(np.int32), chunk, np.minimum(tfs, 65_535).astype(np.uint16)))
        self._lengths.append(length)
        self.chunks += len(block)

    def finish(self) -> Postings:
        """The segment's postings: CSR by term, each term's chunks in chunk order."""
        terms = len(self.rows)
        per_part = [np.bincount(t, minlength=terms) for t, _, _ in self._parts]
        indptr = np.zeros(terms + 1, dtype=np.int64)
        np.cumsum(np.sum(per_part, axis=0, dtype=np.int64) if per_part else np.zeros(terms, np.int64), out=indptr[1:])
        docs = np.empty(int(indptr[-1]), dtype=np.int32)
        tfs = np.empty(int(indptr[-1]), dtype=np.uint16)
        cursor = indptr[:-1].copy()
        for counts in per_part:  # batches in chunk order: each term's run continues where the last left off
            term, chunk, tf = self._parts.pop(0)
            starts = np.cumsum(counts) - counts  # where each term's run begins in this batch
            at = cursor[term] + (np.arange(len(term)) - starts[term])
            docs[at], tfs[at] = chunk, tf
            cursor += counts
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int32)
        return Postings(self.rows, indptr, docs, tfs, lengths)


def idf_weights(query: str, segments: Sequence[Postings], chunks: int) -> dict[str, float]:
    """The query's terms with Lucene's idf over all segments, times how often the query says them."""
    counts: dict[str, int] = {}
    for term in analyse(query):
        counts[term] = counts.get(term, 0) + 1
    weights = {}
    for term, n in counts.items():
        df = sum(p.df(term) for p in segments)
        if df:
            weights[term] = n * float(np.log(1 + (chunks - df + 0.5) / (df + 0.5)))
    return weights
