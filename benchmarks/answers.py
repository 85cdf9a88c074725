"""Answer quality and spend of the whole graph on sampled questions.

    ragloop bench answers ../shared/data/squad/reddit_v1.0.json.gz --questions 50

Every configuration answers the same sampled questions through the real graph.
Each result is appended to ``results.jsonl`` as soon as it exists, so an
interrupted run keeps what it did; running the same command again resumes,
skipping every (configuration, question) already there with the same settings.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

from rich.table import Table

from ragloop.benchmarks import plots
from ragloop.benchmarks.datasets import Dataset, Question, load_dataset, unanswerable_split
from ragloop.benchmarks.harness import (
    Variant,
    console,
    environment,
    out,
    plain_settings,
    progress,
    with_indexes,
    write_json,
)
from ragloop.benchmarks.metrics import (
    auroc,
    bootstrap_mean,
    exact_match,
    logistic_fit,
    paired_bootstrap,
    percentile,
    token_f1,
)
from ragloop.benchmarks.report import compare, print_summary, summarise
from ragloop.errors import InputError
from ragloop.logic.answers import NOT_FOUND
from ragloop.persistence.cache_keys import prompts_fingerprint
from ragloop.settings import Context

METRICS = ("em", "f1", "answered", "tokens_in", "tokens_out", "tokens", "cost_usd", "seconds")
RESULTS = "results.jsonl"
#: Every configuration's full settings, beside the results: a changed default is caught on resume.
SETTINGS = "settings.json"
PROMPTS = "prompts"  # settings.json: the prompt templates' fingerprint, beside each configuration's settings
#: An answer counts as correct for calibration when its F1 reaches this.
CORRECT_F1 = 0.5
#: The fewest answers the reranker-score confidence's weights are fitted to.
MIN_FIT_ROWS = 20


def answer_row(q: Question, output: dict, seconds: float) -> dict:
    """The scores and spend of one graph output against the question's gold answers."""
    usage = output.get("usage") or {}
    tokens_in = sum(u.get("input_tokens", 0) for u in usage.values())
    tokens_out = sum(u.get("output_tokens", 0) for u in usage.values())
    answer = output.get("answer", "")
    difficulty = output.get("difficulty") or {}
    return {
        "answer": answer,
        "em": exact_match(answer, q.answers),
        "f1": token_f1(answer, q.answers),
        "answered": float(bool(answer.strip()) and answer.strip() != NOT_FOUND),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "tokens": tokens_in + tokens_out,
        "cost_usd": float(output.get("cost_usd") or 0.0),
        "seconds": round(seconds, 3),
        "level": difficulty.get("level"),
        "confidence": difficulty.get("confidence"),
        "score": difficulty.get("score"),
        "estimator": difficulty.get("estimator"),
        "retrieval_confidence": difficulty.get("retrieval_confidence"),
        "draft": difficulty.get("draft"),
        # the reranker-score confidence's inputs: a run can fit its weights to its own answers
        "top_score": difficulty.get("top_score"),
        "margin": difficulty.get("margin"),
        "budget": output.get("budget"),
        "compute": output.get("compute"),
        "rewrites": output.get("rewrites", 0),
        "usage": usage,
        "warnings": output.get("warnings") or [],
    }


def _error_row(exc: Exception, seconds: float) -> dict:
    zero = dict.fromkeys(METRICS, 0.0)
    return {
        **zero,
        "seconds": round(seconds, 3),
        "answer": "",
        "level": None,
        "confidence": None,
        "score": None,
        "estimator": None,
        "budget": None,
        "compute": None,
        "rewrites": 0,
        "usage": {},
        "warnings": [],
        "error": f"{type(exc).__name__}: {exc}",
    }


