"""`ragloop bench scale` on small sizes: every backend measured, a table's worth of numbers, a plot, resumable."""

from __future__ import annotations

import pytest
from langchain_core.embeddings.fake import DeterministicFakeEmbedding

from ragloop.application.demo import demo_corpus
from ragloop.benchmarks.scale import run_scale

pytestmark = pytest.mark.integration


def test_bench_scale_measures_every_backend_and_resumes(tmp_path):
    out = tmp_path / "scale"
    with demo_corpus() as corpus:
        report = run_scale([corpus], DeterministicFakeEmbedding(size=16), sizes=[300, 1200], out_dir=out)
        rows = {(r["backend"], r["chunks"]): r for r in report["results"]}
        assert set(rows) == {(b, n) for b in ("local", "lancedb", "milvus") for n in (300, 1200)}
        for row in rows.values():
            assert row["build_s"] > 0 and row["disk_mib"] > 0 and row["rss_mib"] > 0 and row["corpus"] == "mixed"
            assert row["build_cpu_s"] > 0 and row["build_peak_rss_mib"] > 0 and row["add_peak_rss_mib"] > 0
            assert 0 < row["ms"]["search"]["p50"] <= row["ms"]["search"]["p95"]
            assert row["dense_recall_at_45"] >= 0.9 and row["add_source_s"] > 0 and row["delete_source_s"] > 0
        assert (out / "scale.png").stat().st_size > 10_000
        stamps = {f: f.stat().st_mtime_ns for f in out.glob("*-*.json")}
        again = run_scale([corpus], DeterministicFakeEmbedding(size=16), sizes=[300, 1200], out_dir=out)
    assert again["results"] == report["results"]  # measured once: a second run reads them back
    assert {f: f.stat().st_mtime_ns for f in out.glob("*-*.json")} == stamps


def test_bench_inference_measures_both_ways_of_each_call(tmp_path, monkeypatch):
    """`make bench-inference` on the demo corpus, small: CPU and wall time of reranking and dense search,
    the way before and the way now, in one JSON report."""
    import json

    from ragloop.benchmarks import inference

    monkeypatch.setattr(inference, "DENSE_CHUNKS", 200)
    with demo_corpus() as corpus:
        assert inference.main([str(corpus), "--questions", "3", "--json", str(tmp_path / "inference.json")]) == 0
    report = json.loads((tmp_path / "inference.json").read_text())
    for call in ("rerank", "dense"):
        for way in ("before", "now"):
            row = report[call][way]
            assert row["cpu_ms_mean"] > 0 and 0 < row["wall_ms_p50"] <= row["wall_ms_p95"], (call, way, row)


def test_bench_ann_compares_recipes_against_exact_search(tmp_path):
    """`python -m ragloop.benchmarks.ann`, small: each recipe's recall@45 and CPU per query at each breadth."""
    import json

    from ragloop.benchmarks import ann

    with demo_corpus() as corpus:
        args = ["--chunks", "3000", "--recipes", "ivf,hnsw128", "--data", str(corpus), "--cache", str(tmp_path)]
        assert ann.main([*args, "--json", str(tmp_path / "ann.json")]) == 0
    rows = json.loads((tmp_path / "ann.json").read_text())
    assert {r["recipe"] for r in rows} == {"ivf", "hnsw128"} and len(rows) == 8
    assert all(0.5 < r["recall_at_45"] <= 1 and r["cpu_ms"] > 0 for r in rows)
    widest = [r for r in rows if r["breadth"] in (1024, 2048)]
    assert all(r["recall_at_45"] >= 0.95 for r in widest)


def test_bench_reading_indexes_a_folder_both_ways_into_the_same_index(tmp_path):
    """`python -m ragloop.benchmarks.reading`, small: peak RSS of indexing a folder with its files read all at
    once and as the index takes them, each in a process of its own; the two indexes are the same."""
    import json

    from ragloop.benchmarks import reading

    with demo_corpus() as corpus:
        args = ["--files", "120", "--data", str(corpus), "--work", str(tmp_path)]
        assert reading.main([*args, "--json", str(tmp_path / "reading.json")]) == 0
    report = json.loads((tmp_path / "reading.json").read_text())
    assert report["same_index"] and [w["way"] for w in report["ways"]] == list(reading.WAYS)
    assert all(w["chunks"] >= 120 and w["peak_rss_mib"] > 0 for w in report["ways"])
