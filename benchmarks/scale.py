"""`ragloop bench scale`: what an index costs as it grows, per backend.

Synthetic corpora of N chunks from real text: each chunk is four sentences of one article of the SQuAD-format
files given, so BM25 sees real term statistics. Vectors cost no model at build time: every sentence is
embedded once by the configured embedder (cached beside the results) and a chunk's vector is the unit sum
of its sentences' vectors, so the neighbourhoods an approximate index must find have the shape of real
embeddings (uniformly random vectors have none, and understate what an approximate index achieves on
text). Queries are real questions of the same files, embedded by the same embedder.

For each N and backend it measures build time (embedding excluded), on-disk size, and in a fresh process:
load time, RSS after load, query p50/p95 per stage (BM25, dense, fusion with reading the chunks), recall@45
of the dense search against exact search, and the time to add one source and to delete it. Results are
kept per (backend, N), so a run that stops resumes where it was; `--fresh` measures again. Then a table
and a log-log plot with each cost's fitted growth exponent. `--throughput` also indexes the first file
with the configured embedder, end to end, and reports chunks per second.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import console, progress, write_json
from ragloop.retrieval.bm25 import analyse
from ragloop.retrieval.segment import text_hash
from ragloop.serving.devserver import free_port

SIZES = (10_000, 100_000, 1_000_000)
K, QUESTIONS, PER_SOURCE, SENTENCES = 45, 50, 10, 4
EMBEDDER = "sentence-sums"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class Synthetic:
    """Sentences and questions from SQuAD-format files, embedded once by the configured embedder (cached), and
    chunks made of four sentences of one article whose vector is the unit sum of their sentences'."""

    def __init__(self, files: Sequence[Path], embedder: Embeddings, cache: Path, seed: int = 0):
        by_article: dict[str, list[str]] = {}
        questions = []
        for file in files:
            dataset = load_dataset(file)
            for doc in dataset.documents:
                sentences = [s for s in _SENTENCE.split(doc.page_content) if 20 <= len(s.strip()) <= 300]
                by_article.setdefault(f"{file.name}/{doc.metadata.get('title')}", []).extend(sentences)
            questions += [q.text for q in dataset.sample(QUESTIONS, seed)]
        articles = sorted((k, sorted(set(v))) for k, v in by_article.items() if v)
        self.sentences = [s for _, sentences in articles for s in sentences]
        self.starts = np.cumsum([0] + [len(v) for _, v in articles])
        self.article = np.repeat(np.arange(len(articles)), np.diff(self.starts))
        self.questions = questions[:QUESTIONS]
        self.seed = seed
        digest = hashlib.sha256("\n".join(self.sentences).encode()).hexdigest()[:12]
        cached = cache / f"sentences-{digest}-{len(self.sentences)}.npy"
        if cached.exists():
            self.sentence_vectors = np.load(cached, allow_pickle=False)
        else:
            console.print(f"Embedding {len(self.sentences):,} sentences once (cached in {cached})")
            from ragloop.retrieval.index import embed_chunks

            docs = [Document(page_content=t) for t in self.sentences]
            with progress() as bar:
                task = bar.add_task("embedding sentences", total=len(docs))
                vectors = embed_chunks(docs, embedder, 64, lambda done, total: bar.update(task, completed=done))
            cache.mkdir(parents=True, exist_ok=True)
            np.save(cached, vectors.astype(np.float32), allow_pickle=False)
            self.sentence_vectors = vectors.astype(np.float32)
        self.query_vectors = _unit(np.asarray(embedder.embed_documents(self.questions), dtype=np.float32))

    def corpus(self, n: int, prefix: str = "doc") -> tuple[list[Document], np.ndarray]:
        """n chunks, PER_SOURCE to a source, each four sentences of one article, and their unit vectors."""
        rng = np.random.default_rng([self.seed, n, len(prefix)])
        first = rng.integers(0, len(self.sentences), size=n)
        article = self.article[first]
        size = self.starts[article + 1] - self.starts[article]
        picks = np.column_stack([first] + [self.starts[article] + rng.integers(0, size) for _ in range(SENTENCES - 1)])
        docs = []
        for i, row in enumerate(picks):
            source = f"{prefix}-{i // PER_SOURCE:07d}.txt"
            text = " ".join(self.sentences[j].strip() for j in row)
            meta = {"source": source, "doc_key": f"{source}#{i % PER_SOURCE}", "title": source[:-4]}
            docs.append(Document(page_content=text, metadata=meta))
        vectors = np.empty((n, self.sentence_vectors.shape[1]), dtype=np.float32)
        for start in range(0, n, 50_000):
            vectors[start : start + 50_000] = _unit(self.sentence_vectors[picks[start : start + 50_000]].sum(axis=1))
        return docs, vectors


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)


