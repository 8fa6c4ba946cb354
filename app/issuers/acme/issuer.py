"""AcmeIssuer: the "acme" backend, driving one RFC 8555 order per IssueRequest step by step.

State (`IssueRequest.state`, JSON):
    order_url        set by newOrder; every later step works on this order, never a new one
    challenges       {authz URL: PresentedChallenge} published for pending authorizations
    responded        authz URLs whose challenge the CA was told to validate
    finalized        True once the CSR was sent (or the order was found past `ready`)
    certificate_url  set once the certificate was downloaded

Persistence points: without a `checkpoint` callback (the request's, else the issuer's),
`advance` returns PENDING with `retry_after=0` right after newOrder and after publishing
challenges, so the job commits those states before anything else happens. With a `checkpoint`,
`advance` awaits it with the state at those points and carries on in the same call (fewer job
round trips, no re-reading of the order); if the checkpoint raises, so does `advance`, and the
order it could not record is left to expire at the CA. Answering challenges, finalizing and
downloading may share one call: all are safe to repeat from the last persisted state (a
challenge no longer `pending` is not answered again; an order found `processing` or `valid` is
not finalized again). Waiting happens inside `advance` only for a short `poll_budget` (the order
is polled, not each authorization); longer waits (Retry-After, slow validations) come back as
PENDING with `retry_after`. Transient errors (rate limits, badNonce exhaustion, network) come
back as PENDING too; everything else is FAILED with a `reason` written for the requester.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import ValidationError

from app.dns.base import DnsProvider, DnsProviderRegistry
from app.dns.errors import DnsProviderError
from app.egress.policy import EgressPolicy, EgressRefused, EgressUnresolved
from app.issuers.acme.accounts import AcmeAccountStore
from app.issuers.acme.certificates import download_preferred_chain, issued_certificate
from app.issuers.acme.challenges import ChallengeSolver, PresentedChallenge
from app.issuers.acme.client import AcmeAccount, AcmeClient
from app.issuers.acme.config import AcmeConfig
from app.issuers.acme.connections import AcmeConnections
from app.issuers.acme.errors import (
    PREFIX,
    AcmeError,
    BadCsr,
    ChallengeSetupFailed,
    OrderNotReady,
)
from app.issuers.acme.http01 import Http01Responder, WebrootHttp01Responder
from app.issuers.acme.jws import AccountKey
from app.issuers.acme.models import RenewalInfo
from app.issuers.acme.validation import Validation
from app.issuers.base import Checkpoint, IssueRequest, StepOutcome, StepResult

log = logging.getLogger(__name__)
# A transient failure without a server hint: soon enough to matter, slow enough not to hammer.
TRANSIENT_RETRY = 30.0


class AcmeIssuer:
    name = "acme"

    def __init__(
        self,
        accounts: AcmeAccountStore,
        *,
        http: httpx.AsyncClient | None = None,
        http01: Http01Responder | None = None,
        dns_providers: DnsProviderRegistry | None = None,
        checkpoint: Checkpoint | None = None,
        poll_budget: float = 2.0,
        egress: EgressPolicy | None = None,
    ) -> None:
        self.connections = AcmeConnections(accounts, http, egress)
        self.http01 = http01
        self.dns_providers = dns_providers
        self.checkpoint = checkpoint
        self.poll_budget = poll_budget
        self._dns: dict[str, DnsProvider] = {}

    async def aclose(self) -> None:
        await self.connections.aclose()

    # Issuer protocol -------------------------------------------------------------------

    async def advance(self, request: IssueRequest) -> StepResult:
        state = copy.deepcopy(request.state)
        try:
            config = AcmeConfig.model_validate(request.backend_config)
        except ValidationError as exc:
            return StepResult(StepOutcome.FAILED, state, reason=f"invalid ACME settings: {exc}")
        solver: ChallengeSolver | None = None
        try:
            client, account = await self.connections.open(config)
            solver = self._solver(config)
            return await self._advance(request, config, client, account, solver, state)
        except EgressUnresolved as exc:
            return StepResult(
                StepOutcome.PENDING, state, retry_after=TRANSIENT_RETRY, reason=exc.reason
            )
        except EgressRefused as exc:
            log.warning("request %s: %s", request.request_id, exc.detail)
            return StepResult(
                StepOutcome.FAILED, state, reason=f"refused by the egress policy: {exc.reason}"
            )
        except AcmeError as exc:
            if await self.connections.registrar.refresh_if_stale(config):
                # Another process rolled the key over: the next step uses the stored one.
                return StepResult(
                    StepOutcome.PENDING, state, retry_after=0.0, reason=exc.user_message
                )
            if exc.transient:
                wait = getattr(exc, "retry_after", None) or TRANSIENT_RETRY
                return StepResult(
                    StepOutcome.PENDING, state, retry_after=wait, reason=exc.user_message
                )
            log.warning(
                "request %s: ACME order %s failed: %s",
                request.request_id,
                state.get("order_url"),
                exc,
            )
            if solver is not None:
                await self._cleanup(solver, state)
            return StepResult(
                StepOutcome.FAILED,
                state,
                reason=exc.user_message,
                detail={"acme_error": type(exc).__name__},
            )

    async def cancel(self, request: IssueRequest) -> None:
        """Deactivate the order's pending authorizations and remove published responses."""
        config = AcmeConfig.model_validate(request.backend_config)
        state = request.state
        try:
            client, account = await self.connections.open(config)
            if state.get("order_url") and not state.get("finalized"):
                order = await client.get_order(account, state["order_url"])
                for url in order.authorizations:
                    authz = await client.get_authorization(account, url)
                    if authz.status == "pending":
                        await client.deactivate_authorization(account, url)
            await self._cleanup(self._solver(config), state)
        except AcmeError as exc:
            log.warning("cancelling ACME order %s: %s", state.get("order_url"), exc)

    async def revoke(
        self, backend_config: dict[str, Any], certificate_pem: str, backend_ref: str, reason: int
    ) -> None:
        config = AcmeConfig.model_validate(backend_config)
        client, account = await self.connections.open(config)
        await client.revoke_certificate(account, certificate_pem, reason)

    # Beyond the protocol ---------------------------------------------------------------

    async def renewal_info(
        self, backend_config: dict[str, Any], certificate_pem: str
    ) -> RenewalInfo | None:
        config = AcmeConfig.model_validate(backend_config)
        return await self.connections.client(config).renewal_info(certificate_pem)

    async def rollover_account_key(
        self, backend_config: dict[str, Any], new_key: AccountKey | None = None
    ) -> AcmeAccount:
        config = AcmeConfig.model_validate(backend_config)
        return await self.connections.registrar.rollover(
            self.connections.client(config), config, new_key
        )

    # Steps -----------------------------------------------------------------------------

    async def _advance(
        self,
        request: IssueRequest,
        config: AcmeConfig,
        client: AcmeClient,
        account: AcmeAccount,
        solver: ChallengeSolver,
        state: dict[str, Any],
    ) -> StepResult:
        validation = Validation(client, account, solver, self.poll_budget)
        order = None
        if "order_url" not in state:
            names = list(dict.fromkeys(name.lower().rstrip(".") for name in request.sans))
            order = await client.new_order(account, names)
            state["order_url"] = order.url
            log.info("request %s: ACME order %s (%s)", request.request_id, order.url, order.status)
            if await self._stop_here(request, state):
                return _again(state)
        if not state.get("finalized"):
            order = order or await client.get_order(account, state["order_url"])
            if order.status == "invalid":
                await validation.raise_order_failure(order)
            if order.status == "pending":
                published = await validation.publish(order, state)
                if published and await self._stop_here(request, state):
                    return _again(state)
                order, wait = await validation.complete(order, state)
                if wait is not None:
                    return _again(state, wait)
            if order.status == "ready":
                try:
                    csr = x509.load_pem_x509_csr(request.csr_pem.encode())
                except ValueError as exc:
                    raise BadCsr(
                        PREFIX + "badCSR", f"not a PEM certificate request: {exc}"
                    ) from exc
                try:
                    order = await client.finalize_order(
                        account, order, csr.public_bytes(serialization.Encoding.DER)
                    )
                except OrderNotReady:
                    return _again(state, 0.25)
            # Not a persistence point: a step retried from the last one finds the order
            # `processing` or `valid` and does not finalize it again.
            state["finalized"] = True
            log.info("request %s: ACME order %s finalized", request.request_id, order.url)
        if order is None or order.status != "valid":
            order = await client.poll_order(
                account, state["order_url"], {"valid", "invalid"}, self.poll_budget
            )
        if order.status == "invalid":
            await validation.raise_order_failure(order)
        if order.status != "valid" or not order.certificate:
            return _again(state, order.retry_after or 0.5)
        chain = await download_preferred_chain(
            client, account, order.certificate, config.preferred_chain
        )
        state["certificate_url"] = chain.url
        await self._cleanup(solver, state)
        return StepResult(StepOutcome.ISSUED, state, certificate=issued_certificate(chain))

    async def _stop_here(self, request: IssueRequest, state: dict[str, Any]) -> bool:
        """At a persistence point: hand the state to the checkpoint (the request's, else the
        issuer's), or return it to the job."""
        checkpoint = request.checkpoint or self.checkpoint
        if checkpoint is None:
            return True
        await checkpoint(request, copy.deepcopy(state))
        return False

    async def _cleanup(self, solver: ChallengeSolver, state: dict[str, Any]) -> None:
        for data in state.get("challenges", {}).values():
            try:
                await solver.cleanup(PresentedChallenge.from_state(data))
            except Exception as exc:  # cleanup must not turn an issued certificate into a failure
                log.warning(
                    "could not remove challenge response for %s: %s", data.get("identifier"), exc
                )

    def _solver(self, config: AcmeConfig) -> ChallengeSolver:
        http01: list[Http01Responder] = [self.http01] if self.http01 is not None else []
        if config.webroot:
            http01.append(WebrootHttp01Responder(config.webroot))
        return ChallengeSolver(
            http01,
            self._dns_provider(config),
            config.challenge_types,
            config.dns_propagation_timeout,
        )

    def _dns_provider(self, config: AcmeConfig) -> DnsProvider | None:
        if not config.dns_provider or self.dns_providers is None:
            return None
        cache_key = json.dumps(
            [config.dns_provider, config.dns_config], sort_keys=True, default=str
        )
        if cache_key not in self._dns:
            try:
                provider = self.dns_providers.create(config.dns_provider, config.dns_config)
            except (LookupError, DnsProviderError) as exc:
                raise ChallengeSetupFailed(f"DNS provider {config.dns_provider!r}: {exc}") from exc
            self._dns[cache_key] = provider
        return self._dns[cache_key]


def _again(state: dict[str, Any], retry_after: float = 0.0) -> StepResult:
    return StepResult(StepOutcome.PENDING, state, retry_after=retry_after)
