"""What keeps a run alive when a provider is not: which errors are worth retrying, fallbacks, rate limits.

Retries happen at the node level (LangGraph ``RetryPolicy`` with exponential
backoff and jitter, see graph/builder.py) for the errors :func:`is_transient`
accepts: connection failures and timeouts, HTTP 429 and 5xx, and AWS throttling.
Anything else (a malformed response, a bad request) is not retried; with a
fallback provider configured the call goes there instead, and the answer is
marked so the run's usage counts it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage
from langchain_core.runnables import RunnableLambda

if TYPE_CHECKING:
    from langchain_core.rate_limiters import InMemoryRateLimiter
    from langchain_core.runnables import Runnable

#: Exception class names (anywhere in the class's MRO) that mean "try again later".
#: Matched by name so that no optional provider package is imported to check.
TRANSIENT_CLASSES = {
    # requests (langchain-nvidia-ai-endpoints) and urllib3
    "ConnectionError",
    "Timeout",
    "ReadTimeout",
    "ConnectTimeout",
    "ChunkedEncodingError",
    "ProtocolError",
    # httpx / openai (the local model and OpenAI-compatible endpoints)
    "TransportError",
    "APIConnectionError",
    "APITimeoutError",
    "RateLimitError",
    "InternalServerError",
    # botocore
    "EndpointConnectionError",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ConnectionClosedError",
    # cohere
    "TooManyRequestsError",
    "ServiceUnavailableError",
    "GatewayTimeoutError",
    # the builtin ones
    "TimeoutError",
    "ConnectionResetError",
}
#: AWS error codes that mean "slow down" or "not now".
AWS_TRANSIENT_CODES = {
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceUnavailableException",
    "ServiceUnavailable",
    "InternalServerException",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "RequestTimeout",
}
#: langchain-nvidia-ai-endpoints raises a plain Exception whose message starts "[<status>] <title>".
_NVIDIA_STATUS = re.compile(r"^\[(\d{3})\]")


def _status_is_transient(status: object) -> bool:
    return isinstance(status, int) and (status == 429 or 500 <= status <= 599)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call is worth retrying: connection trouble, timeouts, 429, 5xx, throttling."""
    if any(cls.__name__ in TRANSIENT_CLASSES for cls in type(exc).__mro__):
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        error = response.get("Error", {})
        meta = response.get("ResponseMetadata", {})
        return error.get("Code") in AWS_TRANSIENT_CODES or _status_is_transient(meta.get("HTTPStatusCode"))
    if _status_is_transient(getattr(exc, "status_code", None)):  # openai.APIStatusError, cohere ApiError
        return True
    match = _NVIDIA_STATUS.match(str(exc))
    return match is not None and _status_is_transient(int(match.group(1)))


#: Packages whose exceptions are a provider's failure, not a bug in ragloop.
_PROVIDER_PACKAGES = ("requests", "urllib3", "httpx", "openai", "botocore", "boto3", "cohere", "aiohttp", "json")


def is_provider_failure(exc: BaseException) -> bool:
    """A failed call to a model, embedding or rerank service (after retries and fallbacks), as opposed to a bug."""
    package = type(exc).__module__.split(".")[0]
    return is_transient(exc) or package in _PROVIDER_PACKAGES or bool(_NVIDIA_STATUS.match(str(exc)))


@lru_cache(maxsize=16)
def rate_limiter(provider: str, requests_per_second: float) -> InMemoryRateLimiter | None:
    """One token bucket per provider and rate, shared by every call in the process; None for no limit (0)."""
    from langchain_core.rate_limiters import InMemoryRateLimiter

    if not requests_per_second:
        return None
    return InMemoryRateLimiter(
        requests_per_second=requests_per_second,
        check_every_n_seconds=0.05,
        max_bucket_size=max(1.0, requests_per_second),
    )


def with_fallback(primary: Runnable, make_fallback: Callable[[], Runnable], route: str) -> Runnable:
    """primary, or the fallback when primary fails; the fallback's answers carry ``ragloop_fallback`` = route.

    The fallback model is only built when it is needed (a local one starts a server).
    """

    def answer(messages) -> AIMessage:
        message = make_fallback().invoke(messages)
        message.response_metadata = {**(message.response_metadata or {}), "ragloop_fallback": route}
        return message

    return primary.with_fallbacks([RunnableLambda(answer, name=f"fallback:{route}")])
