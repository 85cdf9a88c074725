"""Retrieval quality and stage latency of retrieval pipelines on one question set.

    ragloop bench retrieval ../shared/data/squad/reddit_v1.0.json.gz --questions 1000

Without named configurations it measures BM25, dense, hybrid (weighted RRF)
and hybrid + the configured reranker. Each question is embedded and scored by
BM25 and FAISS once per index; every configuration then fuses and reranks those
scores its own way, exactly as :meth:`HybridIndex.search` does in the graph.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragloop import providers
from ragloop.benchmarks import plots
from ragloop.benchmarks.datasets import Dataset, chunks_by_doc, load_dataset
from ragloop.benchmarks.harness import Variant, environment, out, progress, with_indexes, write_json
from ragloop.benchmarks.metrics import mrr_at, ndcg_at, percentile, precision_at, recall_at
from ragloop.benchmarks.report import compare, print_summary, summarise
from ragloop.errors import RagloopError
from ragloop.retrieval.index import HybridIndex
from ragloop.settings import Context

METRICS = ("ndcg@10", "mrr@10", "recall@5", "recall@10", "recall@45", "precision@5")


def presets(ctx: Context) -> list[tuple[str, dict[str, Any]]]:
    """BM25, dense, hybrid, hybrid + the model-free local scorer, and hybrid + the reranker ``ctx`` configures."""
    reranker = re.sub(r"[^\w.+-]", "-", providers.reranker(ctx).name)  # a valid configuration name
    rows: list[tuple[str, dict[str, Any]]] = [
        ("bm25", {"bm25_weight": 1.0, "dense_weight": 0.0, "rerank_provider": "none"}),
        ("dense", {"bm25_weight": 0.0, "dense_weight": 1.0, "rerank_provider": "none"}),
        ("hybrid", {"rerank_provider": "none"}),
    ]
    if reranker != "local-hybrid-score":
        rows.append(("hybrid+local-hybrid-score", {"rerank_provider": "local", "local_reranker": "hybrid-score"}))
    return [*rows, (f"hybrid+{reranker}", {})]


def _ranking_scores(ctx: Context, docs: list) -> list[float]:
    """The scores that ordered the final ranking (for tie-aware nDCG)."""
    if ctx.rerank_provider != "none":
        key = "rerank_score"
    elif ctx.dense_weight == 0:
        key = "bm25_score"
    elif ctx.bm25_weight == 0:
        key = "dense_score"
    else:
        key = "retrieval_score"
    return [d.metadata[key] for d in docs]


def run_retrieval(
    data: str | Path | Dataset,
    variants: list[Variant],
    *,
    questions: int | None = 1000,
    seed: int = 0,
    index_dir: Path = Path("bench-results/indexes"),
    out_dir: Path | None = None,
    backend: str | None = None,
) -> dict:
    """Measure every variant on the same sampled questions; returns the report (also written to out_dir).

    With `backend` (an index location: milvus:///file.db, http://host:19530, lancedb:///folder) every search
    goes through that backend, one collection (or LanceDB folder) per dataset and embedder family; relevance is judged on the local index's chunks,
    which are the same chunks (the same chunking), and stage times are not split.
    """
    started = time.perf_counter()
    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    load_seconds = time.perf_counter() - started
    variants, index_seconds = with_indexes(dataset, variants, index_dir)
    sample = dataset.sample(questions, seed)
    indexes = {v.context.index_path: HybridIndex.load(v.context.index_path) for v in variants}
    grouped = {path: chunks_by_doc(index.documents) for path, index in indexes.items()}
    engines = _engines(backend, dataset, variants, indexes) if backend else {}
    embedders = {v.context.index_path: providers.embeddings(v.context)[1] for v in variants}
    rerankers = {v.name: providers.reranker(v.context) for v in variants}
    max_k = max(v.context.k for v in variants)
    stage = dict.fromkeys(("embed_query", "bm25", "dense", "fuse", "rerank", "metrics"), 0.0)
    rows: dict[str, list[dict]] = {v.name: [] for v in variants}
    loop_started = time.perf_counter()
    with progress() as bar:
        task = bar.add_task(f"retrieval on {dataset.name}", total=len(sample))
        for q in sample:
            scored = {}
            for path, index in indexes.items() if not engines else ():
                t0 = time.perf_counter()
                vector = embedders[path].embed_query(q.text)
                t1 = time.perf_counter()
                bm25_scores = index.bm25_scores(q.text)
                t2 = time.perf_counter()
                unit, dense_ranked = index.dense_search(vector, max_k)
                t3 = time.perf_counter()
                stage["embed_query"] += t1 - t0
                stage["bm25"] += t2 - t1
                stage["dense"] += t3 - t2
                scored[path] = (bm25_scores, unit, dense_ranked, t3 - t0)
            for v in variants:
                ctx, index = v.context, indexes[v.context.index_path]
                t0 = time.perf_counter()
                if engines:
                    vector = embedders[ctx.index_path].embed_query(q.text)
                    found = engines[ctx.index_path].search(
                        q.text, vector, ctx.k, where=None, probes=ctx.ann_probes, **ctx.fusion()
                    )
                    search_seconds = 0.0
                else:
                    bm25_scores, unit, dense_ranked, search_seconds = scored[ctx.index_path]
                    found = index.fuse(bm25_scores, unit, dense_ranked, ctx.k, **ctx.fusion())
                t1 = time.perf_counter()
                ranked = rerankers[v.name].rerank(q.text, found, len(found))
                t2 = time.perf_counter()
                rows[v.name].append(
                    _row(q, dataset, grouped[ctx.index_path], ranked, ctx, search_seconds + t1 - t0, t2 - t1)
                )
                stage["fuse"] += t1 - t0
                stage["rerank"] += t2 - t1
                stage["metrics"] += time.perf_counter() - t2
            bar.advance(task)
    loop_seconds = time.perf_counter() - loop_started
    means, intervals = summarise(rows, METRICS, seed)
    chunks = {len(index) for index in indexes.values()}
    report = {
        "benchmark": "retrieval",
        "dataset": {
            "name": dataset.name,
            "path": str(dataset.path),
            "kind": dataset.kind,
            "sha256": dataset.sha256,
            "documents": len(dataset.documents),
            "questions": len(dataset.questions),
            "chunks": chunks.pop() if len(chunks) == 1 else sorted(chunks),
        },
        "sample": {"questions": len(sample), "seed": seed},
        "variants": [v.describe() for v in variants],
        "metrics": means,
        "intervals": intervals,
        "comparison": compare(rows, METRICS, seed),
        "latency_ms": {
            name: {
                s: {
                    "p50": round(percentile([r[s] for r in rs], 50), 2),
                    "p95": round(percentile([r[s] for r in rs], 95), 2),
                }
                for s in ("retrieve_ms", "rerank_ms")
            }
            for name, rs in rows.items()
        },
        "recall_curve": {name: _recall_curve(rs, max_k) for name, rs in rows.items()},
        "harness_seconds": {
            "load_data": round(load_seconds, 2),
            "index": index_seconds,
            "question_loop": {
                "total": round(loop_seconds, 2),
                **{k: round(s, 2) for k, s in stage.items()},
                "other": round(loop_seconds - sum(stage.values()), 2),
            },
            "total": round(time.perf_counter() - started, 2),
        },
        "environment": environment(),
    }
    if out_dir:
        report["plots"] = _plots(report, rows, out_dir)
        write_json(out_dir / "report.json", report)
    return report


def _engines(location: str, dataset: Dataset, variants: list[Variant], indexes: dict[str, HybridIndex]) -> dict:
    """Per local index, the same chunks in the backend at `location` (loaded there once, then reused): a
    Milvus collection, or a LanceDB folder inside a lancedb:// location."""
    from ragloop.retrieval.store import is_lance, open_backend

    engines = {}
    for path, index in indexes.items():
        ctx = next(v.context for v in variants if v.context.index_path == path)
        name, embedder = providers.embeddings(ctx)
        collection = re.sub(r"\W+", "_", Path(path).name)[:200]
        where = f"{location.rstrip('/')}/{collection}" if is_lance(location) else location
        engine = open_backend(where, collection, ctx.ann_threshold, name)
        try:
            held = engine.summary(None)["chunks"]
        except RagloopError:
            held = None
        if held != len(index):
            out.print(f"Loading {len(index)} chunks of {dataset.name} into {location} ({collection})")
            engine.update(
                embedder,
                name,
                add=dataset.documents,
                replace_all=True,
                chunk_size=ctx.chunk_size,
                chunk_overlap=ctx.chunk_overlap,
                batch_size=ctx.embed_batch_size,
                delete_sources=(),
                progress=None,
                tenant=None,
            )
        engines[path] = engine
    return engines


def _row(
    q, dataset: Dataset, by_doc: dict[str, list], ranked: list, ctx: Context, retrieve_s: float, rerank_s: float
) -> dict:
    relevant = dataset.relevant_chunks(q, by_doc)
    ids = [d.metadata["id"] for d in ranked]
    return {
        "qid": q.id,
        "ndcg@10": ndcg_at(ids, relevant, 10, scores=_ranking_scores(ctx, ranked)),
        "mrr@10": mrr_at(ids, relevant, 10),
        "recall@5": recall_at(ids, relevant, 5),
        "recall@10": recall_at(ids, relevant, 10),
        "recall@45": recall_at(ids, relevant, 45),
        "precision@5": precision_at(ids, relevant, 5),
        "hits": [i for i, doc in enumerate(ids) if doc in relevant],
        "n_relevant": len(relevant),
        "retrieve_ms": 1000 * retrieve_s,
        "rerank_ms": 1000 * rerank_s,
    }


def _recall_curve(rows: list[dict], k: int) -> list[float]:
    """Mean Recall@k for k = 1..k, from the ranks of each question's relevant chunks."""
    curve = np.zeros(k)
    for r in rows:
        for hit in r["hits"]:
            if hit < k:
                curve[hit:] += 1 / r["n_relevant"]
    return [round(float(x), 4) for x in curve / max(1, len(rows))]


def _plots(report: dict, rows: dict[str, list[dict]], out_dir: Path) -> list[str]:
    title = f"{report['dataset']['name']}: {report['sample']['questions']} questions, seed {report['sample']['seed']}"
    made = [
        plots.recall_curves(report["recall_curve"], out_dir / "recall_at_k.png", title),
        plots.latency_histograms(
            {
                "retrieve": {n: [r["retrieve_ms"] for r in rs] for n, rs in rows.items()},
                "rerank": {n: [r["rerank_ms"] for r in rs] for n, rs in rows.items()},
            },
            out_dir / "latency.png",
            title,
            "ms",
        ),
    ]
    if report["comparison"]["variants"]:
        made.append(
            plots.comparison_chart(
                report["comparison"], ("ndcg@10", "mrr@10", "recall@10"), out_dir / "comparison.png", title
            )
        )
    return [str(p) for p in made]


def print_report(report: dict) -> None:
    d, s = report["dataset"], report["sample"]
    title = f"{d['name']}: {s['questions']} questions, {d['chunks']} chunks, seed {s['seed']}"
    print_summary(out, title, report["metrics"], METRICS, report["comparison"])
    lat = ", ".join(
        f"{n} {v['retrieve_ms']['p50']:.1f}/{v['retrieve_ms']['p95']:.1f} + "
        f"{v['rerank_ms']['p50']:.2f}/{v['rerank_ms']['p95']:.2f}"
        for n, v in report["latency_ms"].items()
    )
    out.print(f"latency ms, retrieve p50/p95 + rerank p50/p95: {lat}")
    out.print("harness seconds:", report["harness_seconds"])
    for p in report.get("plots", []):
        out.print(f"plot: {p}")
