"""Which failures are retried: classification of the real exception types each provider's client raises."""

from __future__ import annotations

import json

import pytest

from ragloop.providers.resilience import is_provider_failure, is_transient


def botocore_error(code: str, status: int):
    from botocore.exceptions import ClientError

    return ClientError(
        {"Error": {"Code": code, "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Converse"
    )


def openai_error(cls_name: str, status: int):
    import httpx
    import openai

    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    if cls_name == "APIConnectionError":
        return openai.APIConnectionError(request=request)
    response = httpx.Response(status, request=request)
    return getattr(openai, cls_name)("x", response=response, body=None)


def requests_error(name: str):
    import requests

    return getattr(requests.exceptions, name)("x")


@pytest.mark.parametrize(
    ("make", "transient"),
    [
        (lambda: Exception("[429] Too Many Requests\nrate limited"), True),
        (lambda: Exception("[503] Server Error"), True),
        (lambda: Exception("[400] Bad Request"), False),
        (lambda: Exception("[401] Unauthorized\nPlease check or regenerate your API key."), False),
        (lambda: requests_error("ConnectionError"), True),
        (lambda: requests_error("ReadTimeout"), True),
        (lambda: requests_error("ChunkedEncodingError"), True),
        (lambda: openai_error("RateLimitError", 429), True),
        (lambda: openai_error("InternalServerError", 500), True),
        (lambda: openai_error("APIConnectionError", 0), True),
        (lambda: openai_error("BadRequestError", 400), False),
        (lambda: botocore_error("ThrottlingException", 429), True),
        (lambda: botocore_error("ServiceUnavailableException", 503), True),
        (lambda: botocore_error("ModelNotReadyException", 429), True),
        (lambda: botocore_error("ValidationException", 400), False),
        (lambda: botocore_error("AccessDeniedException", 403), False),
        (lambda: json.JSONDecodeError("Expecting value", "{", 1), False),
        (lambda: ValueError("a bug"), False),
    ],
)
def test_transient_errors_are_told_apart(make, transient):
    assert is_transient(make()) is transient


def test_provider_failures_are_told_from_bugs():
    assert is_provider_failure(json.JSONDecodeError("Expecting value", "{", 1))
    assert is_provider_failure(botocore_error("AccessDeniedException", 403))
    assert not is_provider_failure(KeyError("budget"))
