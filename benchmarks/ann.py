"""`python -m ragloop.benchmarks.ann`: approximate dense search recipes side by side on one corpus.

The corpus is `ragloop bench scale`'s (benchmarks/scale.py: chunks of four real sentences, by default from
different articles, vectors the unit sum of their MiniLM embeddings, the sentence vectors cached beside
`bench scale`'s results). For each recipe it builds a FAISS index the way a local segment does (8-bit codes,
trained on a sample), then searches the 50 questions one at a time on one thread, re-scores the 2k + 20
candidates exactly and reports recall@45 against exact search, with CPU and wall milliseconds per query:

    python -m ragloop.benchmarks.ann --chunks 1000000 --recipes ivf,hnsw64,hnsw128 --json out.json

Recipes: `ivf` (IVF with 4·√N lists, probes 128–2048: the index before HNSW), `hnsw64` and `hnsw128`
(HNSW, 32 links, efConstruction 64 or 128, ef 256–1024; hnsw128 is what a segment builds).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from ragloop.benchmarks.harness import console
from ragloop.benchmarks.scale import K, Synthetic

RECIPES = {
    "ivf": (None, (128, 512, 1024, 2048)),
    "hnsw64": (64, (256, 512, 768, 1024)),
    "hnsw128": (128, (256, 512, 768, 1024)),
}


def _build(recipe: str, vectors: np.ndarray) -> Any:
    import faiss

    construction, _ = RECIPES[recipe]
    rng = np.random.default_rng(0)
    if construction is None:
        lists = int(min(65_536, max(16, 4 * np.sqrt(len(vectors)))))
        index: Any = faiss.index_factory(vectors.shape[1], f"IVF{lists},SQ8", faiss.METRIC_INNER_PRODUCT)
        sample = min(len(vectors), 40 * lists)
    else:
        index = faiss.IndexHNSWSQ(vectors.shape[1], faiss.ScalarQuantizer.QT_8bit, 32, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
        index.hnsw.efConstruction = construction
        sample = min(len(vectors), 100_000)
    index.train(vectors[np.sort(rng.choice(len(vectors), size=sample, replace=False))])
    for start in range(0, len(vectors), 100_000):
        index.add(vectors[start : start + 100_000])
    return index


def measure(chunks: int, recipes: list[str], files: list[Path], cache: Path, corpus: str) -> list[dict]:
    import faiss

    from ragloop import providers
    from ragloop.settings import Context

    synthetic = Synthetic(files, providers.embeddings(Context())[1], cache, kind=corpus)
    queries = synthetic.query_vectors
    vectors = np.concatenate([v for _, v in synthetic.blocks(chunks)]).astype(np.float32)
    truth = [set(np.argpartition(-(vectors @ q), K)[:K].tolist()) for q in queries]
    rows = []
    for recipe in recipes:
        faiss.omp_set_num_threads(2)
        cpu, started = time.process_time(), time.perf_counter()
        index = _build(recipe, vectors)
        built = {"build_s": round(time.perf_counter() - started, 1), "build_cpu_s": round(time.process_time() - cpu, 1)}
        faiss.omp_set_num_threads(1)
        for breadth in RECIPES[recipe][1]:
            if RECIPES[recipe][0] is None:
                params = faiss.SearchParametersIVF()
                params.nprobe = breadth
            else:
                params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
                params.efSearch = breadth
            recall, wall = [], []
            cpu = time.process_time()
            for q, exact in zip(queries, truth, strict=True):
                t0 = time.perf_counter()
                _, found = index.search(q.reshape(1, -1), 2 * K + 20, params=params)
                found = np.sort(found[0][found[0] >= 0])
                best = found[np.argsort(-(vectors[found] @ q))[:K]]
                wall.append((time.perf_counter() - t0) * 1e3)
                recall.append(len(exact & set(best.tolist())) / K)
            row = {
                "recipe": recipe,
                "chunks": chunks,
                "corpus": corpus,
                "breadth": breadth,
                "recall_at_45": round(float(np.mean(recall)), 3),
                "cpu_ms": round((time.process_time() - cpu) / len(queries) * 1e3, 2),
                "wall_ms_p50": round(float(np.median(wall)), 2),
                **built,
            }
            console.print(row)
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ragloop.benchmarks.ann", description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--recipes", default="ivf,hnsw128")
    parser.add_argument("--corpus", choices=("mixed", "articles"), default="mixed")
    parser.add_argument(
        "--data", nargs="*", default=sorted(str(p) for p in Path("../shared/data/squad").glob("*.json.gz"))
    )
    parser.add_argument("--cache", default="bench-results/scale", help="where the sentence vectors are cached")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args(argv)
    recipes = args.recipes.split(",")
    unknown = set(recipes) - set(RECIPES)
    if unknown:
        parser.error(f"unknown recipes {', '.join(sorted(unknown))}; choose from {', '.join(RECIPES)}")
    rows = measure(args.chunks, recipes, [Path(f) for f in args.data], Path(args.cache), args.corpus)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
