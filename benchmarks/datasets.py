"""Evaluation data: a SQuAD-format file (plain or .gz) or a BEIR-style folder.

A SQuAD question's relevant document is the paragraph it was written from;
after chunking, the chunk(s) of that paragraph holding a gold answer span.
A BEIR question's relevant documents are its qrels (score = gain); after
chunking, every chunk of a relevant document.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.documents import Document

from ragloop.errors import InputError
from ragloop.fileutil import sha256_file
from ragloop.retrieval.loaders import is_squad, read_json, squad_paragraphs


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    #: doc_key -> gain of every relevant source document
    relevant: dict[str, float]
    #: gold answers (empty for retrieval-only data such as BEIR)
    answers: tuple[str, ...] = ()


@dataclass
class Dataset:
    name: str
    path: Path
    kind: str  # "squad" or "beir"
    sha256: str
    documents: list[Document]
    questions: list[Question]

    def sample(self, n: int | None, seed: int) -> list[Question]:
        """n questions drawn with the seed (all when n is None or larger), in a stable order."""
        if n is not None and n < 1:
            raise InputError(f"--questions must be at least 1, got {n}.")
        if n is None or n >= len(self.questions):
            return list(self.questions)
        return random.Random(seed).sample(self.questions, n)

    def require_answers(self) -> None:
        if not any(q.answers for q in self.questions):
            raise InputError(
                f"{self.path} has no gold answers (a {self.kind} dataset); the answers benchmark needs "
                "SQuAD-format data with answers."
            )

    def relevant_chunks(self, question: Question, by_doc: Mapping[str, Sequence[Document]]) -> dict[str, float]:
        """Chunk id -> gain for a question, given the index's chunks grouped by `chunks_by_doc`."""
        relevant: dict[str, float] = {}
        for doc_key, gain in question.relevant.items():
            pieces = by_doc.get(doc_key, [])
            holding = [c for c in pieces if any(a in c.page_content for a in question.answers)]
            for chunk in holding or pieces:
                relevant[chunk.metadata["id"]] = gain
        return relevant


def unanswerable_split(dataset: Dataset, n: int, seed: int) -> tuple[Dataset, list[Question], set[str]]:
    """n questions made unanswerable and n that stay answerable, over one corpus.

    The corpus loses the source document (SQuAD: the paragraph) that holds each of n sampled questions'
    gold answer; n more questions are drawn among those whose documents all stay. Returns the smaller
    dataset (its own name and hash, so its index is its own), the 2n questions, and the unanswerable ids.
    """
    if n < 1:
        raise InputError(f"--unanswerable must be at least 1, got {n}.")
    shuffled = random.Random(seed).sample(dataset.questions, len(dataset.questions))
    gone = shuffled[:n]
    removed = {key for q in gone for key in q.relevant}
    kept = [q for q in shuffled[n:] if not removed & set(q.relevant)][:n]
    if len(kept) < n:
        raise InputError(f"{dataset.path} has too few questions for {n} answerable and {n} unanswerable ones.")
    digest = hashlib.sha256((dataset.sha256 + "\n" + "\n".join(sorted(removed))).encode()).hexdigest()
    smaller = Dataset(
        f"{dataset.name}-minus{len(removed)}",
        dataset.path,
        dataset.kind,
        digest,
        [d for d in dataset.documents if d.metadata.get("doc_key") not in removed],
        dataset.questions,
    )
    return smaller, kept + gone, {q.id for q in gone}


def chunks_by_doc(chunks: Iterable[Document]) -> dict[str, list[Document]]:
    """An index's chunks by the document they came from (metadata doc_key, else id): what
    `Dataset.relevant_chunks` reads. Build it once per index: a format-2 index reads every chunk from disk."""
    by_doc: dict[str, list[Document]] = {}
    for chunk in chunks:
        by_doc.setdefault(chunk.metadata.get("doc_key", chunk.metadata["id"]), []).append(chunk)
    return by_doc


def load_dataset(path: str | Path) -> Dataset:
    """A SQuAD-format file or a BEIR folder; InputError with one sentence for anything else."""
    path = Path(path).expanduser()
    if not path.exists():
        raise InputError(f"{path} does not exist; give a SQuAD-format .json/.json.gz file or a BEIR folder.")
    dataset = _load_beir(path) if path.is_dir() else _load_squad(path)
    if not dataset.documents:
        raise InputError(f"{path} holds no documents to search.")
    if not dataset.questions:
        raise InputError(
            f"{path} holds no usable questions: every question needs a gold answer (SQuAD) "
            "or a relevant document (BEIR qrels)."
        )
    return dataset


def _load_squad(path: Path) -> Dataset:
    if not path.name.lower().endswith((".json", ".json.gz")):
        raise InputError(
            f"{path} is not a SQuAD .json/.json.gz file or a BEIR folder (corpus.jsonl, queries.jsonl, qrels/)."
        )
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty.")
    data = read_json(path)
    if not is_squad(data):
        raise InputError(f"{path} is JSON but not SQuAD format (a 'data' list of articles with 'paragraphs').")
    documents, questions = [], []
    for key, title, paragraph in squad_paragraphs(data):
        documents.append(
            Document(page_content=paragraph["context"], metadata={"source": path.name, "title": title, "doc_key": key})
        )
        for n, qa in enumerate(paragraph.get("qas", [])):
            answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", []) if a.get("text", "").strip()))
            if answers and str(qa.get("question", "")).strip():
                questions.append(
                    Question(str(qa.get("id") or f"{key}#q{n}"), qa["question"].strip(), {key: 1.0}, answers)
                )
    return Dataset(_stem(path), path, "squad", sha256_file(path), documents, questions)


def _read_jsonl(path: Path) -> list[dict]:
    import json

    records = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {line_no}, is not valid JSON: {exc.msg}.") from exc
    return records


def _load_beir(folder: Path) -> Dataset:
    corpus_file, queries_file = folder / "corpus.jsonl", folder / "queries.jsonl"
    qrels = sorted((folder / "qrels").glob("*.tsv"))
    qrels = [q for q in qrels if q.stem == "test"] or qrels
    if not corpus_file.is_file() or not queries_file.is_file() or not qrels:
        raise InputError(f"{folder} is not a BEIR folder: it needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv.")
    documents = [
        Document(
            page_content=(r.get("title", "") + "\n" + r.get("text", "")).strip(),
            metadata={"source": corpus_file.name, "title": r.get("title", ""), "doc_key": str(r["_id"])},
        )
        for r in _read_jsonl(corpus_file)
        if "_id" in r
    ]
    texts = {str(r["_id"]): r.get("text", "") for r in _read_jsonl(queries_file) if "_id" in r}
    relevant: dict[str, dict[str, float]] = {}
    with open(qrels[0], encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            try:
                gain = float(row[2])
            except ValueError as exc:
                raise InputError(f"{qrels[0]}: relevance {row[2]!r} is not a number.") from exc
            if gain > 0:
                relevant.setdefault(row[0], {})[row[1]] = gain
    questions = [Question(qid, texts[qid].strip(), rel) for qid, rel in relevant.items() if texts.get(qid, "").strip()]
    digest = hashlib.sha256()
    for file in (corpus_file, queries_file, qrels[0]):
        digest.update(sha256_file(file).encode())
    return Dataset(folder.name, folder, "beir", digest.hexdigest(), documents, questions)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".json"):
        name = name.removesuffix(suffix)
    return name