def read_results(
    path: Path, dataset: Dataset, variants: list[Variant], by_hash: bool = True
) -> dict[tuple[str, str], dict]:
    """Rows already in a results file that this run can reuse, keyed by (configuration, question id).

    A cut-off row (a run killed mid-write) is skipped, never rewritten: another run may be
    appending to the file. Rows written for
    other data, or (``by_hash``) with other overrides under the same configuration
    name, stop the run with a clear error rather than being mixed in; settings.json
    (check_settings) is the finer check.
    """
    if not path.exists():
        return {}
    hashes = {v.name: v.config_hash for v in variants}
    lines = path.read_text(encoding="utf-8").splitlines()
    done = {}
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:  # a row cut off when a run was killed: answered again
            console.print(f"[yellow]{path}, line {n}: skipping an unfinished row[/yellow]")
            continue
        if row.get("dataset_sha256") != dataset.sha256:
            raise InputError(f"{path} holds results for other data; pass --fresh or choose another --out.")
        if by_hash and row.get("variant") in hashes and row.get("config_hash") != hashes[row["variant"]]:
            raise InputError(
                f"{path} holds results for configuration {row['variant']!r} with other settings; "
                "rename the configuration, pass --fresh, or choose another --out."
            )
        done[(row["variant"], row["qid"])] = row
    return done


def check_settings(path: Path, variants: list[Variant], *, fresh: bool = False) -> None:
    """Refuse to resume a configuration whose effective settings or prompts changed since its rows were written.

    The rows' ``config_hash`` covers only the settings a configuration overrides, so a
    release that changes a default (say the budget table's ``medium_docs``) or a prompt
    template would otherwise mix old and new answers under one name. A setting that did
    not exist then is accepted at its default. The file is then brought up to date.
    """
    recorded = {} if fresh else recorded_settings(path)
    defaults = plain_settings(Context())
    prompts = prompts_fingerprint()
    now = {v.name: {**v.settings, PROMPTS: prompts} for v in variants}
    for v in variants:
        if v.name not in recorded:
            continue
        then = recorded[v.name]
        changed = [
            f"{key}: {then[key]!r} -> {value!r}" if key in then else f"{key}: new, {value!r}"
            for key, value in now[v.name].items()
            if then.get(key, defaults.get(key)) != value
        ]
        if changed:
            raise InputError(
                f"{path.parent / RESULTS} holds results for configuration {v.name!r} with other settings "
                f"({'; '.join(changed[:4])}); rename the configuration, pass --fresh, or choose another --out."
            )
    write_json(path, {**recorded, **now})


def recorded_settings(path: Path) -> dict[str, dict]:
    """The settings.json beside a results file: configuration -> the settings its rows were made with."""
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise InputError(
            f"{path} is not valid JSON; move it away (the rows' own check still applies) or pass --fresh."
        ) from None


