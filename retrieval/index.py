"""The local hybrid index: segments of BM25 postings, vectors and chunks, published atomically, no pickle.

Layout of an index version (retrieval/versions.py swaps versions)::

    manifest.json     format version, embedder, chunking, counts, sources, and per segment its sha256s
    s-<time>/         one segment (retrieval/segment.py); later versions hard-link its files

`build_index` writes one segment. `update_index` adds a segment holding only the new chunks and marks
replaced or deleted chunks in the older segments' deletion masks; when there are more than
`MAX_SEGMENTS` segments, or a quarter of the chunks are deleted, the small segments (or all of them) are
merged into one. BM25 statistics are summed over segments at query time, so a search gives the same
scores however the chunks are split into segments (retrieval/bm25.py).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ragloop.errors import IndexLoadError, InputError
from ragloop.fileutil import path_fingerprint, sha256_file
from ragloop.logic import filters
from ragloop.retrieval.bm25 import count_tokens, idf_weights
from ragloop.retrieval.fusion import weighted_rrf
from ragloop.retrieval.segment import SHARED, Segment, SegmentWriter, text_hash, top
from ragloop.retrieval.versions import new_staging, publish, writer_lock

FORMAT_VERSION = 2
MAX_SEGMENTS = 8
#: A segment of this many chunks or more searches dense vectors approximately (FAISS HNSW); the default of
#: the `ann_threshold` setting.
ANN_THRESHOLD = 50_000
#: HNSW ef (candidates explored per query): the default of the `ann_probes` setting.
ANN_PROBES = 512

__all__ = ["HybridIndex", "build_index", "chunk_documents", "update_index"]

#: Called as progress(done, total) while chunks are embedded.
Progress = Callable[[int, int], None]
#: Segment files checked against the manifest's sha256 in this process: (device, inode, size, mtime, sha256).
#: Later versions hard-link unchanged files, so each file is read once however many versions share it.
_verified: set[tuple[int, int, int, int, str]] = set()


def chunk_documents(
    docs: Iterable[Document],
    chunk_size: int,
    chunk_overlap: int,
    taken: set[str] | frozenset[str] = frozenset(),
    length: Callable[[str], int] = count_tokens,
) -> list[Document]:
    """Split with LangChain's recursive splitter into chunks of at most chunk_size by `length` (the embedder's
    tokens when it has a tokenizer: see `token_counter`); ids are unique (also against `taken`)."""
    return list(iter_chunks(docs, chunk_size, chunk_overlap, taken, length))


def iter_chunks(
    docs: Iterable[Document],
    chunk_size: int,
    chunk_overlap: int,
    taken: set[str] | frozenset[str] = frozenset(),
    length: Callable[[str], int] = count_tokens,
) -> Iterator[Document]:
    """chunk_documents, one chunk at a time as the documents arrive."""
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=chunk_size, chunk_overlap=chunk_overlap, length_function=length
    )
    seen: dict[str, int] = dict.fromkeys(taken, 0)
    for doc in docs:
        text = doc.page_content
        # A document that fits is its own chunk (what the splitter returns for it, at a fraction of the cost).
        pieces = [text.strip()] if length(text) <= chunk_size and text.strip() else splitter.split_text(text)
        for n, piece in enumerate(pieces):
            key = doc.metadata["doc_key"] if len(pieces) == 1 else f"{doc.metadata['doc_key']}:{n}"
            if key in seen:  # the same key twice (e.g. one file given twice): keep both, apart
                seen[key] += 1
                key = f"{key}~{seen[key]}"
            else:
                seen[key] = 0
            yield Document(page_content=piece, metadata={**doc.metadata, "id": key})


def embed_chunks(
    chunks: Sequence[Document], embeddings: Embeddings, batch_size: int, progress: Progress | None
) -> np.ndarray:
    """Unit vectors of the chunks, embedded in batches of similar length (little padding), in their order."""
    order = sorted(range(len(chunks)), key=lambda i: len(chunks[i].page_content))
    matrix: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        vectors = np.asarray(embeddings.embed_documents([chunks[i].page_content for i in batch]), dtype=np.float32)
        if matrix is None:
            matrix = np.zeros((len(chunks), vectors.shape[1]), dtype=np.float32)
        matrix[batch] = vectors
        if progress:
            progress(min(start + batch_size, len(chunks)), len(chunks))
    assert matrix is not None
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def build_index(
    docs: Iterable[Document],
    embeddings: Embeddings,
    embedder_name: str,
    target: str | Path,
    *,
    chunk_size: int = 400,
    chunk_overlap: int = 50,
    batch_size: int = 64,
    progress: Progress | None = None,
    ann_threshold: int = ANN_THRESHOLD,
) -> dict:
    """An index of exactly these documents at target (replacing what is there); returns its manifest.

    The documents may be any iterable (a generator reading files as it goes): they are chunked, embedded
    and written `STREAM_BATCH` chunks at a time, so memory does not grow with the corpus. Chunks whose text
    the current index already holds keep their vectors: only new or changed text is embedded.
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
        ann_threshold=ann_threshold,
    )


