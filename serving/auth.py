"""API-key authentication for the LangGraph server (``langgraph.json`` → ``auth``).

Every request needs a key in the ``x-api-key`` header (or ``Authorization: Bearer``)
matching one of ``RAGLOOP_API_KEYS`` (comma-separated, so keys can be rotated).
Keys are compared in constant time and never logged: a caller is known by a short
hash of its key. Per key, before anything runs:

- ``RAGLOOP_REQUESTS_PER_MINUTE`` (default 120; 0 = no limit): requests beyond it get 429 with
  ``Retry-After``, on every route;
- ``RAGLOOP_DAILY_TOKENS`` (default 0 = no limit): model tokens per key per UTC day. A run reserves its
  ``max_tokens_per_query`` (or, without one, this server's ceiling of it) when it is created, or what is left
  of the key's budget when that is less, and runs with what it was granted as a hard cap
  (``max_tokens_per_query`` = the grant, ``hard_token_budget``): no call of it passes the grant. When what
  is left cannot pay for one answer, the run is refused (429 with Retry-After). Its real spend replaces the
  reservation when it finishes; a run that fails keeps its reservation charged. So concurrent or failing
  runs cannot overrun the budget; once it is spent new runs get 429 (reads do not).

Both are counted per process, or across replicas with ``RAGLOOP_LIMITS_URL=redis://…`` (serving/limits.py).

No key configured on the server means every request is refused (401) with a message saying how to set one.

Authorization (LangGraph's ``@auth.on`` handlers): every thread, run, assistant and cron a key creates is
stamped with its identity (``metadata.owner``) and visible only to it; another key gets 404 as if it did
not exist. The server's own assistants (``created_by: system``) are usable by every key and changed only by
an operator key (``RAGLOOP_ADMIN_KEYS``, comma-separated), which sees and changes everything. Store items
live under namespaces that begin with the key's identity. Runs, assistants and crons may set per-request
settings only, within the operator's ceilings (serving/policy.py).

State is written by the graph alone: a key that is not an operator's may not write a thread's state
(``POST /threads/{id}/state``, ``/state/batch``, a thread created with ``supersteps``) nor send a run a
``command`` (goto/update); both are refused with 403 (the graph raises no interrupt to resume). Studio's
"edit state" is an operator's tool. The graph does not rely on this: it takes no security decision from its
state (logic/trust.py, docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from langgraph_sdk import Auth
from starlette.exceptions import HTTPException as StarletteHTTPException

from ragloop.serving.limits import limits
from ragloop.serving.policy import Refused, ceilings, check, requested_settings
from ragloop.settings import Context

auth = Auth()
T = TypeVar("T")
ADMIN_ENV = "RAGLOOP_ADMIN_KEYS"
INDEX_IS_THE_OPERATORS = "Only an operator key (RAGLOOP_ADMIN_KEYS) may change the shared index."
STATE_IS_THE_GRAPHS = (
    "Only an operator key (RAGLOOP_ADMIN_KEYS) may write a thread's state or send a run a command; "
    "ask with input instead."
)
#: Prompt tokens one answer needs besides its passage and its output: instructions, question, template.
ANSWER_OVERHEAD_TOKENS = 200
#: The server's own assistant of the indexing graph (LangGraph names a graph's system assistant uuid5 of its id).
INDEX_ASSISTANT = str(uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "ragloop_index"))


def configured_keys() -> list[str]:
    return [k.strip() for k in os.environ.get("RAGLOOP_API_KEYS", "").split(",") if k.strip()]


def identity_of(key: str) -> str:
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _presented(headers: dict) -> str | None:
    def get(name: bytes) -> str | None:
        value = headers.get(name) or headers.get(name.decode())
        return value.decode() if isinstance(value, bytes) else value

    key = get(b"x-api-key")
    if not key and (bearer := get(b"authorization") or "").lower().startswith("bearer "):
        key = bearer[7:].strip()
    return key or None


@auth.authenticate
async def authenticate(headers: dict) -> Auth.types.MinimalUserDict:
    keys = configured_keys()
    if not keys:
        raise Auth.exceptions.HTTPException(
            status_code=401,
            detail="This server has no API keys configured: set RAGLOOP_API_KEYS (comma-separated) in its environment.",
        )
    key = _presented(headers)
    if key is None:
        raise Auth.exceptions.HTTPException(status_code=401, detail="Missing API key: send it in the x-api-key header.")
    # compare_digest against every configured key, so the time taken does not say which one came close
    if not sum(hmac.compare_digest(key.encode(), k.encode()) for k in keys):
        raise Auth.exceptions.HTTPException(status_code=403, detail="Invalid API key.")
    identity = identity_of(key)
    counters = limits()
    rate = float(os.environ.get("RAGLOOP_REQUESTS_PER_MINUTE", "120"))
    if rate > 0 and not counters.allow_request(identity, rate):
        raise TooManyRequests(detail="Too many requests for this API key; slow down.", headers={"Retry-After": "5"})
    return {"identity": identity, "permissions": ["admin"] if is_operator(identity) else []}


class TooManyRequests(Auth.exceptions.HTTPException, StarletteHTTPException):
    """429 from the authentication step. LangGraph's server answers 500 for an Auth.exceptions.HTTPException
    there other than 401/403, and passes a Starlette HTTPException through with its status and headers."""

    def __init__(self, detail: str, headers: dict[str, str] | None = None) -> None:
        StarletteHTTPException.__init__(self, status_code=429, detail=detail, headers=headers)


def _grant_daily_tokens(identity: str, run_id: str, settings: Context) -> int | None:
    """The tokens this run may spend today (None: the server has no daily budget), reserved of the key's
    budget and settled at the run's end; 429 when what is left cannot pay for one answer."""
    budget = int(os.environ.get("RAGLOOP_DAILY_TOKENS", "0"))
    if not budget:
        return None
    asked = settings.max_tokens_per_query or int(ceilings()["max_tokens_per_query"])
    one_answer = settings.generate_max_tokens + settings.chunk_size + ANSWER_OVERHEAD_TOKENS
    counters = limits()
    granted = counters.try_reserve(identity, run_id, budget, asked)
    if granted < min(asked, one_answer):
        if granted:
            counters.settle(identity, run_id, 0)  # give back the scrap
        raise Auth.exceptions.HTTPException(
            status_code=429,
            detail=f"This API key has too little left of its daily budget of {budget} model tokens to answer a "
            "question; it resets at 00:00 UTC.",
            headers={"Retry-After": str(_seconds_to_midnight())},
        )
    return granted


