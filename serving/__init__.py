"""Serving ragloop on a LangGraph server: API-key auth, custom routes (/health, /ragloop/metrics) and Prometheus metrics."""
