"""What a run may trust: facts of the authenticated run, never values read from its state.

LangGraph lets any client write any state key (a run's ``command``, ``POST /threads/{id}/state`` with
``as_node``), so the graph takes no security decision from state. Whose documents a run searches, which
cache entries it reads and writes, and what it may spend are derived where they are used from the run's
config (the identity the server authenticated, the run id) and its validated Context
(docs/architecture.md, "Trust").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

#: Signs the seal `intake` gives a run's state. Per process: a run resumed in another process is unsealed,
#: which costs it nothing but the answer cache's write.
_SEAL_KEY = secrets.token_bytes(32)


def _config() -> Mapping[str, Any]:
    """The run's config ({} outside a run)."""
    from langgraph.config import get_config

    try:
        return get_config()
    except RuntimeError:  # not inside a run
        return {}


def tenant_of_this_run() -> str:
    """The API key identity a LangGraph server authenticated for this run; '' outside a server (the CLI and
    Python are the operator's, who sees every document)."""
    return str((_config().get("configurable") or {}).get("langgraph_auth_user_id") or "")


def run_tenant(tenancy: str) -> str:
    """The tenant whose documents this run reads: the authenticated key with per-key tenancy, else ''."""
    return tenant_of_this_run() if tenancy == "per-key" else ""


def scoped(where: Mapping[str, Any] | None, tenant: str | None) -> dict[str, Any] | None:
    """A search filter narrowed to a tenant's documents (unchanged without a tenant). The tenant wins over
    any `tenant` key the filter itself holds."""
    if not tenant:
        return dict(where) if where else None
    return {**(where or {}), "tenant": tenant}


def searched(where: Mapping[str, Any] | None, tenancy: str) -> dict[str, Any] | None:
    """The filter this run's searches apply: the client's `where`, narrowed to the run's tenant."""
    return scoped(where, run_tenant(tenancy))


def _client_run() -> tuple[bool, str]:
    """(whether a server's client started this run, the server's run id or '')."""
    config = _config()
    configurable, metadata = config.get("configurable") or {}, config.get("metadata") or {}
    run = configurable.get("run_id") or metadata.get("run_id") or ""
    return "langgraph_auth_user_id" in configurable, str(run)


def _signed(run: str) -> str:
    return hmac.new(_SEAL_KEY, run.encode(), hashlib.sha256).hexdigest() if run else ""


def seal() -> str:
    """A token only this process can make, bound to this run's id: `intake` puts it in the state, so a later
    node can tell that the state it reads was derived in this run from its input."""
    client, run = _client_run()
    return _signed(run) if client else "local"


def derived_in_this_run(token: object) -> bool:
    """Whether the state carrying `token` was derived in this run by its own `intake`: always outside a
    server (the caller holds everything), and on a server only with this run's seal. A state a client wrote
    (a command, a thread state update) or a run resumed elsewhere is not."""
    client, run = _client_run()
    if not client:
        return True
    expected = _signed(run)
    return bool(expected) and isinstance(token, str) and hmac.compare_digest(token, expected)
