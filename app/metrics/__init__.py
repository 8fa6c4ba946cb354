"""Prometheus metrics: the broker's own registry, the counters others record into, /metrics.

Operating it: every process counts for itself, so scrape each one.
- The API serves `GET /metrics` (Prometheus text format, not in the OpenAPI document). It needs
  a bearer token with `platform:admin` unless `CERTBROKER_METRICS_PUBLIC=true`; only the API
  serves the per-certificate expiry gauge (read from the database at scrape time, issued
  certificates only, capped by `CERTBROKER_INVENTORY__EXPIRY_GAUGE_LIMIT`).
- Each worker serves its job, CA-call, renewal, alert and webhook counters on
  `CERTBROKER_WORKER_METRICS_PORT` (unauthenticated; bound to `CERTBROKER_WORKER_METRICS_HOST`,
  127.0.0.1 unless set, e.g. 0.0.0.0 in a container the scraper reaches over a private network).
Sum counters across processes in PromQL (`sum without (instance) (...)`).
"""
