"""The typed records a run writes into its state: difficulty, budget, plan, one sampled answer, a turn, and
the citation and compute records of its output."""

from __future__ import annotations

from typing import NotRequired

from typing_extensions import TypedDict


class Difficulty(TypedDict, total=False):
    """How hard the question is, and how that was judged."""

    level: str  # easy, medium or hard
    score: float | None  # 1 - confidence
    confidence: float | None
    estimator: str  # the estimator that set the level (retrieval when the draft gave no confidence)
    top_score: float  # the reranker's first score (the retrieval estimator's input)
    margin: float  # its first minus fifth score
    retrieval_confidence: float | None  # the reranker-score confidence, recorded whatever the estimator
    draft: str  # the difficulty draft's answer
    escalated: str  # why a medium question was made hard


class Budget(TypedDict):
    """What the budget table granted for the question's level, after the caps."""

    docs: int
    samples: int
    partitions: int
    refine_rounds: int
    model: str  # '' = the provider's chat model
    from_draft: NotRequired[bool]  # an easy question answered by its difficulty draft


class Plan(TypedDict):
    """How the budget's answers are sampled once the token budget has had its say."""

    samples: int
    partitions: int
    docs: int
    slices: list[list[int]]  # per partition, the document numbers (from 1) it reads


class Draft(TypedDict):
    """One sampled answer: its text (citations numbered over all the budget's documents)."""

    text: str
    sample: int
    partition: int
    confidence: float | None  # mean token probability, when the model returns logprobs
    id: NotRequired[str]  # the reply's message id, when its tokens were streamed as the answer


class Turn(TypedDict):
    """One earlier (question, answer) of a conversation thread."""

    question: str
    answer: str


class Citation(TypedDict, total=False):
    """One passage the answer cites."""

    n: int  # its number in the answer's [n] markers
    id: str  # the chunk's id
    source: str | None  # the document it comes from (a file's name, a record's source)
    title: str | None
    page: int  # the PDF page, from 1, when the passage is a PDF's
    section: str  # the heading path of the HTML, Word or Markdown section ("Chapter › Section"), when it has one
    cited_text: str  # the passage as the answer read it
    rerank_score: float | None


class Compute(TypedDict, total=False):
    """What a run spent and why it stopped."""

    tokens: int  # input + output over every model call
    max_tokens_per_query: int | None  # the run's token budget (None: none)
    samples: int  # answers sampled
    partitions: int  # document slices the samples read
    selection: str  # how one answer was picked from several
    refine_rounds: int
    degraded: list[str]  # what the token budget or the model's window cut, in order
    retries: dict[str, int]  # per node: attempts the retry policy added
    fallbacks: dict[str, int]  # per node: calls the fallback provider answered
    stop_reason: str  # answered, converged, refinement cap, token budget, unanswerable, easy: …
    cache: dict[str, dict[str, int]]  # per cache (answer, retrieve, rerank): hits and misses
    answer_cache: dict[str, float]  # when the answer came from the answer cache: its age, the tokens it saved
