"""Start `langgraph dev` on a free loopback port for tests and the load benchmark, and stop it after."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ragloop.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dev_server(
    log: Path, *, env: dict[str, str] | None = None, jobs: int = 10, start_seconds: float = 120.0
) -> Iterator[str]:
    """`langgraph dev` with this checkout's langgraph.json, its output in `log`; yields its base URL."""
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent)) or shutil.which("langgraph")
    if not cli:
        raise ConfigError("The langgraph CLI is missing: pip install 'ragloop[server]'.")
    port = free_port()
    environment = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false", **(env or {})}
    url = f"http://127.0.0.1:{port}"
    with open(log, "w") as sink:
        proc = subprocess.Popen(
            [
                cli,
                "dev",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--no-browser",
                "--no-reload",
                "--n-jobs-per-worker",
                str(jobs),
                "--config",
                str(ROOT / "langgraph.json"),
            ],
            cwd=ROOT,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + start_seconds
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("langgraph dev exited:\n" + log.read_text()[-3000:])
                try:
                    urllib.request.urlopen(url + "/ok", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError("langgraph dev did not start:\n" + log.read_text()[-3000:]) from None
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
