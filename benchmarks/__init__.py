"""Benchmarks on SQuAD-format data: retrieval quality and latency (more in later work)."""
