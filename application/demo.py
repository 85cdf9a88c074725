"""The bundled demo corpus (SQuAD v1.1 paragraphs, CC BY-SA 4.0) and the questions the demo asks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

DEMO_QUESTIONS = (
    "In what country is Normandy located?",
    "How did the black death make it to the Mediterranean and Europe?",
    "What is the atomic number of oxygen?",
)
ATTRIBUTION = "Text: Wikipedia paragraphs from SQuAD v1.1 (CC BY-SA 4.0); see demo_corpus/README.md."


@contextmanager
def demo_corpus() -> Iterator[Path]:
    """The demo corpus as a file path, for as long as the block runs."""
    with resources.as_file(resources.files("ragloop.demo_corpus").joinpath("squad_demo.json")) as path:
        yield Path(path)
