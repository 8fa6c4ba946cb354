"""Enrolling at most once: a marker in `comments` lets the client find an order it may have placed.

Enroll is not idempotent at SCM, and a timeout, reset or 5xx does not say whether the order was
created. So the marker (unique per broker request) goes into `comments`, and before every
enroll - the first one too, since a crashed worker may have sent one - the client looks for an
order carrying it. SCM's list has no `comments` filter, so candidates are listed by
`commonName` (a contract filter that works on the real SCM) and their details are checked for
the marker, newest first.
"""

from __future__ import annotations

import dataclasses
import logging

from cryptography import x509
from cryptography.x509.oid import NameOID

from app.issuers.scm.errors import ScmError
from app.issuers.scm.session import ScmSession, json_of
from app.issuers.scm.ssl_models import CertificateSummary, EnrollRequest, EnrollResult

log = logging.getLogger("certbroker.scm")

# How many same-CN orders, newest first, are opened to look for the marker.
MARKER_SEARCH_DEPTH = 25


def with_marker(comments: str | None, marker: str) -> str:
    """`comments` with `[marker]` in front; first, so SCM's 1024-character cut never hits it."""
    tag = f"[{marker}]"
    if comments and tag in comments:
        return comments
    return f"{tag} {comments}"[:1024] if comments else tag


def carries_marker(comments: str | None, marker: str) -> bool:
    # Bracketed, so marker "x:1" does not match an order marked "x:12".
    return f"[{marker}]" in (comments or "")


class EnrollEndpoints:
    session: ScmSession

    async def enroll(self, request: EnrollRequest) -> EnrollResult:
        """One raw `POST /ssl/v1/enroll`, never retried. Prefer `enroll_once`."""
        response = await self.session.request("POST", "ssl/v1/enroll", json=request.to_json())
        return EnrollResult.from_json(json_of(response))

    async def find_order(self, common_name: str, marker: str) -> int | None:
        """The sslId of an order for `common_name` whose comments carry `marker`, if any."""
        listing = self.session.paginate(
            "ssl/v1", CertificateSummary.from_json, commonName=common_name
        )
        ids = [summary.ssl_id async for summary in listing]
        for ssl_id in sorted(ids, reverse=True)[:MARKER_SEARCH_DEPTH]:
            data = json_of(await self.session.request("GET", f"ssl/v1/{ssl_id}"))
            if carries_marker(data.get("comments"), marker):
                return ssl_id
        return None

    async def enroll_once(
        self, request: EnrollRequest, marker: str, *, attempts: int = 3
    ) -> EnrollResult:
        """Enroll unless an order with `marker` exists; recover from ambiguous failures.

        Returns the existing order (`recovered=True`, `renew_id` unknown) or the new one.
        Non-ambiguous errors (validation, auth, 429) are raised at once: SCM did not act.
        An ambiguous error is raised only if the lookup itself keeps failing or `attempts`
        enrolls all ended ambiguously.
        """
        request = dataclasses.replace(request, comments=with_marker(request.comments, marker))
        common_name = _common_name(request)
        existing = await self.find_order(common_name, marker)
        if existing is not None:
            log.info("scm enroll skipped: order %s already carries the marker", existing)
            return EnrollResult(ssl_id=existing, renew_id=None, recovered=True)
        for attempt in range(1, attempts + 1):
            try:
                return await self.enroll(request)
            except ScmError as error:
                if not error.ambiguous or attempt == attempts:
                    raise
                log.warning("scm enroll attempt %d ambiguous (%s)", attempt, type(error).__name__)
            existing = await self.find_order(common_name, marker)
            if existing is not None:
                log.info("scm enroll recovered order %s after an ambiguous failure", existing)
                return EnrollResult(ssl_id=existing, renew_id=None, recovered=True)
        raise AssertionError("unreachable")  # pragma: no cover


def _common_name(request: EnrollRequest) -> str:
    """The CN SCM will record: taken from the CSR, since that is what SCM reads."""
    pem = request.csr.strip()
    if not pem.startswith("-----"):
        pem = f"-----BEGIN CERTIFICATE REQUEST-----\n{pem}\n-----END CERTIFICATE REQUEST-----"
    csr = x509.load_pem_x509_csr(pem.encode())
    names = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if names:
        return str(names[0].value)
    return request.sans[0] if request.sans else ""
