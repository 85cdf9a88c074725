"""The on-disk hybrid index: BM25 + FAISS + documents, written atomically and without pickle.

Layout of an index folder::

    manifest.json     format version, embedder, counts, chunking, sha256 of every file
    documents.jsonl   one chunk per line: id, text, metadata
    dense.faiss       FAISS's own index file (inner product over unit vectors)
    bm25.json         analysed terms per chunk and the BM25 parameters
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ragloop.errors import IndexLoadError, InputError
from ragloop.fileutil import sha256_file
from ragloop.retrieval.bm25 import BM25, analyse, count_tokens
from ragloop.retrieval.fusion import weighted_rrf
from ragloop.retrieval.versions import new_staging, publish, writer_lock

FORMAT_VERSION = 1
FILES = ("documents.jsonl", "dense.faiss", "bm25.json")

#: Called as progress(done, total) while chunks are embedded.
Progress = Callable[[int, int], None]


def chunk_documents(
    docs: Sequence[Document],
    chunk_size: int,
    chunk_overlap: int,
    taken: set[str] | frozenset[str] = frozenset(),
    length: Callable[[str], int] = count_tokens,
) -> list[Document]:
    """Split with LangChain's recursive splitter into chunks of at most chunk_size by `length` (the embedder's
    tokens when it has a tokenizer: see `token_counter`); ids are unique (also against `taken`)."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, length_function=length
    )
    chunks: list[Document] = []
    seen: dict[str, int] = dict.fromkeys(taken, 0)
    for doc in docs:
        pieces = splitter.split_text(doc.page_content)
        for n, piece in enumerate(pieces):
            key = doc.metadata["doc_key"] if len(pieces) == 1 else f"{doc.metadata['doc_key']}:{n}"
            if key in seen:  # the same key twice (e.g. one file given twice): keep both, apart
                seen[key] += 1
                key = f"{key}~{seen[key]}"
            else:
                seen[key] = 0
            chunks.append(Document(page_content=piece, metadata={**doc.metadata, "id": key}))
    return chunks


def _embed(
    chunks: Sequence[Document], embeddings: Embeddings, batch_size: int, progress: Progress | None
) -> np.ndarray:
    vectors: list[list[float]] = []
    for start in range(0, len(chunks), batch_size):
        batch = [c.page_content for c in chunks[start : start + batch_size]]
        vectors.extend(embeddings.embed_documents(batch))
        if progress:
            progress(min(start + batch_size, len(chunks)), len(chunks))
    matrix = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_index(
    docs: Sequence[Document],
    embeddings: Embeddings,
    embedder_name: str,
    target: str | Path,
    *,
    chunk_size: int = 400,
    chunk_overlap: int = 50,
    batch_size: int = 64,
    progress: Progress | None = None,
) -> dict:
    """An index of exactly these documents at target (replacing what is there); returns its manifest.

    Chunks whose text the current index already holds keep their vectors: only
    new or changed text is embedded.
    """
    return update_index(
        target,
        embeddings,
        embedder_name,
        add=docs,
        replace_all=True,
        chunk_size=chunk_size,
        chunk_overlap=chunk_overlap,
        batch_size=batch_size,
        progress=progress,
    )


