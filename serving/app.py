"""Routes the LangGraph server lacks (``langgraph.json`` → ``http.app``): /health and /metrics."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ragloop.serving import metrics


async def health(request: Request) -> JSONResponse:
    """200 when the index loads and the configured models are present; 503 naming what is not."""
    from ragloop import providers
    from ragloop.errors import RagloopError
    from ragloop.graph.context import Context

    ctx, checks = Context(), {}
    try:
        index = providers.load_index(ctx)
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


app = Starlette(routes=[Route("/health", health), Route("/metrics", prometheus)])
