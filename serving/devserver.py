"""Start `langgraph dev` on a free loopback port for tests and the load benchmark, and stop it after."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from ragloop.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config_in(folder: Path, env: dict[str, str] | None = None) -> Path:
    """This checkout's langgraph.json, written into `folder` with its `./` paths made absolute (the server
    resolves them from its working directory) and `env` over its own environment entries."""
    config = json.loads((ROOT / "langgraph.json").read_text())
    config["env"] = {**config.get("env", {}), **(env or {})}

    def absolute(value: str) -> str:
        return str(ROOT / value[2:]) if value.startswith("./") else str(ROOT) if value == "." else value

    config["dependencies"] = [absolute(d) for d in config.get("dependencies", [])]
    config["graphs"] = {name: absolute(path) for name, path in config.get("graphs", {}).items()}
    for section, key in (("auth", "path"), ("http", "app")):
        if key in config.get(section, {}):
            config[section][key] = absolute(config[section][key])
    target = folder / "langgraph.json"
    target.write_text(json.dumps(config, indent=2))
    return target


@contextmanager
def dev_server(
    log: Path,
    *,
    env: dict[str, str] | None = None,
    jobs: int = 10,
    start_seconds: float = 120.0,
    config_env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`langgraph dev` with this checkout's langgraph.json, its output in `log`; yields its base URL.

    The server starts empty: it runs in a fresh folder beside `log`, where the in-memory runtime keeps its
    `.langgraph_api` state (run from the checkout, every server would load and re-save what all earlier
    ones stored there: threads, runs, even crons that then fire again). `config_env` replaces entries of
    langgraph.json's own `env` (which the server applies over its process environment)."""
    cli = shutil.which("langgraph", path=str(Path(sys.executable).parent)) or shutil.which("langgraph")
    if not cli:
        raise ConfigError("The langgraph CLI is missing: pip install 'ragloop[server]'.")
    port = free_port()
    environment = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGSMITH_TRACING": "false", **(env or {})}
    url = f"http://127.0.0.1:{port}"
    state = log.parent / f"langgraph-state-{port}"
    state.mkdir(parents=True, exist_ok=True)
    config = _config_in(state, config_env)
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
                str(config),
            ],
            cwd=state,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped with every process it started
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
            _signal_group(proc, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)
            _signal_group(proc, signal.SIGKILL)  # whatever outlived it (a worker, a model server)
            proc.wait()


def _signal_group(proc: subprocess.Popen, signum: int) -> None:
    with suppress(ProcessLookupError):  # the group is gone already
        os.killpg(proc.pid, signum)


def tree_rss_mib(port: int) -> float:
    """Resident memory of the server started on `port` and every process below it, in MiB."""
    rss = server_tree(port)
    return round(sum(rss.values()) / 2**20, 1)


def server_tree(port: int) -> dict[int, int]:
    """The server started on `port` and every process below it: pid -> resident bytes."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    roots = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        pid = int(entry)
        parents[pid], rss[pid] = int(stat[1]), int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        if f"--port {port} " in cmdline + " " and "langgraph" in cmdline:
            roots.append(pid)
    tree, changed = set(roots), True
    while changed:
        grown = {pid for pid, parent in parents.items() if parent in tree} | tree
        changed, tree = grown != tree, grown
    return {pid: rss.get(pid, 0) for pid in tree}
