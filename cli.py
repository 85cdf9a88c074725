"""The `ragloop` command: index documents, ask questions, run the demo."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ragloop.errors import ConfigError, InputError, RagloopError
from ragloop.settings.overrides import parse_settings

console = Console(stderr=True)
out = Console()


# --- settings -------------------------------------------------------------------------
def build_context(args: argparse.Namespace):
    """The Context a command's --provider, --set, --index and --model describe."""
    from ragloop.application.context import context_from

    return context_from(
        parse_settings(getattr(args, "set", None) or []),
        provider=getattr(args, "provider", None),
        index=getattr(args, "index", None),
        model=getattr(args, "model", None),
    )


# --- index ----------------------------------------------------------------------------
def run_index(paths: list[str], ctx, *, add: bool = False, delete: list[str] | None = None) -> dict:
    """Index exactly these files; with add, add or replace them by source; delete removes sources."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from ragloop import providers
    from ragloop.application.indexing import index_files

    name, _ = providers.embeddings(ctx)
    what = "Adding" if add else "Indexing"

    def started(files: int) -> None:
        console.print(
            escape(
                f"{what} {files} file(s) with {name} into {ctx.index_path}"
                + (f", deleting {len(delete)} source(s)" if delete else "")
            )
        )

    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task("embedding new chunks", total=None)

    def embedded(done: int, total: int) -> None:
        bar.start()  # on the first chunk, so that a file that cannot be read leaves no progress line behind
        bar.update(task, completed=done, total=total)

    try:
        manifest = index_files(paths, ctx, add=add, delete=delete, on_start=started, progress=embedded)
    finally:
        if bar.live.is_started:
            bar.stop()
    change, files = manifest["last_update"], manifest.get("files") or {}
    if files.get("read") or files.get("skipped"):
        skipped = files.get("skipped") or []
        console.print(f"Read {len(files['read'])} file(s); skipped {len(skipped)}" + (":" if skipped else "."))
        for item in skipped:
            console.print(escape(f"  {item['path']}: {item['reason']}"), soft_wrap=True)
    for path, source in (change.get("renamed") or {}).items():
        console.print(
            escape(f"{path} is indexed as {source}: another file's source is named as it is."), soft_wrap=True
        )
    console.print(
        f"Index: {manifest['chunks']} chunks"
        + (f" from {len(manifest['sources'])} source(s)" if "sources" in manifest else "")
        + "; "
        f"{change['added_chunks']} chunks added, {change['removed_chunks']} removed, "
        f"{change['embedded_chunks']} embedded, {change['reused_vectors']} vectors reused."
    )
    return manifest


# --- ask ------------------------------------------------------------------------------
def _budget_text(b: dict) -> str:
    if b.get("from_draft"):
        return f"the difficulty draft's answer, from {b.get('docs')} docs"
    text = (
        f"{b.get('docs')} docs, {b.get('samples')} sample(s) over {b.get('partitions')} partition(s), "
        f"{b.get('refine_rounds')} refinement round(s)"
    )
    return text + (f", model {b['model']}" if b.get("model") else "")


def _difficulty_text(d: dict) -> str:
    conf = "n/a" if d.get("confidence") is None else f"{d['confidence']:.2f}"
    text = f"{d.get('level')} ({d.get('estimator')} confidence {conf})"
    if d.get("escalated"):
        text += f", hard as the reranker is unsure too (retrieval confidence {d.get('retrieval_confidence')})"
    return text


def _node_summary(node: str, update: dict) -> str:
    if node == "difficulty":
        return f"{_difficulty_text(update['difficulty'])} → {_budget_text(update['budget'])}"
    if node == "retrieve":
        return f"{len(update.get('candidates', []))} candidates"
    if node == "rerank":
        return f"kept {len(update.get('reranked', []))}"
    if node == "grade":
        return f"{len(update.get('relevant', []))} relevant"
    if node == "rewrite":
        return f"new query: {update.get('query')!r}"
    if node == "plan":
        p = update.get("plan", {})
        return f"{p.get('samples')} sample(s) over {p.get('partitions')} partition(s) of {p.get('docs')} docs"
    if node == "generate":
        return f"sample {update['drafts'][0]['sample']}: {update['drafts'][0]['text'][:60]!r}"
    if node == "lookup" and (update.get("compute") or {}).get("answer_cache"):
        return "answered from the answer cache"
    if node in ("select", "refine") and update.get("answer"):
        return f"{update['answer'][:70]!r}"
    if node != "intake" and update.get("degraded"):
        return f"[yellow]{update['degraded'][0]}[/yellow]"
    return ""


class _Watch:
    """What `ragloop ask` shows live on a terminal while the graph runs: the step under way with its elapsed
    seconds, and the answer as the model writes it (rich redraws it several times a second)."""

    def __init__(self) -> None:
        import time

        self.clock, self.answer = time.monotonic, ""
        self.running: list[str] = []
        self.since = self.clock()

    def start(self, node: str) -> None:
        if not self.running:
            self.since = self.clock()
        self.running.append(node)

    def finish(self, node: str, update: dict) -> None:
        if node in self.running:
            self.running.remove(node)
        seconds = (update.get("timings") or {}).get(node, 0.0)
        console.print(f"  [bold]{node:<10}[/bold] {seconds:6.2f} s  {_node_summary(node, update)}")

    def token(self, text: str) -> None:
        self.answer += text

    def __rich__(self):
        from rich.spinner import Spinner
        from rich.text import Text

        doing = ", ".join(dict.fromkeys(self.running)) or "…"
        line = Spinner("dots", Text.assemble((f" {doing}", "bold"), f"  {self.clock() - self.since:5.1f} s"))
        if not self.answer:
            return line
        from rich.console import Group

        return Group(line, Text.assemble(("Answer so far: ", "bold"), self.answer.strip()))


def ask(question: str, ctx, *, show_progress: bool = True, thread: str | None = None) -> dict:
    """Run the graph (application/asking.py), printing each node as it finishes; on a terminal, the step under
    way with its elapsed time and the answer as it is written are shown live. Returns the output state."""
    from ragloop.application.asking import ask as ask_graph

    if not show_progress:
        return ask_graph(question, ctx, thread=thread)
    watch = _Watch()
    if not console.is_terminal:  # a log or a pipe: one line per finished step, as before
        return ask_graph(question, ctx, thread=thread, on_update=watch.finish)
    from rich.live import Live

    with Live(watch, console=console, refresh_per_second=8, transient=True):
        return ask_graph(
            question, ctx, thread=thread, on_update=watch.finish, on_start=watch.start, on_token=watch.token
        )


def print_result(result: dict) -> None:
    if result.get("asked") and result.get("question") != result["asked"]:
        out.print(f"\n[bold]Standalone question:[/bold] {escape(result['question'])}")
    out.print(f"\n[bold]Answer:[/bold] {escape(result.get('answer', ''))}")
    for c in result.get("citations", []):
        title = f" — {c['title']}" if c.get("title") else ""
        out.print(escape(f"  [{c['n']}] {c['id']} ({c.get('source')}{title})"))
    for warning in result.get("warnings") or []:
        out.print(f"[yellow]Note:[/yellow] {escape(warning)}")
    d, c = result.get("difficulty", {}), result.get("compute", {})
    out.print(
        f"Difficulty: {_difficulty_text(d)}; "
        f"budget: {_budget_text(result.get('budget', {}))}; rewrites: {result.get('rewrites', 0)}"
    )
    limit = f" of {c['max_tokens_per_query']}" if c.get("max_tokens_per_query") else ""
    out.print(
        f"Spent: {c.get('tokens', 0)}{limit} tokens, {c.get('samples', 0)} sample(s), "
        f"{c.get('refine_rounds', 0)} refinement round(s); stopped: {c.get('stop_reason')}"
    )
    for note in c.get("degraded") or []:
        out.print(f"[yellow]Cut by the token budget:[/yellow] {escape(note)}")
    if hit := c.get("answer_cache"):
        out.print(
            f"From the answer cache ({hit['age_seconds']:.0f} s old): saved {hit['saved_tokens']} tokens, "
            f"${hit['saved_cost_usd']:.6f}"
        )
    table = Table("node", "calls", "input tokens", "output tokens", "seconds", title="Spend", title_justify="left")
    usage, timings = result.get("usage", {}), result.get("timings", {})
    for node in timings:
        u = usage.get(node, {})
        table.add_row(
            node,
            str(u.get("calls", 0)),
            str(u.get("input_tokens", 0)),
            str(u.get("output_tokens", 0)),
            f"{timings[node]:.2f}",
        )
    table.add_row(
        "total",
        str(sum(u.get("calls", 0) for u in usage.values())),
        str(sum(u.get("input_tokens", 0) for u in usage.values())),
        str(sum(u.get("output_tokens", 0) for u in usage.values())),
        f"{result.get('wall_seconds', 0):.2f}",
        style="bold",
    )
    out.print(table)
    out.print(f"Estimated cost: ${result.get('cost_usd', 0.0):.6f}")


# --- commands -------------------------------------------------------------------------
def cmd_index(args) -> int:
    ctx = build_context(args)
    if args.list:
        from ragloop.retrieval.store import index_summary

        for source in index_summary(ctx)["sources"]:
            out.print(source, markup=False, highlight=False)
        return 0
    if not args.paths and not args.delete:
        raise ConfigError("Give files to index, or --delete SOURCE, or --list.")
    manifest = run_index(args.paths, ctx, add=args.add, delete=args.delete)
    if args.json:
        out.print_json(json.dumps(manifest))
    return 0


def cmd_ask(args) -> int:
    ctx = build_context(args)
    result = ask(args.question, ctx, show_progress=not args.json, thread=args.thread)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2, default=str))
    else:
        print_result(result)
    return 0


def cmd_demo(args) -> int:
    ctx = build_context(args)
    from ragloop.application.demo import ATTRIBUTION, DEMO_QUESTIONS, demo_corpus

    with demo_corpus() as path:
        run_index([str(path)], ctx)
    console.print(ATTRIBUTION + "\n")
    for question in args.questions or DEMO_QUESTIONS:
        out.rule(question)
        result = ask(question, ctx)
        print_result(result)
    return 0


def cmd_bench(args) -> int:

    from ragloop.benchmarks import answers, retrieval
    from ragloop.benchmarks.datasets import load_dataset
    from ragloop.benchmarks.harness import make_variants, parse_variant, pick_variants, read_variant_file

    if args.kind == "scale":
        return _bench_scale(args)
    if len(args.data) != 1:
        raise ConfigError(f"`ragloop bench {args.kind}` takes one data file or folder.")
    args.data = args.data[0]
    data = load_dataset(args.data)  # bad data is named before any model loads
    if args.join:
        report, show = _joined_report(args, data, answers), answers.print_report
    else:
        base = parse_settings(args.set or [])
        if args.model:
            base["local_chat_model"] = args.model
        named = pick_variants(
            [item for file in args.config or [] for item in read_variant_file(Path(file))], args.only or []
        )
        named += [parse_variant(spec) for spec in args.variant or []]
        if not named:
            named = retrieval.presets(build_context(args)) if args.kind == "retrieval" else [("default", {})]
        variants = make_variants(named, base)
        out_dir = Path(args.out or f"bench-results/{args.kind}-{data.name}")
        questions = args.questions if args.questions is not None else (1000 if args.kind == "retrieval" else 50)
        common = {"questions": questions, "seed": args.seed, "index_dir": Path(args.index_dir), "out_dir": out_dir}
        if args.kind == "retrieval":
            report = retrieval.run_retrieval(data, variants, backend=args.backend, **common)
            show = retrieval.print_report
        else:
            report = answers.run_answers(data, variants, fresh=args.fresh, unanswerable=args.unanswerable, **common)
            show = answers.print_report
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    else:
        show(report)
    return 0


def _bench_scale(args) -> int:
    """`bench scale [DATA...]`: index cost by size and backend, and real-text indexing throughput."""
    from ragloop.benchmarks import scale

    files = [Path(f) for f in args.data] or sorted(Path("../shared/data/squad").glob("*.json.gz"))
    if not files:
        raise ConfigError("Give SQuAD-format files to draw sentences and questions from (e.g. ../shared/data/squad/*).")
    for file in files:
        scale.load_dataset(file)  # bad data is named before anything is built
    out_dir = Path(args.out or "bench-results/scale")
    sizes = [int(n) for n in (args.sizes or ",".join(map(str, scale.SIZES))).split(",")]
    if args.throughput:
        result = scale.run_throughput(files[0], build_context(args), out_dir)
        out.print(f"{result['chunks']} chunks in {result['seconds']} s: {result['chunks_per_s']} chunks/s")
    from ragloop import providers

    report = scale.run_scale(
        files,
        providers.embeddings(build_context(args))[1],
        sizes=sizes,
        backends=args.backends.split(","),
        out_dir=out_dir,
        fresh=args.fresh,
        seed=args.seed,
        corpus=args.corpus,
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        scale.print_report(report)
    return 0


def _joined_report(args, data, answers) -> dict:
    """`bench answers --from FOLDER…`: the report over rows already answered, nothing run."""
    unused = [
        flag
        for flag, value in (
            ("--config", args.config),
            ("--variant", args.variant),
            ("--set", args.set),
            ("--model", args.model),
            ("--questions", args.questions),
            ("--fresh", args.fresh),
        )
        if value
    ]
    if args.kind != "answers" or unused:
        raise InputError(
            "--from reports answers already in result folders: it goes with `bench answers`, --only "
            f"and --out{'; drop ' + ', '.join(unused) if unused else ''}."
        )
    folders = [Path(f) for f in args.join]
    out_dir = Path(args.out or f"bench-results/answers-{data.name}-joined")
    if any(out_dir.resolve() == f.resolve() for f in folders):
        raise InputError(
            f"--out {out_dir} is one of the folders read; choose another (their report.json stays theirs)."
        )
    return answers.report_from(data, folders, args.only or [], seed=args.seed, out_dir=out_dir)


def cmd_train_reranker(args) -> int:

    from ragloop.training.reranker import TrainSettings, train

    chosen = {f.name: getattr(args, f.name) for f in fields(TrainSettings) if getattr(args, f.name, None) is not None}
    command = "ragloop " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["train-reranker"] else "ragloop train-reranker"
    record = train(TrainSettings(**chosen), Path(args.out), Path(args.index_dir), command=command)
    out.print_json(json.dumps(record))
    return 0


def cmd_settings(args) -> int:
    from ragloop.settings import describe

    rows = describe()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return 0
    if args.markdown:
        from ragloop.settings.reference import markdown

        print(markdown(rows), end="")
        return 0
    from rich.padding import Padding

    from ragloop.settings.reference import group_title

    group = None
    for row in rows:  # a block per setting reads at any terminal width, where a five-column table does not
        if row["group"] != group:
            group = row["group"]
            out.rule(group_title(group))
        values = " | ".join(repr(c) for c in row["choices"]) or row["bounds"]
        notes = "; ".join(part for part in (values, row["kind"]) if part)
        out.print(f"[bold]{escape(row['name'])}[/bold] = {escape(repr(row['default']))}  [dim]{escape(notes)}[/dim]")
        out.print(Padding(escape(row["description"]), (0, 0, 0, 4)))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ragloop", description="Agentic RAG that spends compute where a question needs it."
    )
    from ragloop import __version__

    p.add_argument("--version", action="version", version=f"ragloop {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--index", help="index folder (default: $RAGLOOP_INDEX or ~/.ragloop/index)")
        sp.add_argument("--set", action="append", metavar="NAME=VALUE", help="override a Context setting (repeatable)")
        sp.add_argument(
            "--provider",
            metavar="local|nvidia|bedrock",
            help="chat, embeddings and rerank from one provider (default local); see docs/providers.md",
        )

    sp = sub.add_parser(
        "index", help="index .txt/.md/.json/.jsonl/SQuAD files (plain or .gz), PDF, HTML and Word (.docx) files"
    )
    sp.add_argument("paths", nargs="*", help="files or folders; without --add the index holds exactly these")
    sp.add_argument(
        "--add", action="store_true", help="add these files to the index (a file indexed before is replaced)"
    )
    sp.add_argument("--delete", action="append", metavar="SOURCE", help="remove a source from the index (repeatable)")
    sp.add_argument("--list", action="store_true", help="list the sources in the index")
    sp.add_argument("--json", action="store_true", help="print the index manifest as JSON")
    common(sp)
    sp.set_defaults(func=cmd_index)

    sp = sub.add_parser("ask", help="answer a question from the index")
    sp.add_argument("question")
    sp.add_argument("--model", help="local chat model: qwen2.5-coder-1.5b, smollm2-135m or a .gguf path")
    sp.add_argument("--json", action="store_true", help="print the whole result as JSON")
    sp.add_argument(
        "--thread",
        metavar="ID",
        help="continue (or start) a conversation; follow-ups are made "
        "standalone from it ($RAGLOOP_THREADS_URL; default $RAGLOOP_HOME/threads.sqlite)",
    )
    common(sp)
    sp.set_defaults(func=cmd_ask)

    sp = sub.add_parser("demo", help="index the bundled sample corpus and answer a few questions")
    sp.add_argument("questions", nargs="*", help="questions to ask instead of the built-in ones")
    sp.add_argument("--model", help="local chat model: qwen2.5-coder-1.5b, smollm2-135m or a .gguf path")
    common(sp)
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser(
        "bench", help="measure retrieval or answer quality on SQuAD-format or BEIR data, or the index's cost by size"
    )
    sp.add_argument("kind", choices=("retrieval", "answers", "scale"))
    sp.add_argument(
        "data",
        nargs="*",
        help="SQuAD-format .json/.json.gz file or BEIR folder (corpus.jsonl, queries.jsonl, qrels/); scale: "
        "SQuAD files to draw sentences and questions from (default ../shared/data/squad/*.json.gz)",
    )
    sp.add_argument(
        "--backend",
        metavar="LOCATION",
        help="retrieval: search through this index backend instead (milvus:///file.db, http://host:19530, lancedb:///folder)",
    )
    sp.add_argument("--sizes", help="scale: chunk counts, comma-separated (default 10000,100000,1000000)")
    sp.add_argument(
        "--backends", default="local,lancedb,milvus", help="scale: backends to measure (default local,lancedb,milvus)"
    )
    sp.add_argument(
        "--corpus",
        choices=("mixed", "articles"),
        default="mixed",
        help="scale: each chunk's four sentences from different articles (default) or from one",
    )
    sp.add_argument(
        "--throughput", action="store_true", help="scale: also index the first file with the configured embedder"
    )
    sp.add_argument("--questions", type=int, help="questions to sample (default: 1000 for retrieval, 50 for answers)")
    sp.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    sp.add_argument(
        "--unanswerable",
        type=int,
        default=0,
        metavar="N",
        help="answers: N questions whose source document is deleted from the index and N whose stays; "
        "reports abstention and the answerable half's F1 (--questions is then unused)",
    )
    sp.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="named configurations: YAML/JSON/TOML mapping name -> {setting: value} (repeatable)",
    )
    sp.add_argument(
        "--only", action="append", metavar="NAME", help="run only this configuration of the --config files (repeatable)"
    )
    sp.add_argument(
        "--variant",
        action="append",
        metavar="NAME[:K=V,K=V]",
        help="a named configuration on the command line (repeatable); the first is the baseline",
    )
    sp.add_argument("--model", help="local chat model for every configuration")
    sp.add_argument(
        "--set", action="append", metavar="NAME=VALUE", help="a setting for every configuration (repeatable)"
    )
    sp.add_argument("--index-dir", default="bench-results/indexes", help="where benchmark indexes are cached")
    sp.add_argument(
        "--out", help="folder for report.json, results.jsonl and the PNGs (default bench-results/KIND-DATA)"
    )
    sp.add_argument(
        "--fresh",
        action="store_true",
        help="answers: start over (the old results file is kept as .bak); scale: re-measure",
    )
    sp.add_argument(
        "--from",
        dest="join",
        action="append",
        metavar="FOLDER",
        help="answers: report the rows already in this result folder (repeatable: folders are joined "
        "by question), answering nothing; --only picks the configurations",
    )
    sp.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("train-reranker", help="train the local cross-encoder reranker (needs the `train` extra)")
    sp.add_argument("--train", nargs="+", metavar="DATA", help="SQuAD-format training files (default: SQuAD dev + NYT)")
    sp.add_argument("--validate", metavar="DATA", help="held-out SQuAD-format file (default: SQuADShifts Reddit)")
    sp.add_argument("--out", default="bench-results/reranker", help="folder for model.onnx and training.json")
    sp.add_argument("--index-dir", default="bench-results/indexes", help="where the mining indexes are cached")
    from ragloop.training.reranker import TrainSettings  # light: the heavy imports wait for `train`

    for f in fields(TrainSettings):  # every numeric hyper-parameter, with its default shown
        default = getattr(TrainSettings(), f.name)
        if type(default) in (int, float):
            sp.add_argument("--" + f.name.replace("_", "-"), dest=f.name, type=type(default), help=f"default {default}")
    sp.set_defaults(func=cmd_train_reranker)

    sp = sub.add_parser("settings", help="list every Context setting: default, bounds, kind, what it does")
    shown = sp.add_mutually_exclusive_group()
    shown.add_argument("--json", action="store_true", help="one JSON record per setting")
    shown.add_argument("--markdown", action="store_true", help="the reference page docs/configuration.md")
    sp.set_defaults(func=cmd_settings)
    return p


def error(message: str) -> None:
    """One error line on stderr: not wrapped (a long path stays whole) and not read as rich markup."""
    console.print("[red]error:[/red] " + escape(message), soft_wrap=True)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except RagloopError as exc:
        error(str(exc))
        return 2
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except Exception as exc:
        from ragloop.providers.resilience import is_provider_failure

        if not is_provider_failure(exc):
            raise
        first_line = (str(exc).strip().splitlines() or [""])[0]
        error(f"a provider call failed after the retries and fallbacks configured: {type(exc).__name__}: {first_line}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
