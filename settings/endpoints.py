"""Where the hosted providers are reached and how calls to them behave: URLs, AWS profile, timeouts, rates."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ragloop.settings.metadata import NO_CACHE, setting


def _aws_region() -> str:
    return os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-west-2"))


def _aws_profile() -> str:
    return os.environ.get("AWS_PROFILE", "")


@dataclass(kw_only=True)
class EndpointSettings:
    nvidia_base_url: str = setting(
        "", "Base URL of a self-hosted NIM; empty for NVIDIA's hosted API (NVIDIA_API_KEY).", kind="deployment"
    )
    cohere_base_url: str = setting("", "Cohere API base URL; '' for api.cohere.com.", kind="deployment")
    aws_region: str = setting(
        _aws_region, "AWS region for Bedrock (default: $AWS_REGION, $AWS_DEFAULT_REGION, us-west-2).", kind="deployment"
    )
    aws_profile: str = setting(
        _aws_profile,
        "AWS named profile for Bedrock credentials; '' for the default credential chain.",
        kind="deployment",
        invalidates=NO_CACHE,
    )
    bedrock_endpoint_url: str = setting(
        "",
        "Endpoint URL for Bedrock runtime and agent-runtime calls (a VPC endpoint); '' for the region's public one.",
        kind="deployment",
    )
    bedrock_prompt_caching: bool = setting(
        True,
        "Mark the passage block of every prompt as a Bedrock cache point (models that support prompt "
        "caching: Claude 3.5 Haiku and later, Nova).",
        kind="deployment",
    )
    request_timeout: float = setting(
        120.0,
        "Seconds one model, embedding or rerank call may take before it fails (and is retried with "
        "backoff, or falls back).",
        kind="deployment",
        gt=0.0,
        le=3600.0,
        invalidates=NO_CACHE,
    )
    requests_per_second: float = setting(
        0.0,
        "Client-side rate limit on chat calls per provider, shared by every run in the process (0 = none).",
        kind="deployment",
        ge=0.0,
        le=10_000.0,
        invalidates=NO_CACHE,
    )
