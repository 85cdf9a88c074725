"""PDF, HTML and Word files as Documents, through small, well-kept libraries (imported when first needed).

- PDF: pypdf (pure Python). One Document per page with text, `page` from 1; the PDF's title if it has one.
- HTML: BeautifulSoup with the standard library's parser. Scripts, styles and navigation dropped; one
  Document per section (the text under each h1-h3), `section` its heading; `title` the page's <title>.
- Word (.docx): python-docx. One Document per section under each heading style; `section` its heading.

Each raises InputError naming the file when it is not what its name says, is encrypted, or is damaged.
"""

from __future__ import annotations

import io
from pathlib import Path

from langchain_core.documents import Document

from ragloop.errors import InputError

_HEADINGS = ("h1", "h2", "h3")
_BLOCKS = ("p", "li", "td", "th", "pre", "blockquote", "dd", "dt", "figcaption", "caption")


def _doc(text: str, source: str, key: str, **metadata: str | int) -> Document:
    return Document(page_content=text.strip(), metadata={"source": source, "doc_key": key, **metadata})


def pdf(raw: bytes, source: str, path: Path) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"{path} is an encrypted PDF; decrypt it (or export it unprotected) and index it again.")
        info = reader.metadata
        title = str(info.get("/Title") or "").strip() if info else ""
        pages = [(n, page.extract_text() or "") for n, page in enumerate(reader.pages, 1)]
    except InputError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise InputError(f"{path} is not a readable PDF ({type(exc).__name__}: {exc}).") from exc
    extra = {"title": title} if title else {}
    return [_doc(text, source, f"{source}#page{n}", page=n, **extra) for n, text in pages if text.strip()]


def html(raw: bytes, source: str, path: Path) -> list[Document]:
    from bs4 import BeautifulSoup

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
    extra = {"title": title} if title else {}
    return [
        _doc("\n".join(t for t in texts if t), source, f"{source}#s{n}", **extra, **({"section": head} if head else {}))
        for n, (head, texts) in enumerate(sections)
        if any(t.strip() for t in texts)
    ]


def docx(raw: bytes, source: str, path: Path) -> list[Document]:
    import zipfile

    from docx import Document as WordDocument
    from docx.opc.exceptions import PackageNotFoundError

    try:
        word = WordDocument(io.BytesIO(raw))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as exc:
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
    extra = {"title": title} if title else {}
    return [
        _doc("\n".join(texts), source, f"{source}#s{n}", **extra, **({"section": head} if head else {}))
        for n, (head, texts) in enumerate(sections)
        if any(t.strip() for t in texts)
    ]
