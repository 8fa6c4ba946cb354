"""The end-to-end environment of tests/certificates (API over HTTP, worker, SCM simulator)."""

from tests.certificates.conftest import live_api, tenant, worker  # noqa: F401