def update_index(
    target: str | Path,
    embeddings: Embeddings,
    embedder_name: str,
    *,
    add: Sequence[Document] = (),
    delete_sources: Sequence[str] = (),
    replace_all: bool = False,
    chunk_size: int = 400,
    chunk_overlap: int = 50,
    batch_size: int = 64,
    progress: Progress | None = None,
    tenant: str | None = None,
) -> dict:
    """Add, replace or delete documents by source and publish the result as a new version, atomically.

    With a `tenant` (per-key tenancy) the added documents are stamped with it and sources are that tenant's
    alone: another tenant's source of the same name is neither replaced nor deleted.

    A document whose ``source`` the index already holds replaces every chunk of
    that source; ``delete_sources`` removes sources from BM25 and FAISS alike.
    Only chunks whose text is not in the index yet are embedded. Returns the new
    manifest, whose ``last_update`` counts what changed.
    """
    target = Path(target).expanduser()
    with writer_lock(target):
        old = _current(target, embedder_name, chunk_size, chunk_overlap, keep_sources=not replace_all)
        if tenant:
            add = [Document(page_content=d.page_content, metadata={**d.metadata, "tenant": tenant}) for d in add]
        mine = [d for d in (old.documents if old else []) if (d.metadata.get("tenant") or None) == (tenant or None)]
        renamed: dict[str, str] = {}
        if old is not None and not replace_all:
            add, renamed = keep_apart(add, mine)
        replaced = {d.metadata.get("source") for d in add} | set(delete_sources)
        missing = set(delete_sources) - {d.metadata.get("source") for d in mine}
        if missing:
            raise InputError(
                f"Nothing indexed comes from {', '.join(sorted(missing))}; `ragloop index --list` shows the sources."
            )
        kept = (
            []
            if (replace_all or old is None)
            else [
                d
                for d in old.documents
                if d.metadata.get("source") not in replaced or (d.metadata.get("tenant") or None) != (tenant or None)
            ]
        )
        taken = {d.metadata["id"] for d in kept}
        new = chunk_documents(add, chunk_size, chunk_overlap, taken, length=token_counter(embeddings))
        chunks = kept + new
        if not chunks:
            raise InputError("The index would hold no text; add documents with text in them.")
        known = {}
        if old is not None:
            vectors = old.dense.reconstruct_n(0, old.dense.ntotal)
            known = {_text_key(d.page_content): vectors[i] for i, d in enumerate(old.documents)}
        todo = [c for c in chunks if _text_key(c.page_content) not in known]
        if todo:
            fresh = _embed(todo, embeddings, batch_size, progress)
            known |= {_text_key(c.page_content): v for c, v in zip(todo, fresh, strict=True)}
        matrix = np.stack([known[_text_key(c.page_content)] for c in chunks]).astype(np.float32)
        removed = len(old.documents) - len(kept) if old else 0
        stats = {
            "added_chunks": len(new),
            "removed_chunks": removed,
            "embedded_chunks": len(todo),
            "reused_vectors": len(chunks) - len(todo),
            **({"renamed": renamed} if renamed else {}),
        }
        return _write(chunks, matrix, embedder_name, target, chunk_size, chunk_overlap, stats)


def token_counter(embeddings: Embeddings) -> Callable[[str], int]:
    """How chunk_size is counted: in the embedder's own tokens when it exposes `count_tokens` (the local
    MiniLM does), else in words and punctuation (retrieval/bm25.py: count_tokens), near a hosted embedder's."""
    return getattr(embeddings, "count_tokens", count_tokens)


def _well_formed(manifest: Any) -> bool:
    """Whether a manifest has the shape this version writes (a hand-edited or damaged one may not)."""
    types = {"format_version": int, "chunks": int, "sources": list, "sha256": dict, "embedder": str}
    return isinstance(manifest, dict) and all(isinstance(manifest.get(k), t) for k, t in types.items())


def keep_apart(add: Sequence[Document], indexed: Sequence[Document]) -> tuple[list[Document], dict[str, str]]:
    """Added documents whose source the index holds from another file (its recorded `path` differs) get a
    source qualified by their folders ("b/notes.md"), so that adding one file never replaces another's text.
    Returns the documents and {path: new source} for those renamed."""
    origin = {d.metadata.get("source"): d.metadata.get("path") for d in indexed}
    renamed: dict[str, str] = {}
    kept = []
    for doc in add:
        source, path = doc.metadata.get("source"), str(doc.metadata.get("path") or "")
        if path and source in origin and origin[source] and origin[source] != path:
            if path not in renamed:
                parts = Path(path).parts
                for depth in range(2, len(parts) + 1):
                    candidate = "/".join(parts[-depth:]).lstrip("/")
                    if origin.get(candidate) in (None, path):
                        break
                renamed[path] = candidate
            new = renamed[path]
            key, name = str(doc.metadata.get("doc_key", source)), str(source)
            key = new + key[len(name) :] if key.startswith(name) else key
            doc = Document(page_content=doc.page_content, metadata={**doc.metadata, "source": new, "doc_key": key})
        kept.append(doc)
    return kept, renamed


