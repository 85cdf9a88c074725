"""Routes the LangGraph server lacks (``langgraph.json`` → ``http.app``).

    GET    /health                  200 when the index loads and the models are there, else 503 naming what is not
    GET    /ragloop/metrics         Prometheus text format (/metrics is the LangGraph server's own)
    POST   /index/documents         add or replace documents by source (API key); returns a job id at once
    DELETE /index/sources/{source}  remove a source (API key); returns a job id
    GET    /index/jobs/{id}         a job's status and progress (API key)
    GET    /index                   the index's sources and counts (API key)
    GET    /ragloop/chat            the chat page (serving/chat/: HTML, CSS and JavaScript; it calls this server's
                                    API with the key the user enters, kept in the tab's session storage)

Changing the shared index takes an operator key (RAGLOOP_ADMIN_KEYS); a job is visible to the key that
submitted it. A body over RAGLOOP_MAX_BODY_BYTES (default 20 MiB) gets 413; malformed or absurdly nested
JSON, source names that are empty, over 512 characters, hold control characters or path traversal ("..",
a leading "/") (logic/sources.py), and files past the operator's upload limits (settings/uploads.py) get 422
naming the file and the limit, the index untouched. The body is parsed in a worker process
(serving/uploads.py), so no upload stalls the server's other requests.

Index jobs run one at a time in a worker thread (the index has one writer; see
retrieval/versions.py); readers keep answering from the previous version until
the new one is published.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ragloop.logic.sources import source_problem
from ragloop.serving import metrics
from ragloop.serving.auth import INDEX_IS_THE_OPERATORS, authenticate, is_operator, per_key
from ragloop.settings import Context

_jobs: dict[str, dict] = {}
_jobs_lock = threading.Lock()
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragloop-index")


# Route handlers are documented in comments: the LangGraph server reads a handler's docstring as YAML
# (for its OpenAPI schema) and logs an error for text that is not.


# 200 when the index loads and the configured models are present, else 503 naming what is not. A plain
# function, so Starlette runs it in a worker thread and loading the index never blocks the server's loop.
def health(request: Request) -> JSONResponse:
    from ragloop import providers
    from ragloop.errors import RagloopError
    from ragloop.retrieval.store import index_summary

    ctx, checks = Context(), dict[str, dict[str, Any]]()
    try:
        summary = index_summary(ctx)
        checks["index"] = {"ok": True, "chunks": summary["chunks"], "sources": len(summary["sources"])}
    except RagloopError as exc:
        checks["index"] = {"ok": False, "error": str(exc)}
    try:
        providers.embeddings(ctx)
        providers.reranker(ctx)
        checks["models"] = {"ok": True, "chat_provider": ctx.chat_provider, "rerank_provider": ctx.rerank_provider}
    except RagloopError as exc:
        checks["models"] = {"ok": False, "error": str(exc)}
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ok" if ok else "unhealthy", "checks": checks}, status_code=200 if ok else 503)


CHAT_FILES = Path(__file__).parent / "chat"
_CHAT_TYPES = {"index.html": "text/html", "chat.js": "text/javascript", "chat.css": "text/css"}
#: The page runs only its own script and talks only to this server: a document's text that slipped through as
#: markup could run nothing, load nothing and send nothing elsewhere.
_CHAT_HEADERS = {
    "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
}


# The chat page and its two files; nothing else is served from the folder.
async def chat_page(request: Request) -> Response:
    name = request.path_params.get("name", "index.html")
    if name not in _CHAT_TYPES:
        return JSONResponse({"detail": "Not found."}, status_code=404)
    body = await asyncio.to_thread((CHAT_FILES / name).read_bytes)
    return Response(body, media_type=_CHAT_TYPES[name], headers=_CHAT_HEADERS)


async def prometheus(request: Request) -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


MAX_BODY_ENV = "RAGLOOP_MAX_BODY_BYTES"


# The auth handler's decision for a custom route (LangGraph applies it to its own routes only): a refusal,
# or who is asking.
async def _caller(request: Request, *, writes: bool = False) -> JSONResponse | dict:
    from langgraph_sdk import Auth

    headers = {k.encode(): v.encode() for k, v in request.headers.items()}
    try:
        user = await authenticate(headers)
    except Auth.exceptions.HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    if writes and not is_operator(user["identity"]) and not per_key():
        return JSONResponse({"detail": INDEX_IS_THE_OPERATORS}, status_code=403)
    return dict(user)


async def _body(request: Request) -> bytes | JSONResponse:
    """The request's bytes, or 413 past the size limit (read no further than it)."""
    limit = int(os.environ.get(MAX_BODY_ENV, str(20 * 2**20)))
    too_large = JSONResponse({"detail": f"The body is over {limit} bytes ({MAX_BODY_ENV})."}, status_code=413)
    if int(request.headers.get("content-length") or 0) > limit:
        return too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return too_large
    return bytes(body)


