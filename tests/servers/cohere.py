"""A local stand-in for Cohere's v2 Rerank API (POST /v2/rerank), with injected faults ("429", "500")."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers.nim import _words


class _Handler(BaseHTTPRequestHandler):
    server: FakeCohereServer

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        with self.server.lock:
            self.server.requests.append((self.path, body, dict(self.headers)))
            fault = self.server.faults.pop(0) if self.server.faults else None
        if fault:
            self._json(int(fault), {"message": f"injected {fault}"})
            return
        query = _words(body.get("query", ""))
        docs = [d if isinstance(d, str) else d.get("text", "") for d in body.get("documents", [])]
        scores = [min(1.0, len(query & _words(d)) / max(1, len(query))) - 0.001 * i for i, d in enumerate(docs)]
        ranked = sorted(range(len(docs)), key=lambda i: -scores[i])[: body.get("top_n") or len(docs)]
        self._json(200, {"id": "rerank-fake", "results": [{"index": i, "relevance_score": max(0.0, scores[i])}
                                                          for i in ranked],
                         "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}})

    def _json(self, status: int, payload: dict) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


class FakeCohereServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict, dict]] = []
        self.faults: list[str] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> FakeCohereServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
