"""Per-key tenancy: whose documents a run searches and an index update writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def tenant_of_this_run() -> str:
    """The API key identity a LangGraph server authenticated for this run; '' outside a server (the CLI and
    Python are the operator's, who sees every document)."""
    from langgraph.config import get_config

    try:
        configurable = get_config().get("configurable") or {}
    except RuntimeError:  # not inside a run
        return ""
    return str(configurable.get("langgraph_auth_user_id") or "")


def scoped(where: Mapping[str, Any] | None, tenant: str | None) -> dict[str, Any] | None:
    """A search filter narrowed to a tenant's documents (unchanged without a tenant)."""
    if not tenant:
        return dict(where) if where else None
    return {**(where or {}), "tenant": tenant}
