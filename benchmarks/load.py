"""Load test: concurrent question runs against `langgraph dev` on 127.0.0.1, for a bounded time.

    python -m ragloop.benchmarks.load --concurrency 20 --seconds 120       # make bench-load

Indexes the bundled demo corpus, starts the dev server (API-key auth on, a free port,
one job slot per concurrent run) and keeps ``concurrency`` runs in flight, each on a
new thread with the next demo question, until ``seconds`` have passed. Then it waits
for the runs in flight (at most ``--grace`` seconds) and checks every submitted run:
it reached a final state (none lost), its thread holds exactly one run (none
duplicated) and the thread's state is readable with an answer. Reports throughput,
latency p50/p95/p99 and errors by kind.

Each run is a full pipeline (search, rerank, grading, rewrites when needed, one
answer) with the smallest compute budget (``LOAD_SETTINGS``: difficulty fixed at
medium, one sample over 5 documents, no refinement), so the test measures the
serving path, not best-of-N sampling; ``--set`` overrides any setting. The answer
cache is off (every run is answered in full) unless ``--answer-cache``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ragloop.application.context import context_from
from ragloop.application.demo import demo_corpus
from ragloop.application.indexing import index_files
from ragloop.benchmarks.datasets import load_dataset
from ragloop.benchmarks.harness import write_json
from ragloop.benchmarks.metrics import percentile
from ragloop.serving.devserver import dev_server
from ragloop.settings.overrides import parse_settings

FINAL = ("success", "error", "timeout", "interrupted")
LOAD_SETTINGS = {
    "difficulty_estimator": "fixed",
    "medium_docs": 5,
    "medium_samples": 1,
    "medium_partitions": 1,
    "medium_refine_rounds": 0,
}


async def _drive(
    url: str, key: str, context: dict, questions: list[str], concurrency: int, seconds: float, grace: float
) -> dict:
    from langgraph_sdk import get_client

    client = get_client(url=url, api_key=key, timeout=grace + seconds)
    tag = uuid.uuid4().hex
    deadline = time.monotonic() + seconds
    next_question = itertools.cycle(questions).__next__
    submitted: list[dict] = []

    async def worker() -> None:
        while time.monotonic() < deadline:
            question, start = next_question(), time.monotonic()
            record: dict[str, Any] = {"question": question, "thread": None, "run": None, "error": None}
            submitted.append(record)
            try:
                thread = await client.threads.create(metadata={"load_test": tag})
                record["thread"] = thread["thread_id"]
                run = await client.runs.create(
                    thread["thread_id"], "ragloop", input={"question": question}, context=context
                )
                record["run"] = run["run_id"]
                await client.runs.join(thread["thread_id"], run["run_id"])
            except Exception as exc:  # a failed request is a result of the test, not its end
                record["error"] = type(exc).__name__
            record["seconds"] = time.monotonic() - start

    started = time.monotonic()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    done, pending = await asyncio.wait(workers, timeout=seconds + grace)
    for task in pending:
        task.cancel()
    elapsed = time.monotonic() - started

    outcomes: Counter = Counter()
    latencies = []
    for record in submitted:
        if record["run"] is None:
            outcomes[f"not submitted ({record['error'] or 'cancelled'})"] += 1
            continue
        run = await client.runs.get(record["thread"], record["run"])
        runs_on_thread = await client.runs.list(record["thread"])
        state = await client.threads.get_state(record["thread"])
        values = state.get("values")
        answer = values.get("answer") if isinstance(values, dict) else None
        if len(runs_on_thread) != 1:
            outcomes["duplicated"] += 1
        if run["status"] not in FINAL:
            outcomes["lost (never finished)"] += 1
        elif run["status"] != "success":
            outcomes[f"run {run['status']}"] += 1
        elif not answer:
            outcomes["success without an answer in the thread state"] += 1
        else:
            outcomes["answered"] += 1
            latencies.append(record["seconds"])
    threads = await client.threads.search(metadata={"load_test": tag}, limit=len(submitted) + 100)
    return {
        "submitted": len(submitted),
        "outcomes": dict(outcomes),
        "threads_on_server": len(threads),
        "elapsed_seconds": round(elapsed, 1),
        "throughput_runs_per_s": round(outcomes["answered"] / elapsed, 3),
        "latency_s": {f"p{q}": round(percentile(latencies, q), 2) for q in (50, 95, 99)},
    }


def run_load(
    concurrency: int = 20,
    seconds: float = 120.0,
    *,
    grace: float = 600.0,
    model: str = "smollm2-135m",
    answer_cache: bool = False,
    settings: dict | None = None,
    workdir: Path | None = None,
) -> dict:
    """Index the demo corpus, serve it, drive it; returns the report (see the module docstring)."""

    key = uuid.uuid4().hex
    with tempfile.TemporaryDirectory() as tmp:
        work = workdir or Path(tmp)
        index = str(work / "index")
        with demo_corpus() as path:
            index_files([str(path)], context_from(index=index))
            questions = [q.text for q in load_dataset(path).questions]
        context = {**LOAD_SETTINGS, **(settings or {})}
        if not answer_cache:
            context["answer_cache_ttl_seconds"] = 0
        # The deployment settings are the operator's: the server's environment, not the runs' context.
        deployment = {"index_path": index, "local_chat_model": model, "local_n_ctx": 4096}
        env = {"RAGLOOP_API_KEYS": key, "RAGLOOP_SETTINGS": json.dumps(deployment)}
        with dev_server(work / "server.log", env=env, jobs=concurrency) as url:
            report = asyncio.run(_drive(url, key, context, questions, concurrency, seconds, grace))
    return {
        "concurrency": concurrency,
        "seconds": seconds,
        "model": model,
        "answer_cache": answer_cache,
        "settings": {**context, "local_n_ctx": 4096},
        **report,
    }


def print_report(report: dict, console: Console) -> None:
    table = Table(
        "concurrency",
        "submitted",
        "answered",
        "runs/s",
        "p50 s",
        "p95 s",
        "p99 s",
        "other outcomes",
        title=f"Load test: {report['model']}, {report['seconds']:.0f} s",
        title_justify="left",
    )
    outcomes = dict(report["outcomes"])
    answered = outcomes.pop("answered", 0)
    lat = report["latency_s"]
    table.add_row(
        str(report["concurrency"]),
        str(report["submitted"]),
        str(answered),
        f"{report['throughput_runs_per_s']:.3f}",
        f"{lat['p50']:.1f}",
        f"{lat['p95']:.1f}",
        f"{lat['p99']:.1f}",
        ", ".join(f"{k}: {v}" for k, v in outcomes.items()) or "none",
    )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=20, help="runs kept in flight")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long new runs are submitted")
    parser.add_argument("--grace", type=float, default=600.0, help="how long runs in flight may take to finish")
    parser.add_argument("--model", default="smollm2-135m", help="local chat model the server answers with")
    parser.add_argument("--answer-cache", action="store_true", help="leave the answer cache on")
    parser.add_argument("--set", action="append", metavar="NAME=VALUE", help="any Context setting of the runs")
    parser.add_argument("--json", type=Path, default=Path("bench-results/load.json"))
    args = parser.parse_args(argv)
    if args.concurrency < 1 or args.seconds <= 0:
        parser.error("--concurrency must be at least 1 and --seconds positive")
    console = Console()
    console.print(f"Driving {args.concurrency} concurrent runs for {args.seconds:.0f} s …")
    report = run_load(
        args.concurrency,
        args.seconds,
        grace=args.grace,
        model=args.model,
        answer_cache=args.answer_cache,
        settings=parse_settings(args.set or []),
    )
    print_report(report, console)
    write_json(args.json, report)
    console.print(f"report: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
