"""An organization's SCM client: its decrypted settings, validated, on the runtime's shared pool."""

from __future__ import annotations

from app.issuers.scm.client import ScmClient
from app.issuers.scm.config import ScmBackendConfig
from app.organizations.models import Organization
from app.organizations.service import scm_backend_config
from app.runtime import Runtime


def scm_client_for(runtime: Runtime, org: Organization) -> tuple[ScmBackendConfig, ScmClient]:
    """Raises `Unprocessable` without SCM settings and `ValueError` when they are invalid."""
    if runtime.scm_pool is None:
        raise RuntimeError("the SCM backend is not registered (app.wiring.register_backends)")
    config = ScmBackendConfig.model_validate(scm_backend_config(org, runtime.secretbox))
    return config, runtime.scm_pool.get(config)
