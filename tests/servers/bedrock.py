"""A local stand-in for Amazon Bedrock that the real boto3 clients talk to (``endpoint_url``).

    POST /model/{id}/converse          bedrock-runtime Converse (REST-JSON)
    POST /model/{id}/converse-stream   bedrock-runtime ConverseStream (AWS event stream, binary)
    POST /model/{id}/invoke            bedrock-runtime InvokeModel (Titan text embeddings v2)
    POST /rerank                       bedrock-agent-runtime Rerank

Answers come from the NIM stand-in's script (``scripted_reply``). Usage reports
prompt-cache reads and writes when the request carries a cachePoint: the first
request with a given cached prefix writes it, later ones read it. Faults:
``server.fail("/converse", "throttle", "500", "malformed", "timeout", "truncated")``
(matched on the path's end).
"""

from __future__ import annotations

import binascii
import json
import struct
import time
from urllib.parse import unquote

from tests.servers import StandInHandler, StandInServer
from tests.servers.nim import _words, embed, scripted_reply

FAULTS = ("throttle", "500", "malformed", "timeout", "truncated", "denied")


def _header(name: str, value: str) -> bytes:
    raw = value.encode()
    return bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw


def event_message(event_type: str, payload: dict) -> bytes:
    """One AWS event-stream message: prelude, headers, JSON payload, CRCs."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


class _Handler(StandInHandler):
    server: FakeBedrockServer
    protocol_version = "HTTP/1.1"

    def _error(self, status: int, kind: str, message: str) -> None:
        self.send(status, json.dumps({"message": message}).encode(), headers={"x-amzn-ErrorType": kind})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        path = unquote(self.path.split("?")[0])
        body = json.loads(raw or b"{}")
        self.server.record(path, body, dict(self.headers))
        fault = self.server.next_fault(path)
        if fault == "throttle":
            return self._error(429, "ThrottlingException", "Too many requests, please wait before trying again.")
        if fault == "500":
            return self._error(500, "InternalServerException", "injected")
        if fault == "denied":
            return self._error(403, "AccessDeniedException", "You don't have access to the model.")
        if fault == "malformed":
            return self.send(200, b'{"output": {"message": ')
        if fault == "timeout":
            time.sleep(self.server.hang_seconds)
            self.close_connection = True
            return None
        if path.endswith("/converse"):
            return self.send_json(200, self._converse(body))
        if path.endswith("/converse-stream"):
            return self._stream(self._converse(body), truncated=fault == "truncated")
        if path.endswith("/invoke"):
            text = body.get("inputText", "")
            return self.send_json(
                200,
                {
                    "embedding": embed(text, body.get("dimensions") or self.server.dimensions),
                    "inputTextTokenCount": max(1, len(text) // 4),
                },
            )
        if path.endswith("/rerank"):
            return self.send_json(200, self._rerank(body))
        return self._error(404, "UnknownOperationException", path)

    def _converse(self, body: dict) -> dict:
        texts, cached = [], None
        for block in [*body.get("system", []), *(b for m in body.get("messages", []) for b in m.get("content", []))]:
            if "cachePoint" in block and cached is None:
                cached = "\n".join(texts)
            if "text" in block:
                texts.append(block["text"])
        prompt = "\n".join(texts)
        text = scripted_reply(prompt)
        usage = {"inputTokens": max(1, len(prompt) // 4), "outputTokens": max(1, len(text.split()))}
        if cached is not None:
            prefix = max(1, len(cached) // 4)
            hit = self.server.remember(cached)
            usage["inputTokens"] -= prefix
            usage["cacheReadInputTokens" if hit else "cacheWriteInputTokens"] = prefix
        usage["totalTokens"] = sum(usage.values())
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
            "stopReason": "end_turn",
            "usage": usage,
            "metrics": {"latencyMs": 3},
        }

    def _stream(self, reply: dict, truncated: bool) -> None:
        text = reply["output"]["message"]["content"][0]["text"]
        words = text.split(" ")
        events = [("messageStart", {"role": "assistant"})]
        events += [
            ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": (" " if i else "") + w}})
            for i, w in enumerate(words)
        ]
        events += [
            ("contentBlockStop", {"contentBlockIndex": 0}),
            ("messageStop", {"stopReason": "end_turn"}),
            ("metadata", {"usage": reply["usage"], "metrics": reply["metrics"]}),
        ]
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for i, (kind, payload) in enumerate(events):
            message = event_message(kind, payload)
            if truncated and i == len(events) // 2:
                self.wfile.write(message[: len(message) // 2])
                self.wfile.flush()
                return
            self.wfile.write(message)
        self.wfile.flush()

    def _rerank(self, body: dict) -> dict:
        query = _words(body["queries"][0]["textQuery"]["text"])
        texts = [s["inlineDocumentSource"]["textDocument"]["text"] for s in body["sources"]]
        scores = [min(1.0, len(query & _words(t)) / max(1, len(query))) - 0.001 * i for i, t in enumerate(texts)]
        n = body["rerankingConfiguration"]["bedrockRerankingConfiguration"].get("numberOfResults", len(texts))
        ranked = sorted(range(len(texts)), key=lambda i: -scores[i])[:n]
        return {"results": [{"index": i, "relevanceScore": max(0.0, scores[i])} for i in ranked]}


class FakeBedrockServer(StandInServer):
    FAULTS = FAULTS

    def __init__(self, dimensions: int = 64, hang_seconds: float = 4.0):
        super().__init__(_Handler)
        self.dimensions, self.hang_seconds = dimensions, hang_seconds
        self._cache: set[str] = set()

    @property
    def url(self) -> str:
        return self.base_url

    def remember(self, prefix: str) -> bool:
        """Whether this cached prefix was written before (and remember it now)."""
        with self._lock:
            hit = prefix in self._cache
            self._cache.add(prefix)
            return hit
