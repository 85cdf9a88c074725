"""Retrieval quality and latency on a SQuAD-format file.

    python -m ragloop.benchmarks.retrieval ../shared/data/squad/reddit_v1.0.json.gz --questions 1000 --seed 0

Every paragraph is indexed with the real embedder (through the same index
builder as `ragloop index`); a question's relevant chunk is the chunk of its
source paragraph that holds a gold answer. Reports nDCG@10, Recall@5/10/45 and
MRR@10 for BM25, dense, hybrid (weighted RRF) and hybrid + the local reranker,
with p50/p95 latency of the retrieve and rerank stages.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import statistics
import time
from pathlib import Path

from langchain_core.documents import Document

from ragloop import providers
from ragloop.graph.context import Context
from ragloop.retrieval.index import HybridIndex, build_index


def load_squad(path: Path) -> tuple[list[Document], list[dict]]:
    """Paragraph documents and questions with the paragraph key and gold answers."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    docs, questions = [], []
    for a_index, article in enumerate(data["data"]):
        for p_index, paragraph in enumerate(article["paragraphs"]):
            key = f"a{a_index}p{p_index}"
            docs.append(Document(page_content=paragraph["context"], metadata={"source": path.name, "doc_key": key}))
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa.get("answers", []) if a.get("text")]
                if answers:
                    questions.append({"question": qa["question"], "doc_key": key, "answers": answers})
    return docs, questions


def relevant_ids(index: HybridIndex, question: dict) -> set[str]:
    """Chunks of the source paragraph holding a gold answer (the whole paragraph if none does)."""
    key = question["doc_key"]
    chunks = [d for d in index.documents if d.metadata["id"] == key or d.metadata["id"].startswith(key + ":")]
    holding = {d.metadata["id"] for d in chunks if any(a in d.page_content for a in question["answers"])}
    return holding or {d.metadata["id"] for d in chunks}


def ndcg_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def mrr_at(ranked: list[str], relevant: set[str], k: int = 10) -> float:
    return next((1 / (i + 1) for i, doc in enumerate(ranked[:k]) if doc in relevant), 0.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run(path: Path, n_questions: int, seed: int, index_dir: Path, ctx: Context) -> dict:
    docs, questions = load_squad(path)
    name, embedder = providers.embeddings(ctx)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    target = index_dir / f"{path.name}-{digest}-{ctx.chunk_size}"
    started = time.perf_counter()
    if not (target / "manifest.json").exists():
        build_index(docs, embedder, name, target, chunk_size=ctx.chunk_size, chunk_overlap=ctx.chunk_overlap)
    index_seconds = time.perf_counter() - started
    index = HybridIndex.load(target, name)
    sample = random.Random(seed).sample(questions, min(n_questions, len(questions)))
    reranker = providers.reranker(ctx)
    configs = {
        "bm25": dict(bm25_weight=1.0, dense_weight=0.0),
        "dense": dict(bm25_weight=0.0, dense_weight=1.0),
        "hybrid": dict(bm25_weight=ctx.bm25_weight, dense_weight=ctx.dense_weight),
    }
    rows: dict[str, list[dict]] = {name: [] for name in [*configs, f"hybrid+{reranker.name}"]}
    latency = {"embed_query": [], "retrieve": [], "rerank": []}
    for q in sample:
        relevant = relevant_ids(index, q)
        t0 = time.perf_counter()
        vector = embedder.embed_query(q["question"])
        latency["embed_query"].append(time.perf_counter() - t0)
        for cname, weights in configs.items():
            t1 = time.perf_counter()
            found = index.search(q["question"], vector, ctx.k, rrf_c=ctx.rrf_c, **weights)
            if cname == "hybrid":
                latency["retrieve"].append(time.perf_counter() - t1 + latency["embed_query"][-1])
                t2 = time.perf_counter()
                reranked = reranker.rerank(q["question"], found, len(found))
                latency["rerank"].append(time.perf_counter() - t2)
                rows[f"hybrid+{reranker.name}"].append(_metrics([d.metadata["id"] for d in reranked], relevant))
            rows[cname].append(_metrics([d.metadata["id"] for d in found], relevant))
    return {
        "file": str(path), "sha256_16": digest, "questions": len(sample), "seed": seed,
        "chunks": len(index), "embedder": name, "k": ctx.k, "index_seconds": round(index_seconds, 2),
        "metrics": {c: {m: round(statistics.fmean(r[m] for r in rs), 4) for m in rs[0]} for c, rs in rows.items()},
        "latency_ms": {
            stage: {"p50": round(1000 * percentile(v, 0.5), 2), "p95": round(1000 * percentile(v, 0.95), 2)}
            for stage, v in latency.items()
        },
    }


def _metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    return {
        "ndcg@10": ndcg_at(ranked, relevant), "mrr@10": mrr_at(ranked, relevant),
        "recall@5": recall_at(ranked, relevant, 5), "recall@10": recall_at(ranked, relevant, 10),
        "recall@45": recall_at(ranked, relevant, 45),
    }


def write_report(path: Path | None, report: dict) -> None:
    """Save a benchmark report as JSON when a path was given."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--index-dir", type=Path, default=Path("bench-results/indexes"))
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a Context setting (repeatable)")
    args = parser.parse_args(argv)
    from ragloop.cli import build_context

    report = run(args.path, args.questions, args.seed, args.index_dir, build_context(args))
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{args.path.name}: {report['questions']} questions, {report['chunks']} chunks, seed {args.seed}")
    metrics = list(next(iter(report["metrics"].values())))
    for column in ["pipeline", *metrics]:
        table.add_column(column)
    for pipeline, values in report["metrics"].items():
        table.add_row(pipeline, *(f"{values[m]:.3f}" for m in metrics))
    console = Console()
    console.print(table)
    console.print("latency (ms):", report["latency_ms"])
    write_report(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
