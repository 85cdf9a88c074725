"""Errors a user can fix. Each message is one sentence naming the problem and what to do.

Each also derives from the builtin it is a kind of (a bad value, or a missing part at run
time): the LangGraph server passes those messages to the client, and replaces any other
error's with "An internal error occurred".
"""


class RagloopError(Exception):
    """Base class: the CLI prints the message and exits non-zero, without a traceback."""


class ConfigError(RagloopError, ValueError):
    """A setting in Context or on the command line is not usable."""


class InputError(RagloopError, ValueError):
    """The question or the documents given are not usable."""


class IndexLoadError(RagloopError, ValueError):
    """The index is missing, corrupt, or was built for another format or embedder."""


class ModelError(RagloopError, RuntimeError):
    """A model file is missing or fails its checksum, or a provider package is absent."""
