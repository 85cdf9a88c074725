"""Serving ragloop on a LangGraph server: API-key auth, custom routes (/health, /metrics) and Prometheus metrics."""
