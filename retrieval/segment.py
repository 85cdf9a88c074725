"""One immutable piece of the local index: its chunks, vectors, BM25 postings and filter columns.

A segment folder holds::

    documents.jsonl   one chunk per line (id, text, metadata), read lazily through offsets.npy
    offsets.npy       byte offset of every line, and the file's length
    vectors.npy       unit float32 embeddings, memory-mapped
    ann.faiss         only in segments of `ann_threshold` chunks or more: FAISS HNSW over SQ8 codes
    hashes.npy        sha256 (16 bytes) of every chunk's text: unchanged text keeps its vector
    columns.json      every metadata key, and which are columns (scalar values); codes.npy: each chunk's value
                      code per column; values-<n>.json: column n's distinct values (read when first needed)
    terms.json, indptr.npy, docs.npy, tfs.npy, lengths.npy   BM25 postings (retrieval/bm25.py)
    deleted.npy       which chunks a later version deleted (absent when none)

Every file but deleted.npy is written once and shared, by hard link, with every later version that keeps
the segment, so adding or deleting a source writes only the new chunks and a deletion mask.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import mmap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from ragloop.fileutil import sha256_file
from ragloop.logic import filters
from ragloop.retrieval.bm25 import FILES as BM25_FILES
from ragloop.retrieval.bm25 import Postings, PostingsBuilder, analyse

SHARED = ("documents.jsonl", "offsets.npy", "vectors.npy", "hashes.npy", "columns.json", "codes.npy", *BM25_FILES)
#: Below this many allowed chunks a filtered search on an approximate segment compares them all, exactly.
EXACT_BELOW = 20_000
_SCALAR = (str, int, float, bool, type(None))


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()[:16]


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k highest scores, best first (ties: lower position first)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    part = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    return part[np.lexsort((part, -scores[part]))]


@functools.cache
def one_blas_thread() -> None:
    """Exact dense search is one matrix-vector product per query: on one BLAS thread it takes 0.65 ms at
    10 k chunks on a busy 2-core machine, on two 8 ms (the threads wait on each other and on the other
    work). Concurrency comes from concurrent requests, not from splitting one small product, so the
    processes that search a local index run BLAS on one thread (threadpoolctl), set once."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


