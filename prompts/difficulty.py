"""Difficulty: a short draft answer whose confidence sets the question's compute budget.

DIFFICULTY_PROMPTS' confidence is read from token log-probabilities;
VERBAL_DIFFICULTY_PROMPT asks the model to state it (for models without logprobs).
"""

from langchain_core.prompts import ChatPromptTemplate

from ragloop.prompts.generate import ANSWER_PROMPTS
from ragloop.prompts.system import SYSTEM

#: The draft is the answer generate would give from the top passages, so an easy question's draft is its answer
#: (by whether it may say "not found": Context.abstain_prompt_below).
DIFFICULTY_PROMPTS = ANSWER_PROMPTS

VERBAL_DIFFICULTY_PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", SYSTEM),
        (
            "human",
            "Passages:\n{passages}\n\n"
            "Answer the question in a few words, using the passages, then say how likely your answer "
            "is to be correct as a percentage. Reply in exactly two lines:\n"
            "Answer: <answer>\n"
            "Confidence: <0-100>\n"
            "Question: {question}",
        ),
    ]
)
