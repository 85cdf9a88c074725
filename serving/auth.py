"""API-key authentication for the LangGraph server (``langgraph.json`` → ``auth``).

Every request needs a key in the ``x-api-key`` header (or ``Authorization: Bearer``)
matching one of ``RAGLOOP_API_KEYS`` (comma-separated, so keys can be rotated).
Keys are compared in constant time and never logged: a caller is known by a short
hash of its key. Per key, before anything runs:

- ``RAGLOOP_REQUESTS_PER_MINUTE`` (default 120; 0 = no limit): requests beyond it get 429;
- ``RAGLOOP_DAILY_TOKENS`` (default 0 = no limit): once the key's runs have spent
  that many model tokens today (UTC), new runs get 429.

Both are counted per process, or across replicas with ``RAGLOOP_LIMITS_URL=redis://…`` (serving/limits.py).

No key configured on the server means every request is refused (401) with a message saying how to set one.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from langgraph_sdk import Auth

from ragloop.serving.limits import limits

auth = Auth()


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
        raise Auth.exceptions.HTTPException(
            status_code=429, detail="Too many requests for this API key; slow down.", headers={"Retry-After": "5"}
        )
    budget = int(os.environ.get("RAGLOOP_DAILY_TOKENS", "0"))
    if budget and counters.tokens_today(identity) >= budget:
        raise Auth.exceptions.HTTPException(
            status_code=429,
            detail=f"This API key has used its daily budget of {budget} model tokens; it resets at 00:00 UTC.",
        )
    return {"identity": identity}
