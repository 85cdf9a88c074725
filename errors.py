"""Errors a user can fix. Each message is one sentence naming the problem and what to do."""


class RagloopError(Exception):
    """Base class: the CLI prints the message and exits non-zero, without a traceback."""


class ConfigError(RagloopError):
    """A setting in Context or on the command line is not usable."""


class InputError(RagloopError):
    """The question or the documents given are not usable."""


class IndexLoadError(RagloopError):
    """The index is missing, corrupt, or was built for another format or embedder."""


class ModelError(RagloopError):
    """A model file is missing or fails its checksum, or a provider package is absent."""
