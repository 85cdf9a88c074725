"""What both benchmarks share: named configurations, one index per embedding family, progress, reports.

A *variant* is a name and Context overrides. Variants that embed the same way
(same embedder, chunk size and overlap) share one index, built once per data
file and kept under ``--index-dir`` for the next run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import re
import sys
import time
import tomllib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TimeElapsedColumn, TimeRemainingColumn

from ragloop import providers
from ragloop.benchmarks.datasets import Dataset
from ragloop.errors import ConfigError, InputError
from ragloop.settings import Context
from ragloop.settings.overrides import parse_settings

console = Console(stderr=True)  # progress and notes
out = Console(width=None if sys.stdout.isatty() else 200)  # the tables (wide when piped to a file)

#: Bump when the benchmark's cached indexes must be rebuilt.
INDEX_CACHE_VERSION = 4  # 4: index format 2 (segments); 3: chunk_size counted in the embedder's tokens
PACKAGES = (
    "ragloop",
    "langgraph",
    "langchain-core",
    "langchain-openai",
    "xllamacpp",
    "fastembed",
    "onnxruntime",
    "faiss-cpu",
    "pymilvus",
    "milvus-lite",
    "numpy",
)


def plain_settings(ctx: Context) -> dict[str, Any]:
    """ctx's settings but the index location, through JSON, so they compare equal to what a file recorded."""
    return json.loads(json.dumps({k: v for k, v in ctx.to_dict().items() if k != "index_path"}, default=str))


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any]
    context: Context

    @property
    def settings(self) -> dict[str, Any]:
        """Every setting, as JSON holds it, the index location aside."""
        return plain_settings(self.context)

    @property
    def config_hash(self) -> str:
        """Hash of the settings that differ from Context's defaults (the index location aside).

        Results stay reusable when a release adds a setting whose default keeps the old behaviour.
        """
        defaults = plain_settings(Context())
        chosen = {k: v for k, v in self.settings.items() if v != defaults.get(k)}
        return hashlib.sha256(json.dumps(chosen, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def describe(self) -> dict[str, Any]:
        ctx = self.context
        chat = {"local": ctx.local_chat_model, "nvidia": ctx.nvidia_chat_model, "bedrock": ctx.bedrock_chat_model}
        return {
            "name": self.name,
            "overrides": self.overrides,
            "config_hash": self.config_hash,
            "chat_model": f"{ctx.chat_provider}/{chat[ctx.chat_provider]}",
            "embedder": providers.embeddings(ctx)[0],
            "reranker": providers.reranker(ctx).name
            if ctx.rerank_provider in ("none", "local")
            else ctx.rerank_provider,
            "context": ctx.to_dict(),
        }


_NAME = re.compile(r"^[A-Za-z0-9][\w.+-]*$")


def make_variants(named: Iterable[tuple[str, dict[str, Any]]], base: dict[str, Any]) -> list[Variant]:
    """Variants from (name, overrides); ``base`` overrides apply to all, a variant's own win."""
    variants: list[Variant] = []
    for name, overrides in named:
        if not _NAME.match(name):
            raise ConfigError(f"Configuration name {name!r} must be letters, digits, '.', '_', '+' or '-'.")
        if any(v.name == name for v in variants):
            raise ConfigError(f"Configuration {name!r} is given twice.")
        if not isinstance(overrides, dict):
            raise ConfigError(f"Configuration {name!r} must map setting names to values.")
        try:
            context = Context.from_overrides({**base, **overrides})
        except ConfigError as exc:
            raise ConfigError(f"Configuration {name!r}: {exc}") from None
        variants.append(Variant(name, dict(overrides), context))
    return variants


def parse_variant(spec: str) -> tuple[str, dict[str, str]]:
    """'name:key=value,key=value' (or just 'name') from the command line."""
    name, _, settings = spec.partition(":")
    items = [s for s in settings.split(",") if s.strip()]
    return name.strip(), parse_settings(items, option=f"--variant {name.strip()}")


def read_variant_file(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Named configurations from YAML, JSON or TOML: a mapping of name -> {setting: value}."""
    if not path.is_file():
        raise InputError(f"Configuration file {path} does not exist.")
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json", ".toml"):
        raise InputError(f"Configuration file {path} must be .yaml, .yml, .json or .toml.")
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            data = tomllib.loads(text)
        elif suffix == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as exc:  # the three parsers' own errors: JSONDecodeError, TOMLDecodeError, YAMLError
        raise InputError(f"Configuration file {path} does not parse: {exc}".rstrip(".") + ".") from exc
    if not isinstance(data, dict) or not data:
        raise InputError(f"Configuration file {path} must map configuration names to settings.")
    return [(str(name), settings or {}) for name, settings in data.items()]


def pick_variants(named: list[tuple[str, dict[str, Any]]], only: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    """The named configurations listed in `only`, in the files' order (all of them when `only` is empty)."""
    only, names = list(only), [name for name, _ in named]
    missing = [name for name in only if name not in names]
    if missing:
        known = ", ".join(names) or "none"
        raise InputError(f"--only {missing[0]}: no configuration of that name (the files name: {known}).")
    return [(name, settings) for name, settings in named if not only or name in only]


def environment() -> dict[str, Any]:
    """Python, platform, CPU count and the versions of the packages that shape the numbers."""
    versions: dict[str, str | None] = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": versions,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def family_key(ctx: Context) -> tuple[str, int, int]:
    return providers.embeddings(ctx)[0], ctx.chunk_size, ctx.chunk_overlap


def with_indexes(dataset: Dataset, variants: list[Variant], index_dir: Path) -> tuple[list[Variant], dict[str, float]]:
    """The variants pointed at their family's index (built if missing); seconds spent per family."""
    from ragloop.retrieval.index import build_index

    paths: dict[tuple, Path] = {}
    seconds: dict[str, float] = {}
    placed = []
    for variant in variants:
        key = family_key(variant.context)
        if key not in paths:
            embedder_name, size, overlap = key
            slug = re.sub(r"[^\w.-]+", "_", f"{embedder_name}-{size}-{overlap}")
            target = index_dir / f"{dataset.name}-{dataset.sha256[:12]}-{slug}-v{INDEX_CACHE_VERSION}"
            started = time.perf_counter()
            if not (target / "manifest.json").exists():
                _, embedder = providers.embeddings(variant.context)
                with progress() as bar:
                    task = bar.add_task(f"indexing {dataset.name} ({embedder_name})", total=None)
                    build_index(
                        dataset.documents,
                        embedder,
                        embedder_name,
                        target,
                        chunk_size=size,
                        chunk_overlap=overlap,
                        batch_size=variant.context.embed_batch_size,
                        progress=functools.partial(_advance, bar, task),
                    )
            seconds[slug] = round(time.perf_counter() - started, 2)
            paths[key] = target
        placed.append(replace(variant, context=replace(variant.context, index_path=str(paths[key]))))
    return placed, seconds


class _Progress(Progress):
    """rich's bar on a terminal; in a log file (no live display) a plain line every 30 seconds instead."""

    every_seconds = 30.0

    def __init__(self, *columns, **kwargs):
        super().__init__(*columns, **kwargs)
        self._last_line: dict[int, float] = {}

    def update(self, task_id, **kwargs) -> None:
        super().update(task_id, **kwargs)
        self._log(task_id)

    def advance(self, task_id, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)

    def _log(self, task_id) -> None:
        if self.console.is_terminal:
            return
        task = self._tasks[task_id]
        now = time.monotonic()
        if not task.finished and now - self._last_line.get(task_id, task.start_time or now) < self.every_seconds:
            return
        self._last_line[task_id] = now
        eta = f", eta {task.time_remaining:.0f} s" if task.time_remaining is not None and not task.finished else ""
        total = f"/{task.total:.0f}" if task.total else ""
        self.console.print(f"{task.description}: {task.completed:.0f}{total} in {task.elapsed or 0:.0f} s{eta}")


def _advance(bar: Progress, task: TaskID, done: int, total: int) -> None:
    bar.update(task, completed=done, total=total)


@contextmanager
def progress() -> Iterator[Progress]:
    """A progress bar with count, elapsed time and ETA, on stderr."""
    with _Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        "eta",
        TimeRemainingColumn(),
        console=console,
    ) as bar:
        yield bar


def write_json(path: Path, report: dict | list) -> None:
    """Write JSON atomically (a reader never sees half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)
