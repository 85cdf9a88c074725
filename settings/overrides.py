"""Settings written as text: `name=value` pairs from a command line, a variant or a config file."""

from __future__ import annotations

from ragloop.errors import ConfigError


def parse_settings(items: list[str], option: str = "--set") -> dict[str, str]:
    """name=value strings into a mapping (values stay strings; Context converts them)."""
    overrides: dict[str, str] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{option} takes name=value, got {item!r}.")
        overrides[name.strip()] = raw.strip()
    return overrides
