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
import time

from tests.servers import StandInHandler, StandInServer

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
    if "in a few words, using the passages" in prompt:  # the difficulty draft and generate
        return "France"
    return "France [1]"


class _Handler(StandInHandler):
    server: FakeNimServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/v1/models"):
            self.send_json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.server.models]})
        else:
            self.send_json(404, {"detail": f"no route {self.path}"})

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
            self.send_json(404, {"detail": f"no route {self.path}"})

    def _fault(self, fault: str) -> bool:
        """Serve a fault; False for the ones that happen later (a stream cut short)."""
        if fault == "429":
            self.send_json(
                429,
                {"status": 429, "title": "Too Many Requests", "detail": "rate limited"},
                headers={"Retry-After": "1"},
            )
        elif fault in ("500", "503"):
            self.send_json(int(fault), {"status": int(fault), "title": "Server Error", "detail": "injected"})
        elif fault == "malformed":
            self.send(200, b'{"id": "x", "choices": [ {"message": ')
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
        usage = {
            "prompt_tokens": max(1, len(prompt) // 4),
            "completion_tokens": len(tokens),
            "total_tokens": max(1, len(prompt) // 4) + len(tokens),
        }
        logprobs = None
        if body.get("logprobs"):
            logprobs = {
                "content": [
                    {
                        "token": t,
                        "logprob": math.log(0.9),
                        "bytes": list(t.encode()),
                        "top_logprobs": [
                            {"token": t, "logprob": math.log(0.9), "bytes": list(t.encode())},
                            {
                                "token": " no" if t.strip() == "yes" else " other",
                                "logprob": math.log(0.05),
                                "bytes": [],
                            },
                        ],
                    }
                    for t in tokens
                ]
            }
        model, created = body.get("model", "fake"), int(time.time())
        if not body.get("stream"):
            self.send_json(
                200,
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "logprobs": logprobs,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
            )
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
            event = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
        final = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": usage,
        }
        self.wfile.write(f"data: {json.dumps(final)}\n\ndata: [DONE]\n\n".encode())
        self.wfile.flush()

    def _embeddings(self, body: dict) -> None:
        texts = body.get("input") or []
        texts = [texts] if isinstance(texts, str) else texts
        data = [
            {"object": "embedding", "index": i, "embedding": embed(t, self.server.dimensions)}
            for i, t in enumerate(texts)
        ]
        self.send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": sum(len(t) // 4 for t in texts), "total_tokens": 0},
            },
        )

    def _ranking(self, body: dict) -> None:
        query = _words(body.get("query", {}).get("text", ""))
        passages = [p.get("text", "") for p in body.get("passages", [])]
        scores = [len(query & _words(p)) - 0.01 * i for i, p in enumerate(passages)]
        ranked = sorted(range(len(passages)), key=lambda i: -scores[i])
        self.send_json(200, {"rankings": [{"index": i, "logit": float(scores[i])} for i in ranked]})


def embed(text: str, dimensions: int) -> list[float]:
    """A unit vector from the text's words: texts sharing words point the same way."""
    vector = [0.0] * dimensions
    for word in _words(text) or {""}:
        digest = hashlib.sha256(word.encode()).digest()
        vector[digest[0] % dimensions] += 1.0 if digest[1] % 2 else -1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class FakeNimServer(StandInServer):
    FAULTS = FAULTS

    def __init__(self, models: tuple[str, ...] = (), dimensions: int = 64, hang_seconds: float = 5.0):
        super().__init__(_Handler)
        self.models, self.dimensions, self.hang_seconds = models, dimensions, hang_seconds

    @property
    def url(self) -> str:
        return self.base_url + "/v1"
