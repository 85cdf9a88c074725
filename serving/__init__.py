"""Serving ragloop on a LangGraph server: API-key auth, custom routes (/health, /ragloop/metrics, /index…)
and Prometheus metrics.

Importing this package registers the metrics observer with the graph's instrumentation: the server loads
the auth handler and the routes from here, so every run it serves is counted (and charged to its API key).
"""

from ragloop.serving.metrics import register

register()
