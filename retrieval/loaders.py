"""Read user files into LangChain Documents: .txt, .md, .rst, extensionless UTF-8 text, .json, .jsonl and SQuAD
JSON, .csv (a record per row), PDF, HTML and XML, Word (.docx); any of them gzipped (.gz).

Every file under a folder is accounted for (`read_files`): read, or skipped with its reason (hidden, an
unsupported type, binary, no text). A file named on its own that cannot be read is an error instead.

PDF pages, HTML sections and Word sections each become a Document, with `page` or `section` in its metadata.
A file that cannot be read as what its name says (corrupt, encrypted, truncated, not a regular file, JSON of
the wrong shape) stops the run with one sentence naming it, before anything is written to the index.
Each Document's `source` is the file's name, or, for files of the same name given together, its path from
their common folder; `path` records where it was read from. Any LangChain `BaseLoader`'s documents can be
indexed from Python too (`from_loader`).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import stat
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document

from ragloop.errors import InputError
from ragloop.fileutil import path_fingerprint
from ragloop.retrieval import documents
from ragloop.retrieval.documents import Limits, check_text

if TYPE_CHECKING:
    from langchain_core.document_loaders import BaseLoader

TEXT_SUFFIXES = (".txt", ".md", ".rst", ".json", ".jsonl", ".csv")
BINARY_SUFFIXES = (".pdf", ".html", ".htm", ".xml", ".docx")
SUFFIXES = TEXT_SUFFIXES + BINARY_SUFFIXES
PLAIN = ""  # an extensionless file (README, copyright): text when it is UTF-8 text
READABLE = (*SUFFIXES, PLAIN)
SUPPORTED = f"{', '.join(SUFFIXES)}, extensionless text (each optionally .gz)"
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


@dataclass
class Reading:
    """What reading files gave: the documents, the files read, and each file skipped with its reason."""

    documents: list[Document] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        return {"read": self.read, "skipped": [{"path": path, "reason": why} for path, why in self.skipped]}


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]], dict[Path, str]]:
    """(files to read, files skipped with the reason, each file's path relative to what was indexed): files
    named, and every file under folders named, in a stable order. The relative path of a file under a folder
    is the folder's name and the path below it (`docs/guide/a.md`); of a file named on its own, its folder's
    name and its own (`b/notes.md`). A file named on its own that ragloop cannot read is an InputError."""
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []
    shown: dict[Path, str] = {}
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            raise InputError(f"{path} does not exist; check the path and try again.")
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if not p.is_dir()):
                if why := _not_read(file, file.relative_to(path)):
                    skipped.append((str(file), why))
                else:
                    found.append(file)
                    shown[file] = (Path(path.resolve().name) / file.relative_to(path)).as_posix()
        elif not _regular(path):  # a FIFO or a device would block the read or never end
            raise InputError(f"{path} is not a regular file; ragloop indexes files and folders.")
        elif _base_suffix(path) in READABLE:
            found.append(path)
            shown[path] = (Path(path.resolve().parent.name) / path.name).as_posix()
        else:
            raise InputError(f"{path} has an unsupported type; ragloop indexes {SUPPORTED}.")
    if not found:
        listed = "".join(f"\n  {path}: {why}" for path, why in skipped[:20])
        raise InputError(f"No {SUPPORTED} files were found in the paths given.{listed}")
    return found, skipped, shown


def _not_read(file: Path, relative: Path) -> str | None:
    """Why a file found under a folder is not read, or None."""
    if any(part.startswith(".") for part in relative.parts):
        return "hidden"
    if not _regular(file):
        return "not a regular file"
    kind = _base_suffix(file)
    if kind not in READABLE:
        return f"unsupported type {kind}"
    return None


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
        html = documents.html  # XML too: its text, with no entity expansion (html.parser)
        reader = {".pdf": documents.pdf, ".html": html, ".htm": html, ".xml": html, ".docx": documents.docx}
        return reader[kind](raw, source, path, limits)
    if kind == PLAIN:
        if b"\0" in raw[:8192]:
            raise NotText(f"{path} is a binary file, not text.")
        try:
            text = check_text(raw.decode("utf-8"), path, limits)
        except UnicodeDecodeError:
            raise NotText(f"{path} is not UTF-8 text.") from None
        return [Document(page_content=text, metadata={"source": source, "doc_key": source})]
    if kind not in TEXT_SUFFIXES:
        raise InputError(f"{path} has an unsupported type; ragloop indexes {SUPPORTED}.")
    text = check_text(_decode(raw, path), path, limits)
    if kind == ".md" and (sections := documents.markdown_sections(text)):
        return documents.sectioned(sections, source)
    if kind in (".txt", ".md", ".rst"):
        return [Document(page_content=text, metadata={"source": source, "doc_key": source})]
    if kind == ".csv":
        return csv_documents(text, source)
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


class NotText(InputError):
    """An extensionless file that is not UTF-8 text (a program, an image): skipped under a folder."""


def csv_documents(text: str, source: str) -> list[Document]:
    """A CSV file with a header row: one Document per row, its text each non-empty `column: value`."""
    import csv

    rows = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(rows, [])]
    docs = []
    for n, row in enumerate(rows, 1):
        lines = [f"{name}: {value.strip()}" for name, value in zip(header, row, strict=False) if value.strip()]
        if lines:
            docs.append(
                Document("\n".join(lines), metadata={"source": source, "doc_key": f"{source}#row{n}", "row": n})
            )
    return docs


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


class FileStream:
    """The documents of the files in the paths, read one file at a time as they are iterated, so that a
    folder's text is never in memory all at once. Which files there are is settled when it is made (a file
    named on its own that ragloop cannot read is an InputError then); `reading` accounts for every file,
    read or skipped with its reason, once iteration is done; `share()` is the part of the files' bytes read.

    Iteration raises InputError when a file of a supported type cannot be read, and at its end when no file
    held text."""

    def __init__(self, paths: Iterable[str | Path]):
        self._files, skipped, self._shown = expand_paths(paths)
        self._sources = sources_for(self._files)
        self._sizes = [_size(path) for path in self._files]
        self._total, self._done = max(sum(self._sizes), 1), 0
        self.reading = Reading(skipped=skipped)

    @property
    def files(self) -> int:
        """How many files there are to read."""
        return len(self._files)

    def share(self) -> float:
        return min(self._done / self._total, 1.0)

    def __iter__(self) -> Iterator[Document]:
        for path, size in zip(self._files, self._sizes, strict=True):
            yield from self._documents(path)
            self._done += size
        self.reading.skipped.sort()
        if not self.reading.read:
            listed = "".join(f"\n  {path}: {why}" for path, why in self.reading.skipped[:20])
            raise InputError(f"The files given hold no text to index.{listed}")

    def _documents(self, path: Path) -> list[Document]:
        """One file's documents with text (an extensionless file that is not UTF-8 text is skipped as binary;
        a file that yields no text is skipped), each told where it was read from."""
        try:
            found = [doc for doc in load_file(path, self._sources[path]) if doc.page_content.strip()]
        except NotText:
            self.reading.skipped.append((str(path), "binary (not UTF-8 text)"))
            return []
        if not found:
            self.reading.skipped.append((str(path), "no text"))
            return []
        for doc in found:  # where it was read from, relative to what was indexed; `origin` tells files apart
            doc.metadata["path"], doc.metadata["origin"] = self._shown[path], path_fingerprint(path)
        self.reading.read.append(str(path))
        return found


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_files(paths: Iterable[str | Path]) -> Reading:
    """Every document in the paths at once, and every file accounted for (see FileStream)."""
    stream = FileStream(paths)
    stream.reading.documents = list(stream)
    return stream.reading


def load_documents(paths: Iterable[str | Path]) -> list[Document]:
    """Every document in the paths, empty texts dropped; InputError when nothing is left (read_files)."""
    return read_files(paths).documents


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
