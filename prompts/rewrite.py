"""Rewrite: a better search query when too few passages were relevant."""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.system import SYSTEM

REWRITE_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "A search for the question below found too few relevant passages.\n"
            "Question: {question}\n"
            "Search query used: {query}\n\n"
            "Write one better search query for a keyword and semantic search engine: name the key "
            "entities and terms, and add likely synonyms. Reply with the query only.",
        ),
    ]
)