def _seconds_to_midnight() -> int:
    import datetime

    now = datetime.datetime.now(datetime.UTC)
    midnight = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - now).total_seconds()))


def is_operator(identity: str) -> bool:
    """Whether the key behind this identity is one of $RAGLOOP_ADMIN_KEYS."""
    return identity in {identity_of(k.strip()) for k in os.environ.get(ADMIN_ENV, "").split(",") if k.strip()}


def _is_admin(ctx: Auth.types.AuthContext) -> bool:
    return is_operator(ctx.user.identity)


def per_key() -> bool:
    """Per-key tenancy (the operator's `tenancy` setting): every key writes its own documents."""
    return Context().tenancy == "per-key"


def _stamp(value: dict, identity: str) -> None:
    """The creator's identity in the new resource's metadata, whatever the client sent there."""
    metadata = value.setdefault("metadata", {})
    if not isinstance(metadata, dict):
        value["metadata"] = metadata = {}
    metadata["owner"] = identity  # in place: the server reads the dict it handed over


def _shared_index_is_the_operators(ctx: Auth.types.AuthContext, on_the_index_graph: bool) -> None:
    """403 when a key that is not an operator's would run or configure the index graph of a shared index."""
    if on_the_index_graph and not _is_admin(ctx) and not per_key():
        raise Auth.exceptions.HTTPException(status_code=403, detail=INDEX_IS_THE_OPERATORS)


def _refused_as_http(call: Callable[[], T]) -> T:
    """What `call` returns, or its serving/policy.py refusal as an HTTP 403/422 naming the setting."""
    try:
        return call()
    except Refused as refused:
        raise Auth.exceptions.HTTPException(status_code=refused.status, detail=refused.detail) from None


def _allowed_settings(payload: dict | None) -> Context:
    """The Context the payload's settings make, or HTTP 403/422 naming the first setting a client may not set."""
    return _refused_as_http(lambda: check(requested_settings(payload)))


# The SDK types each handler by its resource and action; these take any payload (value: Any), and one
# function serves several actions, so each is registered by a call below rather than stacked decorators.
Filter = Any  # a LangGraph filter ({"owner": ...}, {"$or": [...]}) or True for all


