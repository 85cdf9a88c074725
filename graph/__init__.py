"""The wiring: the question graph (`builder.graph`), the indexing graph (`indexing.index_graph`), the named
routing functions between nodes, and the instrumentation every node runs in.

Importing this package builds nothing; import `ragloop.graph.builder` for the compiled graph.
"""
