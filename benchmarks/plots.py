"""The pictures: accuracy vs tokens with its Pareto frontier, Recall@k curves, latency histograms, A/B charts.

matplotlib is imported here only (the ``bench`` extra), with the file-only Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    _pyplot().close(fig)
    return path


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both cost (lower) and accuracy (higher), by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], float("-inf")
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def accuracy_vs_tokens(summary: dict[str, dict], path: Path, title: str, metric: str = "f1") -> Path:
    """One point per configuration: mean tokens per question against the metric, with its interval.

    ``summary`` maps a configuration to {"tokens": mean, metric: mean, "interval": [low, high]}.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = list(summary)
    points = [(summary[n]["tokens"], summary[n][metric]) for n in names]
    for name, (x, y) in zip(names, points, strict=True):
        low, high = summary[name]["interval"]
        ax.errorbar(x, y, yerr=[[y - low], [high - y]], fmt="o", capsize=3)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
    front = pareto_front(points)
    ax.step(
        [points[i][0] for i in front],
        [points[i][1] for i in front],
        where="post",
        linestyle="--",
        color="grey",
        label="Pareto frontier",
    )
    ax.set_xlabel("tokens per question (input + output)")
    ax.set_ylabel(metric.upper() if len(metric) <= 3 else metric)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def recall_curves(curves: dict[str, list[float]], path: Path, title: str) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("Recall@k")
    ax.set_ylim(0, 1)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def latency_histograms(samples: dict[str, dict[str, list[float]]], path: Path, title: str, unit: str) -> Path:
    """One panel per stage; one histogram per configuration. ``samples``: stage -> configuration -> values."""
    plt = _pyplot()
    stages = [s for s, by_variant in samples.items() if any(by_variant.values())]
    fig, axes = plt.subplots(1, max(1, len(stages)), figsize=(5 * max(1, len(stages)), 3.8), squeeze=False)
    for ax, stage in zip(axes[0], stages, strict=False):
        for name, values in samples[stage].items():
            if values:
                ax.hist(values, bins=30, alpha=0.5, label=name)
        ax.set_xlabel(f"{stage} ({unit})")
        ax.set_ylabel("questions")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def comparison_chart(comparison: dict, metrics: Sequence[str], path: Path, title: str) -> Path:
    """Difference from the baseline with its paired-bootstrap interval, one panel per metric."""
    plt = _pyplot()
    variants = list(comparison["variants"])
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.6 * len(metrics), 0.5 * len(variants) + 1.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics, strict=True):
        for row, name in enumerate(variants):
            r = comparison["variants"][name][metric]
            color = "tab:blue" if r["significant"] else "tab:grey"
            ax.errorbar(
                r["diff"], row, xerr=[[r["diff"] - r["low"]], [r["high"] - r["diff"]]], fmt="o", color=color, capsize=3
            )
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(variants)), variants if ax is axes[0][0] else [""] * len(variants), fontsize=8)
        ax.set_ylim(-0.7, len(variants) - 0.3)
        ax.set_title(metric, fontsize=9)
        ax.grid(alpha=0.3, axis="x")
    fig.suptitle(f"{title}: difference from {comparison['baseline']} (95% paired bootstrap)", fontsize=10)
    return _save(fig, path)


def cost_versus_size(results: Sequence[dict], path: Path) -> Path:
    """Log-log: each cost of an index against its chunks, per backend, with the fitted growth exponent."""
    import numpy as np

    plt = _pyplot()
    costs = {
        "build s": lambda r: r["build_s"],
        "load s": lambda r: r["load_s"],
        "RSS MiB": lambda r: r["rss_mib"],
        "disk MiB": lambda r: r["disk_mib"],
        "search p50 ms": lambda r: r["ms"]["search"]["p50"],
        "add one source s": lambda r: r["add_source_s"],
    }
    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    for ax, (label, cost) in zip(axes.flat, costs.items(), strict=True):
        for backend in sorted({r["backend"] for r in results}):
            rows = sorted((r for r in results if r["backend"] == backend), key=lambda r: r["chunks"])
            x = np.array([r["chunks"] for r in rows], dtype=float)
            y = np.array([max(cost(r), 1e-3) for r in rows], dtype=float)
            exponent = f", N^{np.polyfit(np.log(x), np.log(y), 1)[0]:.2f}" if len(rows) > 1 else ""
            ax.loglog(x, y, marker="o", label=f"{backend}{exponent}")
        ax.set_title(label)
        ax.set_xlabel("chunks")
        ax.legend(fontsize=8)
        ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)
