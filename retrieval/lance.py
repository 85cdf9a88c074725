"""The LanceDB backend: one embedded, versioned LanceDB table in a folder (``lancedb:///path/to/folder``),
searched by the engine's own full-text (BM25) and vector (HNSW over 8-bit codes) indexes.

An option beside the local index (docs/measurements/scale.md has the measurements that decided it;
`pip install 'ragloop[lancedb]'`). One table, ``chunks``::

    chunk_id   the chunk's ragloop id           text       the chunk's text
    terms      ragloop's analysed terms (retrieval/bm25.py: analyse), full-text indexed by whitespace
    vector     the unit embedding (dot product = cosine)
    tenant     "" for shared documents          source, doc_key, hash (of the text)
    written    when the row was written (an update deletes the replaced rows written before it)
    metadata   the chunk's metadata, JSON (filters read it with Lance's JSON functions)

BM25 runs over ragloop's own terms, so both embedded backends rank by the same stems; LanceDB's BM25 has
its own constants (k1 1.2), so scores differ from the local index's. The two searches run separately and
are fused here by weighted reciprocal rank, as the other backends do (retrieval/fusion.py). Settings and
the last update are kept in ``ragloop.json`` beside the table, replaced atomically after each write.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ragloop.errors import IndexLoadError, InputError
from ragloop.logic import filters
from ragloop.retrieval.bm25 import analyse
from ragloop.retrieval.fusion import Hit, fused_documents
from ragloop.retrieval.index import Rows, embedded_batches, iter_chunks, owned_by, replacement, token_counter

TABLE = "chunks"
COLUMNS = ("tenant", "source", "doc_key")
PREFIX = "lancedb://"
#: HNSW graph degree and construction breadth of the vector index (as the local index's: one graph, not
#: LanceDB's default of one per IVF partition).
HNSW_M, HNSW_EF_CONSTRUCTION = 32, 128


# --- filters ------------------------------------------------------------------------------------
def sql(where: Mapping[str, Any] | None) -> str | None:
    """A filter (logic/filters.py) as a LanceDB SQL condition with the local index's meaning: `tenant`
    None is the shared documents, a comparison needs the field, values compare only with their own kind."""
    node = filters.parse(where)
    return None if node is None else _sql(node)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql(node: filters.Node) -> str:
    if isinstance(node, filters.All | filters.Any_):
        joiner = " AND " if isinstance(node, filters.All) else " OR "
        return "(" + joiner.join(_sql(part) for part in node.parts) + ")"
    return _column(node) if node.field in COLUMNS else _json(node)


def _column(test: filters.Test) -> str:
    """A test on a text column, where '' stands for a missing value."""
    key, present = test.field, f"{test.field} != ''"
    if test.op == "$exists":
        return present if test.value else f"{key} = ''"
    if test.op in ("$in", "$nin"):
        values = ", ".join(_text(v) for v in test.value if isinstance(v, str)) or "NULL"
        return f"{key} IN ({values})" if test.op == "$in" else f"({present} AND {key} NOT IN ({values}))"
    if not isinstance(test.value, str):  # the columns hold text: no number equals or orders with them
        return "false" if test.op != "$ne" else present
    return f"({present} AND {key} {_OPERATOR[test.op]} {_text(test.value)})"


_OPERATOR = {"$eq": "=", "$ne": "!=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _json(test: filters.Test) -> str:
    """A test on a metadata key: the kind of its value from its JSON text (json_extract), the value itself
    from Lance's typed getters (which convert between kinds, so the kind is checked first)."""
    raw = f"json_extract(metadata, {_text('$[' + json.dumps(test.field) + ']')})"
    present = f"({raw} IS NOT NULL AND {raw} != 'null')"
    if test.op == "$exists":
        return present if test.value else f"NOT {present}"
    if test.op in ("$in", "$nin"):
        one_of = " OR ".join(_equal(test.field, raw, v) for v in test.value if v is not None) or "false"
        return f"({one_of})" if test.op == "$in" else f"({present} AND NOT ({one_of}))"
    if test.op == "$eq":
        return _equal(test.field, raw, test.value)
    if test.op == "$ne":
        return f"({present} AND NOT {_equal(test.field, raw, test.value)})"
    return _kind_and(test.field, raw, test.value, _OPERATOR[test.op])


