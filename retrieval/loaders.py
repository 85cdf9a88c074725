"""Read user files into LangChain Documents: .txt, .md, .json, .jsonl and SQuAD JSON (plain or gzipped), PDF,
HTML and Word (.docx).

PDF pages, HTML sections and Word sections each become a Document, with `page` or `section` in its metadata.
A file that cannot be read as what its name says (corrupt, encrypted, truncated, not a regular file, JSON of
the wrong shape) stops the run with one sentence naming it, before anything is written to the index.
Each Document's `source` is the file's name, or, for files of the same name given together, its path from
their common folder; `path` records where it was read from. Any LangChain `BaseLoader`'s documents can be
indexed from Python too (`from_loader`).
"""

from __future__ import annotations

import gzip
import json
import os
import stat
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document

from ragloop.errors import InputError
from ragloop.retrieval import documents
from ragloop.retrieval.documents import Limits, check_text

if TYPE_CHECKING:
    from langchain_core.document_loaders import BaseLoader

TEXT_SUFFIXES = (".txt", ".md", ".json", ".jsonl")
BINARY_SUFFIXES = (".pdf", ".html", ".htm", ".docx")
SUFFIXES = TEXT_SUFFIXES + BINARY_SUFFIXES
TEXT_KEYS = ("text", "content", "page_content", "body", "context")


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_bytes(path: Path) -> bytes:
    try:
        if path.suffix.lower() == ".gz":
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip's truncated or corrupt streams included
        raise InputError(f"Cannot read {path}: {exc}.") from exc


def _read_text(path: Path) -> str:
    return _decode(_read_bytes(path), path)


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text; convert it to UTF-8 and index it again.") from exc


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and supported files under folders named, in a stable order."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InputError(f"{path} does not exist; check the path and try again.")
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if _regular(p) and _base_suffix(p) in SUFFIXES)
        elif not _regular(path):  # a FIFO or a device would block the read or never end
            raise InputError(f"{path} is not a regular file; ragloop indexes files and folders.")
        elif _base_suffix(path) in SUFFIXES:
            found.append(path)
        else:
            raise InputError(f"{path} has an unsupported type; ragloop indexes {', '.join(SUFFIXES)} (optionally .gz).")
    if not found:
        raise InputError(f"No {', '.join(SUFFIXES)} files were found in the paths given.")
    return found


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def is_squad(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("data"), list)
        and bool(data["data"])
        and all(isinstance(a, dict) and "paragraphs" in a for a in data["data"][:5])
    )


