"""`ragloop bench scale`: what an index costs as it grows, per backend.

Synthetic corpora of N chunks from real text, so BM25 sees real term statistics: each chunk is four
sentences of the SQuAD-format files given. With `--corpus mixed` (the default) the four come from different
articles, so chunks do not cluster by article; with `--corpus articles` from one article (845 articles, one
holding ~42 % of the sentences: friendly neighbourhoods for an approximate index). Vectors cost no model at
build time: every sentence is embedded once by the configured embedder (cached beside the results) and a
chunk's vector is the unit sum of its sentences' vectors, so the neighbourhoods an approximate index must
find have the shape of real embeddings (uniformly random vectors have none). Queries are real questions of
the same files, embedded by the same embedder.

For each N and backend it measures, in a process of its own, the build (embedding excluded): time, CPU
seconds and peak RSS, the corpus streamed to it as a reader of files would; on-disk size; and in a fresh
process: load time, RSS after load, query p50/p95 per stage (BM25, dense, fusion with reading the chunks),
recall@45 of the dense search against exact search, and the time and peak RSS of adding one source and of
deleting it. Results are kept per (backend, N), so a run that stops resumes where it was; `--fresh`
measures again. Then a table and a log-log plot with each cost's fitted growth exponent. `--throughput`
also indexes the first file with the configured embedder, end to end, and reports chunks per second.
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
from collections.abc import Iterator, Sequence
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
SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+")


class Synthetic:
    """Sentences and questions from SQuAD-format files, embedded once by the configured embedder (cached), and
    chunks of four sentences (of different articles, or of one: `kind`) whose vector is the unit sum of
    their sentences'."""

    def __init__(
        self, files: Sequence[Path], embedder: Embeddings | None, cache: Path, seed: int = 0, kind: str = "mixed"
    ):
        by_article: dict[str, list[str]] = {}
        questions = []
        for file in files:
            dataset = load_dataset(file)
            for doc in dataset.documents:
                sentences = [s for s in SENTENCE_BREAK.split(doc.page_content) if 20 <= len(s.strip()) <= 300]
                by_article.setdefault(f"{file.name}/{doc.metadata.get('title')}", []).extend(sentences)
            questions += [q.text for q in dataset.sample(QUESTIONS, seed)]
        articles = sorted((k, sorted(set(v))) for k, v in by_article.items() if v)
        self.sentences = [s for _, sentences in articles for s in sentences]
        self.starts = np.cumsum([0] + [len(v) for _, v in articles])
        self.article = np.repeat(np.arange(len(articles)), np.diff(self.starts))
        self.questions = questions[:QUESTIONS]
        self.seed, self.kind = seed, kind
        digest = hashlib.sha256("\n".join(self.sentences).encode()).hexdigest()[:12]
        cached = cache / f"sentences-{digest}-{len(self.sentences)}.npy"
        if cached.exists():
            self.sentence_vectors = np.load(cached, allow_pickle=False)
        elif embedder is None:
            raise RuntimeError(f"no sentence vectors at {cached}: the parent process embeds them")
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
        if embedder is not None:
            self.query_vectors = _unit(np.asarray(embedder.embed_documents(self.questions), dtype=np.float32))

    def blocks(self, n: int, prefix: str = "doc") -> Iterator[tuple[list[Document], np.ndarray]]:
        """n chunks, PER_SOURCE to a source, and their unit vectors, BLOCK at a time (each block drawn from
        its own seeded generator: any process makes the same corpus)."""
        for start in range(0, n, BLOCK):
            rng = np.random.default_rng([self.seed, n, len(prefix), start])
            size = min(BLOCK, n - start)
            if self.kind == "mixed":
                picks = rng.integers(0, len(self.sentences), size=(size, SENTENCES))
            else:
                first = rng.integers(0, len(self.sentences), size=size)
                article = self.article[first]
                span = self.starts[article + 1] - self.starts[article]
                rest = [self.starts[article] + rng.integers(0, span) for _ in range(SENTENCES - 1)]
                picks = np.column_stack([first, *rest])
            docs = []
            for i, row in enumerate(picks, start):
                source = f"{prefix}-{i // PER_SOURCE:07d}.txt"
                text = " ".join(self.sentences[j].strip() for j in row)
                meta = {"source": source, "doc_key": f"{source}#{i % PER_SOURCE}", "title": source[:-4]}
                docs.append(Document(page_content=text, metadata=meta))
            yield docs, _unit(self.sentence_vectors[picks].sum(axis=1))

    def corpus(self, n: int, prefix: str = "doc") -> tuple[list[Document], np.ndarray]:
        """All n chunks and their vectors at once (small corpora)."""
        parts = list(self.blocks(n, prefix))
        return [d for docs, _ in parts for d in docs], np.concatenate([v for _, v in parts])