def _equal(key: str, raw: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"({raw} = {_text(json.dumps(value))})"
    return _kind_and(key, raw, value, "=")


def _kind_and(key: str, raw: str, value: Any, operator: str) -> str:
    if isinstance(value, str):
        return f"({raw} LIKE '\"%' AND json_get_string(metadata, {_text(key)}) {operator} {_text(value)})"
    number = f"({raw} IS NOT NULL AND NOT ({raw} LIKE '\"%' OR {raw} LIKE '[%' OR {raw} LIKE '{{%' OR {raw} IN ('true', 'false', 'null')))"
    return f"({number} AND json_get_float(metadata, {_text(key)}) {operator} {float(value)!r})"


# --- the backend --------------------------------------------------------------------------------
class LanceBackend:
    def __init__(self, location: str, ann_threshold: int, embedder_name: str):
        self.location = location
        self.path = Path(location[len(PREFIX) :]).expanduser()
        self.ann_threshold, self.embedder_name = ann_threshold, embedder_name
        self._table: Any = None
        self._version: Any = None  # of the table held: reopened when ragloop.json names another

    def _db(self) -> Any:
        try:
            import lancedb
        except ImportError:
            raise IndexLoadError(f"index_path {self.location} needs LanceDB: pip install 'ragloop[lancedb]'.") from None
        return lancedb.connect(self.path)

    def _settings(self) -> dict[str, Any]:
        file = self.path / "ragloop.json"
        if not file.exists():
            raise IndexLoadError(f"No ragloop index at {self.location}; build it with `ragloop index PATH...`.")
        return json.loads(file.read_text(encoding="utf-8"))

    def _open(self) -> Any:
        settings = self._settings()
        if settings.get("embedder") != self.embedder_name:
            raise IndexLoadError(
                f"The index at {self.location} was embedded with {settings.get('embedder')!r} but the embedder "
                f"configured is {self.embedder_name!r}; rebuild the index or configure the same embedder."
            )
        if self._table is None or self._version != settings.get("version"):
            # A table checks for other writers' versions only when asked (every query, with a consistency
            # interval of 0, costs ~5 ms): ragloop.json names the version each write published.
            self._table, self._version = self._db().open_table(TABLE), settings.get("version")
        return self._table

    def version(self) -> str:
        try:
            return f"{self.location}@{self._settings().get('version', 0)}"
        except IndexLoadError:
            return f"{self.location}@absent"

    # --- search ---------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        vector: Sequence[float],
        k: int,
        *,
        where: Mapping[str, Any] | None = None,
        bm25_weight: float,
        dense_weight: float,
        rrf_c: int,
        probes: int,
    ) -> list[Document]:
        table = self._open()
        unit = np.asarray(vector, dtype=np.float32)
        unit /= max(float(np.linalg.norm(unit)), 1e-12)
        condition = sql(where)
        terms = " ".join(analyse(query))
        hits: dict[str, Hit] = {}
        bm25: list[tuple[str, float]] = []
        dense: list[str] = []
        if bm25_weight > 0 and terms:
            found = self._bm25(table, terms, k, condition)
            bm25 = [(r["chunk_id"], float(r["_score"])) for r in found]
            hits |= {r["chunk_id"]: _hit(r) for r in found}
        if dense_weight > 0:
            found = self._dense(table, unit, k, condition, probes)
            dense = [r["chunk_id"] for r in found]
            hits |= {r["chunk_id"]: _hit(r) for r in found}

        def bm25_of(ids: list[str]) -> dict[str, float]:
            if not terms:
                return {}
            scope = "chunk_id IN (" + ", ".join(map(_text, ids)) + ")"
            return {r["chunk_id"]: float(r["_score"]) for r in self._bm25(table, terms, len(ids), scope)}

        return fused_documents(
            bm25,
            dense,
            hits,
            unit,
            k=k,
            bm25_weight=bm25_weight,
            dense_weight=dense_weight,
            rrf_c=rrf_c,
            bm25_of=bm25_of,
        )

    @staticmethod
    def _dense(table: Any, unit: np.ndarray, k: int, condition: str | None, probes: int) -> list[dict]:
        search = table.search(unit, vector_column_name="vector").distance_type("dot").limit(k).ef(max(k, probes))
        search = search.refine_factor(2)  # re-scored exactly, as the local index re-scores its candidates
        return _where(search, condition).select([*_FIELDS, "_distance"]).to_list()

    @staticmethod
    def _bm25(table: Any, terms: str, k: int, condition: str | None) -> list[dict]:
        search = table.search(terms, query_type="fts", fts_columns="terms").limit(k)
        return _where(search, condition).select([*_FIELDS, "_score"]).to_list()

    # --- what is indexed ------------------------------------------------------------------------
    def _rows(self, condition: str | None, fields: list[str]) -> list[dict]:
        query = self._open().search().select(fields).limit(None)
        return _where(query, condition).to_list()

    def summary(self, tenant: str | None) -> dict[str, Any]:
        settings = self._settings()
        condition = sql({"tenant": tenant}) if tenant is not None else None
        rows = self._rows(condition, ["source", "doc_key"])
        return {
            "chunks": len(rows),
            "documents": len({r["doc_key"] for r in rows}),
            "sources": sorted({r["source"] for r in rows}),
            "embedder": settings["embedder"],
            "created": settings.get("created"),
            "last_update": None if tenant is not None else settings.get("last_update"),
        }

    # --- update ---------------------------------------------------------------------------------
    def update(
        self,
        embedder: Embeddings,
        embedder_name: str,
        *,
        add: Iterable[Document] = (),
        delete_sources: Sequence[str] = (),
        replace_all: bool = False,
        chunk_size: int = 400,
        chunk_overlap: int = 50,
        batch_size: int = 64,
        progress: Callable[[int, int], None] | None = None,
        tenant: str | None = None,
    ) -> dict[str, Any]:
        chunking = f"{chunk_size}/{chunk_overlap}"
        exists = (self.path / "ragloop.json").exists()
        if exists and not replace_all:
            built = self._settings()
            if (built.get("embedder"), built.get("chunking")) != (embedder_name, chunking):
                raise InputError(
                    f"The index at {self.location} was built with {built.get('embedder')} and chunks of "
                    f"{built.get('chunking')}, not {embedder_name} and {chunking}; use the same settings, or "
                    "rebuild it from all its files."
                )
        add = owned_by(add, tenant)
        written = time.time_ns()
        stats: dict[str, Any] = {"removed_chunks": 0}
        old: dict[bytes, np.ndarray] = {}
        taken: set[str] = set()
        replaced: list[str] = []
        mine = sql({"tenant": tenant})
        if exists and not replace_all:
            plan = replacement(list(add), delete_sources, self._rows_of(mine), ["hash", "vector"])
            add, replaced, taken = plan.add, plan.replaced, plan.taken
            old = {bytes.fromhex(r["hash"]): np.asarray(r["vector"], dtype=np.float32) for r in plan.old}
            if plan.renamed:
                stats["renamed"] = plan.renamed
        chunks = iter_chunks(add, chunk_size, chunk_overlap, taken, length=token_counter(embedder))
        counts = {"added": 0, "embedded": 0}
        batches = self._batches(chunks, old, embedder, batch_size, progress, written, counts)
        db = self._db()
        if replace_all or not exists:
            first = next(batches, None)
            if first is None:
                raise InputError("The index would hold no text; add documents with text in them.")
            mode = "overwrite" if (self.path / f"{TABLE}.lance").exists() else "create"  # "overwrite" warns if none
            table = db.create_table(TABLE, _chained(first, batches), schema=first.schema, mode=mode)
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            stats["removed_chunks"] = self._settings_or({}).get("chunks", 0) if replace_all else 0
        else:
            table = self._open()
            for batch in batches:
                table.add(batch)
            if replaced:
                scope = f"{mine} AND source IN ({', '.join(map(_text, replaced))})"
                stats["removed_chunks"] = table.count_rows(f"{scope} AND written < {written}")
                table.delete(f"{scope} AND written < {written}")
            created = str(self._settings().get("created"))
        total = table.count_rows()
        if not total:
            raise InputError("The index would hold no text; add documents with text in them.")
        self._index(table, fresh=replace_all or not exists)
        stats |= {
            "added_chunks": counts["added"],
            "embedded_chunks": counts["embedded"],
            "reused_vectors": counts["added"] - counts["embedded"],
        }
        settings = {
            "embedder": embedder_name,
            "chunking": chunking,
            "created": created,
            "chunks": total,
            "last_update": stats,
            "version": written,
        }
        staged = self.path / f".ragloop.json.{os.getpid()}"
        staged.write_text(json.dumps(settings), encoding="utf-8")
        staged.replace(self.path / "ragloop.json")
        self._table, self._version = table, written
        return {"chunks": total, "last_update": stats, "embedder": embedder_name}

    def _settings_or(self, default: dict) -> dict:
        try:
            return self._settings()
        except (IndexLoadError, ValueError):
            return default

    def _index(self, table: Any, fresh: bool) -> None:
        """Build the full-text and vector indexes after a rebuild; fold new rows into them after an update."""
        from lancedb.index import FTS, HnswSq

        if not fresh:
            table.optimize()
            return
        table.create_index(
            "terms",
            config=FTS(
                base_tokenizer="whitespace",
                lower_case=False,
                stem=False,
                remove_stop_words=False,
                ascii_folding=False,
                with_position=False,
            ),
        )
        if table.count_rows() >= self.ann_threshold:
            table.create_index(
                "vector",
                config=HnswSq(distance_type="dot", num_partitions=1, m=HNSW_M, ef_construction=HNSW_EF_CONSTRUCTION),
            )

    def _rows_of(self, mine: str | None) -> Rows:
        def rows(whose: str, sources: Sequence[str], fields: list[str]) -> Iterable[dict]:
            scope = f"{mine if whose == 'mine' else f'NOT ({mine})'} AND source IN ({', '.join(map(_text, sources))})"
            for row in self._rows(scope, fields):
                yield {**row, "metadata": json.loads(row["metadata"])} if "metadata" in row else row

        return rows

    @staticmethod
    def _batches(
        chunks: Iterator[Document],
        old: Mapping[bytes, np.ndarray],
        embedder: Embeddings,
        batch_size: int,
        progress: Callable[[int, int], None] | None,
        written: int,
        counts: dict[str, int],
    ) -> Iterator[Any]:
        """Arrow record batches of STREAM_BATCH chunks, embedding only text whose vector is not reused."""
        import pyarrow as pa

        def known(hashes: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
            found = np.fromiter((h in old for h in hashes), dtype=bool, count=len(hashes))
            return found, np.asarray([old[h] for h in hashes if h in old], dtype=np.float32)

        for batch, hashes, vectors, fresh in embedded_batches(chunks, known, embedder, batch_size, progress):
            counts["added"] += len(batch)
            counts["embedded"] += fresh
            meta = [c.metadata for c in batch]
            yield pa.record_batch(
                {
                    "chunk_id": [str(m["id"]) for m in meta],
                    "text": [c.page_content for c in batch],
                    "terms": [" ".join(analyse(c.page_content)) for c in batch],
                    "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1]),
                    "tenant": [str(m.get("tenant") or "") for m in meta],
                    "source": [str(m.get("source")) for m in meta],
                    "doc_key": [str(m.get("doc_key", m.get("source"))) for m in meta],
                    "hash": [h.hex() for h in hashes],
                    "written": pa.array([written] * len(batch), pa.int64()),
                    "metadata": pa.array([json.dumps(m, ensure_ascii=False) for m in meta], type=pa.json_()),
                }
            )


_FIELDS = ["chunk_id", "text", "metadata", "vector"]


def _hit(row: dict) -> Hit:
    return Hit(row["text"], json.loads(row["metadata"]), row["vector"])


def _where(query: Any, condition: str | None) -> Any:
    return query.where(condition, prefilter=True) if condition else query


def _chained(first: Any, rest: Iterator[Any]) -> Any:
    import pyarrow as pa

    return pa.RecordBatchReader.from_batches(first.schema, itertools.chain([first], rest))
