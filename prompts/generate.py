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
#: Where the reranker is unsure (Context.abstain_prompt_below) every answer call reads it: a question the passages do not answer is
#: answered "not found".
ABSTAINING_PROMPT = ChatPromptTemplate.from_messages(
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

#: The answer prompt, by whether the call may say "not found" (one slice of an ensemble, or an unsure reranker).
ANSWER_PROMPTS = {False: GENERATE_PROMPT, True: ABSTAINING_PROMPT}
