"""The indexing graph (langgraph.json's ragloop_index): add, replace, delete by source, with progress and clear refusals."""

from __future__ import annotations

import pytest

from ragloop.errors import InputError
from ragloop.graph.indexing import index_graph
from ragloop.retrieval.index import HybridIndex


@pytest.fixture
def indexing(use_provider, context):
    from tests.unit.test_graph import scripts

    use_provider(scripts())  # its embeddings are the fake index's
    return context()


def test_documents_are_added_replaced_and_deleted_with_progress(indexing):
    before = len(HybridIndex.load(indexing.index_path))
    events = list(
        index_graph.stream(
            {"documents": [{"source": "zebra.txt", "text": "Zebras are striped.", "title": "Zebra"}]},
            context=indexing,
            stream_mode=["custom", "values"],
        )
    )
    progress = [chunk for mode, chunk in events if mode == "custom"]
    added = [chunk for mode, chunk in events if mode == "values"][-1]
    assert progress[-1] == {"embedded": 1, "to_embed": 1}
    assert added["chunks"] == before + 1 and added["update"]["added_chunks"] == 1
    replaced = index_graph.invoke(
        {"documents": [{"source": "zebra.txt", "text": "Zebras live in Africa."}]}, context=indexing
    )
    assert replaced["update"]["removed_chunks"] == 1 and replaced["chunks"] == before + 1
    deleted = index_graph.invoke({"delete": ["zebra.txt"]}, context=indexing)
    assert deleted["chunks"] == before
    assert "Zebras" not in " ".join(d.page_content for d in HybridIndex.load(indexing.index_path).documents)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "Nothing to do"),
        ({"documents": "a text"}, "must be a list"),
        ({"documents": [{"source": "a.txt", "text": " "}]}, 'Document 0 needs a non-empty "source" and "text"'),
        ({"documents": [{"text": "no source"}]}, "Document 0 needs"),
        ({"delete": [""]}, "A source name is text of 1 to 512 characters"),
        ({"delete": "a.txt"}, "delete must be a list of source names"),
        # the /index routes' rule for source names holds in the graph too
        ({"documents": [{"source": "../../x.md", "text": "Planted."}]}, "looks like a path out of the index"),
        ({"documents": [{"source": "/etc/passwd", "text": "Planted."}]}, "looks like a path out of the index"),
        ({"documents": [{"source": "a\x00.md", "text": "Planted."}]}, "no control characters"),
        ({"delete": ["notes/../../x.md"]}, "looks like a path out of the index"),
    ],
)
def test_bad_input_is_refused_before_the_index_is_touched(indexing, payload, message):
    before = HybridIndex.load(indexing.index_path).manifest
    with pytest.raises(InputError, match=message):
        index_graph.invoke(payload, context=indexing)
    assert HybridIndex.load(indexing.index_path).manifest == before


def test_pdf_html_and_word_files_come_in_as_base64(indexing):
    import base64
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
    files = [
        {"source": name, "base64": base64.b64encode((fixtures / name).read_bytes()).decode()}
        for name in ("handbook.pdf", "zebras.html", "okapi.docx")
    ]
    out = index_graph.invoke({"documents": files}, context=indexing)
    assert out["update"]["added_chunks"] == 6  # two pages, two sections, two sections
    assert out["read"] == ["handbook.pdf", "okapi.docx", "zebras.html"]  # every file of the payload, accounted for
    docs = HybridIndex.load(indexing.index_path).documents
    assert {(d.metadata["source"], d.metadata.get("page")) for d in docs if d.metadata.get("page")} == {
        ("handbook.pdf", 1),
        ("handbook.pdf", 2),
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"source": "a.pdf", "base64": "%%%not base64"}, '"base64" is not base64'),
        ({"source": "a.pdf", "base64": "bm90IGEgcGRm"}, "a.pdf is not a readable PDF"),
        ({"source": "a.exe", "base64": "AAAA"}, "a.exe has an unsupported type"),
    ],
)
def test_a_bad_file_in_the_payload_is_refused_by_name(indexing, document, message):
    before = HybridIndex.load(indexing.index_path).manifest
    with pytest.raises(InputError, match=message):
        index_graph.invoke({"documents": [document]}, context=indexing)
    assert HybridIndex.load(indexing.index_path).manifest == before
