"""Routes the LangGraph server lacks (``langgraph.json`` → ``http.app``).

    GET    /health                  200 when the index loads and the models are there, else 503 naming what is not
    GET    /ragloop/metrics         Prometheus text format (/metrics is the LangGraph server's own)
    POST   /index/documents         add or replace documents by source (API key); returns a job id at once
    DELETE /index/sources/{source}  remove a source (API key); returns a job id
    GET    /index/jobs/{id}         a job's status and progress (API key)
    GET    /index                   the index's sources and counts (API key)

Index jobs run one at a time in a worker thread (the index has one writer; see
retrieval/versions.py); readers keep answering from the previous version until
the new one is published.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ragloop.serving import metrics
from ragloop.serving.auth import authenticate

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
    from ragloop.retrieval.store import load_index
    from ragloop.settings import Context

    ctx, checks = Context(), dict[str, dict[str, Any]]()
    try:
        index = load_index(ctx)
        checks["index"] = {"ok": True, "chunks": len(index), "sources": len(index.manifest.get("sources", []))}
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


async def prometheus(request: Request) -> Response:
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


# The auth handler's decision for a custom route (LangGraph applies it to its own routes only).
async def _refused(request: Request) -> JSONResponse | None:
    from langgraph_sdk import Auth

    headers = {k.encode(): v.encode() for k, v in request.headers.items()}
    try:
        await authenticate(headers)
    except Auth.exceptions.HTTPException as exc:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
    return None


def _run_job(job_id: str, add: list, delete: list[str]) -> None:
    from ragloop.errors import RagloopError
    from ragloop.retrieval.store import index_documents
    from ragloop.settings import Context

    def progress(done: int, total: int) -> None:
        with _jobs_lock:
            _jobs[job_id].update(status="embedding", embedded=done, to_embed=total)

    with _jobs_lock:
        _jobs[job_id]["status"] = "running"
    try:
        manifest = index_documents(Context(), add=add, delete_sources=delete, progress=progress)
        result = {"status": "done", "chunks": manifest["chunks"], **manifest["last_update"]}
    except RagloopError as exc:
        result = {"status": "failed", "error": str(exc)}
    except Exception as exc:  # a failed job is reported, never lost; the index keeps its previous version
        result = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    with _jobs_lock:
        _jobs[job_id].update(result)


def _submit(add: list, delete: list[str]) -> JSONResponse:
    job_id = uuid.uuid4().hex
    job = {"id": job_id, "status": "queued", "documents": len(add), "delete": delete}
    with _jobs_lock:
        _jobs[job_id] = dict(job)
    _writer.submit(_run_job, job_id, add, delete)
    return JSONResponse(job, status_code=202)  # as submitted: the worker may already be updating its own copy


# Body {"documents": [{"source": "...", "text": "..." or "base64": "<file bytes>", "title": "..."?}, ...]}; a known
# source is replaced; a base64 file is read as its source's name says (.pdf, .html, .docx, .txt, .md, .json, .jsonl).
async def add_documents(request: Request) -> JSONResponse:
    from ragloop.errors import InputError
    from ragloop.nodes.indexing import documents_from_payload

    if refused := await _refused(request):
        return refused
    try:
        body = await request.json()
        docs = documents_from_payload(body.get("documents") if isinstance(body, dict) else None)
    except InputError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    except ValueError:  # not JSON
        return JSONResponse({"detail": 'Send JSON {"documents": [{"source": "...", "text": "..."}]}.'}, status_code=422)
    if not docs:
        return JSONResponse({"detail": "Give at least one document."}, status_code=422)
    return _submit(docs, [])


async def delete_source(request: Request) -> JSONResponse:
    if refused := await _refused(request):
        return refused
    return _submit([], [request.path_params["source"]])


async def job_status(request: Request) -> JSONResponse:
    if refused := await _refused(request):
        return refused
    with _jobs_lock:
        job = dict(_jobs.get(request.path_params["job_id"]) or {})
    return JSONResponse(job) if job else JSONResponse({"detail": "No such job."}, status_code=404)


async def index_summary(request: Request) -> JSONResponse:
    from ragloop.errors import RagloopError
    from ragloop.retrieval.store import load_index
    from ragloop.settings import Context

    if refused := await _refused(request):
        return refused
    try:
        manifest = (await asyncio.to_thread(load_index, Context())).manifest
    except RagloopError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=404)
    return JSONResponse(
        {k: manifest.get(k) for k in ("chunks", "documents", "sources", "embedder", "created", "last_update")}
    )


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/ragloop/metrics", prometheus),
        Route("/index", index_summary),
        Route("/index/documents", add_documents, methods=["POST"]),
        Route("/index/sources/{source:path}", delete_source, methods=["DELETE"]),
        Route("/index/jobs/{job_id}", job_status),
    ]
)
