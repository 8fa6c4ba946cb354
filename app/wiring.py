"""Which backends and job handlers this build has; one place, called by the API and the worker."""

from __future__ import annotations

from app.runtime import Runtime


def register_job_handlers() -> None:
    """Import every domain's jobs module; importing one registers its handlers."""
    import app.acme_server.jobs
    import app.approvals.jobs
    import app.certificates.jobs
    import app.domains.jobs
    import app.domains.sync
    import app.inventory.jobs
    import app.lifecycle.jobs
    import app.webhooks.jobs  # noqa: F401


def register_backends(runtime: Runtime) -> None:
    """Fill the runtime's issuer and DNS provider registries with the real backends."""
    import httpx

    from app.acme_state.store import DbAccountStore, DbHttp01Responder
    from app.dns.lexicon_catalog import catalog as lexicon_catalog
    from app.dns.netpolicy import dns_egress_check
    from app.dns.registry import default_dns_registry
    from app.issuers.acme.issuer import AcmeIssuer
    from app.issuers.scm.issuer import ScmIssuer
    from app.issuers.scm.pool import ScmClientPool
    from app.metrics.issuers import observed

    runtime.dns_providers = default_dns_registry(dns_egress_check(runtime))
    # Lexicon's provider modules load once here (about a second), not inside a request.
    lexicon_catalog()
    # One SCM call may take the jobs' CA call timeout, well inside the job timeout.
    runtime.scm_pool = ScmClientPool(
        timeout=httpx.Timeout(runtime.settings.jobs.ca_call_timeout_seconds, connect=10.0),
        egress=runtime.egress,
    )
    scm = ScmIssuer(runtime.scm_pool)
    acme = AcmeIssuer(
        DbAccountStore(runtime),
        http01=DbHttp01Responder(runtime),
        dns_providers=runtime.dns_providers,
        egress=runtime.egress,
    )
    # Wrapped so every CA operation lands in the CA-call histogram on /metrics.
    runtime.issuers.register(observed(scm))
    runtime.issuers.register(observed(acme))
    runtime.closers += [acme.aclose, scm.aclose]
