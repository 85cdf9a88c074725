"""PDF, HTML and Word files as Documents, through small, well-kept libraries (imported when first needed).

- PDF: pypdf (pure Python). One Document per page with text, `page` from 1; the PDF's title if it has one.
- HTML: BeautifulSoup with the standard library's parser. Scripts, styles and navigation dropped; one
  Document per section (the text under each h1-h3), `section` its heading; `title` the page's <title>.
- Word (.docx): python-docx. One Document per section under each heading style; `section` its heading.

Each raises InputError naming the file when it is not what its name says, is encrypted, or is damaged;
given `Limits` (an upload to the server), also when it is past one, checked before the file is parsed from
what it declares (a Word file's zip directory and paragraph tags, a PDF's page count, an HTML page's tags)
and again on the text it yields.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import NamedTuple

from langchain_core.documents import Document

from ragloop.errors import InputError
from ragloop.settings import Context

_HEADINGS = ("h1", "h2", "h3")
_BLOCKS = ("p", "li", "td", "th", "pre", "blockquote", "dd", "dt", "figcaption", "caption")


class Limits(NamedTuple):
    """What one uploaded file may hold (settings/uploads.py)."""

    pages: int
    unzipped_bytes: int
    stream_bytes: int
    parts: int
    chars: int

    @classmethod
    def of(cls, ctx: Context) -> Limits:
        mib = 2**20
        return cls(
            ctx.upload_max_pages,
            ctx.upload_max_unzipped_mib * mib,
            ctx.upload_max_stream_mib * mib,
            ctx.upload_max_parts,
            ctx.upload_max_chars,
        )


def _past(path: Path, what: str, count: int, limit: int, setting: str) -> InputError:
    return InputError(f"{path} has {what} {count:,}; this server reads at most {limit:,} ({setting}).")


def check_text(text: str, path: Path, limits: Limits | None) -> str:
    """`text`, or InputError when it is past the characters an upload may yield."""
    if limits and len(text) > limits.chars:
        raise _past(path, "characters of text: more than", limits.chars, limits.chars, "upload_max_chars")
    return text


def _doc(text: str, source: str, key: str, **metadata: str | int) -> Document:
    return Document(page_content=text.strip(), metadata={"source": source, "doc_key": key, **metadata})


def pdf(raw: bytes, source: str, path: Path, limits: Limits | None = None) -> list[Document]:
    from contextlib import nullcontext

    from pypdf import apply_configuration
    from pypdf.errors import LimitReachedError, PdfReadError

    # An upload's streams inflate to no more than upload_max_stream_mib each (pypdf's own default: 75 MB).
    most = min(75_000_000, limits.stream_bytes) if limits else 0
    inflating = (
        apply_configuration(
            zlib_maximum_output_length=most,
            lzw_maximum_output_length=most,
            run_length_maximum_output_length=most,
            array_based_stream_maximum_output_length=most,
        )
        if limits
        else nullcontext()
    )
    try:
        with inflating:
            return _pdf_pages(raw, source, path, limits)
    except InputError:
        raise
    except LimitReachedError as exc:  # a compression bomb: pypdf stops inflating at the limit
        raise InputError(f"{path} holds a stream that inflates past the upload limit; it is not read ({exc}).") from exc
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise InputError(f"{path} is not a readable PDF ({type(exc).__name__}: {exc}).") from exc


def _pdf_pages(raw: bytes, source: str, path: Path, limits: Limits | None) -> list[Document]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(raw))
    if reader.is_encrypted and not reader.decrypt(""):
        raise InputError(f"{path} is an encrypted PDF; decrypt it (or export it unprotected) and index it again.")
    if limits and (count := len(reader.pages)) > limits.pages:
        raise _past(path, "pages:", count, limits.pages, "upload_max_pages")
    info = reader.metadata
    title = str(info.get("/Title") or "").strip() if info else ""
    pages, chars = [], 0
    for n, page in enumerate(reader.pages, 1):
        text = page.extract_text() or ""
        chars += len(text)
        if limits and chars > limits.chars:
            raise _past(path, "characters of text: more than", limits.chars, limits.chars, "upload_max_chars")
        pages.append((n, text))
    extra = {"title": title} if title else {}
    return [_doc(text, source, f"{source}#page{n}", page=n, **extra) for n, text in pages if text.strip()]


def html(raw: bytes, source: str, path: Path, limits: Limits | None = None) -> list[Document]:
    from bs4 import BeautifulSoup

    if limits and (count := raw.count(b"<") - raw.count(b"</")) > limits.parts:  # opening tags, counted in place
        raise _past(path, "elements:", count, limits.parts, "upload_max_parts")
    soup = BeautifulSoup(raw, "html.parser")
    if soup.find(True) is None:
        raise InputError(f"{path} holds no HTML elements; is it really an HTML page?")
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "template"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    sections: list[tuple[str, list[str]]] = [("", [])]
    body = soup.body or soup
    for element in body.find_all(True):
        if element.name in _HEADINGS:
            sections.append((element.get_text(" ", strip=True), []))
        elif element.name in _BLOCKS and not element.find_parent(_BLOCKS):  # outermost blocks only
            sections[-1][1].append(element.get_text(" ", strip=True))
    if not any(texts for _, texts in sections):  # a page of bare text: take all of it
        sections = [("", [body.get_text(" ", strip=True)])]
    check_text("".join(t for _, texts in sections for t in texts), path, limits)
    extra = {"title": title} if title else {}
    return [
        _doc("\n".join(t for t in texts if t), source, f"{source}#s{n}", **extra, **({"section": head} if head else {}))
        for n, (head, texts) in enumerate(sections)
        if any(t.strip() for t in texts)
    ]


def _check_word_package(raw: bytes, path: Path, limits: Limits) -> None:
    """Before python-docx unpacks anything: what the zip's members declare they unpack to (Python's zipfile
    never inflates a member past its declared size), then the paragraphs the document's XML holds."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(raw)) as package:
        unpacked = sum(member.file_size for member in package.infolist())
        if unpacked > limits.unzipped_bytes:
            raise _past(
                path, "zip members unpacking to bytes:", unpacked, limits.unzipped_bytes, "upload_max_unzipped_mib"
            )
        body = package.read("word/document.xml")
    count = sum(body.count(tag) for tag in (b"<w:p>", b"<w:p/>", b"<w:p ", b"<w:p\n", b"<w:p\t"))  # in place
    if count > limits.parts:
        raise _past(path, "paragraphs:", count, limits.parts, "upload_max_parts")


def docx(raw: bytes, source: str, path: Path, limits: Limits | None = None) -> list[Document]:
    import zipfile

    from docx import Document as WordDocument
    from docx.opc.exceptions import PackageNotFoundError

    try:
        if limits:
            _check_word_package(raw, path, limits)
        word = WordDocument(io.BytesIO(raw))
    except InputError:
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"{path} is not a readable Word (.docx) file ({type(exc).__name__}).") from exc
    title = (word.core_properties.title or "").strip()
    sections: list[tuple[str, list[str]]] = [("", [])]
    for paragraph in word.paragraphs:
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith(("heading", "title")) and paragraph.text.strip():
            sections.append((paragraph.text.strip(), []))
        elif paragraph.text.strip():
            sections[-1][1].append(paragraph.text)
    for table in word.tables:
        rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in table.rows]
        sections[-1][1].append("\n".join(rows))
    check_text("".join(t for _, texts in sections for t in texts), path, limits)
    extra = {"title": title} if title else {}
    return [
        _doc("\n".join(texts), source, f"{source}#s{n}", **extra, **({"section": head} if head else {}))
        for n, (head, texts) in enumerate(sections)
        if any(t.strip() for t in texts)
    ]
