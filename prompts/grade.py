"""Grade: one call judges every passage; the local model's p(yes) per line is read from logprobs."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

GRADE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "For each passage, decide whether it contains information that helps answer the question.\n"
            "Question: {question}\n\n"
            "Reply with exactly {n} lines, one per passage in order, each `<passage number>: yes` "
            "or `<passage number>: no`, and nothing else.",
        ),
    ]
)