def run_answers(
    data: str | Path | Dataset,
    variants: list[Variant],
    *,
    questions: int | None = 50,
    seed: int = 0,
    index_dir: Path = Path("bench-results/indexes"),
    out_dir: Path = Path("bench-results/answers"),
    fresh: bool = False,
    unanswerable: int = 0,
) -> dict:
    """Answer the sampled questions with every variant, streaming rows to out_dir/results.jsonl.

    The graph has an in-memory node cache, so configurations that differ only
    after retrieval (or reranking) share those results for the same question.
    With `unanswerable` n: n questions whose source document is deleted from the index and n whose stays
    (`questions` is then unused); the report gains abstention rates and the answerable half's F1.
    """
    from langgraph.cache.memory import InMemoryCache

    from ragloop.graph.builder import compile_graph

    graph = compile_graph(cache=InMemoryCache())

    dataset = data if isinstance(data, Dataset) else load_dataset(data)
    dataset.require_answers()
    gone: set[str] = set()
    if unanswerable:
        dataset, sample, gone = unanswerable_split(dataset, unanswerable, seed)
    else:
        sample = dataset.sample(questions, seed)
    variants, index_seconds = with_indexes(dataset, variants, index_dir)
    results = out_dir / RESULTS
    out_dir.mkdir(parents=True, exist_ok=True)
    if fresh and results.exists():
        kept = results.with_name(f"{RESULTS}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        os.replace(results, kept)
        console.print(f"previous results moved to {kept}")
    settings = out_dir / SETTINGS
    # a results file from before settings.json was written is checked by the rows' override hash alone
    done = read_results(results, dataset, variants, by_hash=not settings.exists())
    check_settings(settings, variants, fresh=fresh or not done)
    # question by question, every configuration in turn: an interrupted run leaves whole questions,
    # and rerunning with --questions set to the questions finished reports on them
    todo = [(v, q) for q in sample for v in variants if (v.name, q.id) not in done]
    if done:
        console.print(f"resuming: {len(done)} results reused from {results}, {len(todo)} to go")
    try:
        _answer_all(graph, dataset, todo, done, results, total=len(variants) * len(sample))
    except KeyboardInterrupt:
        console.print(f"interrupted: {len(done)} results are kept in {results}; run the same command to resume.")
        raise
    rows = {v.name: [done[(v.name, q.id)] for q in sample] for v in variants}
    report = build_report(dataset, [v.describe() for v in variants], rows, seed, len(sample))
    report["index_seconds"] = index_seconds
    if gone:
        report["abstention"] = abstention(rows, gone, seed)
    return _write_report(report, rows, str(results), out_dir)


def abstention(rows: dict[str, list[dict]], unanswerable: set[str], seed: int) -> dict:
    """Per configuration: the share of unanswerable questions it declined to answer, the share of answerable
    ones it declined (false abstention), and the answerable half's F1, paired against the baseline."""
    answerable = _on_questions(rows, {r["qid"] for rs in rows.values() for r in rs} - unanswerable)
    not_answerable = _on_questions(rows, unanswerable)
    table = {}
    for name in rows:
        declined, wrongly = ([1.0 - r["answered"] for r in half[name]] for half in (not_answerable, answerable))
        table[name] = {
            "abstained": [round(v, 4) for v in bootstrap_mean(declined, seed=seed)],
            "false_abstention": [round(v, 4) for v in bootstrap_mean(wrongly, seed=seed)],
            "answerable_f1": [round(v, 4) for v in bootstrap_mean([r["f1"] for r in answerable[name]], seed=seed)],
        }
    return {
        "questions": {"answerable": len(next(iter(answerable.values()))), "unanswerable": len(unanswerable)},
        "by_configuration": table,  # [mean, low, high]
        "answerable_comparison": compare(answerable, ("f1", "answered"), seed),
    }


def report_from(
    dataset: Dataset,
    folders: list[Path],
    names: list[str],
    *,
    seed: int = 0,
    out_dir: Path = Path("bench-results/answers"),
) -> dict:
    """The report over answers already in result folders, joined by question: nothing is answered again.

    Runs made at different times, or on different machines, report together: each configuration's rows
    come from the folder that holds them, made under the settings that folder's settings.json records
    (which may differ from today's defaults), and the report covers the questions every chosen
    configuration answered. `names` picks and orders the configurations (default: all found; the first
    is the baseline). A configuration in two folders must have been run with the same settings in both.
    """
    rows: dict[str, dict[str, dict]] = {}
    described: dict[str, dict] = {}
    for folder in folders:
        if not (folder / RESULTS).is_file():
            raise InputError(
                f"{folder} holds no {RESULTS}: pass a folder a `ragloop bench answers` run wrote (its --out)."
            )
        recorded = recorded_settings(folder / SETTINGS)
        try:
            found = read_results(folder / RESULTS, dataset, [], by_hash=False)
        except InputError:  # the one check left without variants: the rows answer other data
            raise InputError(f"{folder} holds answers to other data than {dataset.path}.") from None
        for (name, qid), row in found.items():
            if name not in described:
                described[name] = {"name": name, "folder": str(folder), "settings": recorded.get(name)}
            elif described[name]["folder"] != str(folder) and described[name]["settings"] != recorded.get(name):
                raise InputError(
                    f"configuration {name!r} was run with other settings in {described[name]['folder']} "
                    f"and {folder}; pass --only to choose the configurations, or rename one."
                )
            rows.setdefault(name, {})[qid] = row
    if not rows:  # e.g. a run stopped before its first answer
        raise InputError(f"no answers yet in {', '.join(map(str, folders))}.")
    missing = [name for name in names if name not in rows]
    if missing:
        raise InputError(
            f"no rows for {', '.join(map(repr, missing))} in {', '.join(map(str, folders))} (found: {', '.join(rows)})."
        )
    names = names or list(rows)
    shared = [qid for qid in rows[names[0]] if all(qid in rows[name] for name in names)]
    if not shared:
        raise InputError(f"no question was answered by every one of {', '.join(names)}.")
    if any(len(rows[name]) > len(shared) for name in names):
        console.print(f"reporting the {len(shared)} questions every configuration answered")
    table = {name: [rows[name][qid] for qid in shared] for name in names}
    report = build_report(dataset, [described[name] for name in names], table, seed, len(shared))
    return _write_report(report, table, " + ".join(str(f / RESULTS) for f in folders), out_dir)


def _write_report(report: dict, rows: dict[str, list[dict]], results: str, out_dir: Path) -> dict:
    """report.json and the plots in out_dir, both named in the report."""
    report["results"] = results
    report["plots"] = _plots(report, rows, out_dir)
    write_json(out_dir / "report.json", report)
    return report


def _answer_all(graph, dataset: Dataset, todo: list, done: dict, results: Path, total: int) -> None:
    """Answer each (variant, question) in todo, appending every row to results as it comes."""
    with progress() as bar, open(results, "a", encoding="utf-8") as sink:
        if not _ends_a_line(results):
            sink.write("\n")  # after a cut-off row, start on a line of our own
        task = bar.add_task(f"answers on {dataset.name}", total=total, completed=total - len(todo))
        for v, q in todo:
            bar.update(task, description=f"answers on {dataset.name} ({v.name})")
            started = time.perf_counter()
            try:
                output = graph.invoke({"question": q.text}, context=v.context)
                row = answer_row(q, output, time.perf_counter() - started)
            except InputError as exc:  # this question is unusable (e.g. too long): record it, go on
                row = _error_row(exc, time.perf_counter() - started)
            row = {
                "variant": v.name,
                "config_hash": v.config_hash,
                "dataset_sha256": dataset.sha256,
                "qid": q.id,
                "question": q.text,
                "gold": list(q.answers),
                **row,
            }
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            sink.flush()
            done[(v.name, q.id)] = row
            bar.advance(task)


def _ends_a_line(path: Path) -> bool:
    """True when the file is empty or its last byte is a newline."""
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) == 0:
            return True
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


