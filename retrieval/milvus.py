"""The Milvus backend: the same collection from Milvus Lite (an embedded file or its gRPC server) to Milvus
Standalone, Distributed or Zilliz Cloud.

One collection per index::

    pk        INT64, auto id              chunk_id   the chunk's ragloop id
    text      the chunk's text            terms      ragloop's analysed terms (retrieval/bm25.py: analyse)
    sparse    BM25 of `terms`, computed by the engine's BM25 function (k1 1.5, b 0.75)
    dense     the unit embedding, HNSW, cosine
    tenant    partition key ("" for shared documents)   source, doc_key, hash (of the text), metadata (JSON)

BM25 runs in the engine over ragloop's own terms (stems, stop words), joined by spaces and split by the
engine's standard tokenizer, so both backends rank by the same terms (Milvus Lite's analysers have no
stemmer). Milvus's RRFRanker takes no weights and `hybrid_search` returns only the fused score, while the
rerankers read each retriever's score; so the two searches run as two requests and are fused here by
weighted reciprocal rank, exactly as the local backend fuses them (retrieval/fusion.py).

The embedder, chunking and a version stamp are collection properties: a collection built with another
embedder or dimension is refused by name. Replacing a source inserts its new chunks before deleting the old
ones (readers see the old chunks, then both for a moment, never neither).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ragloop.errors import IndexLoadError, InputError
from ragloop.logic import filters
from ragloop.retrieval.bm25 import analyse
from ragloop.retrieval.fusion import Hit, fused_documents
from ragloop.retrieval.index import Rows, chunk_documents, embed_chunks, owned_by, replacement, token_counter
from ragloop.retrieval.segment import text_hash

COLUMNS = ("tenant", "source", "doc_key")
OUTPUT = ["chunk_id", "text", "metadata", "dense"]
TEXT_BYTES = 65_535
BATCH = 1_000
SEAL_ROWS = 1_000


def client_for(location: str, timeout: float = 10.0) -> Any:
    """A MilvusClient for milvus:///file.db (Milvus Lite) or http(s)://host:port (token: $MILVUS_TOKEN)."""
    import os

    from pymilvus import MilvusClient

    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)  # (set after its import) errors come back as ragloop's

    uri = str(Path(location[len("milvus://") :]).expanduser()) if location.startswith("milvus://") else location
    if location.startswith("milvus://"):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    return MilvusClient(uri=uri, token=os.environ.get("MILVUS_TOKEN", ""), timeout=timeout)


