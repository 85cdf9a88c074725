"""What a chat client waits for: time to the answer's first token and to the whole answer, per difficulty level.

    python -m ragloop.benchmarks.chat ../shared/data/squad/reddit_v1.0.json.gz --questions 30   # make bench-chat

Indexes the data (cached under bench-results/indexes), starts a real `langgraph dev` on a free loopback port
with API-key auth and the embedded local stack, and asks the sampled questions one at a time through the
Python `langgraph-sdk`, as a chat client does: the question as a human message, `stream_mode` messages-tuple
and values. Per question: seconds from the request to the first message event that carries answer text (a
streamed token, or the whole answer where nothing streams), and to the end of the run; the level the run was
judged at. `--url URL --key KEY` measures a server already running instead (another release, another
deployment) with the same client. Reports p50 / p95 per level and over all questions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import environment, make_variants, with_indexes, write_json
from ragloop.benchmarks.metrics import percentile
from ragloop.serving.devserver import dev_server

#: Every run answered in full (no answer cache), otherwise the served defaults.
RUN_CONTEXT = {"answer_cache_ttl_seconds": 0}


async def _ask_all(
    url: str, key: str, questions: list[str], context: dict[str, Any], console: Console | None = None
) -> list[dict]:
    from langgraph_sdk import get_client

    client = get_client(url=url, api_key=key, timeout=3600)
    rows = []
    for question in questions:
        started, first, chunks, final = time.perf_counter(), None, 0, {}
        async for part in client.runs.stream(
            None,
            "ragloop",
            input={"messages": [{"role": "user", "content": question}]},  # type: ignore[dict-item]
            context=context,
            stream_mode=["messages-tuple", "values"],
        ):
            if part.event == "error":
                raise RuntimeError(f"the run failed: {part.data}")
            if part.event == "messages":
                message = part.data[0]
                if message.get("type") in ("ai", "AIMessageChunk") and _text(message):
                    chunks += 1
                    first = first if first is not None else time.perf_counter() - started
            elif part.event == "values":
                final = part.data
        row = {
            "question": question,
            # no level: declined on the reranker's score alone (unanswerable), or from the answer cache
            "level": (final.get("difficulty") or {}).get("level")
            or (final.get("compute") or {}).get("stop_reason")
            or "cached",
            "first_token_s": round(first if first is not None else time.perf_counter() - started, 3),
            "complete_s": round(time.perf_counter() - started, 3),
            "answer_chunks": chunks,
            "stop_reason": (final.get("compute") or {}).get("stop_reason"),
        }
        rows.append(row)
        if console is not None:  # progress: one line per question
            console.print(
                f"{len(rows)}/{len(questions)} {row['level']}: first token {row['first_token_s']:.1f} s, "
                f"whole answer {row['complete_s']:.1f} s, {row['answer_chunks']} chunks"
            )
    return rows


def _text(message: dict) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content if isinstance(b, dict))
    return content or ""


def summarise(rows: list[dict]) -> dict[str, dict[str, Any]]:
    """p50 / p95 of both times per level, and over all questions."""
    groups: dict[str, list[dict]] = {"all": rows}
    for row in rows:
        groups.setdefault(row["level"], []).append(row)
    return {
        level: {
            "questions": len(rs),
            **{
                f"{what}_p{q}": round(percentile([r[f"{what}_s"] for r in rs], q), 2)
                for what in ("first_token", "complete")
                for q in (50, 95)
            },
            "mean_answer_chunks": round(sum(r["answer_chunks"] for r in rs) / len(rs), 1),
        }
        for level, rs in groups.items()
    }


def run_chat(
    data: Path, questions: int, seed: int, *, model: str = "", url: str = "", key: str = "", index_dir: Path
) -> dict:
    console = Console(stderr=True)
    dataset = load_dataset(data)
    asked = [q.text for q in dataset.sample(questions, seed)]
    if url:
        rows = asyncio.run(_ask_all(url, key, asked, RUN_CONTEXT, console))
    else:
        [variant], _ = with_indexes(dataset, make_variants([("default", {})], {}), index_dir)
        key = uuid.uuid4().hex
        deployment = {
            "index_path": str(Path(variant.context.index_path).resolve()),
            **({"local_chat_model": model} if model else {}),
        }
        env = {"RAGLOOP_API_KEYS": key, "RAGLOOP_SETTINGS": json.dumps(deployment)}
        with tempfile.TemporaryDirectory() as tmp, dev_server(Path(tmp) / "server.log", env=env) as served:
            rows = asyncio.run(_ask_all(served, key, asked, RUN_CONTEXT, console))
    return {
        "benchmark": "chat",
        "dataset": str(data),
        "sample": {"questions": len(asked), "seed": seed},
        "server": url or "langgraph dev (started by the benchmark)",
        "model": model or "the Context default",
        "by_level": summarise(rows),
        "rows": rows,
        "environment": environment(),
    }


def print_report(report: dict, console: Console) -> None:
    table = Table(
        title=f"Chat latency through {report['server']}: {report['sample']['questions']} questions, seconds",
        title_justify="left",
    )
    for column in ("level", "questions", "first token p50", "p95", "whole answer p50", "p95", "chunks"):
        table.add_column(column, justify="left" if column == "level" else "right")
    for level, s in report["by_level"].items():
        table.add_row(
            level,
            str(s["questions"]),
            *(f"{s[k]:.2f}" for k in ("first_token_p50", "first_token_p95", "complete_p50", "complete_p95")),
            f"{s['mean_answer_chunks']:.1f}",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, nargs="?", default=Path("../shared/data/squad/reddit_v1.0.json.gz"))
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="", help="the server's local chat model (default: the Context default)")
    parser.add_argument("--url", default="", help="measure this running server instead of starting one")
    parser.add_argument("--key", default="", help="its API key (with --url)")
    parser.add_argument("--index-dir", type=Path, default=Path("bench-results/indexes"))
    parser.add_argument("--json", type=Path, help="write the report here")
    args = parser.parse_args(argv)
    report = run_chat(
        args.data, args.questions, args.seed, model=args.model, url=args.url, key=args.key, index_dir=args.index_dir
    )
    print_report(report, Console())
    if args.json:
        write_json(args.json, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