def squad_paragraphs(data: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(doc_key, title, paragraph) for every SQuAD paragraph; keys stay unique when titles repeat."""
    seen: Counter[str] = Counter()
    for article in data["data"]:
        title = str(article.get("title", "untitled"))
        seen[title] += 1
        stem = title if seen[title] == 1 else f"{title}~{seen[title]}"
        for p_index, paragraph in enumerate(article["paragraphs"]):
            yield f"{stem}#p{p_index}", title, paragraph


def squad_documents(data: dict[str, Any], source: str) -> Iterator[Document]:
    """One Document per SQuAD paragraph; its key names the article and paragraph."""
    for article in data["data"]:
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InputError(f"{source}: a SQuAD article needs a list of 'paragraphs'.")
    for key, title, paragraph in squad_paragraphs(data):
        if not isinstance(paragraph, dict) or not isinstance(paragraph.get("context"), str):
            raise InputError(f"{source}: SQuAD paragraph {key} has no 'context' text.")
        yield Document(page_content=paragraph["context"], metadata={"source": source, "title": title, "doc_key": key})


def _record_document(record: Any, source: str, n: int) -> Document:
    if isinstance(record, str):
        return Document(page_content=record, metadata={"source": source, "doc_key": f"{source}#{n}"})
    if not isinstance(record, dict):
        raise InputError(f"{source}: record {n} is neither text nor an object with a 'text' field.")
    key = next((k for k in TEXT_KEYS if isinstance(record.get(k), str)), None)
    if key is None:
        raise InputError(f"{source}: record {n} has no text field (one of {', '.join(TEXT_KEYS)}).")
    metadata = {k: v for k, v in record.items() if k != key and isinstance(v, str | int | float | bool)}
    extra = record.get("metadata")
    if isinstance(extra, dict):
        metadata.update({k: v for k, v in extra.items() if isinstance(v, str | int | float | bool)})
    metadata["source"] = source
    metadata["doc_key"] = str(record.get("id") or record.get("_id") or f"{source}#{n}")
    return Document(page_content=record[key], metadata=metadata)


def parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}).") from exc


def read_json(path: Path) -> Any:
    """The JSON in a file, plain or gzipped; InputError when it cannot be read or parsed."""
    return parse_json(_read_text(path), path)


def load_file(path: Path, source: str | None = None) -> list[Document]:
    """Documents of one file, before chunking; `source` defaults to the file's name."""
    return load_bytes(_read_bytes(path), source or path.name, path)


def load_bytes(raw: bytes, source: str, path: Path | None = None, limits: Limits | None = None) -> list[Document]:
    """Documents of a file's bytes, read as its name's type says (a source named `x.pdf` is read as a PDF);
    `path` names it in errors (default: the source). `limits` (an upload's) are checked before parsing."""
    path = path or Path(source)
    kind = _base_suffix(path)
    if kind in BINARY_SUFFIXES:
        reader = {".pdf": documents.pdf, ".html": documents.html, ".htm": documents.html, ".docx": documents.docx}
        return reader[kind](raw, source, path, limits)
    if kind not in TEXT_SUFFIXES:
        raise InputError(f"{path} has an unsupported type; ragloop indexes {', '.join(SUFFIXES)}.")
    text = check_text(_decode(raw, path), path, limits)
    if kind in (".txt", ".md"):
        return [Document(page_content=text, metadata={"source": source, "doc_key": source})]
    if kind == ".jsonl":
        docs = []
        for line_no, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                docs.append(_record_document(json.loads(line), source, line_no))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {line_no}, is not valid JSON: {exc.msg}.") from exc
        return docs
    data = parse_json(text, path)
    if is_squad(data):
        return list(squad_documents(data, source))
    records = data if isinstance(data, list) else [data]
    return [_record_document(r, source, n) for n, r in enumerate(records, 1)]


def sources_for(paths: list[Path]) -> dict[Path, str]:
    """Each file's source: its name, or, where files of the same name are given together, its path from
    their common folder, so that no two files share a source (and one never replaces the other)."""
    by_name: dict[str, list[Path]] = {}
    for path in paths:
        by_name.setdefault(path.name, []).append(path.resolve())
    sources = {}
    for path in paths:
        same = by_name[path.name]
        if len(set(same)) == 1:
            sources[path] = path.name
        else:
            common = Path(os.path.commonpath([p.parent for p in same]))
            sources[path] = path.resolve().relative_to(common).as_posix()
    return sources


def load_documents(paths: Iterable[str | Path]) -> list[Document]:
    """Every document in the paths, empty texts dropped; InputError when nothing is left."""
    files = expand_paths(paths)
    sources = sources_for(files)
    docs = []
    for path in files:
        for doc in load_file(path, sources[path]):
            if doc.page_content.strip():
                doc.metadata["path"] = str(path.resolve())
                docs.append(doc)
    if not docs:
        raise InputError("The files given hold no text to index.")
    return docs


def from_loader(loader: BaseLoader, source: str | None = None) -> list[Document]:
    """The documents of any LangChain document loader, ready to index: each needs a `source` (its own
    metadata's, or `source`) and gets a unique `doc_key`."""
    docs = []
    for n, doc in enumerate(loader.lazy_load(), 1):
        name = str(doc.metadata.get("source") or source or "")
        if not name:
            raise InputError("A loaded document has no 'source' in its metadata; pass source=... to name it.")
        metadata = {k: v for k, v in doc.metadata.items() if isinstance(v, str | int | float | bool)}
        docs.append(
            Document(page_content=doc.page_content, metadata={**metadata, "source": name, "doc_key": f"{name}#{n}"})
        )
    return docs