def literal(value: Any) -> str:
    """A value as a Milvus expression literal."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def expression(where: Mapping[str, Any] | None) -> str:
    """A filter (logic/filters.py: equality, lists, LangChain's operators) as a Milvus boolean expression, with
    the local index's meaning: `tenant` None is the shared documents; a comparison needs the field."""
    node = filters.parse(where)
    return "" if node is None else _expression(node)


def _expression(node: filters.Node) -> str:
    if isinstance(node, filters.All | filters.Any_):
        joiner = " and " if isinstance(node, filters.All) else " or "
        return "(" + joiner.join(_expression(part) for part in node.parts) + ")"
    if node.field in COLUMNS:
        return _column(node)
    field = f"metadata[{json.dumps(node.field)}]"
    if node.op == "$exists":
        return f"exists {field}" if node.value else f"not exists {field}"
    if node.op in ("$in", "$nin"):  # Milvus Lite takes no `in` on JSON: an `or` of equalities
        one_of = " or ".join(f"{field} == {literal(v)}" for v in node.value if v is not None) or "false"
        return f"({one_of})" if node.op == "$in" else f"(exists {field} and not ({one_of}))"
    if node.op == "$eq":
        return f"{field} == {literal(node.value)}"
    if node.op == "$ne":
        return f"(exists {field} and {field} != {literal(node.value)})"
    return f"{field} {_ORDER[node.op]} {literal(node.value)}"


_ORDER = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def _column(test: filters.Test) -> str:
    """A test on a VARCHAR column, where '' stands for a missing value (a shared document has tenant '')."""
    key, present = test.field, f'{test.field} != ""'
    if test.op == "$exists":
        return present if test.value else f'{key} == ""'
    if test.op in ("$in", "$nin"):
        values = ", ".join(literal(v) for v in test.value if isinstance(v, str))
        return f"{key} in [{values}]" if test.op == "$in" else f"({present} and {key} not in [{values}])"
    if not isinstance(test.value, str):  # the columns hold text: no number equals or orders with them
        return "false" if test.op != "$ne" else present
    if test.op == "$eq":
        return f"{key} == {literal(test.value)}"
    if test.op == "$ne":
        return f"({present} and {key} != {literal(test.value)})"
    return f"({present} and {key} {_ORDER[test.op]} {literal(test.value)})"


class MilvusBackend:
    def __init__(self, location: str, collection: str, embedder_name: str):
        self.location, self.collection, self.embedder_name = location, collection, embedder_name
        self._client: Any = None
        self._described: tuple[float, dict[str, str]] | None = None

    # --- connection ---------------------------------------------------------------------
    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """A client call; a dropped connection is re-opened once, an unreachable server is one clear error."""
        from pymilvus.exceptions import MilvusException

        if method in (
            "insert",
            "delete",
            "create_collection",
            "drop_collection",
            "alter_collection_properties",
            "flush",
        ):
            self._described = None

        for attempt in (1, 2):
            try:
                if self._client is None:
                    self._client = client_for(self.location)
                return getattr(self._client, method)(*args, **kwargs)
            except MilvusException as exc:
                if "load()" in str(exc.message) and attempt == 1:  # a restarted server holds it unloaded
                    self._client.load_collection(self.collection)
                    continue
                if not _unreachable(exc):
                    raise IndexLoadError(f"Milvus at {self.location} refused {method}: {exc.message}") from None
                self._client = None
                if attempt == 2:
                    raise IndexLoadError(
                        f"Milvus at {self.location} is unreachable ({exc.message}); start it or fix index_path."
                    ) from None
        raise AssertionError("unreachable")

    def _properties(self) -> dict[str, str]:
        """The collection's ragloop properties and dimension; read at most once a second."""
        if self._described and time.monotonic() - self._described[0] < 1.0:
            return self._described[1]
        if not self._call("has_collection", self.collection):
            raise IndexLoadError(
                f"No ragloop collection {self.collection!r} at {self.location}; build it with `ragloop index PATH...`."
            )
        described = self._call("describe_collection", self.collection)
        dimension = next((f["params"].get("dim") for f in described["fields"] if f["name"] == "dense"), None)
        properties = dict(described.get("properties") or {})
        if "ragloop.embedder" not in properties or dimension is None:
            raise IndexLoadError(
                f"The Milvus collection {self.collection!r} at {self.location} was not written by ragloop."
            )
        properties["dimension"] = str(dimension)
        self._described = (time.monotonic(), properties)
        return properties

    def _check(self, embedder_name: str, dimension: int | None = None, chunking: str | None = None) -> dict[str, str]:
        properties = self._properties()
        built = (properties["ragloop.embedder"], properties["dimension"])
        if built[0] != embedder_name or (dimension is not None and int(built[1]) != dimension):
            raise IndexLoadError(
                f"The Milvus collection {self.collection!r} at {self.location} was built with {built[0]} "
                f"({built[1]} dimensions), not {embedder_name}"
                + (f" ({dimension} dimensions)" if dimension else "")
                + "; configure the same embedder or rebuild it."
            )
        if chunking is not None and properties.get("ragloop.chunking") != chunking:
            raise InputError(
                f"The Milvus collection {self.collection!r} was built with chunks of {properties.get('ragloop.chunking')}, "
                f"not {chunking}; use the same settings, or rebuild it from all its files."
            )
        return properties

    def version(self) -> str:
        try:
            return f"{self.location}/{self.collection}@{self._properties().get('ragloop.version', '0')}"
        except IndexLoadError:
            return f"{self.location}/{self.collection}@absent"

    # --- search -------------------------------------------------------------------------
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
        self._check(self.embedder_name, len(vector))
        unit = np.asarray(vector, dtype=np.float32)
        unit /= max(float(np.linalg.norm(unit)), 1e-12)
        expr = expression(where)
        terms = " ".join(analyse(query))
        hits: dict[int, Hit] = {}
        bm25: list[tuple[int, float]] = []
        dense: list[int] = []
        if bm25_weight > 0 and terms:
            found = self._search([terms], "sparse", k, expr, {"metric_type": "BM25"})
            bm25 = [(h["pk"], abs(float(h["distance"]))) for h in found]  # Milvus Lite reports BM25 negated
            hits |= {h["pk"]: _hit(h) for h in found}
        if dense_weight > 0:
            params = {"metric_type": "COSINE", "params": {"ef": max(k, probes)}}
            found = self._search([unit.tolist()], "dense", k, expr, params)
            dense = [h["pk"] for h in found]
            hits |= {h["pk"]: _hit(h) for h in found}

        def bm25_of(pks: list[int]) -> dict[int, float]:
            if not terms:
                return {}
            scope = f"pk in [{', '.join(map(str, pks))}]"
            found = self._search([terms], "sparse", len(pks), scope, {"metric_type": "BM25"}, fields=["chunk_id"])
            return {h["pk"]: abs(float(h["distance"])) for h in found}

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

    def _search(
        self, data: list, field: str, k: int, expr: str, params: dict, fields: list[str] = OUTPUT
    ) -> list[dict]:
        found = self._call(
            "search",
            self.collection,
            data=data,
            anns_field=field,
            limit=k,
            filter=expr,
            output_fields=fields,
            search_params=params,
        )
        return list(found[0]) if found else []

    # --- what is indexed ----------------------------------------------------------------
    def _rows(self, expr: str, fields: list[str]) -> Iterable[dict]:
        iterator = self._call("query_iterator", self.collection, batch_size=BATCH, filter=expr, output_fields=fields)
        try:
            while batch := iterator.next():
                yield from batch
        finally:
            iterator.close()

    def _count(self, expr: str) -> int:
        return int(self._call("query", self.collection, filter=expr, output_fields=["count(*)"])[0]["count(*)"])

    def summary(self, tenant: str | None) -> dict[str, Any]:
        properties = self._properties()
        expr = expression({"tenant": tenant}) if tenant is not None else ""
        sources, documents = set(), set()
        for row in self._rows(expr, ["source", "doc_key"]):
            sources.add(row["source"])
            documents.add(row["doc_key"])
        return {
            "chunks": self._count(expr or "pk >= 0"),
            "documents": len(documents),
            "sources": sorted(sources),
            "embedder": properties["ragloop.embedder"],
            "created": properties.get("ragloop.created"),
            "last_update": None if tenant is not None else json.loads(properties.get("ragloop.last_update", "null")),
        }

    # --- update -------------------------------------------------------------------------
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
        exists = self._call("has_collection", self.collection)
        if exists and not replace_all:
            self._check(embedder_name, chunking=chunking)
        elif not exists and not add:
            raise InputError("The index would hold no text; add documents with text in them.")
        add = list(owned_by(add, tenant))
        renamed: dict[str, str] = {}
        old: list[dict] = []
        taken: set[str] = set()
        if exists and not replace_all:
            plan = replacement(
                list(add), delete_sources, self._rows_of(expression({"tenant": tenant})), ["pk", "hash", "dense"]
            )
            add, renamed, old, taken = plan.add, plan.renamed, plan.old, plan.taken
        new = chunk_documents(add, chunk_size, chunk_overlap, taken, length=token_counter(embedder))
        for chunk in new:
            if len(chunk.page_content.encode()) > TEXT_BYTES:
                raise InputError(
                    f"A chunk of {chunk.metadata['source']} is over Milvus's {TEXT_BYTES} bytes; lower chunk_size."
                )
        vectors, embedded = self._vectors(new, old, embedder, batch_size, progress)
        rebuilt = self._count("pk >= 0") if exists and replace_all and new else 0  # the chunks a rebuild drops
        if new and (replace_all or not exists):
            self._create(len(next(iter(vectors.values()))), embedder_name, chunking)
        stats = {
            "added_chunks": len(new),
            "removed_chunks": rebuilt or len(old),
            "embedded_chunks": embedded,
            "reused_vectors": len(new) - embedded,
            **({"renamed": renamed} if renamed else {}),
        }
        self._write([self._row(c, vectors[text_hash(c.page_content)]) for c in new], [r["pk"] for r in old], stats)
        return {"chunks": self._count("pk >= 0"), "last_update": stats, "embedder": embedder_name}

    def _rows_of(self, mine: str) -> Rows:
        def rows(whose: str, sources: Sequence[str], fields: list[str]) -> Iterable[dict]:
            scope = mine if whose == "mine" else f"not ({mine})"
            return self._rows(f"{scope} and source in [{', '.join(map(literal, sources))}]", fields)

        return rows

    @staticmethod
    def _vectors(
        new: Sequence[Document],
        old: Sequence[dict],
        embedder: Embeddings,
        batch_size: int,
        progress: Callable[[int, int], None] | None,
    ) -> tuple[dict[bytes, np.ndarray], int]:
        """Text hash -> unit vector for every new chunk, reusing the replaced rows' vectors of the same text;
        and how many chunks had to be embedded."""
        vectors = {bytes.fromhex(r["hash"]): np.asarray(r["dense"], dtype=np.float32) for r in old}
        todo = [c for c in new if text_hash(c.page_content) not in vectors]
        if todo:
            embedded = embed_chunks(todo, embedder, batch_size, progress)
            vectors |= dict(zip((text_hash(c.page_content) for c in todo), embedded, strict=True))
        return vectors, len(todo)

    def _write(self, rows: list[dict], removed: list[int], stats: dict[str, Any]) -> None:
        """Insert the new rows, delete the replaced ones, record the update in the collection's properties."""
        for start in range(0, len(rows), BATCH):
            self._call("insert", self.collection, rows[start : start + BATCH])
        for start in range(0, len(removed), BATCH):
            batch = removed[start : start + BATCH]
            self._call("delete", self.collection, filter=f"pk in [{', '.join(map(str, batch))}]")
        self._call(
            "alter_collection_properties",
            self.collection,
            properties={"ragloop.version": str(time.time_ns()), "ragloop.last_update": json.dumps(stats)},
        )
        if len(rows) >= SEAL_ROWS:
            # Sealed last (after the properties), so that searches use the built indexes instead of scanning a
            # growing segment: 40 ms against 1.4 s for a BM25 search of 10 k chunks on Milvus Lite. A few rows
            # are cheap to scan and sealing them costs the engine seconds; Milvus seals them in its own time.
            self._call("flush", self.collection)

    def _create(self, dimension: int, embedder_name: str, chunking: str) -> None:
        from pymilvus import DataType, Function, FunctionType

        if self._call("has_collection", self.collection):
            self._call("drop_collection", self.collection)
        schema = self._call("create_schema", auto_id=True)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("chunk_id", DataType.VARCHAR, max_length=2048)
        schema.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES)
        schema.add_field(
            "terms",
            DataType.VARCHAR,
            max_length=TEXT_BYTES,
            enable_analyzer=True,
            analyzer_params={"tokenizer": "standard"},
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
        schema.add_field("tenant", DataType.VARCHAR, max_length=512, is_partition_key=True)
        schema.add_field("source", DataType.VARCHAR, max_length=2048)
        schema.add_field("doc_key", DataType.VARCHAR, max_length=2048)
        schema.add_field("hash", DataType.VARCHAR, max_length=32)
        schema.add_field("metadata", DataType.JSON)
        schema.add_function(
            Function(
                name="bm25", function_type=FunctionType.BM25, input_field_names=["terms"], output_field_names=["sparse"]
            )
        )
        index = self._call("prepare_index_params")
        index.add_index(
            "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.5, "bm25_b": 0.75}
        )
        index.add_index("dense", index_type="HNSW", metric_type="COSINE", params={"M": 16, "efConstruction": 200})
        self._call(
            "create_collection",
            self.collection,
            schema=schema,
            index_params=index,
            properties={
                "ragloop.embedder": embedder_name,
                "ragloop.chunking": chunking,
                "ragloop.created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "ragloop.version": "0",
            },
        )

    @staticmethod
    def _row(chunk: Document, vector: np.ndarray) -> dict[str, Any]:
        meta = chunk.metadata
        return {
            "chunk_id": str(meta["id"]),
            "text": chunk.page_content,
            "terms": " ".join(analyse(chunk.page_content))[:TEXT_BYTES],
            "dense": np.asarray(vector, dtype=np.float32).tolist(),
            "tenant": str(meta.get("tenant") or ""),
            "source": str(meta.get("source")),
            "doc_key": str(meta.get("doc_key", meta.get("source"))),
            "hash": text_hash(chunk.page_content).hex(),
            "metadata": meta,
        }


def _hit(found: dict) -> Hit:
    entity = found["entity"]
    return Hit(entity["text"], entity["metadata"], entity["dense"])


def _unreachable(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("connect", "unavailable", "timeout", "deadline", "channel", "fail to"))
