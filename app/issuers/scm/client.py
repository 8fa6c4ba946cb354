"""`ScmClient`: the async Sectigo Certificate Manager client, one per SCM endpoint + identity.

The endpoint groups live in their own modules (ssl, enroll, organizations, domains, dcv,
acme_accounts, reports) and are mixed in here so callers see one flat, typed API; every call
goes through one `ScmSession` (shared httpx client, auth strategy, retries, logging) and raises
only `app.issuers.scm.errors.ScmError` subclasses.
"""

from __future__ import annotations

import ssl
from types import TracebackType

import httpx

from app.issuers.scm.acme_accounts import AcmeAccountEndpoints
from app.issuers.scm.auth import ScmAuth
from app.issuers.scm.dcv import DcvEndpoints
from app.issuers.scm.domains import DomainEndpoints
from app.issuers.scm.enroll import EnrollEndpoints
from app.issuers.scm.organizations import OrganizationEndpoints
from app.issuers.scm.reports import ReportEndpoints
from app.issuers.scm.retry import RetryPolicy
from app.issuers.scm.session import DEFAULT_TIMEOUT, ScmSession
from app.issuers.scm.ssl import SslEndpoints


class ScmClient(
    SslEndpoints,
    EnrollEndpoints,
    OrganizationEndpoints,
    DomainEndpoints,
    DcvEndpoints,
    AcmeAccountEndpoints,
    ReportEndpoints,
):
    """Talks to one SCM base URL, e.g. `https://cert-manager.com/api`,
    `https://cert-manager.com/private/api` (client certificate) or
    `https://admin.enterprise.sectigo.com/api` (OAuth).

    Build it once and share it; `aclose()` (or `async with`) closes the httpx client if this
    object built it.
    """

    def __init__(
        self,
        base_url: str,
        auth: ScmAuth,
        *,
        http: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | str | bool = True,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.session = ScmSession(
            base_url,
            auth,
            http=http,
            transport=transport,
            verify=verify,
            timeout=timeout,
            retry=retry,
        )

    @property
    def auth(self) -> ScmAuth:
        return self.session.auth

    async def aclose(self) -> None:
        await self.session.aclose()

    async def __aenter__(self) -> ScmClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"ScmClient({self.session.base_url!r}, {self.session.auth!r})"
