"""`ScmIssuer`: drives one SCM order step by step behind the broker's Issuer protocol.

State machine kept in `request.state` (each `advance` makes at most one side-effecting call):

    step "enroll"  -> enroll_once(marker "certbroker:<request_id>") -> ssl_id, renew_id
    step "collect" -> read details: Issued -> collect + ISSUED; Declined/Rejected/Invalid/... ->
                      FAILED; Requested with approve_at_ca -> approve once (state "approved");
                      otherwise PENDING with a short, growing retry_after
    step "done"    -> collect again (harmless) and report ISSUED

Validation errors become FAILED with a reason naming the problem; CA unavailable, rate
limiting, 5xx and transport trouble become PENDING with a retry_after.
"""

from __future__ import annotations

import logging
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from app.egress.policy import EgressRefused, EgressUnresolved
from app.issuers.base import IssuedCertificate, IssueRequest, StepOutcome, StepResult
from app.issuers.scm.chain import to_pem
from app.issuers.scm.client import ScmClient
from app.issuers.scm.config import ScmBackendConfig
from app.issuers.scm.errors import (
    ScmAuthError,
    ScmError,
    ScmNotFoundError,
    ScmPendingError,
    ScmProtocolError,
    ScmRateLimitedError,
    ScmTransportError,
    ScmValidationError,
)
from app.issuers.scm.pool import ScmClientPool
from app.issuers.scm.products import ProfileCatalog, UnknownProductError
from app.issuers.scm.revocation import revoke_certificate
from app.issuers.scm.ssl_models import EnrollRequest

log = logging.getLogger("certbroker.scm")

NOT_APPROVABLE = -1112  # "cannot approve in current state"
TERMINAL_STATUSES = {"Declined", "Rejected", "Invalid", "Revoked", "Expired", "Replaced"}
# SCM codes whose meaning is worth spelling out in a reason a user can act on.
CODE_HINTS = {
    -36: "term {term} not allowed for profile {profile}",
    -62: "a mandatory custom field is missing",
    -107: "domain control validation is incomplete or expired for a name",
    -737: "domain control validation is missing",
    -1137: "domain control validation is missing",
    -9: "the CSR is not valid base64",
    -10: "the CSR cannot be decoded",
    -11: "the CSR's key algorithm is not supported",
    -13: "the CSR's key size is not supported",
    -141: "the CSR's key is too small",
    -170: "ECC CSRs are not allowed for this customer",
    -843: "the organization's validation status does not allow this profile",
}


def marker_for(request: IssueRequest) -> str:
    return f"certbroker:{request.request_id}"


def _poll_delay(polls: int) -> float:
    return min(2.0, 0.5 * 1.3**polls)


def _key_bytes(public_key: Any) -> bytes:
    return public_key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


