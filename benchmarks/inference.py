"""CPU per question of the local cross-encoder and of exact dense search, one thread per call against two.

    python -m ragloop.benchmarks.inference [DATA] [--questions 50] [--busy] [--json FILE]

Reranking: each question with 10 real passages (its own paragraph and nine others of the same data set),
scored by the shipped cross-encoder two ways, question by question in turn so that both see the same
machine: as before (one ONNX session on every core, the passages padded into one batch) and as now (one
single-threaded session shared by `local_threads` workers, one pair per call). Dense search: the
questions' MiniLM vectors against 10 000 real paragraph-sentence vectors (exact, matrix-vector), on two
BLAS threads and on one. CPU time is the process's (every thread's), which is steadier than wall time on a
shared machine; both are reported. `--busy` runs a process that keeps one core busy meanwhile, as another
tenant of a shared machine would.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import write_json

DEFAULT_DATA = Path("../shared/data/squad/reddit_v1.0.json.gz")
PASSAGES = 10
DENSE_CHUNKS = 10_000
console = Console()


def _spin(stop) -> None:  # pragma: no cover - runs in the competitor process
    while not stop.is_set():
        sum(range(10_000))


def _measure(call: Callable[[], object]) -> tuple[float, float]:
    """(CPU seconds of the whole process, wall seconds) of one call (a lazy result is read to its end)."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = call()
    if not isinstance(result, np.ndarray):
        list(result)  # type: ignore[call-overload]
    return time.process_time() - cpu, time.perf_counter() - wall


def _nearest(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """The 45 best of an exact search (unordered), as the local index's exact path finds them."""
    return np.argpartition(-(vectors @ query), 45)[:45]


def _summary(samples: list[tuple[float, float]]) -> dict[str, float]:
    cpu = [c for c, _ in samples]
    wall = sorted(w for _, w in samples)
    return {
        "cpu_ms_mean": round(1000 * statistics.fmean(cpu), 3),
        "wall_ms_p50": round(1000 * wall[len(wall) // 2], 3),
        "wall_ms_p95": round(1000 * wall[min(len(wall) - 1, int(0.95 * len(wall)))], 3),
    }


def rerank_cpu(questions: list[tuple[str, list[str]]], workers: int) -> dict[str, dict[str, float]]:
    from fastembed.rerank.cross_encoder import TextCrossEncoder

    from ragloop.providers.local_models import shipped_reranker_folder
    from ragloop.providers.rerankers import CrossEncoderReranker

    folder = str(shipped_reranker_folder())
    now = CrossEncoderReranker.from_folder(folder, workers=workers)
    before = TextCrossEncoder(now._encoder.model_name, specific_model_path=folder)  # every core, padded batch
    runs: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
    for query, passages in questions:
        now.logits(query, passages[:1])  # nothing cold is timed
        runs["before"].append(_measure(partial(before.rerank, query, passages, batch_size=16)))
        runs["now"].append(_measure(partial(now.logits, query, passages)))
    return {name: _summary(samples) for name, samples in runs.items()}


def dense_cpu(vectors: np.ndarray, queries: np.ndarray) -> dict[str, dict[str, float]]:
    from threadpoolctl import ThreadpoolController

    blas = ThreadpoolController().select(user_api="blas")
    runs: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
    for query in queries:
        for name, threads in (("before", 2), ("now", 1)):
            with blas.limit(limits=threads):
                _nearest(vectors, query)  # warm
                runs[name].append(_measure(partial(_nearest, vectors, query)))
    return {name: _summary(samples) for name, samples in runs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process meanwhile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from ragloop import providers
    from ragloop.settings import Context

    data = load_dataset(args.data)
    rng = random.Random(args.seed)
    texts = {d.metadata["doc_key"]: d.page_content for d in data.documents}
    keys = sorted(texts)
    asked = data.sample(args.questions, args.seed)
    questions = []
    for q in asked:
        own = [texts[k] for k in q.relevant if k in texts][:1]
        questions.append((q.text, own + [texts[k] for k in rng.sample(keys, PASSAGES - len(own))]))
    workers = Context().local_threads or multiprocessing.cpu_count()
    _, embedder = providers.embeddings(Context())
    sentences = [s for k in keys for s in texts[k].split(". ") if len(s) > 20][:DENSE_CHUNKS]
    console.print(f"Embedding {len(sentences):,} sentences and {len(asked)} questions for dense search…")
    vectors = np.asarray(embedder.embed_documents(sentences), dtype=np.float32)
    queries = np.asarray(embedder.embed_documents([q.text for q in asked]), dtype=np.float32)

    stop = multiprocessing.get_context("spawn").Event()
    competitor = multiprocessing.get_context("spawn").Process(target=_spin, args=(stop,)) if args.busy else None
    if competitor:
        competitor.start()
    try:
        report = {
            "data": str(args.data),
            "questions": len(asked),
            "busy": args.busy,
            "workers": workers,
            # dense first: the "before" ONNX session's idle threads spin for a while after each call
            "dense": {"chunks": len(vectors), **dense_cpu(vectors, queries)},
            "rerank": rerank_cpu(questions, workers),
        }
    finally:
        if competitor:
            stop.set()
            competitor.join()
    table = Table(title=f"CPU per question ({len(asked)} questions{', one core busy' if args.busy else ''})")
    for column in ("call", "way", "CPU ms (mean)", "wall ms p50", "wall ms p95"):
        table.add_column(column)
    for call, label in (("rerank", f"{PASSAGES} passages"), ("dense", f"{len(vectors):,} vectors")):
        for way, what in (("before", "two threads"), ("now", "one thread per call")):
            row = report[call][way]
            table.add_row(
                f"{call} ({label})", what, *(str(row[k]) for k in ("cpu_ms_mean", "wall_ms_p50", "wall_ms_p95"))
            )
    console.print(table)
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
