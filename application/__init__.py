"""What the CLI, the server routes, the benchmarks and the training recipe share: a Context from the
caller's overrides, indexing files, asking a question (in a thread or not), the demo corpus.

Nothing here prints: callers pass callbacks for progress.
"""
