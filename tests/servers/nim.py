"""A local stand-in for an NVIDIA NIM: the real endpoints, the real wire format, scripted answers, injected faults.

    /v1/models              GET   model list (clients may ask for it)
    /v1/chat/completions    POST  OpenAI-style chat, JSON or SSE stream, with token logprobs when asked
    /v1/embeddings          POST  OpenAI-style embeddings (hash-seeded vectors: equal texts, equal vectors)
    /v1/ranking             POST  NeMo Retriever ranking: {"rankings": [{"index", "logit"}]}

Answers follow the prompt's role (grading, rewriting, critique…), so the whole
ragloop graph runs against it. Faults are queued per path and served in order:
``server.fail("/v1/ranking", "429", "500")``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("429", "500", "503", "malformed", "timeout", "truncated", "drop")


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def scripted_reply(prompt: str) -> str:
    """What a helpful model would say to each of ragloop's prompts (read from the prompt's wording)."""
    if "Reply with exactly" in prompt:
        n = int(re.search(r"Reply with exactly (\d+) lines", prompt).group(1))
        return "\n".join(f"{i}: yes" for i in range(1, n + 1))
    if "Write one better search query" in prompt:
        return "Normandy region country"
    if "Is the proposed answer correct" in prompt:
        return "yes"
    if "If it is right, reply exactly: OK" in prompt:
        return "OK"
    if "Confidence: <0-100>" in prompt:
        return "Answer: France\nConfidence: 90"
    if "in a few words, using the passages" in prompt:
        return "France"
    return "France [1]"


class _Handler(BaseHTTPRequestHandler):
    server: FakeNimServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json", headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/v1/models"):
            self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.server.models]})
        else:
            self._json(404, {"detail": f"no route {self.path}"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        path = self.path.split("?")[0].rstrip("/")
        self.server.record(path, body, dict(self.headers))
        fault = self.server.next_fault(path)
        if fault and self._fault(fault):
            return
        if path.endswith("/chat/completions"):
            self._chat(body, truncated=fault == "truncated")
        elif path.endswith("/embeddings"):
            self._embeddings(body)
        elif path.endswith("/ranking"):
            self._ranking(body)
        else:
            self._json(404, {"detail": f"no route {self.path}"})

    def _fault(self, fault: str) -> bool:
        """Serve a fault; False for the ones that happen later (a stream cut short)."""
        if fault == "429":
            self._json(429, {"status": 429, "title": "Too Many Requests", "detail": "rate limited"},
                       headers={"Retry-After": "1"})
        elif fault in ("500", "503"):
            self._json(int(fault), {"status": int(fault), "title": "Server Error", "detail": "injected"})
        elif fault == "malformed":
            self._send(200, b'{"id": "x", "choices": [ {"message": ')
        elif fault == "timeout":
            time.sleep(self.server.hang_seconds)
            self.close_connection = True
        elif fault == "drop":
            self.close_connection = True
            self.connection.close()
        else:
            return False
        return True

    def _chat(self, body: dict, truncated: bool) -> None:
        prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
        text = scripted_reply(prompt)
        tokens = re.findall(r"\S+\s*|\s+", text)
        usage = {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": len(tokens),
                 "total_tokens": max(1, len(prompt) // 4) + len(tokens)}
        logprobs = None
        if body.get("logprobs"):
            logprobs = {"content": [
                {"token": t, "logprob": math.log(0.9), "bytes": list(t.encode()),
                 "top_logprobs": [{"token": t, "logprob": math.log(0.9), "bytes": list(t.encode())},
                                  {"token": " no" if t.strip() == "yes" else " other", "logprob": math.log(0.05),
                                   "bytes": []}]}
                for t in tokens]}
        model, created = body.get("model", "fake"), int(time.time())
        if not body.get("stream"):
            self._json(200, {"id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
                             "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                          "logprobs": logprobs, "finish_reason": "stop"}],
                             "usage": usage})
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunks = [{"role": "assistant", "content": ""}] + [{"content": t} for t in tokens]
        for i, delta in enumerate(chunks):
            if truncated and i == len(chunks) // 2:
                self.wfile.write(b'data: {"id": "chatcmpl-fake", "choi')
                self.wfile.flush()
                return
            event = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        final = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                 "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage}
        self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()

    def _embeddings(self, body: dict) -> None:
        texts = body.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        data = [{"object": "embedding", "index": i, "embedding": embed(t, self.server.dimensions)}
                for i, t in enumerate(texts)]
        self._json(200, {"object": "list", "data": data, "model": body.get("model"),
                         "usage": {"prompt_tokens": sum(len(t) // 4 for t in texts), "total_tokens": 0}})

    def _ranking(self, body: dict) -> None:
        query = _words(body.get("query", {}).get("text", ""))
        passages = [p.get("text", "") for p in body.get("passages", [])]
        scores = [len(query & _words(p)) - 0.01 * i for i, p in enumerate(passages)]
        ranked = sorted(range(len(passages)), key=lambda i: -scores[i])
        self._json(200, {"rankings": [{"index": i, "logit": float(scores[i])} for i in ranked]})


def embed(text: str, dimensions: int) -> list[float]:
    """A unit vector from the text's words: texts sharing words point the same way."""
    vector = [0.0] * dimensions
    for word in _words(text) or {""}:
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dimensions] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class FakeNimServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, models: tuple[str, ...] = (), dimensions: int = 64, hang_seconds: float = 5.0):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.models, self.dimensions, self.hang_seconds = models, dimensions, hang_seconds
        self.requests: list[tuple[str, dict, dict]] = []
        self._faults: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def fail(self, path: str, *faults: str) -> None:
        """Serve these faults, in order, to the next requests on path (e.g. "/v1/ranking")."""
        assert all(f in FAULTS for f in faults), faults
        with self._lock:
            self._faults.setdefault(path, []).extend(faults)

    def next_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.pop(0) if queue else None

    def record(self, path: str, body: dict, headers: dict) -> None:
        with self._lock:
            self.requests.append((path, body, headers))

    def calls(self, suffix: str) -> int:
        return sum(1 for path, _, _ in self.requests if path.endswith(suffix))

    def __enter__(self) -> FakeNimServer:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
