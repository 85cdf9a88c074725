"""Generate: an answer grounded in the kept passages, with [n] citations."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

NOT_FOUND = "Not found in the documents."

GENERATE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Answer the question using only the passages above. Give the answer in as few words as "
            "possible (a short phrase from the passages, not a sentence), then cite the passages you "
            "used like [1]. If the passages do not contain the answer, reply exactly: "
            "Not found in the documents.\n"
            "Question: {question}",
        ),
    ]
)
