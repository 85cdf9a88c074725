"""Pure logic the nodes share: no model, index, file or network; each function a value in, a value out.

questions (validation, follow-ups) · passages (how the model sees them) · answers (normalising, voting,
"not found") · citations · logprobs (reading a reply's token probabilities and verdicts) · usage (token
accounting) · budget (the per-question token budget and the budget table's caps) · difficulty (levels
and the reranker-score confidence).
"""
