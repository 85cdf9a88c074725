"""PDF, HTML and Word files as Documents, through small, well-kept libraries (imported when first needed).

- PDF: pypdf (pure Python). One Document per page with text, `page` from 1; the PDF's title if it has one;
  `section`, the heading path of the outline entry (bookmark) the page is in, when the file has an outline.
- HTML: BeautifulSoup with the standard library's parser. A page's furniture dropped (scripts, styles,
  navigation by tag, role, class or id, the page's own header and footer, asides, hidden elements); one
  Document per section (the text under each h1-h6), `section` its heading path ("Chapter › Section"),
  bylines ("By Jane Doe") kept as text, not headings; `title` the page's <title>.
- Word (.docx): python-docx. One Document per section under each heading style, tables where they stand;
  `section` its heading path.

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

_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
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
    _check_chars(len(text), path, limits)
    return text


def _check_chars(chars: int, path: Path, limits: Limits | None) -> None:
    if limits and chars > limits.chars:
        raise _past(path, "characters of text: more than", limits.chars, limits.chars, "upload_max_chars")


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
    headings = _outline(reader)
    pages, chars = [], 0
    for n, page in enumerate(reader.pages, 1):
        text = page.extract_text() or ""
        chars += len(text)
        _check_chars(chars, path, limits)  # page by page: a huge file stops early
        pages.append((n, text))
    extra = {"title": title} if title else {}
    return [
        _doc(text, source, f"{source}#page{n}", page=n, **extra, **_heading_at(headings, n))
        for n, text in pages
        if text.strip()
    ]


def _outline(reader) -> list[tuple[int, str]]:
    """(first page, heading path) of each entry of the PDF's outline (its bookmarks), by page; [] without one
    or with one pypdf cannot follow."""
    found: list[tuple[int, str]] = []

    def walk(items, above: list[str]) -> None:
        last: list[str] = above
        for item in items:
            if isinstance(item, list):
                walk(item, last)  # the children of the entry before
                continue
            last = [*above, str(item.title).strip()]
            page = reader.get_destination_page_number(item)
            if page is not None and page >= 0:
                found.append((page + 1, Headings.SEPARATOR.join(t for t in last if t)))

    try:
        walk(reader.outline, [])
    except Exception:  # a damaged outline costs the sections, not the text
        return []
    return sorted(found, key=lambda entry: entry[0])


def _heading_at(headings: list[tuple[int, str]], page: int) -> dict[str, str]:
    """The section a page is in: the last outline entry starting on it or before."""
    current = [path for first, path in headings if first <= page]
    return {"section": current[-1]} if current and current[-1] else {}


def html(raw: bytes, source: str, path: Path, limits: Limits | None = None) -> list[Document]:
    from bs4 import BeautifulSoup

    if limits and (count := raw.count(b"<") - raw.count(b"</")) > limits.parts:  # opening tags, counted in place
        raise _past(path, "elements:", count, limits.parts, "upload_max_parts")
    soup = BeautifulSoup(raw, "html.parser")
    if soup.find(True) is None:
        raise InputError(f"{path} holds no HTML elements; is it really an HTML page?")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    for element in [e for e in soup.find_all(True) if _boilerplate(e)]:
        if not element.decomposed:
            element.decompose()
    heads = Headings()
    sections: list[tuple[str, list[str]]] = [("", [])]
    body = soup.body or soup
    for element in body.find_all(True):
        if element.name in _HEADINGS and not _byline(element):
            sections.append((heads.under(int(element.name[1]), element.get_text(" ", strip=True)), []))
        elif (element.name in _BLOCKS or element.name in _HEADINGS) and not element.find_parent(_BLOCKS):
            sections[-1][1].append(element.get_text(" ", strip=True))  # outermost blocks only (a byline too)
    if not any(texts for _, texts in sections):  # a page of bare text: take all of it
        sections = [("", [body.get_text(" ", strip=True)])]
    _check_chars(sum(len(t) for _, texts in sections for t in texts), path, limits)
    return sectioned(sections, source, {"title": title} if title else {})


#: Elements that are a page's furniture, not its text.
_FURNITURE = frozenset({"script", "style", "noscript", "template", "nav", "aside", "form", "button", "svg", "iframe"})
_NAVIGATION_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"})
_NAVIGATION_WORDS = frozenset({"nav", "navbar", "navigation", "menu", "breadcrumb", "breadcrumbs", "sidebar", "toc"})
_NAVIGATION_PARTS = ("nav-", "-nav", "navbar", "breadcrumb", "menu-", "-menu", "sidebar", "skip-link", "site-header")


def _boilerplate(element) -> bool:
    """Navigation, page headers and footers, hidden elements: what every page of a site repeats."""
    if element.name in _FURNITURE:
        return True
    if element.name in ("header", "footer") and not element.find_parent(("article", "main")):
        return True  # the page's own (an article's header holds its title)
    attrs = element.attrs or {}
    if str(attrs.get("role", "")).lower() in _NAVIGATION_ROLES or "hidden" in attrs:
        return True
    if str(attrs.get("aria-hidden", "")).lower() == "true":
        return True
    style = str(attrs.get("style", "")).replace(" ", "").lower()
    if "display:none" in style or "visibility:hidden" in style:
        return True
    words = [w.lower() for w in (*_tokens(attrs.get("class")), *_tokens(attrs.get("id")))]
    return any(w in _NAVIGATION_WORDS or any(part in w for part in _NAVIGATION_PARTS) for w in words)


def _tokens(value) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return str(value or "").split()


_BYLINE_STARTS = ("by ", "written by", "posted by", "author:", "authors:")


def _byline(heading) -> bool:
    """A heading that names who wrote the page ("By Jane Doe"), not what a section is about."""
    text = heading.get_text(" ", strip=True).lower()
    marks = " ".join(_tokens(heading.attrs.get("class")) + [str(heading.attrs.get(k, "")) for k in ("itemprop", "rel")])
    return text.startswith(_BYLINE_STARTS) or "author" in marks.lower() or "byline" in marks.lower()


class Headings:
    """The path of headings above the text read so far: a heading of level n closes those of level n and
    deeper. `under(level, text)` gives the new section's path, "Chapter › Section"."""

    SEPARATOR = " › "

    def __init__(self) -> None:
        self.open: list[tuple[int, str]] = []

    def under(self, level: int, text: str) -> str:
        self.open = [(n, t) for n, t in self.open if n < level] + ([(level, text)] if text else [])
        return self.SEPARATOR.join(t for _, t in self.open)


