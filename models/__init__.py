"""Model files ragloop ships as package data: the local cross-encoder reranker (see its MODEL_CARD.md)."""
