"""Upload limits: what a file sent to the server (``/index/documents``, the ``ragloop_index`` graph) may hold.

Each is checked before the file is parsed, from what its container declares (a Word file's zip directory,
a PDF's page tree, an HTML page's tags), and again as text is extracted; a file past one is refused by
name with the limit named. Files read from disk by the CLI or Python (the operator's own) have none.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragloop.settings.metadata import NO_CACHE, setting


@dataclass(kw_only=True)
class UploadSettings:
    upload_max_pages: int = setting(
        1000, "Uploaded PDF: the most pages it may have.", kind="deployment", ge=1, le=1_000_000, invalidates=NO_CACHE
    )
    upload_max_unzipped_mib: int = setting(
        64,
        "Uploaded Word (.docx) file: the most MiB its zip members may unpack to, all together.",
        kind="deployment",
        ge=1,
        le=65_536,
        invalidates=NO_CACHE,
    )
    upload_max_stream_mib: int = setting(
        16,
        "Uploaded PDF: the most MiB one of its streams may inflate to (pypdf's own limit is 75 MB).",
        kind="deployment",
        ge=1,
        le=1024,
        invalidates=NO_CACHE,
    )
    upload_max_parts: int = setting(
        200_000,
        "Uploaded Word or HTML file: the most paragraphs (Word) or elements (HTML) it may hold.",
        kind="deployment",
        ge=1,
        le=100_000_000,
        invalidates=NO_CACHE,
    )
    upload_max_chars: int = setting(
        20_000_000,
        "Any uploaded file: the most characters of text it may yield.",
        kind="deployment",
        ge=1,
        le=2_000_000_000,
        invalidates=NO_CACHE,
    )
    upload_parse_seconds: int = setting(
        60,
        "Uploaded files of one request: the most seconds the server's parsing process may spend reading them.",
        kind="deployment",
        ge=1,
        le=3600,
        invalidates=NO_CACHE,
    )
