"""What a user sees for mistakes: one sentence, a non-zero exit, nothing half-written."""

from __future__ import annotations

import json

import pytest

from ragloop.cli import main
from ragloop.errors import ConfigError, ModelError
from ragloop.providers.local_models import GGUFModel, gguf_path
from ragloop.settings import Context


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["ask", "   "], "The question is empty"),
        (["ask", "Where?", "--set", "chat_provider=openai"], "Unknown chat_provider 'openai'"),
        (["ask", "Where?", "--set", "rerank_provider=cohere-direct"], "Unknown rerank_provider"),
        (["ask", "Where?", "--set", "nonsense=1"], "Unknown setting 'nonsense'"),
        (["ask", "Where?", "--set", "k=many"], "k takes a whole number"),
        (["ask", "Where?", "--set", "max_rewrites=50"], "max_rewrites must be between 0 and 10"),
        (["ask", "Where?", "--set", "hard_retrieval_below=75"], "hard_retrieval_below must be between 0 and 1"),
        (["ask", "Where?", "--set", "cross_encoder_weight=2"], "cross_encoder_weight must be between 0 and 1"),
        (["index", "/definitely/not/here"], "does not exist"),
    ],
)
def test_user_mistakes_get_one_clear_sentence(capsys, argv, message):
    code, text = run_cli(capsys, *argv)
    assert code == 2
    assert message in text
    assert "Traceback" not in text


def test_an_error_is_one_unbroken_line_with_the_path_as_given(capsys, tmp_path):
    missing = tmp_path / ("notes-" * 20) / "[draft] corpus"  # longer than a terminal line, with rich-markup brackets
    code, text = run_cli(capsys, "index", str(missing))
    assert code == 2
    assert text.count("\n") == 1 and str(missing) in text


def test_question_over_the_limit(capsys, tmp_path):
    code, text = run_cli(capsys, "ask", "x" * 50, "--set", "max_question_chars=10", "--index", str(tmp_path))
    assert code == 2 and "over the limit of 10" in text


def test_missing_index_names_the_fix(capsys, tmp_path):
    code, text = run_cli(capsys, "ask", "Where is Normandy?", "--index", str(tmp_path / "none"))
    assert code == 2 and "ragloop index" in text


def index_facts(capsys, tmp_path) -> str:
    """A one-file index built with `ragloop index`, embedded by the test's provider."""
    (tmp_path / "facts.txt").write_text("Oxygen has atomic number 8.")
    index = str(tmp_path / "ix")
    assert run_cli(capsys, "index", str(tmp_path / "facts.txt"), "--index", index)[0] == 0
    return index


def test_index_then_ask_json(capsys, tmp_path, use_provider):
    from tests.unit.test_graph import scripts

    use_provider(scripts())
    index = index_facts(capsys, tmp_path)
    code, text = run_cli(capsys, "ask", "Atomic number of oxygen?", "--index", index, "--json")
    assert code == 0
    import json

    result = json.loads(text[text.index("{") :])
    assert result["citations"][0]["id"] == "facts.txt"


def test_ask_prints_a_bracketed_answer_as_written(capsys, tmp_path, use_provider):
    """Model text is not rich markup: "[/b]" would otherwise crash the printout, "[bold]" vanish."""
    import math

    from tests.conftest import logprob_reply
    from tests.unit.test_graph import scripts

    use_provider(scripts(difficulty=lambda n: logprob_reply([("8 [/b] [bold]", math.log(0.99))])))
    code, text = run_cli(capsys, "ask", "Atomic number of oxygen?", "--index", index_facts(capsys, tmp_path))
    assert code == 0
    assert "Answer: 8 [/b] [bold]" in text and "[1] facts.txt" in text


def test_ask_says_why_a_question_is_hard(capsys, tmp_path, use_provider):
    import math

    from tests.conftest import logprob_reply
    from tests.unit.test_graph import scripts

    use_provider(scripts(difficulty=lambda n: logprob_reply([("Eight", math.log(0.6))])))
    code, text = run_cli(
        capsys,
        "ask",
        "Atomic number of oxygen?",
        "--index",
        index_facts(capsys, tmp_path),
        "--set",
        "hard_retrieval_below=0.5",
        "--set",
        "retrieval_bias=-20",
    )
    assert code == 0
    assert "Difficulty: hard (logprob confidence 0.60), hard as the reranker is unsure too" in text


def test_settings_lists_every_context_field(capsys):
    code, text = run_cli(capsys, "settings")
    assert code == 0
    for name in ("k", "bm25_weight", "max_rewrites", "grade_threshold"):
        assert name in text


def test_context_validation():
    with pytest.raises(ConfigError, match="easy_below"):
        Context(easy_below=0.8, hard_above=0.2)
    with pytest.raises(ConfigError, match="chunk_overlap"):
        Context(chunk_size=10, chunk_overlap=10)
    assert Context.from_overrides({"k": 10}).k == 10