class ScmIssuer:
    """The "scm" backend. Build once; it shares one client per SCM endpoint and identity."""

    name = "scm"

    def __init__(
        self, pool: ScmClientPool | None = None, catalog: ProfileCatalog | None = None
    ) -> None:
        self.pool = pool if pool is not None else ScmClientPool()  # an empty pool is falsy
        self.catalog = catalog or ProfileCatalog()

    async def aclose(self) -> None:
        await self.pool.aclose()

    def client_for(self, backend_config: dict[str, Any]) -> tuple[ScmBackendConfig, ScmClient]:
        config = ScmBackendConfig.model_validate(backend_config)
        return config, self.pool.get(config)

    async def advance(self, request: IssueRequest) -> StepResult:
        state = dict(request.state)
        try:
            config, client = self.client_for(request.backend_config)
        except ValueError as exc:
            return _failed(state, f"SCM configuration is invalid: {exc}")
        step = state.get("step", "enroll")
        try:
            if step == "enroll":
                return await self._enroll(client, config, request, state)
            if step in ("collect", "done"):
                return await self._collect(client, config, request, state)
            return _failed(state, state.get("reason") or "order failed earlier")
        except UnknownProductError as exc:
            return _failed(state, str(exc))
        except ScmError as exc:
            return _from_error(state, exc)
        except EgressRefused as exc:
            return _failed(state, f"refused by the egress policy: {exc.reason}")
        except EgressUnresolved as exc:
            return _from_error(state, ScmTransportError(exc.reason))

    async def _enroll(
        self,
        client: ScmClient,
        config: ScmBackendConfig,
        request: IssueRequest,
        state: dict[str, Any],
    ) -> StepResult:
        profile = await self.catalog.resolve(
            client, config.org_id, request.product, config.profile_overrides
        )
        state.update(profile_id=profile.id, profile_name=profile.name, term=request.term_days)
        cn = request.common_name.casefold()
        enroll = EnrollRequest(
            org_id=config.org_id,
            csr=request.csr_pem,
            cert_type=profile.id,
            term=request.term_days,
            sans=[name for name in request.sans if name.casefold() != cn],
            comments=request.comments,
            external_requester=request.requester_email or config.external_requester,
            custom_fields=config.custom_fields,
            dcv_mode=config.dcv_mode,
            dcv_email=config.dcv_email,
        )
        result = await client.enroll_once(enroll, marker_for(request))
        state.update(step="collect", ssl_id=result.ssl_id, polls=0)
        if result.renew_id:
            state["renew_id"] = result.renew_id
        verb = "found existing" if result.recovered else "placed"
        return StepResult(
            StepOutcome.PENDING,
            state,
            retry_after=_poll_delay(0),
            reason=f"{verb} SCM order {result.ssl_id} ({profile.name}, {request.term_days} days)",
            detail={"ssl_id": result.ssl_id},
        )

    async def _collect(
        self,
        client: ScmClient,
        config: ScmBackendConfig,
        request: IssueRequest,
        state: dict[str, Any],
    ) -> StepResult:
        ssl_id = int(state["ssl_id"])
        polls = int(state.get("polls", 0))
        state["polls"] = polls + 1
        details = await client.details(ssl_id)
        state["scm_status"] = details.status
        if details.status in TERMINAL_STATUSES:
            return _failed(state, f"SCM order {ssl_id} is {details.status.lower()}")
        if details.status == "Issued":
            return await self._issued(client, config, request, state, ssl_id)
        approve = config.approve_at_ca or bool(state.get("approve_at_ca"))
        if details.status == "Requested" and approve and not state.get("approved"):
            # At most once: a refused approval (e.g. -1140, own EV request) is left to a human.
            state["approved"] = True
            try:
                await client.approve(ssl_id, f"approved in certbroker ({request.request_id})")
            except ScmValidationError as exc:
                if exc.code == NOT_APPROVABLE:  # moved past Requested meanwhile: nothing to do
                    return StepResult(StepOutcome.PENDING, state, retry_after=_poll_delay(polls))
                state["approval_error"] = str(exc)
                return StepResult(
                    StepOutcome.PENDING, state, retry_after=30.0,
                    reason=f"SCM refused the approval of order {ssl_id}; approve it in SCM "
                    f"(SCM {exc.code}: {exc.description})",
                )  # fmt: skip
            return StepResult(
                StepOutcome.PENDING, state, retry_after=_poll_delay(0),
                reason=f"approved SCM order {ssl_id}",
            )  # fmt: skip
        return StepResult(
            StepOutcome.PENDING, state, retry_after=_poll_delay(polls),
            detail={"ssl_id": ssl_id, "scm_status": details.status},
        )  # fmt: skip

    async def _issued(
        self,
        client: ScmClient,
        config: ScmBackendConfig,
        request: IssueRequest,
        state: dict[str, Any],
        ssl_id: int,
    ) -> StepResult:
        try:
            collected = await client.collect_certificate(ssl_id, config.chain_format)
        except ScmPendingError:
            # Details can say Issued a moment before the download is ready.
            return StepResult(StepOutcome.PENDING, state, retry_after=_poll_delay(1))
        leaf = collected.leaf
        csr = x509.load_pem_x509_csr(request.csr_pem.encode())
        if _key_bytes(leaf.public_key()) != _key_bytes(csr.public_key()):
            return _failed(state, f"SCM order {ssl_id} returned a certificate for another key")
        state["step"] = "done"
        certificate = IssuedCertificate(
            leaf_pem=to_pem(leaf),
            chain_pems=[to_pem(c) for c in collected.chain],
            serial_hex=format(leaf.serial_number, "x"),
            not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc,
            backend_ref=str(ssl_id),
        )
        return StepResult(
            StepOutcome.ISSUED, state, certificate=certificate,
            reason=f"SCM order {ssl_id} issued",
        )  # fmt: skip

    async def cancel(self, request: IssueRequest) -> None:
        """Decline the order if SCM still has it as Requested; errors are logged, not raised."""
        try:
            _, client = self.client_for(request.backend_config)
            ssl_id = request.state.get("ssl_id")
            if ssl_id is None:
                ssl_id = await client.find_order(request.common_name, marker_for(request))
            if ssl_id is None:
                return
            if (await client.details(int(ssl_id))).status == "Requested":
                await client.decline(int(ssl_id), f"cancelled in certbroker ({request.request_id})")
        except (ScmError, ValueError) as exc:
            log.warning("scm cancel of %s failed: %s", request.request_id, exc)

    async def revoke(
        self, backend_config: dict[str, Any], certificate_pem: str, backend_ref: str, reason: int
    ) -> None:
        _, client = self.client_for(backend_config)
        await revoke_certificate(client, certificate_pem, backend_ref, reason)


def _failed(state: dict[str, Any], reason: str) -> StepResult:
    state["step"] = "failed"
    state["reason"] = reason
    return StepResult(StepOutcome.FAILED, state, reason=reason)


def _from_error(state: dict[str, Any], exc: ScmError) -> StepResult:
    if isinstance(exc, ScmValidationError | ScmNotFoundError):
        return _failed(state, _validation_reason(state, exc))
    if isinstance(exc, ScmAuthError):
        return _failed(state, f"SCM refused the configured credentials ({exc})")
    errors = int(state.get("transient_errors", 0)) + 1
    state["transient_errors"] = errors
    delay = min(60.0, 2.0 * 2 ** min(errors, 5))
    if isinstance(exc, ScmRateLimitedError) and exc.retry_after is not None:
        delay = exc.retry_after
    if isinstance(exc, ScmProtocolError):
        delay = max(delay, 30.0)
    return StepResult(
        StepOutcome.PENDING, state, retry_after=delay,
        reason=f"SCM temporarily unavailable: {exc}",
    )  # fmt: skip


def _validation_reason(state: dict[str, Any], exc: ScmError) -> str:
    hint = CODE_HINTS.get(exc.code) if exc.code is not None else None
    if hint and "{" in hint:
        text = hint.format(term=state.get("term"), profile=state.get("profile_name"))
        return f"{text} (SCM {exc.code})"
    if hint:  # SCM's description says which name or field; keep it
        said = f": {exc.description.rstrip('.')}" if exc.description else ""
        return f"{hint}{said} (SCM {exc.code})"
    description = exc.description or str(exc)
    return f"SCM refused the request: {description}" + (
        f" (SCM {exc.code})" if exc.code is not None else ""
    )
