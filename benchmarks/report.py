"""Per-question rows into summaries, paired comparisons and the tables printed at the end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from ragloop.benchmarks.metrics import bootstrap_mean, paired_bootstrap

Rows = dict[str, list[dict]]  # variant -> one row per question (each with "qid")


def summarise(rows: Rows, metrics: Sequence[str], seed: int) -> tuple[dict, dict]:
    """(means, 95% bootstrap intervals) of each metric per variant."""
    means: dict[str, dict[str, float]] = {}
    intervals: dict[str, dict[str, list[float]]] = {}
    for variant, rs in rows.items():
        means[variant], intervals[variant] = {}, {}
        for m in metrics:
            mean, low, high = bootstrap_mean([r[m] for r in rs], seed=seed)
            means[variant][m] = round(mean, 4)
            intervals[variant][m] = [round(low, 4), round(high, 4)]
    return means, intervals


def compare(rows: Rows, metrics: Sequence[str], seed: int, baseline: str | None = None) -> dict:
    """Each variant against the baseline (the first) on the questions both answered.

    Per metric: the mean difference (variant - baseline) and its paired-bootstrap
    95% interval; ``significant`` when the interval excludes 0.
    """
    names = list(rows)
    baseline = baseline or names[0]
    base = {r["qid"]: r for r in rows[baseline]}
    out: dict = {"baseline": baseline, "variants": {}}
    for variant in names:
        if variant == baseline:
            continue
        paired = [(base[r["qid"]], r) for r in rows[variant] if r["qid"] in base]
        result: dict[str, Any] = {"questions": len(paired)}
        for m in metrics:
            diff, low, high = paired_bootstrap([b[m] for b, _ in paired], [v[m] for _, v in paired], seed=seed)
            result[m] = {
                "diff": round(diff, 4),
                "low": round(low, 4),
                "high": round(high, 4),
                "significant": bool(low > 0 or high < 0),
            }
        out["variants"][variant] = result
    return out


def _fmt(value: float) -> str:
    return f"{value:.3f}" if abs(value) < 100 else f"{value:.0f}"


def print_summary(console: Console, title: str, means: dict, metrics: Sequence[str], comparison: dict | None) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("configuration")
    for m in metrics:
        table.add_column(m, justify="right")
    for variant, values in means.items():
        table.add_row(variant, *(_fmt(values[m]) for m in metrics))
    console.print(table)
    if not comparison or not comparison["variants"]:
        return
    table = Table(
        title=f"difference from {comparison['baseline']} (paired bootstrap 95% interval; * excludes 0)",
        title_justify="left",
    )
    table.add_column("configuration")
    for m in metrics:
        table.add_column(m, justify="right")
    for variant, result in comparison["variants"].items():
        cells = []
        for m in metrics:
            r = result[m]
            cells.append(f"{r['diff']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]{'*' if r['significant'] else ''}")
        table.add_row(variant, *cells)
    console.print(table)