class SegmentWriter:
    """A segment written as chunks arrive, in memory bounded by what a batch needs plus a few bytes per chunk:
    documents and vectors go to disk at once, BM25 postings and filter columns are kept as compact NumPy
    parts and laid out when the segment is finished; the ANN index trains on a sample read back from disk."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True)
        self.folder, self.size, self.dimension = folder, 0, 0
        self._documents = open(folder / "documents.jsonl", "wb")  # closed by finish or abandon
        self._vectors = open(folder / "vectors.npy", "wb")
        self._vectors.write(b"\0" * _NPY_HEADER)  # the header, once the shape is known
        self._offsets = [np.zeros(1, dtype=np.int64)]
        self._end = 0
        self._hashes = bytearray()
        self._columns = _Columns()
        self._postings = PostingsBuilder()

    def append(self, chunks: Sequence[Document], matrix: np.ndarray) -> None:
        """The next chunks and their unit vectors."""
        if not len(chunks):
            return
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.dimension = self.dimension or matrix.shape[1]
        lines = [
            (
                json.dumps({"id": c.metadata["id"], "text": c.page_content, "metadata": c.metadata}, ensure_ascii=False)
                + "\n"
            ).encode()
            for c in chunks
        ]
        self._documents.writelines(lines)
        ends = self._end + np.cumsum(np.fromiter(map(len, lines), dtype=np.int64, count=len(lines)))
        self._offsets.append(ends)
        self._end = int(ends[-1])
        self._vectors.write(matrix.tobytes())
        self._hashes += b"".join(text_hash(c.page_content) for c in chunks)
        self._columns.add([c.metadata for c in chunks])
        self._postings.add([analyse(c.page_content) for c in chunks])
        self.size += len(chunks)

    def finish(self, *, ann_threshold: int) -> dict[str, str]:
        """Write what remains; returns the sha256 of every file."""
        folder = self.folder
        self._documents.close()
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f4", "fortran_order": False, "shape": (self.size, self.dimension)}
        )
        assert len(header.getvalue()) == _NPY_HEADER, "a .npy header of another length"
        self._vectors.seek(0)
        self._vectors.write(header.getvalue())
        self._vectors.close()
        np.save(folder / "offsets.npy", np.concatenate(self._offsets), allow_pickle=False)
        hashes = np.frombuffer(bytes(self._hashes), dtype=np.uint8).reshape(self.size, 16)
        np.save(folder / "hashes.npy", hashes, allow_pickle=False)
        keys, values, codes = self._columns.finish()
        (folder / "columns.json").write_text(
            json.dumps({"keys": keys, "columns": list(values)}, ensure_ascii=False), "utf-8"
        )
        np.save(folder / "codes.npy", codes, allow_pickle=False)
        for n, column in enumerate(values.values()):
            (folder / f"values-{n}.json").write_text(json.dumps(column, ensure_ascii=False), "utf-8")
        self._postings.finish().save(folder)
        files = list(SHARED) + [f"values-{n}.json" for n in range(len(values))]
        if self.size >= ann_threshold:
            _write_ann(folder / "ann.faiss", folder / "vectors.npy")
            files.append("ann.faiss")
        return {name: sha256_file(folder / name) for name in files}

    def abandon(self) -> None:
        self._documents.close()
        self._vectors.close()


#: Bytes of a .npy header for a 2-D float32 array (numpy pads headers to a multiple of 64).
_NPY_HEADER = 128


def write_segment(
    folder: Path, chunks: Sequence[Document], matrix: np.ndarray, *, ann_threshold: int
) -> dict[str, str]:
    """Write chunks (with their unit vectors) as a segment in folder; returns the sha256 of every file."""
    writer = SegmentWriter(folder)
    writer.append(chunks, matrix)
    return writer.finish(ann_threshold=ann_threshold)


class _Columns:
    """Filter columns, batch by batch: per metadata key whose values are all scalars (not the unique `id`),
    the distinct values and each chunk's code (a chunk without the key has the code of None)."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.size = 0
        self._seen: dict[str, dict[tuple[type, Any], int]] = {}
        self._codes: dict[str, list[np.ndarray]] = {}
        self._not_scalar: set[str] = set()

    def add(self, metadatas: Sequence[Mapping[str, Any]]) -> None:
        present = {k for m in metadatas for k in m}
        self.keys |= present
        for key in sorted(present - {"id"} - self._not_scalar):
            if not all(isinstance(m.get(key), _SCALAR) for m in metadatas):
                self._not_scalar.add(key)
                self._seen.pop(key, None)
                self._codes.pop(key, None)
            elif key not in self._seen:
                self._seen[key], self._codes[key] = {}, []
                if self.size:  # the chunks before had no such key
                    self._codes[key].append(np.full(self.size, self._code(key, None), dtype=np.int32))
        for key, seen in self._seen.items():
            codes = (seen.setdefault((type(v), v), len(seen)) for v in (m.get(key) for m in metadatas))
            self._codes[key].append(np.fromiter(codes, dtype=np.int32, count=len(metadatas)))
        self.size += len(metadatas)

    def _code(self, key: str, value: Any) -> int:
        seen = self._seen[key]
        return seen.setdefault((type(value), value), len(seen))

    def finish(self) -> tuple[list[str], dict[str, list], np.ndarray]:
        """(every key, {column: distinct values by code}, codes: one row per chunk, one column per column)."""
        columns = sorted(self._seen)
        codes = np.zeros((self.size, len(columns)), dtype=np.int32)
        for j, key in enumerate(columns):
            codes[:, j] = np.concatenate(self._codes.pop(key))
        return sorted(self.keys), {k: [v for _, v in self._seen[k]] for k in columns}, codes