async def owned_only(ctx: Auth.types.AuthContext, value: Any) -> Filter:
    """Default for every resource and action: an operator key sees all; any other key only what it created
    (creations are stamped with it, and an update's metadata cannot hand the resource to another key)."""
    if _is_admin(ctx):
        return True
    if isinstance(value, dict) and (
        ctx.action == "create" or (ctx.action == "update" and isinstance(value.get("metadata"), dict))
    ):
        _stamp(value, ctx.user.identity)
    return {"owner": ctx.user.identity}


async def runs_ask_for_per_request_settings(ctx: Auth.types.AuthContext, value: Any) -> Filter:
    """A run: per-request settings within the ceilings, no command unless an operator's, and, with a daily
    budget, the granted tokens as its hard cap. The run's context is rewritten to the settings as checked
    (normalised names), so the graph runs with exactly what was allowed."""
    kwargs = value.get("kwargs") if isinstance(value.get("kwargs"), dict) else {}
    requested = _refused_as_http(lambda: requested_settings(kwargs))
    settings = _refused_as_http(lambda: check(requested))
    if kwargs.get("command") and not _is_admin(ctx):
        raise Auth.exceptions.HTTPException(status_code=403, detail=STATE_IS_THE_GRAPHS)
    _shared_index_is_the_operators(ctx, str(value.get("assistant_id")) == INDEX_ASSISTANT)
    granted = _grant_daily_tokens(ctx.user.identity, str(value.get("run_id")), settings)
    if granted is not None:
        requested |= {"max_tokens_per_query": granted, "hard_token_budget": True}
    if kwargs:
        kwargs["context"] = requested  # in place: the server runs the kwargs it handed over
    if _is_admin(ctx):
        return True
    _stamp(value, ctx.user.identity)
    return {"owner": ctx.user.identity}


async def threads_state_is_the_graphs(ctx: Auth.types.AuthContext, value: Any) -> Filter:
    """A thread update: its metadata (PATCH), a run's cancel (`action`), or, with neither, a write of its
    state (POST /threads/{id}/state, /state/batch, supersteps at creation), which only an operator may make."""
    if not _is_admin(ctx) and isinstance(value, dict) and not ({"metadata", "action"} & set(value)):
        raise Auth.exceptions.HTTPException(status_code=403, detail=STATE_IS_THE_GRAPHS)
    return await owned_only(ctx, value)


async def own_and_system_assistants(ctx: Auth.types.AuthContext, value: Any) -> Filter:
    if _is_admin(ctx):
        return True
    return {"$or": [{"owner": ctx.user.identity}, {"created_by": "system"}]}


async def configured_with_per_request_settings(ctx: Auth.types.AuthContext, value: Any) -> Filter:
    """An assistant's context and configurable: per-request settings only; the index graph is the operator's."""
    _allowed_settings(value)
    _shared_index_is_the_operators(ctx, value.get("graph_id") == "ragloop_index")
    return await owned_only(ctx, value)


async def crons_run_per_request_settings(ctx: Auth.types.AuthContext, value: Any) -> Filter:
    """A cron's payload is the run it starts on schedule: the same settings rule as a run, when it is created
    or changed. Its runs are then created as the cron's owner, through the run handler (ceilings, budget)."""
    payload = value.get("payload") or {}
    _allowed_settings(payload)
    _shared_index_is_the_operators(ctx, str(payload.get("assistant_id")) in (INDEX_ASSISTANT, "ragloop_index"))
    return await owned_only(ctx, value)


async def own_store_namespace(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Store items live under namespaces that begin with the key's identity."""
    if _is_admin(ctx):
        return
    namespace = tuple(value.get("namespace") or ())
    if not namespace or namespace[0] != ctx.user.identity:
        raise Auth.exceptions.HTTPException(
            status_code=403,
            detail=f"This key's store items live under namespaces that begin with {ctx.user.identity!r}.",
        )


auth.on(owned_only)
auth.on.threads.create_run(runs_ask_for_per_request_settings)
auth.on.threads.update(threads_state_is_the_graphs)
auth.on.assistants.read(own_and_system_assistants)
auth.on.assistants.search(own_and_system_assistants)
auth.on.assistants.create(configured_with_per_request_settings)
auth.on.assistants.update(configured_with_per_request_settings)
auth.on.crons.create(crons_run_per_request_settings)
auth.on.crons.update(crons_run_per_request_settings)
auth.on.store()(own_store_namespace)
