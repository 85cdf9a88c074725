"""A local stand-in for Cohere's v2 Rerank API (POST /v2/rerank), with injected faults ("429", "500")."""

from __future__ import annotations

import json

from tests.servers import StandInHandler, StandInServer
from tests.servers.nim import _words


class _Handler(StandInHandler):
    server: FakeCohereServer

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.server.record(self.path, body, dict(self.headers))
        if fault := self.server.next_fault(self.path):
            self.send_json(int(fault), {"message": f"injected {fault}"})
            return
        query = _words(body.get("query", ""))
        docs = [d if isinstance(d, str) else d.get("text", "") for d in body.get("documents", [])]
        scores = [min(1.0, len(query & _words(d)) / max(1, len(query))) - 0.001 * i for i, d in enumerate(docs)]
        ranked = sorted(range(len(docs)), key=lambda i: -scores[i])[: body.get("top_n") or len(docs)]
        self.send_json(
            200,
            {
                "id": "rerank-fake",
                "results": [{"index": i, "relevance_score": max(0.0, scores[i])} for i in ranked],
                "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
            },
        )


class FakeCohereServer(StandInServer):
    FAULTS = ("429", "500")

    def __init__(self):
        super().__init__(_Handler)

    @property
    def url(self) -> str:
        return self.base_url
