"""Condense: a follow-up question in a thread rewritten to stand on its own (it is what gets searched)."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

CONDENSE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Conversation so far:\n{history}\n\n"
            "Follow-up question: {question}\n\n"
            "Rewrite the follow-up question so that it can be understood without the conversation: "
            "replace pronouns and references with what they refer to. Reply with the question only.",
        ),
    ]
)