def _run_job(job_id: str, add: list, delete: list[str], tenant: str | None) -> None:
    from ragloop.errors import RagloopError
    from ragloop.retrieval.store import index_documents

    def progress(done: int, total: int) -> None:
        with _jobs_lock:
            _jobs[job_id].update(status="embedding", embedded=done, to_embed=total)

    with _jobs_lock:
        _jobs[job_id]["status"] = "running"
    try:
        manifest = index_documents(Context(), add=add, delete_sources=delete, progress=progress, tenant=tenant)
        result = {"status": "done", "chunks": manifest["chunks"], **manifest["last_update"]}
    except RagloopError as exc:
        result = {"status": "failed", "error": str(exc)}
    except Exception as exc:  # a failed job is reported, never lost; the index keeps its previous version
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    with _jobs_lock:
        _jobs[job_id].update(result)


def _submit(add: list, delete: list[str], owner: str) -> JSONResponse:
    job_id = uuid.uuid4().hex
    read = sorted({str(doc.metadata["source"]) for doc in add})  # every file of the request (or it was refused)
    job = {"id": job_id, "status": "queued", "documents": len(add), "read": read, "delete": delete}
    with _jobs_lock:
        _jobs[job_id] = {**job, "owner": owner}
    tenant = owner if per_key() else None  # per-key: the documents are the caller's
    _writer.submit(_run_job, job_id, add, delete, tenant)
    return JSONResponse(job, status_code=202)  # as submitted: the worker may already be updating its own copy


# Body {"documents": [{"source": "...", "text": "..." or "base64": "<file bytes>", "title": "..."?}, ...]}; a known
# source is replaced; a base64 file is read as its source's name says (.pdf, .html, .docx, .txt, .md, .json, .jsonl).
async def add_documents(request: Request) -> JSONResponse:
    from ragloop.errors import InputError
    from ragloop.retrieval.documents import Limits
    from ragloop.serving.uploads import parse_upload

    caller = await _caller(request, writes=True)
    if isinstance(caller, JSONResponse):
        return caller
    body = await _body(request)
    if isinstance(body, JSONResponse):
        return body
    ctx = Context()
    try:
        docs = await parse_upload(body, Limits.of(ctx), ctx.upload_parse_seconds)
    except InputError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    return _submit(docs, [], caller["identity"])


async def delete_source(request: Request) -> JSONResponse:
    caller = await _caller(request, writes=True)
    if isinstance(caller, JSONResponse):
        return caller
    source = request.path_params["source"]
    if problem := source_problem(source):  # the index graph's rule (logic/sources.py)
        return JSONResponse({"detail": problem}, status_code=422)
    return _submit([], [source], caller["identity"])


async def job_status(request: Request) -> JSONResponse:
    caller = await _caller(request)
    if isinstance(caller, JSONResponse):
        return caller
    with _jobs_lock:
        job = dict(_jobs.get(request.path_params["job_id"]) or {})
    if not job or (job.pop("owner") != caller["identity"] and not is_operator(caller["identity"])):
        return JSONResponse({"detail": "No such job."}, status_code=404)  # another key's job does not exist
    return JSONResponse(job)


async def index_summary(request: Request) -> JSONResponse:
    from ragloop.errors import RagloopError
    from ragloop.retrieval.store import index_summary

    caller = await _caller(request)
    if isinstance(caller, JSONResponse):
        return caller
    tenant = caller["identity"] if per_key() and not is_operator(caller["identity"]) else None
    try:  # per-key: a key's own documents only
        summary = await asyncio.to_thread(index_summary, Context(), tenant)
    except RagloopError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return JSONResponse(summary)


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/ragloop/metrics", prometheus),
        Route("/ragloop/chat", chat_page),
        Route("/ragloop/chat/{name}", chat_page),
        Route("/index", index_summary),
        Route("/index/documents", add_documents, methods=["POST"]),
        Route("/index/sources/{source:path}", delete_source, methods=["DELETE"]),
        Route("/index/jobs/{job_id}", job_status),
    ]
)
