"""One module per node of the question graph (and `indexing` for the indexing graph's two steps).

A node is a small function of ``(state, runtime)`` returning a partial state update. Nodes import only
lower layers (settings, state, logic, providers, prompts, retrieval, persistence), never each other.
"""
