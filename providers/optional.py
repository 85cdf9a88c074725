"""Import a provider's optional package, or say which extra installs it."""

from __future__ import annotations

import importlib
from types import ModuleType

from ragloop.errors import ModelError


def require(module: str, provider: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelError(f"The {provider} provider needs its extra: pip install 'ragloop[{provider}]'.") from exc