def update_index(
    target: str | Path,
    embeddings: Embeddings,
    embedder_name: str,
    *,
    add: Iterable[Document] = (),
    delete_sources: Sequence[str] = (),
    replace_all: bool = False,
    chunk_size: int = 400,
    chunk_overlap: int = 50,
    batch_size: int = 64,
    progress: Progress | None = None,
    tenant: str | None = None,
    ann_threshold: int = ANN_THRESHOLD,
) -> dict:
    """Add, replace or delete documents by source and publish the result as a new version, atomically.

    With a `tenant` (per-key tenancy) the added documents are stamped with it and sources are that tenant's
    alone: another tenant's source of the same name is neither replaced nor deleted.

    A document whose ``source`` the index holds replaces every chunk of that source; ``delete_sources``
    removes sources from BM25 and dense search alike. Only chunks whose text is not among the replaced
    ones (for a rebuild: not in the index) are embedded. Returns the new manifest, whose ``last_update``
    counts what changed.
    """
    target = Path(target).expanduser()
    read = _Counted(add)
    add = owned_by(read, tenant)
    length = token_counter(embeddings)
    with writer_lock(target):
        old = _current(target, embedder_name, chunk_size, chunk_overlap, keep_sources=not replace_all)
        meta = {"embedder": embedder_name, "chunk_size": chunk_size, "chunk_overlap": chunk_overlap}
        stats: dict[str, Any] = {"removed_chunks": len(old) if old and replace_all else 0}
        if replace_all or old is None:
            # A rebuild streams: documents are chunked, embedded and written as they arrive.
            reuse = _Reuse(old.segments if old else [], [s.live() for s in old.segments] if old else [])
            chunks = iter_chunks(add, chunk_size, chunk_overlap, length=length)
            return _write(
                target,
                old,
                [],
                [],
                [],
                chunks,
                reuse,
                embeddings,
                batch_size,
                progress,
                read,
                meta,
                stats,
                ann_threshold,
            )
        add = list(add)
        add, renamed = keep_apart(add, old.origins(tenant, source_names(add)))
        missing = set(delete_sources) - set(old.sources(tenant))
        if missing:
            raise InputError(
                f"Nothing indexed comes from {', '.join(sorted(missing))}; `ragloop index --list` shows the sources."
            )
        segments = old.segments
        replaced = {str(d.metadata.get("source")) for d in add} | set(delete_sources)
        gone = [old.owned(s, replaced, tenant) for s in segments]
        new = chunk_documents(add, chunk_size, chunk_overlap, old.ids_of(replaced, exclude_tenant=tenant), length)
        deleted = [~s.live() | g for s, g in zip(segments, gone, strict=True)]
        if not sum(int((~d).sum()) for d in deleted) + len(new):
            raise InputError("The index would hold no text; add documents with text in them.")
        stats |= {"removed_chunks": sum(int(g.sum()) for g in gone), **({"renamed": renamed} if renamed else {})}
        merge = _to_merge(segments, deleted, len(new))  # the merged segments' live chunks join the new segment
        carried = [(segments[j], ~deleted[j]) for j in merge]
        kept = [j for j in range(len(segments)) if j not in merge]
        counted = _Counted(new)
        return _write(
            target,
            old,
            [segments[j] for j in kept],
            [deleted[j] for j in kept],
            carried,
            iter(counted),
            _Reuse(segments, gone),
            embeddings,
            batch_size,
            progress,
            counted,
            meta,
            stats,
            ann_threshold,
        )


#: Chunks chunked, embedded and written together while an index is built or updated.
STREAM_BATCH = 8192


