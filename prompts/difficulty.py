"""Difficulty: a short draft answer whose token probabilities measure the model's confidence."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

DIFFICULTY_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Answer the question in a few words, using the passages.\n"
            "Question: {question}",
        ),
    ]
)