#: Chunks generated (and their vectors looked up) together.
BLOCK = 50_000


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)


class Precomputed(Embeddings):
    """The corpus's vectors, looked up by text: the index build without a model."""

    def __init__(self, docs: Sequence[Document] = (), vectors: np.ndarray | None = None):
        self.rows: dict[bytes, np.ndarray] = {}
        if vectors is not None:
            self.know(docs, vectors)

    def know(self, docs: Sequence[Document], vectors: np.ndarray) -> None:
        self.rows |= {text_hash(d.page_content): v for d, v in zip(docs, vectors, strict=True)}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return np.stack([self.rows[text_hash(t)] for t in texts]).tolist()

    def embed_query(self, text: str) -> list[float]:
        raise NotImplementedError("the benchmark's query vectors are made by the configured embedder")


def streamed(synthetic: Synthetic, n: int, embedder: Precomputed) -> Iterator[Document]:
    """The corpus's chunks one by one, as a reader of files would give them; the embedder knows the vectors
    of the two blocks read last (an index build embeds each batch before it reads on)."""
    window: list[list[Document]] = []
    for docs, vectors in synthetic.blocks(n):
        window.append(docs)
        embedder.know(docs, vectors)
        if len(window) > 2:
            for gone in window.pop(0):
                del embedder.rows[text_hash(gone.page_content)]
        yield from docs


def rss_mib(pid: int | str = "self", field: str = "VmRSS:") -> float:
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


def _exact(synthetic: Synthetic, n: int, queries: np.ndarray) -> list[list[str]]:
    """Ids of each query's K nearest chunks by exact cosine, block by block."""
    best_ids = np.zeros((len(queries), 0), dtype=object)
    best_sims = np.zeros((len(queries), 0), dtype=np.float32)
    for docs, vectors in synthetic.blocks(n):
        ids = np.asarray([d.metadata["doc_key"] for d in docs], dtype=object)
        sims = np.concatenate([best_sims, queries @ vectors.T], axis=1)
        keys = np.concatenate([best_ids, np.broadcast_to(ids, (len(queries), len(ids)))], axis=1)
        keep = np.argsort(-sims, axis=1, kind="stable")[:, :K]
        best_sims, best_ids = np.take_along_axis(sims, keep, 1), np.take_along_axis(keys, keep, 1)
    return [list(row) for row in best_ids]


