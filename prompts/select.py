"""Select: pick or write one answer from several sampled ones (best-of-N, partition ensemble)."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

VERIFY_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Question: {question}\n"
            "Proposed answer: {answer}\n\n"
            "Is the proposed answer correct and supported by the passages? Reply yes or no.",
        ),
    ]
)

MERGE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Question: {question}\n"
            "Candidate answers, each written from some of the passages:\n{candidates}\n\n"
            "Write the single best answer in a few words, using the passages. "
            "Reply with the answer only.",
        ),
    ]
)
