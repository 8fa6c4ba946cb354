"""Which backends and job handlers this build has; one place, called by the API and the worker."""

from __future__ import annotations

from app.runtime import Runtime


def register_job_handlers() -> None:
    """Import every domain's jobs module; importing one registers its handlers."""


def register_backends(runtime: Runtime) -> None:
    """Fill the runtime's issuer and DNS provider registries (backends land with their issues)."""
