"""Prompt templates, one module per role. Templates only: formatting and parsing live in logic/ and nodes/.

Every role that reads passages puts them first, right after the shared system
message, so a local model's prompt cache evaluates them once across roles.
"""
