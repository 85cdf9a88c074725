"""`ragloop ask` on a real terminal (a pseudo-terminal), with SmolLM2-135M: the line naming the step under way and
its elapsed seconds is redrawn while the step runs, before the answer is printed."""

from __future__ import annotations

import os
import re
import select
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
#: The live line: a spinner, the running step(s), the seconds since the step started (not a finished step's line).
STATUS = re.compile(r"[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\s+([a-z_, …]+?)\s+(\d+\.\d) s")


def run_on_a_terminal(argv: list[str], timeout: float = 600) -> list[tuple[float, str]]:
    """What the program wrote to its terminal, chunk by chunk, with the second each chunk arrived."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: the program, its stdout and stderr the terminal
        os.environ.update({"COLUMNS": "120", "TERM": "xterm-256color"})
        os.execv(argv[0], argv)
    chunks, started = [], time.monotonic()
    try:
        while time.monotonic() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append((time.monotonic() - started, ANSI.sub("", data.decode("utf-8", "replace"))))
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return chunks


def test_ask_on_a_terminal_redraws_the_step_under_way_before_the_answer(demo_index, tmp_path):
    cli = str(Path(sys.executable).parent / "ragloop")
    argv = [cli, "ask", "What is the atomic number of oxygen?", "--index", str(demo_index), "--model", "smollm2-135m"]
    for setting in ("local_n_ctx=4096", "easy_from_draft=false", "answer_cache_ttl_seconds=0"):
        argv += ["--set", setting]
    chunks = run_on_a_terminal(argv)
    text = "".join(c for _, c in chunks)
    assert "Answer:" in text, text[-2000:]
    answered_at = next(t for t, c in chunks if "Answer:" in c and "Answer so far" not in c)
    readings = [
        (t, m.group(1).strip(), float(m.group(2))) for t, c in chunks if t < answered_at for m in STATUS.finditer(c)
    ]
    by_step: dict[str, set[float]] = {}
    for _, step, seconds in readings:
        by_step.setdefault(step, set()).add(seconds)
    # some step's line was redrawn with a growing elapsed time while it ran, before the answer came
    assert any(len(seen) >= 2 for step, seen in by_step.items() if step not in ("…", "")), by_step
    assert "Spend" in text and "[1]" in text  # then the sources and the spend table, as before