def build_report(dataset: Dataset, variants: list[dict], rows: dict[str, list[dict]], seed: int, n: int) -> dict:
    """The report over one row per question per configuration; `variants` describes the configurations."""
    means, intervals = summarise(rows, METRICS, seed)
    spend = {}
    for name, rs in rows.items():
        budgets = [r["budget"] for r in rs if r.get("budget")]
        spend[name] = {
            "difficulty": dict(Counter(r["level"] for r in rs if r.get("level"))),
            "mean_budget": {
                k: round(sum(b.get(k, 0) for b in budgets) / len(budgets), 2)
                for k in ("docs", "samples", "partitions", "refine_rounds")
            }
            if budgets
            else {},
            "mean_rewrites": round(sum(r["rewrites"] for r in rs) / max(1, len(rs)), 3),
            "seconds_p50": round(percentile([r["seconds"] for r in rs], 50), 2),
            "seconds_p95": round(percentile([r["seconds"] for r in rs], 95), 2),
            "errors": sum(1 for r in rs if r.get("error")),
            **_calibration(rs),
        }
    return {
        "benchmark": "answers",
        "dataset": {
            "name": dataset.name,
            "path": str(dataset.path),
            "kind": dataset.kind,
            "sha256": dataset.sha256,
            "questions": len(dataset.questions),
        },
        "sample": {"questions": n, "seed": seed},
        "variants": variants,
        "metrics": means,
        "intervals": intervals,
        "spend": spend,
        "comparison": compare(rows, METRICS, seed),
        "hardest_third": hardest_third(rows, seed),
        "by_level": by_level(rows),
        "against_best_fixed": against_best_fixed(rows, seed),
        "environment": environment(),
    }


