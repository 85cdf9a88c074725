"""Settings: every field declares what it does, its kind, bounds and caches; one validator enforces them."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ragloop.errors import ConfigError
from ragloop.persistence import cache_keys
from ragloop.settings import Context, deployment_fields, describe, type_hints
from ragloop.settings.metadata import choices, invalidates, kind_of

FIELDS = dataclasses.fields(Context)
NUMERIC = [f for f in FIELDS if type_hints()[f.name] in (int, float)]
ROOT = Path(__file__).resolve().parents[2]


def test_every_field_says_what_it_does_its_kind_and_its_caches():
    for f in FIELDS:
        assert len(f.metadata["description"]) > 20, f.name
        assert kind_of(f) in ("per-request", "deployment"), f.name
        assert set(invalidates(f)) <= {"retrieve", "rerank", "answer"}, f.name


def test_every_numeric_field_has_bounds_its_default_respects():
    defaults = Context()
    for f in NUMERIC:
        low = f.metadata.get("ge", f.metadata.get("gt"))
        assert low is not None and f.metadata.get("le") is not None, f"{f.name} has no bounds"
        assert low <= getattr(defaults, f.name) <= f.metadata["le"], f.name


@pytest.mark.parametrize("field", NUMERIC, ids=lambda f: f.name)
def test_an_out_of_range_value_is_one_sentence_naming_the_setting(field):
    """No value ends in a traceback: below, above, NaN and the wrong type are refused up front."""
    low = field.metadata.get("ge", field.metadata.get("gt"))
    for bad in (low - 1, field.metadata["le"] + 1, float("nan"), "many", True):
        with pytest.raises(ConfigError, match=field.name):
            Context.from_overrides({field.name: bad})


@pytest.mark.parametrize("field", [f for f in FIELDS if choices(type_hints()[f.name])], ids=lambda f: f.name)
def test_a_choice_outside_its_list_names_the_choices(field):
    allowed = choices(type_hints()[field.name])
    with pytest.raises(ConfigError, match=f"Unknown {field.name} 'nonsense': choose one of"):
        Context.from_overrides({field.name: "nonsense"})
    for value in allowed:
        assert getattr(Context.from_overrides({field.name: value}), field.name) == value


def test_rrf_c_below_zero_is_refused_not_a_division_by_zero():
    with pytest.raises(ConfigError, match="rrf_c must be between 0 and 10000, got -1"):
        Context(rrf_c=-1)


def test_settings_that_reach_files_networks_or_credentials_are_deployment_settings():
    deployment = set(deployment_fields())
    for name in (
        "index_path",
        "nvidia_base_url",
        "cohere_base_url",
        "bedrock_endpoint_url",
        "aws_profile",
        "local_chat_model",
        "local_reranker_path",
        "price_table",
        "local_threads",
        "local_n_ctx",
        "request_timeout",
        "chat_provider",
        "hard_chat_model",
    ):
        assert name in deployment, name
    for name in ("k", "bm25_weight", "max_samples", "selection", "difficulty_estimator", "grade_threshold"):
        assert name not in deployment, name


def test_the_cache_keys_cover_what_changes_each_cached_result():
    assert {"k", "bm25_weight", "index_path", "embedding_provider"} <= set(cache_keys.RETRIEVE_FIELDS)
    assert set(cache_keys.RETRIEVE_FIELDS) < set(cache_keys.RERANK_FIELDS)
    assert {"top_n", "local_reranker", "medium_docs", "max_docs"} <= set(cache_keys.RERANK_FIELDS)
    assert "request_timeout" not in cache_keys.ANSWER_FIELDS and "price_table" not in cache_keys.ANSWER_FIELDS
    assert {"selection", "grade_threshold", "hard_samples"} <= set(cache_keys.ANSWER_FIELDS)


def test_the_json_schema_shows_choices_bounds_and_kinds():
    from ragloop.graph.builder import graph
    from ragloop.graph.indexing import index_graph

    for compiled in (graph, index_graph):
        schema = compiled.get_context_jsonschema()["properties"]
        assert schema["chat_provider"]["enum"] == ["local", "nvidia", "bedrock"]
        assert schema["k"]["minimum"] == 1 and schema["k"]["maximum"] == 1000
        assert schema["index_path"]["kind"] == "deployment" and schema["k"]["kind"] == "per-request"
        assert set(schema) == {f.name for f in FIELDS}


def test_both_graphs_serve_input_and_output_schemas_and_the_graph_is_a_tool():
    from ragloop.graph.builder import graph
    from ragloop.graph.indexing import index_graph

    assert set(graph.get_input_jsonschema()["properties"]) == {"question", "messages", "filter"}
    assert {"answer", "citations", "difficulty", "budget", "compute"} <= set(
        graph.get_output_jsonschema()["properties"]
    )
    assert set(index_graph.get_input_jsonschema()["properties"]) == {"documents", "delete"}
    assert "chunks" in index_graph.get_output_jsonschema()["properties"]
    assert graph.as_tool().args_schema is not None


def test_settings_json_and_the_reference_page_come_from_the_same_records():
    from ragloop.settings.reference import markdown

    rows = describe()
    assert [r["name"] for r in rows] == [f.name for f in FIELDS]
    json.dumps(rows)  # serialisable as `ragloop settings --json` prints it
    page = markdown(rows)
    assert all(f"| `{f.name}` |" in page for f in FIELDS)
    assert (ROOT / "docs" / "configuration.md").read_text() == page, "docs/configuration.md is stale: make docs"


def test_the_layers_import_downward_only():
    """The import contract in pyproject.toml (also run by make lint): no upward import, no node imports another."""
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        pytest.skip("import-linter is not installed (pip install 'ragloop[dev]')")
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:]
