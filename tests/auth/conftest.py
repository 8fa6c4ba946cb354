"""Auth tests use the suite's `runtime`/`api` fixtures (tests/fixtures/app.py) on SQLite and
PostgreSQL; each test makes its own tenants and clients, so tests share one database."""

from __future__ import annotations

import pytest

from app.auth.state import auth_state
from app.runtime import Runtime


@pytest.fixture
def fresh_auth_caches(runtime: Runtime) -> Runtime:
    """For tests that change keys or statuses behind the API's back."""
    state = auth_state(runtime)
    state.keyring.invalidate()
    state.status.clear()
    return runtime