def hardest_third(rows: dict[str, list[dict]], seed: int) -> dict | None:
    """Every configuration on the third of questions the first real estimator (not `fixed`) found hardest.

    Where adaptive compute should pay off: the comparison against the baseline is
    paired on exactly these questions.
    """
    judge = next(
        (
            name
            for name, rs in rows.items()
            if any(r.get("score") is not None and r.get("estimator") not in (None, "fixed") for r in rs)
        ),
        None,
    )
    if judge is None:
        return None
    scored = sorted((r for r in rows[judge] if r.get("score") is not None), key=lambda r: -r["score"])
    hard = {r["qid"] for r in scored[: max(1, -(-len(scored) // 3))]}
    subset = _on_questions(rows, hard)
    means, intervals = summarise(subset, ("em", "f1", "tokens"), seed)
    return {
        "judged_by": judge,
        "questions": len(hard),
        "metrics": means,
        "intervals": intervals,
        "comparison": compare(subset, ("em", "f1", "tokens"), seed),
    }


def _on_questions(rows: dict[str, list[dict]], qids: set[str]) -> dict[str, list[dict]]:
    """Every configuration's rows for just these questions."""
    return {name: [r for r in rs if r["qid"] in qids] for name, rs in rows.items()}


def by_level(rows: dict[str, list[dict]]) -> dict:
    """For each configuration with a real difficulty estimator: the questions it called easy, medium and
    hard, and every configuration's mean F1 and tokens on each of those groups.

    Where a budget table gains or loses: a level on which a cheaper fixed configuration answers as well
    as the adaptive one is spending too much there.
    """
    levels = {}
    for judge, rs in rows.items():
        if not any(r.get("estimator") not in (None, "fixed") for r in rs):
            continue
        groups = {}
        for level in ("easy", "medium", "hard"):
            qids = {r["qid"] for r in rs if r.get("level") == level}
            if not qids:
                continue
            subset = _on_questions(rows, qids)
            groups[level] = {
                "questions": len(qids),
                "f1": {name: round(sum(r["f1"] for r in sub) / len(sub), 4) for name, sub in subset.items()},
                "tokens": {name: round(sum(r["tokens"] for r in sub) / len(sub), 1) for name, sub in subset.items()},
            }
        levels[judge] = groups
    return levels


#: Issue 5's target: an adaptive configuration reaches the best fixed one's F1 (within that F1's 95%
#: bootstrap interval) with at most this share of its tokens.
TOKEN_SHARE_TARGET = 0.6


def against_best_fixed(rows: dict[str, list[dict]], seed: int) -> dict | None:
    """Each configuration with a real difficulty estimator against the fixed configuration of best mean F1:
    its F1 against that one's 95% interval, the paired F1 difference, and its share of that one's tokens."""
    fixed = [name for name, rs in rows.items() if rs and all(r.get("estimator") == "fixed" for r in rs)]
    adaptive = [name for name, rs in rows.items() if rs and name not in fixed]
    if not fixed or not adaptive:
        return None
    f1 = {name: [r["f1"] for r in rs] for name, rs in rows.items()}
    tokens = {name: sum(r["tokens"] for r in rs) / len(rs) for name, rs in rows.items()}
    best = max(fixed, key=lambda name: sum(f1[name]) / len(f1[name]))
    best_f1, low, high = bootstrap_mean(f1[best], seed=seed)
    verdicts = {}
    for name in adaptive:
        mean = sum(f1[name]) / len(f1[name])
        diff = paired_bootstrap(f1[best], f1[name], seed=seed)
        share = tokens[name] / tokens[best] if tokens[best] else None
        verdicts[name] = {
            "f1": round(mean, 4),
            "f1_difference": [round(v, 4) for v in diff],
            "token_share": None if share is None else round(share, 3),
            "reaches_f1": mean >= low,
            "meets_target": mean >= low and share is not None and share <= TOKEN_SHARE_TARGET,
        }
    return {
        "best_fixed": best,
        "best_f1": [round(v, 4) for v in (best_f1, low, high)],
        "best_tokens": round(tokens[best], 1),
        "token_share_target": TOKEN_SHARE_TARGET,
        "adaptive": verdicts,
    }


def _calibration(rows: list[dict]) -> dict:
    """How well the difficulty estimate's confidence, and the reranker-score confidence every run
    records, separate right answers (F1 >= 0.5) from wrong ones."""

    def separation(key: str) -> float | None:
        scored = [(r[key], r["f1"] >= CORRECT_F1) for r in rows if r.get(key) is not None]
        value = auroc([c for c, _ in scored], [y for _, y in scored]) if scored else None
        return None if value is None else round(value, 3)

    judged = [r for r in rows if r.get("confidence") is not None]
    return {
        "confidence_auroc": separation("confidence"),
        "retrieval_auroc": separation("retrieval_confidence"),
        # rows from before the reranker-score confidence was recorded have none
        "retrieval_auroc_rows": sum(r.get("retrieval_confidence") is not None for r in rows),
        "correct_share": round(sum(r["f1"] >= CORRECT_F1 for r in judged) / len(judged), 3) if judged else None,
        "retrieval_fit": retrieval_fit(rows),
    }


def retrieval_fit(rows: list[dict]) -> dict | None:
    """The reranker-score confidence's weights (Context: retrieval_top_weight, retrieval_margin_weight,
    retrieval_bias) fitted to these answers, so that it reads as the chance of a right answer (F1 >= 0.5)
    from the first reranked score and its margin over the fifth. None below MIN_FIT_ROWS answers with
    both signals, or when all are right or all wrong."""
    signed = [r for r in rows if r.get("top_score") is not None and r.get("margin") is not None]
    if len(signed) < MIN_FIT_ROWS:
        return None
    fit = logistic_fit([(r["top_score"], r["margin"]) for r in signed], [r["f1"] >= CORRECT_F1 for r in signed])
    if fit is None:
        return None
    (top, margin), bias = fit
    return {
        "retrieval_top_weight": round(top, 3),
        "retrieval_margin_weight": round(margin, 3),
        "retrieval_bias": round(bias, 3),
        "rows": len(signed),
    }


def _plots(report: dict, rows: dict[str, list[dict]], out_dir: Path) -> list[str]:
    title = f"{report['dataset']['name']}: {report['sample']['questions']} questions, seed {report['sample']['seed']}"
    summary = {}
    for name, rs in rows.items():
        mean, low, high = bootstrap_mean([r["f1"] for r in rs], seed=report["sample"]["seed"])
        summary[name] = {"f1": mean, "interval": [low, high], "tokens": report["metrics"][name]["tokens"]}
    made = [
        plots.accuracy_vs_tokens(summary, out_dir / "f1_vs_tokens.png", title),
        plots.latency_histograms(
            {"seconds per question": {n: [r["seconds"] for r in rs] for n, rs in rows.items()}},
            out_dir / "latency.png",
            title,
            "s",
        ),
    ]
    if report["comparison"]["variants"]:
        made.append(
            plots.comparison_chart(
                report["comparison"], ("em", "f1", "tokens", "seconds"), out_dir / "comparison.png", title
            )
        )
    return [str(p) for p in made]


def print_report(report: dict) -> None:
    d, s = report["dataset"], report["sample"]
    print_summary(
        out,
        f"{d['name']}: {s['questions']} questions, seed {s['seed']}",
        report["metrics"],
        METRICS,
        report["comparison"],
    )
    for name, spend in report["spend"].items():
        out.print(
            f"{name}: difficulty {spend['difficulty']}, mean budget {spend['mean_budget']}, "
            f"rewrites {spend['mean_rewrites']}, seconds p50 {spend['seconds_p50']} p95 {spend['seconds_p95']}, "
            f"confidence AUROC (F1 >= {CORRECT_F1} as correct) {spend['confidence_auroc']}"
            + (
                f", reranker-score AUROC {spend['retrieval_auroc']} ({spend['retrieval_auroc_rows']} questions)"
                if spend.get("retrieval_auroc") is not None
                else ""
            )
            + (f", [red]{spend['errors']} errors[/red]" if spend["errors"] else "")
        )
        if fit := spend.get("retrieval_fit"):
            out.print(
                f"  reranker-score confidence fitted to {name}'s {fit['rows']} answers: "
                + " ".join(
                    f"--set {key}={fit[key]}"
                    for key in ("retrieval_top_weight", "retrieval_margin_weight", "retrieval_bias")
                )
            )
    if target := report.get("against_best_fixed"):
        b = target["best_f1"]
        for name, v in target["adaptive"].items():
            out.print(
                f"{name} vs the best fixed configuration {target['best_fixed']} (F1 {b[0]:.3f} [{b[1]:.3f}, "
                f"{b[2]:.3f}], {target['best_tokens']:.0f} tokens): F1 {v['f1']:.3f} (paired difference "
                f"{v['f1_difference'][0]:+.3f} [{v['f1_difference'][1]:+.3f}, {v['f1_difference'][2]:+.3f}]), "
                f"{v['token_share']:.0%} of its tokens: target "
                + ("[green]met[/green]" if v["meets_target"] else "[red]not met[/red]")
            )
    for judge, groups in report.get("by_level", {}).items():
        table = Table(
            title=f"F1 / tokens per question on the questions {judge} called easy, medium, hard", title_justify="left"
        )
        table.add_column("level")
        for name in report["metrics"]:
            table.add_column(name, justify="right")
        for level, g in groups.items():
            table.add_row(
                f"{level} ({g['questions']})",
                *(f"{g['f1'][name]:.3f} / {g['tokens'][name]:.0f}" for name in report["metrics"]),
            )
        out.print(table)
    hard = report.get("hardest_third")
    if hard:
        print_summary(
            out,
            f"hardest third by {hard['judged_by']}'s estimator: {hard['questions']} questions",
            hard["metrics"],
            ("em", "f1", "tokens"),
            hard["comparison"],
        )
    if abstain := report.get("abstention"):
        table = Table(
            title=f"Abstention: {abstain['questions']['unanswerable']} questions whose source was deleted from the "
            f"index, {abstain['questions']['answerable']} whose source stays (mean [95% CI])",
            title_justify="left",
        )
        for column in (
            "configuration",
            "abstained (unanswerable)",
            "false abstention",
            "answerable F1",
            "F1 vs baseline",
        ):
            table.add_column(column, justify="left" if column == "configuration" else "right")
        paired = abstain["answerable_comparison"]["variants"]
        for name, v in abstain["by_configuration"].items():
            diff = paired.get(name, {}).get("f1")
            table.add_row(
                name,
                *(
                    f"{m:.2f} [{lo:.2f}, {hi:.2f}]"
                    for m, lo, hi in (v["abstained"], v["false_abstention"], v["answerable_f1"])
                ),
                f"{diff['diff']:+.3f} [{diff['low']:+.3f}, {diff['high']:+.3f}]" if diff else "baseline",
            )
        out.print(table)
    out.print(f"results: {report['results']}")
    for p in report.get("plots", []):
        out.print(f"plot: {p}")
