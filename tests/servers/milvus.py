"""A real Milvus Lite gRPC server (`milvus-lite server`, from the milvus-lite package) on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ragloop.serving.devserver import free_port
from tests.servers.databases import _wait_for_port


class MilvusLite:
    """The server over one data folder; stop() and start() again keep the port and the data."""

    def __init__(self, data: Path):
        self.data, self.port = data, free_port()
        self.process: subprocess.Popen | None = None
        self.binary = Path(sys.executable).with_name("milvus-lite")
        if not self.binary.exists():
            pytest.skip("milvus-lite is not installed: pip install 'ragloop[milvus]' (make setup does)")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "server", "--data-dir", str(self.data), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_port(self.port, 60)

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(30)
            self.process = None


@contextmanager
def milvus_server() -> Iterator[MilvusLite]:
    data = Path(tempfile.mkdtemp(prefix="ragloop-milvus-"))
    server = MilvusLite(data)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data, ignore_errors=True)
