"""Documents people have: PDF, HTML and Word files indexed with their metadata; bad files refused by name with
the index untouched; files of the same name never replace each other."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

import ragloop
from ragloop.cli import main
from ragloop.retrieval.loaders import from_loader, load_documents
from tests.conftest import reply
from tests.unit.test_graph import scripts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "documents"


def run(capsys, *argv) -> tuple[int, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_pdf_html_and_word_files_are_read_with_pages_sections_and_titles():
    docs = load_documents([FIXTURES])
    meta = {(d.metadata["source"], d.metadata.get("page"), d.metadata.get("section")): d for d in docs}
    assert meta[("handbook.pdf", 2, None)].page_content == "Holidays are booked through the portal."
    assert meta[("handbook.pdf", 1, None)].metadata["title"] == "Company handbook"
    stripes = meta[("zebras.html", None, "Stripes")]
    assert stripes.metadata["title"] == "Zebras of the savanna" and "unique pattern" in stripes.page_content
    herds = meta[("zebras.html", None, "Stripes › Herds")].page_content  # the heading path
    assert "thousands of zebras" in herds
    assert not any("tracking" in d.page_content or "Home" in d.page_content for d in docs)  # script, nav dropped
    relatives = meta[("okapi.docx", None, "Relatives")].page_content
    assert "giraffe" in relatives and "Height | 1.5 m" in relatives


def test_ragloop_index_reads_them_and_the_metadata_is_filterable(capsys, tmp_path, use_provider):
    use_provider(scripts())
    index = str(tmp_path / "ix")
    assert run(capsys, "index", str(FIXTURES), "--index", index)[0] == 0
    code, listed = run(capsys, "index", "--list", "--index", index)
    assert code == 0 and listed.split() == ["handbook.pdf", "okapi.docx", "zebras.html"]
    page_two = ragloop.retriever({"source": "handbook.pdf", "page": 2}, index_path=index, rerank=False).invoke("office")
    assert [d.page_content for d in page_two] == ["Holidays are booked through the portal."]


def encrypted_pdf(path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for page in PdfReader(FIXTURES / "handbook.pdf").pages:
        writer.add_page(page)
    writer.encrypt("secret")
    with open(path, "wb") as fh:
        writer.write(fh)


BAD_FILES = {
    "encrypted.pdf": (encrypted_pdf, "encrypted PDF"),
    "truncated.pdf": (lambda p: p.write_bytes((FIXTURES / "handbook.pdf").read_bytes()[:200]), "not a readable PDF"),
    "text.pdf": (lambda p: p.write_text("this is not a PDF"), "not a readable PDF"),
    "zip.docx": (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "not a readable Word"),
    "notes.txt.gz": (lambda p: p.write_bytes(b"\x1f\x8b\x08\x00broken gzip"), "Cannot read"),
    "cut.txt.gz": (lambda p: p.write_bytes(gzip.compress(b"a long enough text " * 50)[:40]), "Cannot read"),
    "fifo.txt": (lambda p: os.mkfifo(p), "not a regular file"),
    "no_context.json": (
        lambda p: p.write_text(json.dumps({"data": [{"title": "T", "paragraphs": [{"qas": []}]}]})),
        "has no 'context' text",
    ),
    "bad_paragraphs.json": (
        lambda p: p.write_text(json.dumps({"data": [{"title": "T", "paragraphs": "oops"}]})),
        "needs a list of 'paragraphs'",
    ),
    "numbers.json": (lambda p: p.write_text("[1, 2, 3]"), "neither text nor an object"),
    "empty.html": (lambda p: p.write_text("plain words, no markup at all"), "holds no HTML elements"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_is_refused_by_name_and_the_index_is_untouched(name, capsys, tmp_path, use_provider):
    use_provider(scripts())
    index = tmp_path / "ix"
    assert run(capsys, "index", str(FIXTURES / "zebras.html"), "--index", str(index))[0] == 0
    before = (index / "manifest.json").read_bytes()
    make, message = BAD_FILES[name]
    (tmp_path / "files").mkdir()
    bad = tmp_path / "files" / name
    make(bad)
    for argv in (["index", str(bad)], ["index", "--add", str(bad)], ["index", str(bad.parent)]):
        if argv[-1] == str(bad.parent) and name == "fifo.txt":
            continue  # inside a folder, a FIFO is not a file to index: passed over, as a directory would be
        code, text = run(capsys, *argv, "--index", str(index))
        assert code == 2 and message in text and name in text, (argv, text)
        # files are read as the index takes them, so the line saying what is being indexed may come first
        assert "Traceback" not in text and text.splitlines()[-1].startswith("error:") and text.count("error") == 1
        assert (index / "manifest.json").read_bytes() == before


def test_a_damaged_manifest_is_named_not_a_traceback(capsys, tmp_path, use_provider):
    use_provider(scripts())
    index = tmp_path / "ix"
    assert run(capsys, "index", str(FIXTURES / "zebras.html"), "--index", str(index))[0] == 0
    manifest = json.loads((index / "manifest.json").read_text())
    (index / "manifest.json").write_text(json.dumps({**manifest, "sources": "zebras.html"}))
    for argv in (["index", "--list"], ["ask", "Who has stripes?"], ["index", "--add", str(FIXTURES / "okapi.docx")]):
        code, text = run(capsys, *argv, "--index", str(index))
        assert code == 2 and "damaged" in text and "Traceback" not in text, text


def test_files_of_the_same_name_never_replace_each_other(capsys, tmp_path, use_provider):
    use_provider(scripts())
    for folder, text in (("a", "Alpha notes mention apples."), ("b", "Beta notes mention bananas.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.md").write_text(text)
    index = str(tmp_path / "ix")
    together = str(tmp_path / "together")
    assert run(capsys, "index", str(tmp_path / "a"), str(tmp_path / "b"), "--index", together)[0] == 0
    assert run(capsys, "index", "--list", "--index", together)[1].split() == ["a/notes.md", "b/notes.md"]
    assert run(capsys, "index", str(tmp_path / "a" / "notes.md"), "--index", index)[0] == 0
    code, text = run(capsys, "index", "--add", str(tmp_path / "b" / "notes.md"), "--index", index)
    assert code == 0 and "is indexed as b/notes.md" in text
    code, text = run(capsys, "index", "--add", str(tmp_path / "b" / "notes.md"), "--index", index)  # b again
    assert run(capsys, "index", "--list", "--index", index)[1].split() == ["b/notes.md", "notes.md"]
    found = {d.page_content for d in ragloop.retriever(index_path=index, rerank=False, top_n=5).invoke("notes")}
    assert found == {"Alpha notes mention apples.", "Beta notes mention bananas."}


def test_a_source_name_with_markup_brackets_is_listed_as_it_is(capsys, tmp_path, use_provider):
    use_provider(scripts())
    odd = tmp_path / "[red]draft[b].md"
    odd.write_text("Draft text.")
    index = str(tmp_path / "ix")
    assert run(capsys, "index", str(odd), "--index", index)[0] == 0
    assert run(capsys, "index", "--list", "--index", index) == (0, "[red]draft[b].md\n")


def test_any_langchain_loader_can_be_indexed_from_python(tmp_path, use_provider):
    from langchain_core.document_loaders import BaseLoader
    from langchain_core.documents import Document

    from ragloop.retrieval.store import index_documents
    from ragloop.settings import Context

    class Wiki(BaseLoader):
        def lazy_load(self):
            yield Document(page_content="Warsaw is the capital of Poland.", metadata={"source": "wiki/warsaw"})
            yield Document(page_content="The Vistula flows through Warsaw.", metadata={"source": "wiki/warsaw"})

    use_provider(scripts())
    ctx = Context(index_path=str(tmp_path / "ix"))
    manifest = index_documents(ctx, add=from_loader(Wiki()))
    assert manifest["sources"] == ["wiki/warsaw"] and manifest["chunks"] == 2


def test_every_file_under_a_folder_is_read_or_skipped_with_its_reason(tmp_path):
    import gzip

    from ragloop.retrieval.loaders import read_files

    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / "notes.rst").write_text("Okapis\n======\n\nThe okapi is a forest giraffe.\n")
    (tmp_path / "people.csv").write_text("name,role\nAda,engineer\n,\nAlan,mathematician\n")
    (tmp_path / "copyright").write_text("Copyright 2026 the okapi authors.\n")
    (tmp_path / "changelog.gz").write_bytes(gzip.compress(b"Version 2: okapis added.\n"))
    (tmp_path / "data.xml").write_text("<doc><title>Okapi data</title><p>Okapis eat leaves.</p></doc>")
    (tmp_path / "program").write_bytes(b"\x7fELF\x00\x01binary")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (tmp_path / "sub" / "empty.txt").write_text("  \n")
    reading = read_files([tmp_path])
    assert sorted(Path(p).name for p in reading.read) == [
        "changelog.gz",
        "copyright",
        "data.xml",
        "notes.rst",
        "people.csv",
    ]
    assert {Path(p).name: why for p, why in reading.skipped} == {
        "HEAD": "hidden",
        "program": "binary (not UTF-8 text)",
        "photo.png": "unsupported type .png",
        "empty.txt": "no text",
    }
    texts = {d.metadata["doc_key"]: d.page_content for d in reading.documents}
    assert (
        texts["people.csv#row1"] == "name: Ada\nrole: engineer"
        and texts["people.csv#row3"] == "name: Alan\nrole: mathematician"
    )
    assert "Okapis eat leaves." in texts["data.xml#s0"] and "okapis added" in texts["changelog.gz"]
    assert reading.report()["skipped"][0] == {"path": str(tmp_path / ".git" / "HEAD"), "reason": "hidden"}


def test_a_folder_is_read_file_by_file_as_the_index_takes_it_and_a_bad_file_publishes_nothing(tmp_path, monkeypatch):
    from langchain_core.embeddings.fake import DeterministicFakeEmbedding

    from ragloop.retrieval import index as ix
    from ragloop.retrieval.loaders import FileStream
    from ragloop.retrieval.versions import versions_dir

    folder = tmp_path / "notes"
    folder.mkdir()
    for n in range(6):
        (folder / f"{n}.txt").write_text(f"Note {n}: okapis eat leaves number {n}.")
    stream = FileStream([folder])
    read_when_embedding: list[int] = []

    class Watching(DeterministicFakeEmbedding):
        def embed_documents(self, texts):
            read_when_embedding.append(len(stream.reading.read))
            return super().embed_documents(texts)

    monkeypatch.setattr(ix, "STREAM_BATCH", 2)  # two chunks (here: two files) written at a time
    manifest = ix.update_index(tmp_path / "ix", Watching(size=16), "fake", add=stream, replace_all=True)
    assert manifest["chunks"] == 6 and stream.share() == 1.0 and len(stream.reading.read) == 6
    assert read_when_embedding[0] < 6, "the first chunks were embedded before every file was read"

    before = (tmp_path / "ix" / "manifest.json").read_bytes()
    (folder / "9.json").write_text("[1, 2, 3]")  # read last, after the others were embedded and written
    with pytest.raises(ragloop.errors.InputError, match="9.json"):
        ix.update_index(tmp_path / "ix", Watching(size=16), "fake", add=FileStream([folder]), replace_all=True)
    assert (tmp_path / "ix" / "manifest.json").read_bytes() == before
    assert not list(versions_dir(tmp_path / "ix").glob("tmp-*")), "the unfinished version was left behind"


TEXINFO_PAGE = b"""<!DOCTYPE html><html><head><title>libffi: Multi-threading</title></head><body>
<div class="nav-panel"><p>Next: <a href="a.html">Closures</a>, Up: <a href="b.html">Using libffi</a></p></div>
<div class="chapter-level-extent"><h2 class="chapter">2 Using libffi</h2>
<div class="section-level-extent"><h3 class="section">2.5 Multi-threading</h3>
<h4 class="subsection">2.5.1 Thread safety</h4>
<p>libffi is thread safe: each call uses only its own data.</p></div></div>
<div style="display: none"><p>Hidden tracking text.</p></div>
<footer><p>Generated by texinfo.</p></footer></body></html>"""

BYLINE_PAGE = b"""<html><body><header><p>Debian Wiki | Login</p></header><main><article>
<header><h1>Users and groups</h1><h3>By the Debian documentation team</h3></header>
<h2>System users</h2><p>The user nobody owns no files.</p>
<aside><p>Related pages: sudo, adduser.</p></aside></article></main>
<div role="navigation"><ul><li>Home</li></ul></div></body></html>"""


def test_html_sections_are_heading_paths_without_the_pages_furniture_or_bylines(tmp_path):
    from ragloop.retrieval.documents import html

    docs = html(TEXINFO_PAGE, "ffi.html", Path("ffi.html"))
    assert [(d.metadata.get("section"), d.page_content) for d in docs] == [
        (
            "2 Using libffi › 2.5 Multi-threading › 2.5.1 Thread safety",
            "libffi is thread safe: each call uses only its own data.",
        )
    ]
    docs = html(BYLINE_PAGE, "users.html", Path("users.html"))
    sections = {d.metadata.get("section"): d.page_content for d in docs}
    assert sections == {
        "Users and groups": "By the Debian documentation team",  # a byline is text under the title, not a section
        "Users and groups › System users": "The user nobody owns no files.",
    }


def test_word_tables_stand_under_the_heading_they_follow_and_sections_are_heading_paths(tmp_path):
    from docx import Document as WordDocument

    from ragloop.retrieval.documents import docx

    word = WordDocument()
    word.add_heading("Animals", level=1)
    word.add_heading("Okapi", level=2)
    word.add_paragraph("The okapi lives in the Congo.")
    table = word.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Height", "1.5 m"
    word.add_heading("Zebra", level=2)
    word.add_paragraph("Zebras are striped.")
    word.save(tmp_path / "animals.docx")
    docs = docx((tmp_path / "animals.docx").read_bytes(), "animals.docx", tmp_path / "animals.docx")
    assert {d.metadata["section"]: d.page_content for d in docs} == {
        "Animals › Okapi": "The okapi lives in the Congo.\nHeight | 1.5 m",
        "Animals › Zebra": "Zebras are striped.",
    }


def test_markdown_sections_carry_their_heading_path_and_code_is_never_a_heading():
    from ragloop.retrieval.loaders import load_bytes

    text = "Intro line.\n\nGuide\n=====\n\n## Install\n\n```sh\n# not a heading\npip install x\n```\n\n### On Debian\n\napt install x\n"
    docs = load_bytes(text.encode(), "guide.md")
    assert [(d.metadata.get("section"), d.page_content) for d in docs] == [
        (None, "Intro line."),
        ("Guide › Install", "```sh\n# not a heading\npip install x\n```"),
        ("Guide › Install › On Debian", "apt install x"),
    ]
    assert load_bytes(b"No headings here.", "plain.md")[0].metadata["doc_key"] == "plain.md"


def test_a_pdf_pages_section_is_its_outline_entry(tmp_path):
    from pypdf import PdfReader, PdfWriter

    from ragloop.retrieval.documents import pdf

    writer = PdfWriter()
    for page in PdfReader(FIXTURES / "handbook.pdf").pages:
        writer.add_page(page)
    part = writer.add_outline_item(title="Handbook", page_number=0)
    writer.add_outline_item(title="Opening hours", page_number=0, parent=part)
    writer.add_outline_item(title="Holidays", page_number=1, parent=part)
    with open(tmp_path / "outlined.pdf", "wb") as fh:
        writer.write(fh)
    docs = pdf((tmp_path / "outlined.pdf").read_bytes(), "outlined.pdf", tmp_path / "outlined.pdf")
    assert [(d.metadata["page"], d.metadata["section"]) for d in docs] == [
        (1, "Handbook › Opening hours"),
        (2, "Handbook › Holidays"),
    ]


def test_search_results_never_carry_the_indexing_machines_paths(capsys, tmp_path, use_provider):
    use_provider(scripts())
    index = str(tmp_path / "ix")
    assert run(capsys, "index", str(FIXTURES), "--index", index)[0] == 0
    found = ragloop.retriever({"source": "handbook.pdf"}, index_path=index, rerank=False).invoke("office")
    assert found and {d.metadata["path"] for d in found} == {"documents/handbook.pdf"}  # relative to what was indexed
    assert all("origin" not in d.metadata for d in found)
    assert str(FIXTURES) not in json.dumps([d.metadata for d in found], default=str)
    from ragloop.retrieval.index import HybridIndex

    stored = json.dumps([d.metadata for d in HybridIndex.load(index).documents], default=str)
    assert str(FIXTURES) not in stored and str(tmp_path) not in stored  # nor does the index keep them


def test_an_index_that_stored_absolute_paths_still_tells_a_re_added_file_from_another(capsys, tmp_path, use_provider):
    """An index written before paths were relative recorded each file's absolute path: adding the same file
    again replaces it, and a file of the same name from elsewhere is kept apart, as before."""
    from langchain_core.embeddings.fake import DeterministicFakeEmbedding

    from ragloop.retrieval.index import update_index
    from ragloop.retrieval.loaders import load_documents

    use_provider(scripts())
    for folder, text in (("a", "Alpha notes mention apples."), ("b", "Beta notes mention bananas.")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "notes.md").write_text(text)
    index = tmp_path / "ix"
    legacy = load_documents([tmp_path / "a" / "notes.md"])
    for doc in legacy:  # as 0.2's first index format wrote them
        doc.metadata["path"] = str((tmp_path / "a" / "notes.md").resolve())
        del doc.metadata["origin"]
    update_index(index, DeterministicFakeEmbedding(size=32), "fake-hash-32", add=legacy)
    assert run(capsys, "index", "--add", str(tmp_path / "a" / "notes.md"), "--index", str(index))[0] == 0
    code, text = run(capsys, "index", "--add", str(tmp_path / "b" / "notes.md"), "--index", str(index))
    assert code == 0 and "is indexed as b/notes.md" in text
    assert run(capsys, "index", "--list", "--index", str(index))[1].split() == ["b/notes.md", "notes.md"]


def test_a_citation_names_the_page_or_section_its_passage_stands_in(capsys, tmp_path, use_provider):
    from ragloop.graph.builder import graph
    from ragloop.settings import Context

    use_provider(scripts(generate=lambda n: reply("The office opens at nine [1].")))
    index = str(tmp_path / "ix")
    assert run(capsys, "index", str(FIXTURES), "--index", index)[0] == 0
    out = graph.invoke(
        {"question": "When does the office open?", "filter": {"source": "handbook.pdf"}},
        context=Context(index_path=index, easy_from_draft=False),
    )
    assert out["citations"][0]["source"] == "handbook.pdf" and out["citations"][0]["page"] == 1
    html = graph.invoke(
        {"question": "How do zebras live?", "filter": {"source": "zebras.html"}},
        context=Context(index_path=index, easy_from_draft=False),
    )
    assert all(c["section"].startswith("Stripes") for c in html["citations"])
