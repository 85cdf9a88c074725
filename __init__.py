"""ragloop: an agentic RAG LangGraph graph that spends inference compute where a question needs it.

The compiled graph lives in :mod:`ragloop.graph`; import it from there so that
importing this package stays cheap.
"""

__version__ = "0.1.0"