class _Reuse:
    """The vectors of chunks an update may reuse, found by their text's hash: sorted 8-byte keys and a
    check of the whole hash, rather than a dictionary of a million vectors."""

    def __init__(self, segments: Sequence[Segment], masks: Sequence[np.ndarray]):
        rows = [np.flatnonzero(m) for m in masks]
        self._segments = segments
        self._where = [(j, r) for j, r in enumerate(rows) if len(r)]
        hashes = [np.asarray(segments[j].hashes[r]) for j, r in self._where]
        self._hashes = np.concatenate(hashes) if hashes else np.zeros((0, 16), np.uint8)
        keys = np.ascontiguousarray(self._hashes[:, :8]).view("<u8").ravel()
        self._order = np.argsort(keys, kind="stable")
        self._keys = keys[self._order]

    def find(self, hashes: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """(which of the hashes have a vector, those vectors)."""
        wanted = np.frombuffer(b"".join(hashes), dtype=np.uint8).reshape(-1, 16)
        if not len(self._keys) or not len(wanted):
            return np.zeros(len(wanted), bool), np.zeros((0, 0), np.float32)
        at = np.minimum(
            np.searchsorted(self._keys, np.ascontiguousarray(wanted[:, :8]).view("<u8").ravel()), len(self._keys) - 1
        )
        position = self._order[at]
        found = (self._hashes[position] == wanted).all(axis=1)
        position = position[found]
        bases = np.cumsum([0] + [len(r) for _, r in self._where])
        part = np.searchsorted(bases, position, side="right") - 1
        vectors = np.zeros((len(position), self._segments[0].vectors.shape[1]), np.float32)
        for k in np.unique(part):
            j, rows = self._where[k]
            here = part == k
            vectors[here] = self._segments[j].vectors[rows[position[here] - bases[k]]]
        return found, vectors


def _to_merge(segments: Sequence[Segment], deleted: Sequence[np.ndarray], adding: int) -> list[int]:
    """Segments to fold into the new one: all when a quarter of the chunks are deleted, the small ones when
    there would be more than MAX_SEGMENTS, else none."""
    total = sum(s.size for s in segments) + adding
    dead = sum(int(d.sum()) for d in deleted)
    if segments and dead * 4 >= total:
        return list(range(len(segments)))
    if len(segments) + bool(adding) > MAX_SEGMENTS:
        largest = max(range(len(segments)), key=lambda j: segments[j].size)
        return [j for j in range(len(segments)) if j != largest]
    return []


def _write(
    target: Path,
    old: HybridIndex | None,
    segments: Sequence[Segment],
    deleted: Sequence[np.ndarray],
    carried: Sequence[tuple[Segment, np.ndarray]],
    new: Iterator[Document],
    reuse: _Reuse,
    embeddings: Embeddings,
    batch_size: int,
    progress: Progress | None,
    read: _Counted,
    meta: dict,
    stats: dict,
    ann_threshold: int,
) -> dict:
    """Publish the next version: the kept segments hard-linked (with their new deletion masks), and one new
    segment of the carried segments' live chunks followed by the new chunks, written batch by batch."""
    staged = new_staging(target)
    name = f"s-{time.time_ns()}"
    writer = SegmentWriter(staged / name)
    try:
        described: list[dict[str, Any]] = []
        for segment, dead in zip(segments, deleted, strict=True):
            folder = staged / segment.folder.name
            folder.mkdir()
            sha = dict(old.segment_sha(segment.folder.name)) if old else {}
            sha.pop("deleted.npy", None)
            for file in sha:
                _link(segment.folder / file, folder / file)
            if dead.any():
                np.save(folder / "deleted.npy", dead, allow_pickle=False)
                sha["deleted.npy"] = sha256_file(folder / "deleted.npy")
            described.append({"name": folder.name, "chunks": segment.size, "deleted": int(dead.sum()), "sha256": sha})
        for segment, live in carried:
            rows = np.flatnonzero(live)
            for start in range(0, len(rows), STREAM_BATCH):
                block = rows[start : start + STREAM_BATCH]
                writer.append([segment.document(int(i)) for i in block], np.asarray(segment.vectors[block]))
        stats |= _fill(writer, new, reuse, embeddings, batch_size, progress, read)
        if writer.size:
            sha = writer.finish(ann_threshold=ann_threshold)
            described.append({"name": name, "chunks": writer.size, "deleted": 0, "sha256": sha})
        else:
            writer.abandon()
            shutil.rmtree(staged / name)
        opened = list(segments) + ([Segment.open(staged / name, ann=False)] if writer.size else [])
        counts = _counts(opened, [~d for d in deleted] + ([np.ones(writer.size, bool)] if writer.size else []))
        if not counts["chunks"]:
            raise InputError("The index would hold no text; add documents with text in them.")
        manifest = {
            "format_version": FORMAT_VERSION,
            **meta,
            "dimension": writer.dimension or int(opened[0].vectors.shape[1]),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "last_update": stats,
            "segments": described,
            **counts,
        }
        (staged / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        publish(staged, target)
    except BaseException:
        writer.abandon()
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return manifest


def _fill(
    writer: SegmentWriter,
    chunks: Iterator[Document],
    reuse: _Reuse,
    embeddings: Embeddings,
    batch_size: int,
    progress: Progress | None,
    read: _Counted,
) -> dict[str, int]:
    """Write the chunks as they are embedded (embedded_batches); returns the counts for `last_update`."""
    added = embedded = 0
    for batch, _, matrix, fresh in embedded_batches(chunks, reuse.find, embeddings, batch_size, progress, read):
        writer.append(batch, matrix)
        added, embedded = added + len(batch), embedded + fresh
    return {"added_chunks": added, "embedded_chunks": embedded, "reused_vectors": added - embedded}


#: known(hashes) -> (which of the texts already have a vector, those vectors in order).
Known = Callable[[Sequence[bytes]], tuple[np.ndarray, np.ndarray]]


def embedded_batches(
    chunks: Iterator[Document],
    known: Known,
    embeddings: Embeddings,
    batch_size: int,
    progress: Progress | None,
    read: _Counted | None = None,
) -> Iterator[tuple[list[Document], list[bytes], np.ndarray, int]]:
    """The chunks STREAM_BATCH at a time, each batch with its text hashes, its unit vectors (embedding only
    text `known` has no vector for) and how many it embedded. progress hears (embedded, to embed): exact
    once every document is read, until then projected from the share of the documents `read` (when known)."""
    embedded = 0
    while batch := list(itertools.islice(chunks, STREAM_BATCH)):
        hashes = [text_hash(c.page_content) for c in batch]
        found, reused = known(hashes)
        todo = [c for c, f in zip(batch, found, strict=True) if not f]
        dimension = reused.shape[1] if found.any() else 0
        if todo:
            to_embed = embedded + len(todo)
            if read is not None and (share := read.share()) and share < 1:
                to_embed = max(to_embed, round(to_embed / share))

            def told(done: int, _: int, before: int = embedded, to_embed: int = to_embed) -> None:
                if progress:
                    progress(before + done, to_embed)

            fresh = embed_chunks(todo, embeddings, batch_size, told)
            dimension = fresh.shape[1]
        matrix = np.zeros((len(batch), dimension), np.float32)
        if todo:
            matrix[~found] = fresh
        if found.any():
            matrix[found] = reused
        embedded += len(todo)
        yield batch, hashes, matrix, len(todo)


class _Counted:
    """Documents passed through, counted as they are read."""

    def __init__(self, documents: Iterable[Document]):
        self._total = len(documents) if isinstance(documents, Sized) else None
        self.n = 0
        self._documents = documents

    def share(self) -> float | None:
        """The part of the documents read so far, when it is known: of a sequence, by count; of a stream that
        says how much of its input it has read (`share()`, as loaders.FileStream does), by its word."""
        if callable(told := getattr(self._documents, "share", None)):
            return told()
        return self.n / self._total if self._total else None

    def __iter__(self) -> Iterator[Document]:
        for doc in self._documents:
            self.n += 1
            yield doc


def _link(source: Path, dest: Path) -> None:
    """Share an immutable segment file with the next version (a copy where hard links are not possible)."""
    try:
        os.link(source, dest)
    except OSError:
        shutil.copy2(source, dest)


def _counts(segments: Sequence[Segment], masks: Sequence[np.ndarray]) -> dict[str, Any]:
    """Chunks, documents and sources of the chunks the masks select. A document's chunks are all in one
    segment (adding a source replaces all of it), so documents are counted per segment."""
    chunks, documents, sources = 0, 0, set()
    for s, mask in zip(segments, masks, strict=True):
        chunks += int(mask.sum())
        if "doc_key" in s.columns:
            documents += len(np.unique(s.codes_of("doc_key")[mask]))
        if "source" in s.columns:
            values = s.values("source")
            sources |= {str(values[c]) for c in np.unique(s.codes_of("source")[mask])}
    return {"chunks": chunks, "documents": documents, "sources": sorted(sources)}


def token_counter(embeddings: Embeddings) -> Callable[[str], int]:
    """How chunk_size is counted: in the embedder's own tokens when it exposes `count_tokens` (the local
    MiniLM does), else in words and punctuation (retrieval/bm25.py: count_tokens), near a hosted embedder's."""
    return getattr(embeddings, "count_tokens", count_tokens)


def _well_formed(manifest: Any) -> bool:
    """Whether a manifest has the shape this version writes (a hand-edited or damaged one may not)."""
    types = {"format_version": int, "chunks": int, "sources": list, "segments": list, "embedder": str}
    return (
        isinstance(manifest, dict)
        and all(isinstance(manifest.get(k), t) for k, t in types.items())
        and all(isinstance(s, dict) and isinstance(s.get("sha256"), dict) for s in manifest["segments"])
    )


def source_names(add: Sequence[Document]) -> list[str]:
    """The sources added documents may take: their own, and each folder-qualified name keep_apart may give."""
    names = set()
    for doc in add:
        names.add(str(doc.metadata.get("source")))
        parts = Path(str(doc.metadata.get("path") or "")).parts
        names |= {"/".join(parts[-depth:]).lstrip("/") for depth in range(2, len(parts) + 1)}
    return sorted(names)


def recorded_origin(value: Any, key: str) -> str | None:
    """The fingerprint of the file a source was indexed from, as its chunks record it: `origin`, or, in an
    index written before fingerprints, the absolute `path` it fingerprints."""
    if not value:
        return None
    return str(value) if key == "origin" else path_fingerprint(str(value))


def keep_apart(add: Sequence[Document], origin: Mapping[str, str | None]) -> tuple[list[Document], dict[str, str]]:
    """Added documents whose source the index holds from another file (its recorded `origin` differs) get a
    source qualified by their folders ("b/notes.md", from their relative `path`), so that adding one file
    never replaces another's text. Returns the documents and {path: new source} for those renamed."""
    renamed: dict[str, str] = {}
    kept = []
    for doc in add:
        source, path = str(doc.metadata.get("source")), str(doc.metadata.get("path") or "")
        mine = str(doc.metadata.get("origin") or "")
        if mine and source in origin and origin[source] and origin[source] != mine:
            if path not in renamed:
                parts = Path(path).parts
                candidate = source
                for depth in range(2, len(parts) + 1):
                    candidate = "/".join(parts[-depth:]).lstrip("/")
                    if origin.get(candidate) in (None, mine):
                        break
                renamed[path] = candidate
            new = renamed[path]
            key, name = str(doc.metadata.get("doc_key", source)), str(source)
            key = new + key[len(name) :] if key.startswith(name) else key
            doc = Document(page_content=doc.page_content, metadata={**doc.metadata, "source": new, "doc_key": key})
        kept.append(doc)
    return kept, renamed


@dataclass
class Replacement:
    """What an engine backend's update replaces: the documents to add (renamed apart from same-named sources
    of other folders), the renames, the sources replaced, the caller's rows of those sources (the fields
    asked for), and the chunk ids other tenants hold under them."""

    add: list[Document]
    renamed: dict[str, str]
    replaced: list[str]
    old: list[dict]
    taken: set[str]


#: rows(whose, sources, fields): an engine's rows of these sources, whose "mine" (the caller's tenant) or
#: "others", each with the fields asked for and `metadata` as a dict.
Rows = Callable[[str, Sequence[str], list[str]], Iterable[dict]]


def owned_by(documents: Iterable[Document], tenant: str | None) -> Iterable[Document]:
    """The documents, each tagged with ``tenant`` when one is given (lazily: a stream stays a stream)."""
    if not tenant:
        return documents
    return (Document(page_content=d.page_content, metadata={**d.metadata, "tenant": tenant}) for d in documents)


def replacement(add: list[Document], delete_sources: Sequence[str], rows: Rows, old_fields: list[str]) -> Replacement:
    """Plan an engine backend's update of an existing collection (Milvus, LanceDB) from its rows."""
    names = source_names(add)
    origin = {}
    if names:
        for row in rows("mine", names, ["source", "metadata"]):
            meta = row["metadata"]
            origin[row["source"]] = recorded_origin(meta.get("origin"), "origin") or recorded_origin(
                meta.get("path"), "path"
            )
    kept, renamed = keep_apart(add, origin)
    if delete_sources:
        missing = set(delete_sources) - {r["source"] for r in rows("mine", delete_sources, ["source"])}
        if missing:
            raise InputError(
                f"Nothing indexed comes from {', '.join(sorted(missing))}; `ragloop index --list` shows the sources."
            )
    replaced = sorted({str(d.metadata["source"]) for d in kept} | set(delete_sources))
    if not replaced:
        return Replacement(kept, renamed, [], [], set())
    old = list(rows("mine", replaced, old_fields))
    taken = {r["chunk_id"] for r in rows("others", replaced, ["chunk_id"])}
    return Replacement(kept, renamed, replaced, old, taken)


def _current(
    target: Path, embedder_name: str, chunk_size: int, chunk_overlap: int, keep_sources: bool
) -> HybridIndex | None:
    """The index now at target, if there is one this update can build on.

    A rebuild can start over from an unreadable index or one built with other settings; an update that
    keeps the other sources cannot, and says so.
    """
    if not target.exists():
        return None
    if not (target / "manifest.json").exists():
        if target.is_dir() and not any(target.iterdir()):
            return None
        raise InputError(f"{target} exists and is not a ragloop index; choose another --index folder.")
    try:
        old = HybridIndex.load(target, ann=False)
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


def _verify(folder: Path, sha256: Mapping[str, str], hint: str) -> None:
    """Each file of a segment is the one the manifest names (checked once per file per process)."""
    for name, digest in sha256.items():
        file = folder / name
        try:
            st = file.stat()
        except OSError:
            raise IndexLoadError(f"The index file {file} is missing or corrupt (checksum mismatch); {hint}.") from None
        key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, digest)
        if key in _verified:
            continue
        if sha256_file(file) != digest:
            raise IndexLoadError(f"The index file {file} is missing or corrupt (checksum mismatch); {hint}.")
        _verified.add(key)
    missing = [n for n in SHARED if n not in sha256]
    if missing:
        raise IndexLoadError(f"The index segment {folder} lacks {', '.join(missing)}; {hint}.")


class Documents(Sequence[Document]):
    """The index's live chunks as a read-only sequence, each read from disk when asked for."""

    def __init__(self, index: HybridIndex):
        self._index = index
        self._ids = np.flatnonzero(index.live)

    def __len__(self) -> int:
        return len(self._ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._index.document(int(g)) for g in self._ids[i]]
        return self._index.document(int(self._ids[i]))

    def __iter__(self) -> Iterator[Document]:
        return (self._index.document(int(g)) for g in self._ids)


@dataclass
class HybridIndex:
    """A loaded index: BM25 and dense search over its segments, fused by weighted reciprocal rank.

    Chunks are numbered across segments (segment after segment, deleted ones included), and
    :meth:`document` reads one by that number.
    """

    path: Path
    manifest: dict
    segments: list[Segment]
    live: np.ndarray  # bool per chunk number: not deleted
    bases: np.ndarray  # first chunk number of each segment, and the total

    @classmethod
    def load(cls, path: str | Path, embedder_name: str | None = None, ann: bool = True) -> HybridIndex:
        """The index at path, checked; `ann=False` leaves the ANN indexes on disk (for an update)."""
        path = Path(path).expanduser()
        hint = "build it with `ragloop index PATH...` (or `ragloop demo`)"
        manifest_file = path / "manifest.json"
        if not manifest_file.exists():
            raise IndexLoadError(f"No ragloop index at {path}; {hint}.")
        try:
            manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise IndexLoadError(f"The index manifest at {manifest_file} is unreadable; rebuild it: {hint}.") from exc
        if isinstance(manifest, dict) and manifest.get("format_version") != FORMAT_VERSION:
            raise IndexLoadError(
                f"The index at {path} has format version {manifest.get('format_version')!r}, "
                f"this ragloop reads version {FORMAT_VERSION}; rebuild it: {hint}."
            )
        if not _well_formed(manifest):
            raise IndexLoadError(
                f"The index manifest at {manifest_file} is damaged (fields of the wrong type); {hint}."
            )
        if embedder_name is not None and manifest.get("embedder") != embedder_name:
            raise IndexLoadError(
                f"The index at {path} was embedded with {manifest.get('embedder')!r} but the embedder "
                f"configured is {embedder_name!r}; rebuild the index or configure the same embedder."
            )
        path = path.resolve()  # this version, even if the link moves on while it is read
        segments = []
        for described in manifest["segments"]:
            folder = path / str(described.get("name"))
            _verify(folder, described["sha256"], hint)
            segment = Segment.open(folder, ann)
            if not segment.consistent() or segment.size != described.get("chunks"):
                raise IndexLoadError(f"The index at {path} is inconsistent (counts differ between files); {hint}.")
            segments.append(segment)
        live = np.concatenate([s.live() for s in segments]) if segments else np.zeros(0, bool)
        if int(live.sum()) != manifest["chunks"]:
            raise IndexLoadError(f"The index at {path} is inconsistent (counts differ between files); {hint}.")
        bases = np.cumsum([0] + [s.size for s in segments])
        return cls(path=path, manifest=manifest, segments=segments, live=live, bases=bases)

    def __len__(self) -> int:
        return int(self.manifest["chunks"])

    @property
    def documents(self) -> Documents:
        return Documents(self)

    def document(self, number: int) -> Document:
        j = int(np.searchsorted(self.bases, number, side="right")) - 1
        return self.segments[j].document(number - int(self.bases[j]))

    def _vectors(self, numbers: np.ndarray) -> np.ndarray:
        j = np.searchsorted(self.bases, numbers, side="right") - 1
        return np.stack([self.segments[s].vectors[n - self.bases[s]] for s, n in zip(j, numbers, strict=True)])

    # --- what an update needs to know ----------------------------------------------------
    def segment_sha(self, name: str) -> dict[str, str]:
        return next(s["sha256"] for s in self.manifest["segments"] if s["name"] == name)

    def _mine(self, segment: Segment, tenant: str | None) -> np.ndarray:
        """Live chunks of the segment that belong to the tenant (those with no tenant, without one)."""
        return segment.live() & segment.where({"tenant": tenant or None})

    def sources(self, tenant: str | None = None) -> dict[str, int]:
        """{source: live chunks} of the tenant's documents (those with no tenant, without one)."""
        counts: dict[str, int] = {}
        for s in self.segments:
            if "source" in s.columns:
                values = s.values("source")
                codes, n = np.unique(s.codes_of("source")[self._mine(s, tenant)], return_counts=True)
                for code, count in zip(codes, n, strict=True):
                    counts[str(values[code])] = counts.get(str(values[code]), 0) + int(count)
        return dict(sorted(counts.items()))

    def tenant_summary(self, tenant: str) -> dict[str, Any]:
        """chunks, documents and sources of one tenant's documents."""
        return _counts(self.segments, [self._mine(s, tenant) for s in self.segments])

    def origins(self, tenant: str | None, sources: Sequence[str]) -> dict[str, str | None]:
        """{source: the fingerprint of the file it was indexed from (fileutil.path_fingerprint)} of the tenant's
        documents from these sources; an index written before fingerprints recorded the absolute path."""
        origin: dict[str, str | None] = {}
        for s in self.segments:
            rows = np.flatnonzero(self._mine(s, tenant) & s.where({"source": list(sources)}))
            if not len(rows):
                continue
            key = "origin" if "origin" in s.columns else "path"
            names, recorded = s.values("source"), s.values(key) if key in s.columns else [None]
            codes = s.codes_of(key)[rows] if key in s.columns else np.zeros(len(rows), np.int32)
            for name, code in np.unique(np.column_stack([s.codes_of("source")[rows], codes]), axis=0):
                origin[str(names[name])] = recorded_origin(recorded[code], key)
        return origin

    def owned(self, segment: Segment, sources: set[str], tenant: str | None) -> np.ndarray:
        """Live chunks of the segment from these sources, the tenant's."""
        return self._mine(segment, tenant) & segment.where({"source": sorted(sources)})

    def ids_of(self, sources: set[str], exclude_tenant: str | None) -> set[str]:
        """Chunk ids that stay in the index with these source names (other tenants' same-named sources)."""
        ids = set()
        for s in self.segments:
            for i in np.flatnonzero(s.where({"source": sorted(sources)}) & s.live() & ~self._mine(s, exclude_tenant)):
                ids.add(str(s.document(int(i)).metadata["id"]))
        return ids

    # --- search ----------------------------------------------------------------------
    def matching(self, where: Mapping[str, Any] | None) -> np.ndarray | None:
        """Which chunks (by number) are live and match `where`; None when every chunk is and there is no filter."""
        if not where:
            return None if self.live.all() else self.live
        node = filters.parse(where)  # once, for every segment; a malformed filter is one InputError
        return self.live & np.concatenate([s.where(node) for s in self.segments])

    def bm25_scores(self, query: str, allowed: np.ndarray | None = None) -> np.ndarray:
        """BM25 of every chunk by number (-inf where not allowed or deleted)."""
        postings = [s.postings for s in self.segments]
        live_lengths = sum(float(p.lengths[s.live()].sum()) for p, s in zip(postings, self.segments, strict=True))
        chunks = max(len(self), 1)
        weights = idf_weights(query, postings, chunks)
        scores = np.concatenate([p.scores(weights, live_lengths / chunks) for p in postings])
        mask = self.live if allowed is None else allowed
        if not mask.all():
            scores[~mask] = -np.inf
        return scores

    def dense_search(
        self, query_vector: Sequence[float], k: int, allowed: np.ndarray | None = None, probes: int = ANN_PROBES
    ) -> tuple[np.ndarray, list[int]]:
        """(the unit query vector, numbers of the k nearest chunks by cosine, best first), among `allowed`."""
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        mask = allowed if allowed is not None else (None if self.live.all() else self.live)
        ids, sims = [], []
        for j, s in enumerate(self.segments):
            lo, hi = int(self.bases[j]), int(self.bases[j + 1])
            local = None if mask is None else mask[lo:hi]
            if local is not None and not local.any():
                continue
            found, cos = s.dense(vector, k, local, probes)
            ids.append(found + lo)
            sims.append(cos)
        if not ids:
            return vector, []
        numbers, cosines = np.concatenate(ids), np.concatenate(sims)
        return vector, [int(numbers[i]) for i in top(cosines, k)]

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
        probes: int = ANN_PROBES,
    ) -> list[Document]:
        """The top-k chunks by weighted RRF of BM25 and dense ranks: exactly min(k, chunks searched) unique.

        `where` keeps the search to chunks whose metadata matches it (logic/filters.py); BM25 and dense
        search alike only ever rank those. Each returned Document carries its ``bm25_score``,
        ``dense_score`` (cosine) and ``retrieval_score`` (fused) in its metadata, for the rerankers.
        """
        allowed = self.matching(where)
        searched = len(self) if allowed is None else int(allowed.sum())
        if not searched:
            return []
        k = min(k, searched)
        vector, dense_ranked = (
            self.dense_search(query_vector, k, allowed, probes) if dense_weight > 0 else (self._unit(query_vector), [])
        )
        bm25_scores = self.bm25_scores(query, allowed)
        return self.fuse(
            bm25_scores, vector, dense_ranked, k, bm25_weight=bm25_weight, dense_weight=dense_weight, rrf_c=rrf_c
        )

    @staticmethod
    def _unit(query_vector: Sequence[float]) -> np.ndarray:
        vector = np.asarray(query_vector, dtype=np.float32).reshape(-1)
        return vector / max(float(np.linalg.norm(vector)), 1e-12)

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
        k = min(k, int(np.isfinite(bm25_scores).sum()))
        rankings = []
        if bm25_weight > 0:
            rankings.append((bm25_top(bm25_scores, k).tolist(), bm25_weight))
        if dense_weight > 0:
            rankings.append((list(dense_ranked[:k]), dense_weight))
        # Each ranking holds k distinct ids, so their union holds at least k.
        fused = weighted_rrf(rankings, c=rrf_c)[:k]
        ids = np.asarray([i for i, _ in fused], dtype=np.int64)
        cosines = self._vectors(ids) @ vector if len(ids) else []
        results = []
        for (i, fused_score), cosine in zip(fused, cosines, strict=True):
            doc = self.document(i)
            meta = {
                **doc.metadata,
                "retrieval_score": round(float(fused_score), 6),
                "bm25_score": round(float(bm25_scores[i]), 4),
                "dense_score": round(float(cosine), 4),
            }
            results.append(Document(page_content=doc.page_content, metadata=meta))
        return results


def bm25_top(scores: np.ndarray, k: int) -> np.ndarray:
    """The k best chunks by BM25, best first; when fewer than k score above zero, the lowest-numbered
    zero-score chunks follow (as a stable sort of every score would give)."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) >= k:
        return positive[top(scores[positive], k)]
    ranked = positive[np.lexsort((positive, -scores[positive]))]
    return np.concatenate([ranked, np.flatnonzero(scores == 0)[: k - len(positive)]])
