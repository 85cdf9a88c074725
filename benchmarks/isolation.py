"""Isolation benchmark: what one key's heaviest allowed request costs a shared server, and whether other keys
and the server's memory notice.

    python -m ragloop.benchmarks.isolation                 # make bench-isolation

Indexes the demo corpus, starts `langgraph dev` on a free loopback port with two API keys and the operator's
deployment settings, and measures, with the server's default ceilings (serving/policy.py):

- the wall time of one *maximal* request: every per-request setting at its ceiling (documents, samples,
  refinement rounds, rewrites, output caps, the verifier), difficulty fixed so the whole row is spent;
- the latency of another key's thread reads (GET /threads/{id}/state, every 0.2 s) while it runs;
- the server's resident memory (its process and children) before, after the maximal request, and after each
  of three rounds of 20 runs with varied per-request settings and distinct questions: it must not start new
  model servers or grow without bound (the node cache is bounded, `RAGLOOP_CACHE_MAX_MIB`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from rich.console import Console

from ragloop.application.context import context_from
from ragloop.application.demo import demo_corpus
from ragloop.application.indexing import index_files
from ragloop.benchmarks.harness import write_json
from ragloop.benchmarks.metrics import percentile
from ragloop.serving.devserver import dev_server, tree_rss_mib
from ragloop.serving.policy import ceilings

ALICE, BOB = "isolation-alice", "isolation-bob"
QUESTION = "How did the black death make it to the Mediterranean and Europe?"


def maximal_settings() -> dict[str, Any]:
    """Every per-request setting a request may raise, at the server's ceiling; the medium row spends it all."""
    top = ceilings()
    return {
        "difficulty_estimator": "fixed",
        "selection": "verifier",
        "answer_cache_ttl_seconds": 0,
        "min_relevant": 100,  # never enough relevant documents: every rewrite is spent
        **{
            name: int(top[name])
            for name in (
                "k",
                "top_n",
                "max_docs",
                "max_samples",
                "max_refine_rounds",
                "max_rewrites",
                "max_tokens_per_query",
                "generate_max_tokens",
                "refine_max_tokens",
                "rewrite_max_tokens",
                "grade_max_tokens",
                "difficulty_max_tokens",
            )
        },
        "medium_docs": int(top["medium_docs"]),
        "medium_samples": int(top["medium_samples"]),
        "medium_refine_rounds": int(top["medium_refine_rounds"]),
    }


ROUNDS, RUNS_PER_ROUND = 3, 20


def varied_settings(n: int) -> dict[str, Any]:
    """The n-th ordinary request, each asking for something a little different."""
    return {
        "k": 10 + 4 * (n % 20),
        "top_n": 1 + n % 8,
        "selection": ("vote", "confidence", "verifier", "merge")[n % 4],
        "temperature": round(0.1 * (n % 5), 1),
        "medium_samples": 1 + n % 3,
        "answer_cache_ttl_seconds": 0,
        "difficulty_estimator": ("logprob", "retrieval", "fixed", "verbal")[n % 4],
    }


