"""Read user files into LangChain Documents: .txt, .md, .json, .jsonl and SQuAD JSON, plain or gzipped."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from langchain_core.documents import Document

from ragloop.errors import InputError

SUFFIXES = (".txt", ".md", ".json", ".jsonl")
TEXT_KEYS = ("text", "content", "page_content", "body", "context")


def _base_suffix(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def _read_text(path: Path) -> str:
    try:
        raw = gzip.open(path, "rb").read() if path.suffix.lower() == ".gz" else path.read_bytes()
    except (OSError, EOFError) as exc:
        raise InputError(f"Cannot read {path}: {exc}.") from exc
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
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file() and _base_suffix(p) in SUFFIXES)
        elif _base_suffix(path) in SUFFIXES:
            found.append(path)
        else:
            raise InputError(f"{path} has an unsupported type; ragloop indexes {', '.join(SUFFIXES)} (optionally .gz).")
    if not found:
        raise InputError("No .txt, .md, .json or .jsonl files were found in the paths given.")
    return found


def is_squad(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("data"), list)
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
    for key, title, paragraph in squad_paragraphs(data):
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


def load_file(path: Path) -> list[Document]:
    """Documents of one file, before chunking."""
    source = path.name
    text = _read_text(path)
    kind = _base_suffix(path)
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


def load_documents(paths: Iterable[str | Path]) -> list[Document]:
    """Every document in the paths, empty texts dropped; InputError when nothing is left."""
    docs = [d for p in expand_paths(paths) for d in load_file(p) if d.page_content.strip()]
    if not docs:
        raise InputError("The files given hold no text to index.")
    return docs