def run_scale(
    files: Sequence[Path],
    embedder: Embeddings,
    *,
    sizes: Sequence[int] = SIZES,
    backends: Sequence[str] = ("local", "lancedb", "milvus"),
    milvus_max: int = 100_000,
    out_dir: Path = Path("bench-results/scale"),
    fresh: bool = False,
    seed: int = 0,
    corpus: str = "mixed",
) -> dict:
    """Measure every (backend, N) not measured yet on this corpus; returns the report (also
    out_dir/report.json)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    synthetic: Synthetic | None = None
    for n in sizes:
        for name in backends:
            result = out_dir / f"{name}-{n}.json"
            done = json.loads(result.read_text()) if result.exists() and not fresh else {}
            if name == "milvus" and n > milvus_max or done.get("corpus", "articles") == corpus:
                continue
            if synthetic is None:
                console.print(f"Sentences and questions from {', '.join(str(f) for f in files)}")
                synthetic = Synthetic(files, embedder, out_dir, seed, corpus)
            console.print(f"[bold]{name}[/bold], {n:,} chunks of the {corpus} corpus: building")
            write_json(result, _measure(name, n, synthetic, files, out_dir))
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


def _measure(name: str, n: int, synthetic: Synthetic, files: Sequence[Path], out_dir: Path) -> dict:
    queries = synthetic.query_vectors
    added, added_vectors = synthetic.corpus(PER_SOURCE, prefix="added")
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
            location = _location(name, work)
        build = {
            "location": location,
            "files": [str(f) for f in files],
            "cache": str(out_dir),
            "seed": synthetic.seed,
            "corpus": synthetic.kind,
            "chunks": n,
        }
        (work / "build.json").write_text(json.dumps(build))
        built = _child("build", work / "build.json")
        console.print(f"  built in {built['build_s']:.1f} s; measuring in a fresh process")
        plan = {
            "location": location,
            "questions": synthetic.questions,
            "query_vectors": queries.tolist(),
            "truth": _exact(synthetic, n, queries),
            "added": [{"text": d.page_content, "metadata": d.metadata} for d in added],
            "added_vectors": added_vectors.tolist(),
            "server_pid": server.pid if server else None,
        }
        (work / "plan.json").write_text(json.dumps(plan))
        measured = _child("probe", work / "plan.json")
        disk = _disk_mib(work / "data" if server else Path(_path(location)).resolve())
        return {"backend": name, "corpus": synthetic.kind, "chunks": n, **built, "disk_mib": round(disk, 1), **measured}
    finally:
        if server:
            server.terminate()
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)


def _child(step: str, plan: Path) -> dict:
    """Run one step (build, probe) in a fresh process: its memory is the step's alone."""
    done = subprocess.run(
        [sys.executable, "-m", "ragloop.benchmarks.scale", step, str(plan)], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise RuntimeError(f"the {step} process failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def build(plan: dict) -> dict:
    """Build the index from the corpus streamed to it, in this process (fresh: its peak RSS is the build's)."""
    synthetic = Synthetic([Path(f) for f in plan["files"]], None, Path(plan["cache"]), plan["seed"], plan["corpus"])
    embedder = Precomputed()
    cpu, started = time.process_time(), time.perf_counter()
    _backend(plan["location"]).update(
        embedder, EMBEDDER, add=streamed(synthetic, plan["chunks"], embedder), replace_all=True, **_CHUNKING
    )
    return {
        "build_s": round(time.perf_counter() - started, 2),
        "build_cpu_s": round(time.process_time() - cpu, 2),
        "build_peak_rss_mib": round(rss_mib(field="VmHWM:"), 1),
    }


_CHUNKING = {
    "chunk_size": 400,
    "chunk_overlap": 50,
    "batch_size": 4096,
    "progress": None,
    "tenant": None,
    "delete_sources": (),
}


def _location(name: str, work: Path) -> str:
    return f"lancedb://{work / 'lance'}" if name == "lancedb" else str(work / "index")


def _path(location: str) -> str:
    return location.removeprefix("lancedb://")


def _backend(location: str) -> Any:
    from ragloop.retrieval.store import open_backend
    from ragloop.settings import Context

    return open_backend(location, "scale", Context().ann_threshold, EMBEDDER)


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
    if hasattr(backend, "index"):  # the local index: each stage on its own
        from ragloop.retrieval.index import bm25_top

        index = backend.index()
        load = time.perf_counter() - started
        rss = rss_mib()
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
    else:  # an engine: BM25 and dense as the backend asks for them, then the whole search
        backend.search(questions[0], queries[0], K, bm25_weight=0.6, dense_weight=0.4, rrf_c=60, probes=probes)
        load = time.perf_counter() - started
        rss = rss_mib(plan["server_pid"]) if plan["server_pid"] else rss_mib()
        bm25, dense = _engine_stages(backend, probes)
        for q, v in zip(questions, queries, strict=True):
            t0 = time.perf_counter()
            bm25(q)
            t1 = time.perf_counter()
            ids = dense(v)
            t2 = time.perf_counter()
            backend.search(q, v, K, bm25_weight=0.6, dense_weight=0.4, rrf_c=60, probes=probes)
            t3 = time.perf_counter()
            stages["bm25"].append((t1 - t0) * 1e3)
            stages["dense"].append((t2 - t1) * 1e3)
            stages["search"].append((t3 - t2) * 1e3)
            stages["fusion"].append(max(0.0, (t3 - t2) - (t2 - t0)) * 1e3)
            found_ids.append(ids)
    recall = statistics.mean(len(set(f) & set(t)) / K for f, t in zip(found_ids, plan["truth"], strict=True))
    added = [Document(page_content=d["text"], metadata=d["metadata"]) for d in plan["added"]]
    embedder = Precomputed(added, np.asarray(plan["added_vectors"], dtype=np.float32))
    peak = rss_mib(field="VmHWM:")  # this process's so far (ru_maxrss counts the parent's)
    _reset_peak()
    t0 = time.perf_counter()
    backend.update(embedder, EMBEDDER, add=added, replace_all=False, **_CHUNKING)
    t1 = time.perf_counter()
    add_peak = rss_mib(field="VmHWM:")
    _reset_peak()
    backend.update(
        embedder, EMBEDDER, add=(), replace_all=False, **{**_CHUNKING, "delete_sources": [added[0].metadata["source"]]}
    )
    t2 = time.perf_counter()
    return {
        "load_s": round(load, 2),
        "rss_mib": round(rss, 1),
        "peak_rss_mib": round(peak, 1),
        "add_peak_rss_mib": round(add_peak, 1),
        "delete_peak_rss_mib": round(rss_mib(field="VmHWM:"), 1),
        "ms": {stage: _percentiles(ms) for stage, ms in stages.items()},
        "dense_recall_at_45": round(recall, 4),
        "add_source_s": round(t1 - t0, 3),
        "delete_source_s": round(t2 - t1, 3),
    }


def _engine_stages(backend: Any, probes: int) -> tuple[Any, Any]:
    """(BM25 search, dense search returning the hits' doc_keys) through an engine backend's own requests."""
    if hasattr(backend, "_open"):  # LanceDB
        table = backend._open()
        return (
            lambda q: backend._bm25(table, " ".join(analyse(q)), K, None),
            lambda v: [json.loads(r["metadata"])["doc_key"] for r in backend._dense(table, v, K, None, probes)],
        )
    return (
        lambda q: backend._search([" ".join(analyse(q))], "sparse", K, "", {"metric_type": "BM25"}),
        lambda v: [
            h["entity"]["metadata"]["doc_key"]
            for h in backend._search(
                [v.tolist()], "dense", K, "", {"metric_type": "COSINE", "params": {"ef": max(K, probes)}}
            )
        ],
    )


def _reset_peak() -> None:
    """Start this process's peak RSS (VmHWM) over from its current RSS (Linux: clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


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

    corpora = sorted({r.get("corpus", "articles") for r in report["results"]})
    table = Table(title=f"Index cost by size, {' and '.join(corpora)} corpus (2 cores; query times exclude embedding)")
    for column in (
        "backend",
        "chunks",
        "build s (CPU s)",
        "build peak MiB",
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
        "add peak MiB",
    ):
        table.add_column(column, justify="right")
    for r in report["results"]:
        ms = r["ms"]
        table.add_row(
            r["backend"],
            f"{r['chunks']:,}",
            f"{r['build_s']:.1f} ({r.get('build_cpu_s', float('nan')):.0f})",
            f"{r.get('build_peak_rss_mib', float('nan')):.0f}",
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
            f"{r.get('add_peak_rss_mib', float('nan')):.0f}",
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


if __name__ == "__main__":  # a measuring process: python -m ragloop.benchmarks.scale build|probe PLAN.json
    step = {"build": build, "probe": probe}[sys.argv[1]]
    print(json.dumps(step(json.loads(Path(sys.argv[2]).read_text()))))
