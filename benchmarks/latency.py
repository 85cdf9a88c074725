"""End-to-end latency and peak memory of the graph on the embedded default stack.

    python -m ragloop.benchmarks.latency            # Qwen2.5-Coder-1.5B, the demo corpus, its questions

Indexes the bundled demo corpus, then answers its questions in one process and
reports per question the wall time, the difficulty level and each node's time;
then p50 over questions, the first (cold: model load included) question apart,
and the process's peak resident memory.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ragloop.application.context import context_from
from ragloop.application.demo import demo_corpus
from ragloop.application.indexing import index_files
from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import write_json
from ragloop.graph.builder import graph
from ragloop.settings.overrides import parse_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--questions", type=int, default=8, help="demo questions to ask (first paragraph of each article first)"
    )
    parser.add_argument("--model", help="local chat model (default: the Context default)")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = context_from(parse_settings(args.set or []), index=str(Path(tmp) / "index"), model=args.model)
        with demo_corpus() as corpus:
            index_files([str(corpus)], ctx)
            questions = load_dataset(corpus).questions
        # One question per article in turn, so consecutive questions do not share passages.
        by_article: dict[str, list] = {}
        for q in questions:
            by_article.setdefault(next(iter(q.relevant)).split("#")[0], []).append(q)
        order = [qs[i] for i in range(max(map(len, by_article.values()))) for qs in by_article.values() if i < len(qs)]
        rows = []
        for q in order[: args.questions]:
            start = time.perf_counter()
            out = graph.invoke({"question": q.text}, context=ctx)
            rows.append(
                {
                    "question": q.text,
                    "seconds": round(time.perf_counter() - start, 2),
                    "level": out["difficulty"]["level"],
                    "rewrites": out["rewrites"],
                    "timings": out["timings"],
                    "tokens_in": sum(u["input_tokens"] for u in out["usage"].values()),
                    "tokens_out": sum(u["output_tokens"] for u in out["usage"].values()),
                    "answer": out["answer"],
                    "gold": q.answers[0],
                }
            )
    warm = [r["seconds"] for r in rows[1:]] or [rows[0]["seconds"]]
    easy = [r["seconds"] for r in rows[1:] if r["level"] == "easy" and r["rewrites"] == 0]
    report = {
        "model": ctx.local_chat_model,
        "cold_first_question_s": rows[0]["seconds"],
        "warm_p50_s": statistics.median(warm),
        "warm_easy_no_rewrite_p50_s": statistics.median(easy) if easy else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "questions": rows,
    }
    table = Table("question", "level", "rewrites", "s", "tokens in/out", "answer", "gold")
    for r in rows:
        table.add_row(
            r["question"][:50],
            r["level"],
            str(r["rewrites"]),
            f"{r['seconds']:.1f}",
            f"{r['tokens_in']}/{r['tokens_out']}",
            r["answer"][:60],
            r["gold"][:30],
        )
    console = Console()
    console.print(table)
    console.print({k: v for k, v in report.items() if k != "questions"})
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
