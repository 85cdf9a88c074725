"""Generate: a short answer grounded in the kept passages.

The answer carries no [n] markers: the small local model, asked to cite, cites
instead of answering (measured in docs/measurements/adaptive-compute.md). Its citations are the passages
that hold the answer's words (nodes/finish.py). A model may still write [n]
markers; they are then taken as its citations.
"""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.logic.answers import NOT_FOUND
from ragloop.prompts.system import SYSTEM

_ANSWER = "Answer the question in a few words, using the passages."

GENERATE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        ("human", "Passages:\n{passages}\n\n" + _ANSWER + "\nQuestion: {question}"),
    ]
)

#: One slice of a context-partition ensemble may not hold the answer: it says so, and the vote ignores it.
SLICE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            + _ANSWER
            + " If they do not contain the answer, reply exactly: "
            + NOT_FOUND
            + "\nQuestion: {question}",
        ),
    ]
)

#: The answer prompt, by whether the sample reads one slice of a partition ensemble.
ANSWER_PROMPTS = {False: GENERATE_PROMPT, True: SLICE_PROMPT}
