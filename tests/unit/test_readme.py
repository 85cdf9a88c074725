"""The README's front door stays true: its Python quick start runs, and it stays short."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_python_quick_start_runs(use_provider, tmp_path, monkeypatch, capsys):
    from tests.conftest import logprob_reply
    from tests.unit.test_graph import scripts

    block = re.search(r"## Quick start in Python\n\n```python\n(.*?)```", README.read_text(), flags=re.S).group(1)
    assert len(block.strip().splitlines()) <= 10
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "company.md").write_text("Acme was founded by Ada Lovelace in 1843 in London.")
    monkeypatch.chdir(tmp_path)
    use_provider(scripts(difficulty=lambda n: logprob_reply([("Ada", -0.01), (" Lovelace", -0.01)])))
    exec(compile(block, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith("Ada Lovelace [{'n': 1, 'id': 'company.md'") and "\neasy " in printed
    assert (tmp_path / "my-index" / "manifest.json").exists()


def test_the_readme_is_a_front_door():
    text = README.read_text()
    assert len(text.splitlines()) <= 200
    first = text.split("```bash\n", 1)[1].splitlines()[:2]
    assert first[0].startswith("make demo") and first[1].startswith("make test")
    for link in re.findall(r"\]\(((?:docs|tests)/[^)#]+|CHANGELOG\.md)\)", text):
        assert (README.parent / link).exists(), link
