"""Local stand-ins for provider APIs: real wire formats on 127.0.0.1, scripted answers, injected faults."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class StandInHandler(BaseHTTPRequestHandler):
    """Quiet request handler with the two replies every stand-in sends."""

    def log_message(self, *args) -> None:
        pass

    def send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self.send(status, json.dumps(payload).encode(), headers=headers)


class StandInServer(ThreadingHTTPServer):
    """A threaded server on a free loopback port that records every request and serves queued faults.

    Use it as a context manager: it serves in a daemon thread until the block ends.
    """

    daemon_threads = True
    FAULTS: tuple[str, ...] = ()

    def __init__(self, handler: type[StandInHandler]):
        super().__init__(("127.0.0.1", 0), handler)
        self.requests: list[tuple[str, dict, dict]] = []
        self._faults: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def fail(self, suffix: str, *faults: str) -> None:
        """Serve these faults, in order, to the next requests whose path ends with suffix."""
        assert all(f in self.FAULTS for f in faults), faults
        with self._lock:
            self._faults += [(suffix, f) for f in faults]

    def next_fault(self, path: str) -> str | None:
        with self._lock:
            for i, (suffix, fault) in enumerate(self._faults):
                if path.endswith(suffix):
                    del self._faults[i]
                    return fault
        return None

    def record(self, path: str, body: dict, headers: dict) -> None:
        with self._lock:
            self.requests.append((path, body, headers))

    def calls(self, suffix: str) -> int:
        return sum(1 for path, _, _ in self.requests if path.endswith(suffix))

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
