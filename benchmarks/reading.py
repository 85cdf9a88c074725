"""`python -m ragloop.benchmarks.reading`: peak memory of indexing a folder, its files read all at once
(`read_files`, as `ragloop index` did) or as the index takes them (`FileStream`, as it does now).

It writes `--files` text files of twelve SQuAD sentences each, drawn from different articles (so the
folder looks like notes, not like one article cut up), then indexes the folder each way in a fresh
process and reports that process's peak RSS (`VmHWM`), wall and CPU seconds, and whether the two indexes
are the same bit for bit. The embedder is a stand-in that costs nothing (a one-hot vector from the text's
CRC-32), so that reading, chunking and writing are what is measured:

    python -m ragloop.benchmarks.reading --files 100000 --json bench-results/reading.json
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import console
from ragloop.benchmarks.scale import SENTENCE_BREAK, rss_mib

WAYS = ("all at once", "as the index takes them")
SENTENCES = 12
DIMENSION = 384


class StandIn(Embeddings):
    """A deterministic unit vector per text that costs next to nothing to make."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out = np.zeros((len(texts), DIMENSION), np.float32)
        for row, text in enumerate(texts):
            out[row, zlib.crc32(text.encode()) % DIMENSION] = 1.0
        return out.tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def write_folder(data: list[Path], folder: Path, files: int, seed: int = 0) -> int:
    """`files` text files of SENTENCES sentences each, from any article; returns their bytes."""
    sentences = sorted(
        {
            s.strip()
            for file in data
            for doc in load_dataset(file).documents
            for s in SENTENCE_BREAK.split(doc.page_content)
            if 20 <= len(s.strip()) <= 300
        }
    )
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    size = 0
    for n in range(files):
        size += (folder / f"{n:07d}.txt").write_text(" ".join(rng.choice(sentences) for _ in range(SENTENCES)))
    return size


def index_once(way: str, folder: str, index: str) -> dict:
    """Index the folder one way in this process; its peak RSS and times."""
    from ragloop.retrieval.index import update_index
    from ragloop.retrieval.loaders import FileStream, read_files

    wall, cpu = time.perf_counter(), time.process_time()
    documents = read_files([folder]).documents if way == WAYS[0] else FileStream([folder])
    manifest = update_index(index, StandIn(), "stand-in", add=documents, replace_all=True)
    return {
        "way": way,
        "chunks": manifest["chunks"],
        "seconds": round(time.perf_counter() - wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "peak_rss_mib": round(rss_mib(field="VmHWM:")),
        "sha256": [segment["sha256"] for segment in manifest["segments"]],
    }


def measure(data: list[Path], files: int, work: Path) -> dict:
    console.print(f"Writing {files:,} files to {work / 'files'}")
    size = write_folder(data, work / "files", files)
    rows = []
    for n, way in enumerate(WAYS):
        console.print(f"Indexing them {way}, in a process of its own")
        argv = [sys.executable, "-m", "ragloop.benchmarks.reading", "--once", way, str(work / "files")]
        done = subprocess.run([*argv, str(work / f"index-{n}")], capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    same = rows[0].pop("sha256") == rows[1].pop("sha256")
    report = {"files": files, "text_mib": round(size / 2**20, 1), "same_index": same, "ways": rows}
    for row in rows:
        console.print(
            f"{row['way']:>24}: {row['chunks']:,} chunks, peak RSS {row['peak_rss_mib']:,} MiB, "
            f"{row['seconds']} s ({row['cpu_seconds']} CPU s)"
        )
    console.print(f"The two indexes are {'the same bit for bit' if same else 'DIFFERENT'}.")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ragloop.benchmarks.reading", description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument(
        "--data", nargs="*", default=sorted(str(p) for p in Path("../shared/data/squad").glob("*.json.gz"))
    )
    parser.add_argument("--work", help="where the files and indexes go (default: a temporary folder)")
    parser.add_argument("--json", help="write the report here")
    parser.add_argument("--once", nargs=3, metavar=("WAY", "FOLDER", "INDEX"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        print(json.dumps(index_once(*args.once)))
        return 0
    if not args.data:
        parser.error("no SQuAD-format files given (--data) and none under ../shared/data/squad")
    with tempfile.TemporaryDirectory(prefix="ragloop-reading-") as scratch:
        report = measure([Path(f) for f in args.data], args.files, Path(args.work or scratch))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
