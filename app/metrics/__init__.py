"""Prometheus metrics: the broker's own registry, the counters others record into, /metrics."""
