"""A conversation as chat messages: the question a run is asked, the turns before it, the answer's message."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage
from langchain_core.messages.content import create_citation, create_text_block

from ragloop.logic.answers import CITATION
from ragloop.state import Citation, Turn

#: The name on the answers ragloop appends, so a parent agent can tell them from its own.
ANSWER_NAME = "ragloop"


def asked_in(messages: Sequence[BaseMessage] | None) -> str | None:
    """The question a chat client asks: the last message, when it is a human one (not yet answered)."""
    if messages and messages[-1].type == "human":
        return messages[-1].text
    return None


def turns_before(messages: Sequence[BaseMessage]) -> list[Turn]:
    """The (question, answer) turns before the last message: each human message and the AI reply after it."""
    turns: list[Turn] = []
    pending: str | None = None
    for message in messages[:-1]:
        if message.type == "human":
            pending = message.text
        elif message.type == "ai" and pending is not None and (answer := answer_text(message)).strip():
            turns.append({"question": pending, "answer": answer})
            pending = None
    return turns


def answer_text(message: BaseMessage) -> str:
    """What an AI message answered: ragloop's own answers without their sources list, others' text whole."""
    return message.response_metadata.get("answer") or message.text


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")


def _plain(text: object) -> str:
    """A document's title, source or section as markdown that renders as the same text (documents are
    untrusted: `[x](javascript:…)` or `<img …>` in a title must not become a link or an element)."""
    return _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))


def _where(citation: Citation) -> str:
    page, section = citation.get("page"), citation.get("section")
    return ", ".join([*([f"§ {_plain(section)}"] if section else []), *([f"p. {page}"] if page else [])])


def sources_markdown(citations: list[Citation]) -> str:
    """The sources list under an answer: one line per cited passage, its marker, title, source and place."""
    lines = ["**Sources**"]
    for c in citations:
        title, source = c.get("title") or c.get("source") or c.get("id", ""), c.get("source")
        parts = [f"*{_plain(title)}*", *([_plain(source)] if source and source != title else []), _where(c)]
        lines.append(f"- [{c['n']}] " + " — ".join(p for p in parts if p))
    return "\n".join(lines)


def _annotation(citation: Citation, span: tuple[int, int]):
    """One citation as a LangChain v1 `citation` annotation: title, url (a web source), the cited passage, and
    the marker, source, page or section as extras."""
    source = citation.get("source") or ""
    annotation = create_citation(
        url=source if source.startswith(("http://", "https://")) else None,
        title=citation.get("title") or source or None,
        start_index=span[0],
        end_index=span[1],
        cited_text=citation.get("cited_text"),
    )
    where = {key: citation[key] for key in ("n", "source", "page", "section") if citation.get(key) is not None}
    annotation["extras"] = {**where, "chunk_id": citation.get("id")}
    return annotation


def answer_message(output: Mapping[str, Any], message_id: str | None = None) -> AnyMessage:
    """The answer as one AIMessage a chat UI renders: the answer with its [n] markers and a markdown sources
    list, as a v1 text block whose `citation` annotations carry the same sources structurally.

    Its response_metadata holds the answer alone, the citations, difficulty, budget and spend (a compute
    note). `message_id` is the id of the model call whose tokens were streamed as this answer, so a client
    that assembled the stream sees the same message completed.
    """
    compute = output.get("compute") or {}
    answer = (output.get("answer") or "").strip()
    citations: list[Citation] = list(output.get("citations") or [])
    text = answer
    if citations and not CITATION.search(answer):
        text += " " + "".join(f"[{c['n']}]" for c in citations)
    annotations = [_annotation(c, (0, len(answer))) for c in citations]
    if citations:
        text += "\n\n" + sources_markdown(citations)
    return AIMessage(
        content_blocks=[create_text_block(text, annotations=annotations or None)],
        name=ANSWER_NAME,
        id=message_id,
        response_metadata={
            "output_version": "v1",  # replayed to a model, the annotations are stripped (langchain-openai)
            "answer": answer,
            "citations": citations,
            "difficulty": dict(output.get("difficulty") or {}),
            "budget": dict(output.get("budget") or {}),
            "tokens": compute.get("tokens", 0),
            "stop_reason": compute.get("stop_reason", ""),
            "cost_usd": output.get("cost_usd", 0.0),
        },
    )
