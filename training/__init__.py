"""Recipes that produce files ragloop ships (the local reranker)."""
