"""Refine (hard questions): critique a draft against the passages, then revise it."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

#: The critique's whole reply when the draft needs no change.
NO_ISSUES = "OK"

CRITIQUE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Question: {question}\n"
            "Draft answer: {draft}\n\n"
            "Check the draft against the passages: is it correct, supported by the passages, "
            "and does it answer the question? If it is right, reply exactly: OK\n"
            "Otherwise list its problems in one or two short sentences.",
        ),
    ]
)

REVISE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Question: {question}\n"
            "Draft answer: {draft}\n"
            "Problems found: {critique}\n\n"
            "Write the corrected answer in a few words, using the passages. "
            "Reply with the answer only.",
        ),
    ]
)