def sectioned(
    sections: list[tuple[str, list[str]]], source: str, extra: dict[str, str] | None = None
) -> list[Document]:
    """One Document per section that has text, keyed by its order, with its heading path as `section`."""
    return [
        _doc(
            "\n".join(t for t in texts if t),
            source,
            f"{source}#s{n}",
            **(extra or {}),
            **({"section": head} if head else {}),
        )
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
    from docx.table import Table

    try:
        if limits:
            _check_word_package(raw, path, limits)
        word = WordDocument(io.BytesIO(raw))
    except InputError:
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"{path} is not a readable Word (.docx) file ({type(exc).__name__}).") from exc
    title = (word.core_properties.title or "").strip()
    heads = Headings()
    sections: list[tuple[str, list[str]]] = [("", [])]
    for block in word.iter_inner_content():  # paragraphs and tables in the order they stand
        if isinstance(block, Table):
            rows = [" | ".join(cell.text.strip() for cell in row.cells) for row in block.rows]
            sections[-1][1].append("\n".join(rows))  # under the heading it follows
        elif level := _heading_level(block):
            sections.append((heads.under(level, block.text.strip()), []))
        elif block.text.strip():
            sections[-1][1].append(block.text)
    _check_chars(sum(len(t) for _, texts in sections for t in texts), path, limits)
    return sectioned(sections, source, {"title": title} if title else {})


def _heading_level(paragraph) -> int:
    """1-9 for a Word heading ("Title" is 1, "Heading 2" is 2), 0 for any other paragraph."""
    style = ((paragraph.style.name if paragraph.style is not None else "") or "").lower()
    if not paragraph.text.strip() or not style.startswith(("heading", "title")):
        return 0
    digits = "".join(ch for ch in style if ch.isdigit())
    return max(1, min(9, int(digits))) if digits else 1


_FENCES = ("```", "~~~")


def markdown_sections(text: str) -> list[tuple[str, list[str]]]:
    """A Markdown file's sections under its ATX (`## Title`) and `===` headings, each with its heading path;
    [] when it has no heading (it is then one document). Fenced code is text, never a heading."""
    heads, fence, found = Headings(), "", False
    sections: list[tuple[str, list[str]]] = [("", [])]
    lines = text.splitlines()
    for n, line in enumerate(lines):
        stripped = line.strip()
        if fence:
            fence = "" if stripped.startswith(fence) else fence
        elif stripped.startswith(_FENCES):
            fence = stripped[:3]
        elif (level := len(stripped) - len(stripped.lstrip("#"))) in range(1, 7) and stripped[level:].startswith(" "):
            sections.append((heads.under(level, stripped[level:].strip().rstrip("#").strip()), []))
            found = True
            continue
        elif stripped and set(stripped) == {"="} and n and lines[n - 1].strip() and sections[-1][1]:
            heading = sections[-1][1].pop()  # the line above, underlined
            sections.append((heads.under(1, heading.strip()), []))
            found = True
            continue
        sections[-1][1].append(line)
    return [(head, ["\n".join(body).strip()]) for head, body in sections] if found else []