class Precomputed(Embeddings):
    """The corpus's vectors, looked up by text: the index build without a model."""

    def __init__(self, docs: Sequence[Document], vectors: np.ndarray):
        self.rows = {text_hash(d.page_content): i for i, d in enumerate(docs)}
        self.vectors = vectors

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.vectors[[self.rows[text_hash(t)] for t in texts]].tolist()

    def embed_query(self, text: str) -> list[float]:
        raise NotImplementedError("the benchmark's query vectors are made by the configured embedder")


def _rss_mib(pid: int | str = "self", field: str = "VmRSS:") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def _disk_mib(path: Path) -> float:
    seen, total = set(), 0
    for file in path.rglob("*"):
        st = file.stat()
        if file.is_file() and st.st_ino not in seen:
            seen.add(st.st_ino)
            total += st.st_size
    return total / 2**20


def _exact(vectors: np.ndarray, queries: np.ndarray, docs: Sequence[Document]) -> list[list[str]]:
    """Ids of each query's K nearest chunks by exact cosine."""
    truth = []
    for q in queries:
        sims = vectors @ q
        best = np.argpartition(-sims, K)[:K]
        truth.append([docs[i].metadata["doc_key"] for i in best[np.argsort(-sims[best])]])
    return truth


def run_scale(
    files: Sequence[Path],
    embedder: Embeddings,
    *,
    sizes: Sequence[int] = SIZES,
    backends: Sequence[str] = ("local", "milvus"),
    milvus_max: int = 100_000,
    out_dir: Path = Path("bench-results/scale"),
    fresh: bool = False,
    seed: int = 0,
) -> dict:
    """Measure every (backend, N) not measured yet; returns the report (also out_dir/report.json)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    synthetic: Synthetic | None = None
    for n in sizes:
        for name in backends:
            result = out_dir / f"{name}-{n}.json"
            if name == "milvus" and n > milvus_max or (result.exists() and not fresh):
                continue
            if synthetic is None:
                console.print(f"Sentences and questions from {', '.join(str(f) for f in files)}")
                synthetic = Synthetic(files, embedder, out_dir, seed)
            console.print(f"[bold]{name}[/bold], {n:,} chunks: building")
            write_json(result, _measure(name, n, synthetic, out_dir))
    report = {
        "benchmark": "scale",
        "results": [json.loads(f.read_text()) for f in sorted(out_dir.glob("*-*.json"), key=_order)],
    }
    throughput = out_dir / "throughput.json"
    if throughput.exists():
        report["throughput"] = json.loads(throughput.read_text())
    write_json(out_dir / "report.json", report)
    if report["results"]:
        from ragloop.benchmarks.plots import cost_versus_size

        report["plot"] = str(cost_versus_size(report["results"], out_dir / "scale.png"))
    return report


def _order(path: Path) -> tuple[str, int]:
    name, n = path.stem.rsplit("-", 1)
    return (name, int(n)) if n.isdigit() else (name, 0)


def _measure(name: str, n: int, synthetic: Synthetic, out_dir: Path) -> dict:
    docs, vectors = synthetic.corpus(n)
    queries = synthetic.query_vectors
    added, added_vectors = synthetic.corpus(PER_SOURCE, prefix="added")
    embedder = Precomputed(docs + added, np.concatenate([vectors, added_vectors]))
    work = out_dir / "indexes" / f"{name}-{n}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    server = None
    try:
        if name == "milvus":
            port = free_port()
            server = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("milvus-lite")),
                    "server",
                    "--data-dir",
                    str(work / "data"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            location = f"http://127.0.0.1:{port}"
            _wait_for(port)
        else:
            location = str(work / "index")
        started = time.perf_counter()
        _backend(location).update(embedder, EMBEDDER, add=docs, replace_all=True, **_CHUNKING)
        build = time.perf_counter() - started
        console.print(f"  built in {build:.1f} s; measuring in a fresh process")
        plan = {
            "location": location,
            "questions": synthetic.questions,
            "query_vectors": queries.tolist(),
            "truth": _exact(vectors, queries, docs),
            "added": [{"text": d.page_content, "metadata": d.metadata} for d in added],
            "added_vectors": added_vectors.tolist(),
            "server_pid": server.pid if server else None,
        }
        (work / "plan.json").write_text(json.dumps(plan))
        del docs, vectors, embedder
        probe = subprocess.run(
            [sys.executable, "-m", "ragloop.benchmarks.scale", str(work / "plan.json")],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode:
            raise RuntimeError(f"the measuring process failed: {probe.stderr[-2000:]}")
        measured = json.loads(probe.stdout.strip().splitlines()[-1])
        disk = _disk_mib(work / "data" if server else (work / "index").resolve())
        return {"backend": name, "chunks": n, "build_s": round(build, 2), "disk_mib": round(disk, 1), **measured}
    finally:
        if server:
            server.terminate()
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


_CHUNKING = {
    "chunk_size": 400,
    "chunk_overlap": 50,
    "batch_size": 4096,
    "progress": None,
    "tenant": None,
    "delete_sources": (),
}


def _backend(location: str) -> Any:
    from ragloop.retrieval.local import LocalBackend
    from ragloop.retrieval.milvus import MilvusBackend
    from ragloop.settings import Context

    if location.startswith("http"):
        return MilvusBackend(location, "scale", EMBEDDER)
    return LocalBackend(location, Context().ann_threshold, EMBEDDER)


def _wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"milvus-lite server did not listen on port {port} within {seconds:.0f} s")


# --- the measuring process ------------------------------------------------------------------
def _percentiles(ms: list[float]) -> dict[str, float]:
    ordered = sorted(ms)
    return {"p50": round(statistics.median(ordered), 2), "p95": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}


def probe(plan: dict) -> dict:
    """Load, query, add and delete in this process (fresh: its RSS is the index's)."""
    from ragloop.settings import Context

    location, questions = plan["location"], plan["questions"]
    queries = [np.asarray(v, dtype=np.float32) for v in plan["query_vectors"]]
    probes = Context().ann_probes
    stages: dict[str, list[float]] = {"bm25": [], "dense": [], "fusion": [], "search": []}
    found_ids: list[list[str]] = []
    started = time.perf_counter()
    backend = _backend(location)
    if location.startswith("http"):
        backend.search(questions[0], queries[0], K, bm25_weight=0.6, dense_weight=0.4, rrf_c=60, probes=probes)
        load = time.perf_counter() - started
        rss = _rss_mib(plan["server_pid"])
        for q, v in zip(questions, queries, strict=True):
            t0 = time.perf_counter()
            backend._search([" ".join(analyse(q))], "sparse", K, "", {"metric_type": "BM25"})
            t1 = time.perf_counter()
            hits = backend._search(
                [v.tolist()], "dense", K, "", {"metric_type": "COSINE", "params": {"ef": max(K, probes)}}
            )
            t2 = time.perf_counter()
            backend.search(q, v, K, bm25_weight=0.6, dense_weight=0.4, rrf_c=60, probes=probes)
            t3 = time.perf_counter()
            stages["bm25"].append((t1 - t0) * 1e3)
            stages["dense"].append((t2 - t1) * 1e3)
            stages["search"].append((t3 - t2) * 1e3)
            stages["fusion"].append(max(0.0, (t3 - t2) - (t2 - t0)) * 1e3)
            found_ids.append([h["entity"]["metadata"]["doc_key"] for h in hits])
    else:
        from ragloop.retrieval.index import bm25_top

        index = backend.index()
        load = time.perf_counter() - started
        rss = _rss_mib()
        for q, v in zip(questions, queries, strict=True):
            t0 = time.perf_counter()
            scores = index.bm25_scores(q)
            bm25_top(scores, K)
            t1 = time.perf_counter()
            unit, dense = index.dense_search(v, K, None, probes)
            t2 = time.perf_counter()
            index.fuse(scores, unit, dense, K, bm25_weight=0.6, dense_weight=0.4, rrf_c=60)
            t3 = time.perf_counter()
            stages["bm25"].append((t1 - t0) * 1e3)
            stages["dense"].append((t2 - t1) * 1e3)
            stages["fusion"].append((t3 - t2) * 1e3)
            stages["search"].append((t3 - t0) * 1e3)
            found_ids.append([index.document(i).metadata["doc_key"] for i in dense])
    recall = statistics.mean(len(set(f) & set(t)) / K for f, t in zip(found_ids, plan["truth"], strict=True))
    added = [Document(page_content=d["text"], metadata=d["metadata"]) for d in plan["added"]]
    embedder = Precomputed(added, np.asarray(plan["added_vectors"], dtype=np.float32))
    t0 = time.perf_counter()
    backend.update(embedder, EMBEDDER, add=added, replace_all=False, **_CHUNKING)
    t1 = time.perf_counter()
    backend.update(
        embedder, EMBEDDER, add=(), replace_all=False, **{**_CHUNKING, "delete_sources": [added[0].metadata["source"]]}
    )
    t2 = time.perf_counter()
    return {
        "load_s": round(load, 2),
        "rss_mib": round(rss, 1),
        "peak_rss_mib": round(_rss_mib(field="VmHWM:"), 1),  # this process's (ru_maxrss counts the parent's)
        "ms": {stage: _percentiles(ms) for stage, ms in stages.items()},
        "dense_recall_at_45": round(recall, 4),
        "add_source_s": round(t1 - t0, 3),
        "delete_source_s": round(t2 - t1, 3),
    }


def run_throughput(file: Path, ctx: Any, out_dir: Path) -> dict:
    """Index a real file with the configured embedder into a fresh index; chunks per second end to end."""
    import tempfile
    from dataclasses import replace

    from ragloop.application.indexing import index_files

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        manifest = index_files([str(file)], replace(ctx, index_path=str(Path(tmp) / "index")))
        seconds = time.perf_counter() - started
    result = {
        "file": str(file),
        "embedder": manifest["embedder"],
        "chunks": manifest["chunks"],
        "seconds": round(seconds, 1),
        "chunks_per_s": round(manifest["chunks"] / seconds, 1),
    }
    write_json(out_dir / "throughput.json", result)
    return result


def print_report(report: dict) -> None:
    from rich.table import Table

    table = Table(title="Index cost by size (2 cores; query times exclude embedding the query)")
    for column in (
        "backend",
        "chunks",
        "build s",
        "disk MiB",
        "load s",
        "RSS MiB",
        "BM25 p50",
        "dense p50",
        "fusion p50",
        "search p50 / p95 ms",
        "dense R@45",
        "add s",
        "delete s",
    ):
        table.add_column(column, justify="right")
    for r in report["results"]:
        ms = r["ms"]
        table.add_row(
            r["backend"],
            f"{r['chunks']:,}",
            f"{r['build_s']:.1f}",
            f"{r['disk_mib']:.0f}",
            f"{r['load_s']:.2f}",
            f"{r['rss_mib']:.0f}",
            f"{ms['bm25']['p50']:.1f}",
            f"{ms['dense']['p50']:.1f}",
            f"{ms['fusion']['p50']:.1f}",
            f"{ms['search']['p50']:.1f} / {ms['search']['p95']:.1f}",
            f"{r['dense_recall_at_45']:.3f}",
            f"{r['add_source_s']:.2f}",
            f"{r['delete_source_s']:.2f}",
        )
    console.print(table)
    if "throughput" in report:
        t = report["throughput"]
        console.print(
            f"Indexing {t['file']} with {t['embedder']}: {t['chunks']} chunks in {t['seconds']} s, "
            f"[bold]{t['chunks_per_s']} chunks/s[/bold]"
        )
    if "plot" in report:
        console.print(f"Plot: {report['plot']}")


if __name__ == "__main__":  # the measuring process: python -m ragloop.benchmarks.scale PLAN.json
    print(json.dumps(probe(json.loads(Path(sys.argv[1]).read_text()))))
