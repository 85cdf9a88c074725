"""Refine: check a draft answer against the passages and revise it (hard questions)."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

REFINE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Question: {question}\n"
            "Draft answer: {draft}\n\n"
            "Check the draft against the passages. Correct anything they contradict, keep it brief, "
            "and cite the passages used like [1]. Reply with the improved answer only, or with the "
            "draft unchanged if it is already right.",
        ),
    ]
)