def _current(
    target: Path, embedder_name: str, chunk_size: int, chunk_overlap: int, keep_sources: bool
) -> HybridIndex | None:
    """The index now at target, if there is one this update can build on.

    A rebuild can start over from an unreadable index or one built with other
    settings; an update that keeps the other sources cannot, and says so.
    """
    if not target.exists():
        return None
    if not (target / "manifest.json").exists():
        if target.is_dir() and not any(target.iterdir()):
            return None
        raise InputError(f"{target} exists and is not a ragloop index; choose another --index folder.")
    try:
        old = HybridIndex.load(target)
    except IndexLoadError as exc:
        if keep_sources:
            raise InputError(
                f"{exc} Adding to or deleting from it is not possible; rebuild it from all "
                "its files with `ragloop index PATH...`."
            ) from None
        return None  # unreadable: rebuilt from what is given
    same = (old.manifest.get("embedder"), old.manifest.get("chunk_size"), old.manifest.get("chunk_overlap")) == (
        embedder_name,
        chunk_size,
        chunk_overlap,
    )
    if not same and keep_sources:
        raise InputError(
            f"The index at {target} was built with {old.manifest.get('embedder')} and chunks of "
            f"{old.manifest.get('chunk_size')}/{old.manifest.get('chunk_overlap')}, not {embedder_name} and "
            f"{chunk_size}/{chunk_overlap}; use the same settings, or rebuild it from all its files."
        )
    return old if same else None