def test_a_model_file_failing_its_checksum_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RAGLOOP_CACHE", str(tmp_path / "cache"))
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "model.gguf").write_bytes(b"not the real weights")
    monkeypatch.syspath_prepend(str(tmp_path))
    model = GGUFModel(name="x", filename="model.gguf", sha256="0" * 64, packages=("fakepkg",))
    with pytest.raises(ModelError, match="fails its checksum"):
        model.path()


def test_split_model_parts_are_joined_and_checked(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("RAGLOOP_CACHE", str(tmp_path / "cache"))
    for i, chunk in enumerate([b"abc", b"def"], 1):
        (tmp_path / f"part{i}" / "data").mkdir(parents=True)
        (tmp_path / f"part{i}" / "__init__.py").write_text("")
        (tmp_path / f"part{i}" / "data" / f"part{i:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(tmp_path))
    good = GGUFModel("x", "joined.gguf", hashlib.sha256(b"abcdef").hexdigest(), ("part1", "part2"))
    assert good.path().read_bytes() == b"abcdef"
    bad = GGUFModel("y", "bad.gguf", "1" * 64, ("part1", "part2"))
    with pytest.raises(ModelError, match="checksum"):
        bad.path()
    assert not (tmp_path / "cache" / "models" / "bad.gguf").exists()


def test_unknown_local_model_name():
    with pytest.raises(ModelError, match="Unknown local_chat_model 'gpt-9'"):
        gguf_path("gpt-9")


def test_building_the_graph_touches_no_model_or_network(monkeypatch):
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("network touched at build")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    from ragloop.graph.builder import compile_graph

    assert compile_graph().get_graph().nodes.keys() >= {
        "difficulty",
        "retrieve",
        "rerank",
        "grade",
        "rewrite",
        "generate",
    }


def test_version_and_python_dash_m(capsys):
    import subprocess
    import sys

    from ragloop import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"ragloop {__version__}\n"
    shown = subprocess.run([sys.executable, "-m", "ragloop", "settings", "--json"], capture_output=True, text=True)
    rows = {row["name"]: row for row in json.loads(shown.stdout)}
    assert shown.returncode == 0 and rows["k"]["kind"] == "per-request" and rows["k"]["bounds"] == "1 to 1000"


def test_index_says_what_it_read_and_what_it_skipped_and_why(capsys, tmp_path, use_provider):
    from tests.unit.test_graph import scripts

    use_provider(scripts())
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "facts.txt").write_text("Oxygen has atomic number 8.")
    (folder / "LICENSE").write_text("Permission is granted to read these facts.")
    (folder / "logo.png").write_bytes(b"\x89PNG")
    (folder / "tool").write_bytes(b"\x7fELF\x00binary")
    code, text = run_cli(capsys, "index", str(folder), "--index", str(tmp_path / "ix"))
    assert code == 0 and "Read 2 file(s); skipped 2:" in text
    assert f"{folder / 'logo.png'}: unsupported type .png" in text and f"{folder / 'tool'}: binary" in text


def test_ask_reports_each_step_as_it_starts_and_the_answer_as_it_is_written(use_provider, context):
    from ragloop.application.asking import ask
    from tests.unit.test_graph import scripts

    use_provider(scripts())
    events: list[tuple[str, str]] = []
    result = ask(
        "In what country is Normandy located?",
        context(answer_cache_ttl_seconds=0),
        on_start=lambda node: events.append(("start", node)),
        on_update=lambda node, update: events.append(("done", node)),
        on_token=lambda text: events.append(("token", text)),
    )
    started = [node for kind, node in events if kind == "start"]
    assert started[:4] == ["intake", "lookup", "retrieve", "rerank"] and "generate" in started
    assert events.index(("start", "generate")) < events.index(("done", "generate"))
    tokens = [text for kind, text in events if kind == "token"]
    assert len(tokens) >= 4 and "".join(tokens).strip() == result["answer"]
    first_token = next(i for i, (kind, _) in enumerate(events) if kind == "token")
    assert first_token < events.index(("done", "generate"))  # written while generate runs


def test_on_a_terminal_ask_shows_the_step_under_way_and_the_answer_so_far(capsys, tmp_path, use_provider, monkeypatch):
    import io
    import re

    from rich.console import Console

    import ragloop.cli
    from tests.conftest import reply
    from tests.unit.test_graph import scripts

    use_provider(scripts(generate=lambda n: reply("Oxygen has atomic number 8.")))
    index = index_facts(capsys, tmp_path)
    screen = io.StringIO()
    monkeypatch.setattr(ragloop.cli, "console", Console(file=screen, force_terminal=True, width=100))
    code, text = run_cli(capsys, "ask", "Atomic number of oxygen?", "--index", index, "--set", "easy_from_draft=false")
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())  # the frames, without terminal codes
    assert code == 0 and "Answer: Oxygen has atomic number 8." in text
    assert "Answer so far: Oxygen" in drawn  # the live area, redrawn as tokens came
    assert "generate" in drawn and " s" in drawn