#: HNSW graph degree and construction breadth of a segment's ANN index (docs/measurements/scale.md).
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 128


def _write_ann(file: Path, vectors: Path) -> None:
    """FAISS HNSW over 8-bit scalar-quantised codes (a quarter of the vectors' memory); searches re-score its
    candidates exactly from vectors.npy. The quantiser trains on a sample, and the vectors are read in
    blocks (not mapped), so building never holds them all in memory."""
    import faiss

    stored = np.load(vectors, mmap_mode="r", allow_pickle=False)
    n, d, offset = len(stored), stored.shape[1], stored.offset
    ann: Any = faiss.IndexHNSWSQ(d, faiss.ScalarQuantizer.QT_8bit, HNSW_M, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
    ann.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    sample = np.sort(np.random.default_rng(0).choice(n, size=min(n, 100_000), replace=False))
    ann.train(np.ascontiguousarray(stored[sample], dtype=np.float32))
    del stored
    with open(vectors, "rb") as fh:
        for start in range(0, n, 100_000):
            fh.seek(offset + start * 4 * d)
            ann.add(np.fromfile(fh, dtype=np.float32, count=min(100_000, n - start) * d).reshape(-1, d))
    faiss.write_index(ann, str(file))


@dataclass
class Segment:
    """A loaded segment: arrays memory-mapped, documents read on demand."""

    folder: Path
    size: int
    vectors: np.ndarray
    hashes: np.ndarray
    postings: Postings
    columns: list[str]
    keys: frozenset[str]
    codes: np.ndarray
    deleted: np.ndarray | None
    ann: Any  # faiss.Index or None
    _offsets: np.ndarray
    _text: mmap.mmap
    _values: dict[str, list] = field(default_factory=dict)
    _lookup: dict[str, dict[Any, list[int]]] = field(default_factory=dict)

    @classmethod
    def open(cls, folder: Path, ann: bool = True) -> Segment:
        """The segment in folder; `ann=False` leaves its ANN index on disk (an update never searches)."""
        offsets = np.load(folder / "offsets.npy", allow_pickle=False)
        with open(folder / "documents.jsonl", "rb") as fh:
            text = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        deleted = np.load(folder / "deleted.npy", allow_pickle=False) if (folder / "deleted.npy").exists() else None
        columns = json.loads((folder / "columns.json").read_text(encoding="utf-8"))
        graph = None
        if ann and (folder / "ann.faiss").exists():
            import faiss

            graph = faiss.read_index(str(folder / "ann.faiss"))
        return cls(
            folder=folder,
            size=len(offsets) - 1,
            vectors=np.load(folder / "vectors.npy", mmap_mode="r", allow_pickle=False),
            hashes=np.load(folder / "hashes.npy", mmap_mode="r", allow_pickle=False),
            postings=Postings.load(folder),
            columns=columns["columns"],
            keys=frozenset(columns["keys"]),
            codes=np.load(folder / "codes.npy", mmap_mode="r", allow_pickle=False),
            deleted=deleted,
            ann=graph,
            _offsets=offsets,
            _text=text,
        )

    def consistent(self) -> bool:
        n = self.size
        return (
            len(self.vectors) == len(self.hashes) == len(self.codes) == len(self.postings.lengths) == n
            and (self.deleted is None or len(self.deleted) == n)
            and int(self._offsets[-1]) == len(self._text)
        )

    def document(self, i: int) -> Document:
        record = json.loads(self._text[int(self._offsets[i]) : int(self._offsets[i + 1])])
        return Document(page_content=record["text"], metadata=record["metadata"])

    def live(self) -> np.ndarray:
        return np.ones(self.size, dtype=bool) if self.deleted is None else ~self.deleted

    def values(self, key: str) -> list:
        """A column's distinct values, by code."""
        if key not in self._values:
            n = self.columns.index(key)
            self._values[key] = json.loads((self.folder / f"values-{n}.json").read_text(encoding="utf-8"))
        return self._values[key]

    def codes_of(self, key: str) -> np.ndarray:
        """Each chunk's code in a column."""
        return np.asarray(self.codes[:, self.columns.index(key)])

    def codes_passing(self, test: filters.Test) -> np.ndarray:
        """The codes of a column's values that pass one test: equalities through a lookup of the values,
        other operators by testing each distinct value."""
        values = self.values(test.field)
        if test.op in ("$eq", "$in"):
            if test.field not in self._lookup:
                lookup: dict[Any, list[int]] = {}
                for code, value in enumerate(values):
                    lookup.setdefault(value, []).append(code)
                self._lookup[test.field] = lookup
            wanted = test.value if test.op == "$in" else (test.value,)
            found = {c for w in wanted for c in self._lookup[test.field].get(w, [])}
            candidates: Any = sorted(found)
        else:
            candidates = range(len(values))
        passing = [c for c in candidates if filters.holds(test, values[c], values[c] is not None)]
        return np.asarray(passing, dtype=np.int32)

    def where(self, where: Mapping[str, Any] | filters.Node | None) -> np.ndarray:
        """Which chunks match the filter (logic/filters.py): the parts every chunk must pass that test one
        column are answered from the columns; the rest (keys that are not columns, `$or` across fields) from
        the documents of the chunks still in."""
        node = where if isinstance(where, filters.Test | filters.All | filters.Any_) else filters.parse(where)
        mask = np.ones(self.size, dtype=bool)
        rest: list[filters.Node] = []
        for part in filters.conjuncts(node):
            if isinstance(part, filters.Test) and part.field in self.columns:
                mask &= np.isin(self.codes_of(part.field), self.codes_passing(part))
            elif isinstance(part, filters.Test) and part.field not in self.keys:
                if not filters.holds(part, None, False):  # no chunk has the field
                    mask[:] = False
            else:
                rest.append(part)
        if rest:
            remaining = filters.All(tuple(rest))
            for i in np.flatnonzero(mask):
                mask[i] = filters.evaluate(remaining, self.document(int(i)).metadata)
        return mask

    def dense(self, vector: np.ndarray, k: int, mask: np.ndarray | None, probes: int) -> tuple[np.ndarray, np.ndarray]:
        """(local ids, cosines) of the k chunks nearest the unit vector among `mask`, best first."""
        import faiss

        one_blas_thread()

        allowed = None if mask is None else np.flatnonzero(mask)
        if allowed is not None and self.ann is not None and len(allowed) <= EXACT_BELOW:
            sims = np.asarray(self.vectors[allowed] @ vector)
            best = top(sims, k)
            return allowed[best], sims[best]
        if self.ann is None:
            sims = np.asarray(self.vectors @ vector)
            if mask is not None:
                sims = np.where(mask, sims, -np.inf)
                k = min(k, int(mask.sum()))
            best = top(sims, k)
            return best, sims[best]
        if isinstance(self.ann, faiss.IndexHNSW):
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = max(probes, k)
        else:  # an IVF index written by ragloop 0.2 before HNSW: `probes` lists
            params = faiss.SearchParametersIVF()
            params.nprobe = probes
        if mask is not None:
            bits = np.packbits(mask, bitorder="little")
            selector = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))  # kept in a local: params doesn't own it
            params.sel = selector
        _, found = self.ann.search(vector.reshape(1, -1), min(self.size, 2 * k + 20), params=params)
        found = np.sort(found[0][found[0] >= 0])  # in file order: fewer page faults re-scoring them
        sims = np.asarray(self.vectors[found] @ vector)
        best = top(sims, k)
        return found[best], sims[best]