def _write(
    chunks: list[Document],
    matrix: np.ndarray,
    embedder_name: str,
    target: Path,
    chunk_size: int,
    chunk_overlap: int,
    stats: dict,
) -> dict:
    import faiss

    staged = new_staging(target)
    try:
        with open(staged / "documents.jsonl", "w", encoding="utf-8") as fh:
            for chunk in chunks:
                record = {"id": chunk.metadata["id"], "text": chunk.page_content, "metadata": chunk.metadata}
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        dense = faiss.IndexFlatIP(matrix.shape[1])
        dense.add(matrix)
        faiss.write_index(dense, str(staged / "dense.faiss"))
        bm25 = BM25([analyse(c.page_content) for c in chunks])
        (staged / "bm25.json").write_text(json.dumps(bm25.to_json()), encoding="utf-8")
        manifest = {
            "format_version": FORMAT_VERSION,
            "embedder": embedder_name,
            "dimension": int(matrix.shape[1]),
            "chunks": len(chunks),
            "documents": len({c.metadata.get("doc_key") for c in chunks}),
            "sources": sorted({str(c.metadata.get("source")) for c in chunks}),
            "chunk_size": chunk_size,
            "chunk_overlap": chunk_overlap,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "last_update": stats,
            "sha256": {name: sha256_file(staged / name) for name in FILES},
        }
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        publish(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return manifest


def matches(metadata: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """Whether a chunk's metadata matches a filter: every key equal to its value, or to one of a list's."""
    for key, wanted in where.items():
        value = metadata.get(key)
        if isinstance(wanted, list | tuple | set):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


@dataclass
class HybridIndex:
    """A loaded index: BM25 and dense search, fused by weighted reciprocal rank."""

    path: Path
    manifest: dict
    documents: list[Document]
    dense: Any  # faiss.Index (faiss ships no type hints)
    bm25: BM25

    @classmethod
    def load(cls, path: str | Path, embedder_name: str | None = None) -> HybridIndex:
        import faiss

        path = Path(path).expanduser()
        hint = "build it with `ragloop index PATH...` (or `ragloop demo`)"
        manifest_file = path / "manifest.json"
        if not manifest_file.exists():
            raise IndexLoadError(f"No ragloop index at {path}; {hint}.")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise IndexLoadError(f"The index manifest at {manifest_file} is unreadable; rebuild it: {hint}.") from exc
        if not _well_formed(manifest):
            raise IndexLoadError(
                f"The index manifest at {manifest_file} is damaged (fields of the wrong type); {hint}."
            )
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexLoadError(
                f"The index at {path} has format version {manifest.get('format_version')!r}, "
                f"this ragloop reads version {FORMAT_VERSION}; rebuild it: {hint}."
            )
        if embedder_name is not None and manifest.get("embedder") != embedder_name:
            raise IndexLoadError(
                f"The index at {path} was embedded with {manifest.get('embedder')!r} but the embedder "
                f"configured is {embedder_name!r}; rebuild the index or configure the same embedder."
            )
        for name in FILES:
            file = path / name
            if not file.exists() or sha256_file(file) != manifest.get("sha256", {}).get(name):
                raise IndexLoadError(f"The index file {file} is missing or corrupt (checksum mismatch); {hint}.")
        documents = []
        with open(path / "documents.jsonl", encoding="utf-8") as fh:
            for line in fh:
                record = json.loads(line)
                documents.append(Document(page_content=record["text"], metadata=record["metadata"]))
        dense = faiss.read_index(str(path / "dense.faiss"))
        bm25 = BM25.from_json(json.loads((path / "bm25.json").read_text(encoding="utf-8")))
        if not (len(documents) == dense.ntotal == len(bm25.corpus_terms) == manifest.get("chunks")):
            raise IndexLoadError(f"The index at {path} is inconsistent (counts differ between files); {hint}.")
        return cls(path=path, manifest=manifest, documents=documents, dense=dense, bm25=bm25)

    def __len__(self) -> int:
        return len(self.documents)

    def search(
        self,
        query: str,
        query_vector: Sequence[float],
        k: int,
        *,
        bm25_weight: float,
        dense_weight: float,
        rrf_c: int,
        where: Mapping[str, Any] | None = None,
    ) -> list[Document]:
        """The top-k chunks by weighted RRF of BM25 and dense ranks: exactly min(k, chunks searched) unique.

        `where` keeps the search to chunks whose metadata matches it (see :func:`matches`); BM25 and dense
        search alike only ever rank those. Each returned Document carries its ``bm25_score``,
        ``dense_score`` (cosine) and ``retrieval_score`` (fused) in its metadata, for the rerankers.
        """
        allowed = self.matching(where)
        if allowed is not None and not len(allowed):
            return []
        if allowed is not None:
            k = min(k, len(allowed))
        vector, dense_ranked = self.dense_search(query_vector, k, allowed)
        bm25_scores = self.bm25.scores(query)
        if allowed is not None:  # the others rank below every allowed chunk, so the top k are all allowed
            masked = np.full(len(self.documents), -np.inf)
            masked[allowed] = bm25_scores[allowed]
            bm25_scores = masked
        return self.fuse(
            bm25_scores,
            vector,
            dense_ranked,
            k,
            bm25_weight=bm25_weight,
            dense_weight=dense_weight,
            rrf_c=rrf_c,
        )

    def matching(self, where: Mapping[str, Any] | None) -> np.ndarray | None:
        """Ids of the chunks whose metadata matches `where`; None when there is no filter."""
        if not where:
            return None
        return np.array([i for i, d in enumerate(self.documents) if matches(d.metadata, where)], dtype=np.int64)

    def dense_search(
        self, query_vector: Sequence[float], k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, list[int]]:
        """(the unit query vector, ids of the k nearest chunks by cosine, best first), among `allowed` ids."""
        import faiss

        vector = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        vector /= max(float(np.linalg.norm(vector)), 1e-12)
        if allowed is None:
            _, dense_ids = self.dense.search(vector, min(k, len(self.documents)))
        else:
            selector = faiss.IDSelectorBatch(allowed)  # kept in a local: params does not own it
            params = faiss.SearchParameters()
            params.sel = selector
            _, dense_ids = self.dense.search(vector, min(k, len(allowed)), params=params)
        return vector[0], [int(i) for i in dense_ids[0] if i >= 0]

    def fuse(
        self,
        bm25_scores: np.ndarray,
        vector: np.ndarray,
        dense_ranked: Sequence[int],
        k: int,
        *,
        bm25_weight: float,
        dense_weight: float,
        rrf_c: int,
    ) -> list[Document]:
        """The search result from BM25 scores of every chunk and the dense ranking (see :meth:`search`).

        Split from :meth:`search` so a benchmark can score a query once and fuse it several ways.
        """
        k = min(k, len(self.documents))
        rankings = []
        if bm25_weight > 0:
            rankings.append((np.argsort(-bm25_scores, kind="stable")[:k].tolist(), bm25_weight))
        if dense_weight > 0:
            rankings.append((list(dense_ranked[:k]), dense_weight))
        # Each ranking holds k distinct ids, so their union holds at least k.
        fused = weighted_rrf(rankings, c=rrf_c)[:k]
        ids = [i for i, _ in fused]
        cosines = self.dense.reconstruct_batch(np.asarray(ids, dtype=np.int64)) @ vector
        results = []
        for (i, fused_score), cosine in zip(fused, cosines, strict=True):
            doc = self.documents[i]
            meta = {
                **doc.metadata,
                "retrieval_score": round(float(fused_score), 6),
                "bm25_score": round(float(bm25_scores[i]), 4),
                "dense_score": round(float(cosine), 4),
            }
            results.append(Document(page_content=doc.page_content, metadata=meta))
        return results