def call(url: str, key: str, method: str, path: str, body: dict | None = None, timeout: float = 1800) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url + path, data=data, method=method, headers={"x-api-key": key, "content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def node_cache_mib(url: str) -> float:
    """The server's in-process node cache, in MiB (ragloop_node_cache_bytes on /ragloop/metrics)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url + "/ragloop/metrics", timeout=30) as response:
        body = response.read().decode()
    held = [
        s.value for f in text_string_to_metric_families(body) for s in f.samples if s.name == "ragloop_node_cache_bytes"
    ]
    return round(sum(held) / 2**20, 1)


def run_isolation(
    model: str = "smollm2-135m",
    workdir: Path | None = None,
    prompt_cache_mib: int | None = None,
    isolated_loops: bool = True,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = workdir or Path(tmp)
        index = str(work / "index")
        with demo_corpus() as path:
            index_files([str(path)], context_from(index=index))
        deployment = {"index_path": index, "local_chat_model": model, "local_n_ctx": 4096}
        if prompt_cache_mib is not None:
            deployment["local_prompt_cache_mib"] = prompt_cache_mib
        env = {
            "RAGLOOP_API_KEYS": f"{ALICE},{BOB}",
            "RAGLOOP_SETTINGS": json.dumps(deployment),
            "RAGLOOP_REQUESTS_PER_MINUTE": "0",
        }
        loops = {"BG_JOB_ISOLATED_LOOPS": "true" if isolated_loops else "false"}
        with dev_server(work / "server.log", env=env, jobs=4, config_env=loops) as url:
            port = int(url.rsplit(":", 1)[1])
            ask = {"assistant_id": "ragloop", "input": {"question": QUESTION}}
            thread = call(url, BOB, "POST", "/threads", {})["thread_id"]
            call(url, BOB, "POST", f"/threads/{thread}/runs/wait", ask)
            call(url, ALICE, "POST", "/runs/wait", ask)  # the model server is up
            rss_start = tree_rss_mib(port)

            reads: list[float] = []
            done = threading.Event()

            def read_bobs_thread() -> None:
                while not done.is_set():
                    start = time.perf_counter()
                    call(url, BOB, "GET", f"/threads/{thread}/state", timeout=60)
                    reads.append(time.perf_counter() - start)
                    time.sleep(0.2)

            reader = threading.Thread(target=read_bobs_thread, daemon=True)
            reader.start()
            start = time.perf_counter()
            maximal = call(url, ALICE, "POST", "/runs/wait", {**ask, "context": maximal_settings()})
            busy = time.perf_counter() - start
            done.set()
            reader.join(timeout=70)
            rss_after_maximal = tree_rss_mib(port)

            rss_rounds, cache_rounds = [], []
            for n in range(ROUNDS * RUNS_PER_ROUND):
                question = f"{QUESTION} (request {n})"  # distinct: every run fills the caches anew
                body = {**ask, "input": {"question": question}, "context": varied_settings(n)}
                call(url, ALICE, "POST", "/runs/wait", body)
                if (n + 1) % RUNS_PER_ROUND == 0:
                    rss_rounds.append(tree_rss_mib(port))
                    cache_rounds.append(node_cache_mib(url))
    return {
        "model": model,
        "deployment": {
            "BG_JOB_ISOLATED_LOOPS": isolated_loops,
            "local_prompt_cache_mib": prompt_cache_mib,
            "RAGLOOP_CACHE_MAX_MIB": os.environ.get("RAGLOOP_CACHE_MAX_MIB"),
        },
        "maximal_settings": maximal_settings(),
        "maximal_request_seconds": round(busy, 1),
        "maximal_request_tokens": (maximal.get("compute") or {}).get("tokens"),
        "maximal_request_calls": sum(u.get("calls", 0) for u in (maximal.get("usage") or {}).values()),
        "other_key_reads": {
            "count": len(reads),
            "p50_s": round(statistics.median(reads), 3) if reads else None,
            "p95_s": round(percentile(reads, 95), 3) if reads else None,
            "max_s": round(max(reads), 3) if reads else None,
        },
        "server_rss_mib": {
            "start": rss_start,
            "after_maximal": rss_after_maximal,
            **{f"after_{RUNS_PER_ROUND * (r + 1)}_varied": rss for r, rss in enumerate(rss_rounds)},
        },
        "node_cache_mib": {f"after_{RUNS_PER_ROUND * (r + 1)}_varied": mib for r, mib in enumerate(cache_rounds)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="local chat model the server answers with")
    parser.add_argument(
        "--prompt-cache-mib", type=int, help="the server's llama.cpp prompt cache (default: the setting's default)"
    )
    parser.add_argument(
        "--shared-loop",
        action="store_true",
        help="run the server's background jobs on its main event loop (BG_JOB_ISOLATED_LOOPS=false)",
    )
    parser.add_argument("--json", type=Path, default=Path("bench-results/isolation.json"))
    args = parser.parse_args(argv)
    console = Console()
    console.print("Measuring one maximal request, another key's reads during it, and the server's memory …")
    report = run_isolation(args.model, prompt_cache_mib=args.prompt_cache_mib, isolated_loops=not args.shared_loop)
    console.print_json(json.dumps(report))
    write_json(args.json, report)
    console.print(f"report: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
