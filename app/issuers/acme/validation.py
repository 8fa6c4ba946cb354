"""The authorization phase of one order: publish responses, tell the CA, wait for the verdict."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, NoReturn

from app.issuers.acme.challenges import ChallengeSolver, PresentedChallenge
from app.issuers.acme.client import VALIDATION_FIRST_POLL, AcmeAccount, AcmeClient
from app.issuers.acme.errors import ValidationFailed, problem_from_document
from app.issuers.acme.models import Authorization, Order


class Validation:
    def __init__(
        self, client: AcmeClient, account: AcmeAccount, solver: ChallengeSolver, budget: float
    ) -> None:
        self.client = client
        self.account = account
        self.solver = solver
        self.budget = budget
        self._authorizations: dict[str, Authorization] = {}

    async def publish(self, order: Order, state: dict[str, Any]) -> bool:
        """Publish a response for each pending authorization not yet handled; valid ones
        (reused, or pre-validated like Sectigo's with its own challenge types) are skipped
        before their challenge types are even looked at. True when something was published."""
        authzs = await self._fetch(order.authorizations)
        failed = [a for a in authzs if a.status not in ("pending", "valid")]
        if failed:
            _raise_authorization_failure(failed[0])
        presented = state.setdefault("challenges", {})
        new = [a for a in authzs if a.status == "pending" and a.url not in presented]
        if not new:
            return False
        outcomes = await asyncio.gather(
            *(self.solver.present(self.account.key, a) for a in new), return_exceptions=True
        )
        # Record what did get published before raising, so cleanup can find it.
        done = [o for o in outcomes if isinstance(o, PresentedChallenge)]
        for result in done:
            presented[result.authz_url] = result.to_state()
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        if errors:
            raise errors[0]
        await self.solver.wait_until_visible(done)
        return True

    async def complete(self, order: Order, state: dict[str, Any]) -> tuple[Order, float | None]:
        """Ask the CA to validate, then wait up to the budget by polling the order (one request
        per poll whatever the number of names; authorizations are read again only to explain
        a failure). Returns the order and None once it is past `pending`, else seconds to wait
        before the next step."""
        responded: list[str] = state.setdefault("responded", [])
        if any(url not in responded for url in order.authorizations):
            authzs = await self._fetch(order.authorizations)
            for authz in authzs:
                if authz.status != "pending" or authz.url in responded:
                    continue
                chosen = PresentedChallenge.from_state(state["challenges"][authz.url])
                current = next((c for c in authz.challenges if c.url == chosen.challenge_url), None)
                # Answering a challenge that is already processing is an error at some CAs.
                if current is None or current.status == "pending":
                    await self.client.respond_challenge(self.account, chosen.challenge_url)
                responded.append(authz.url)
            if all(a.status == "valid" for a in authzs):
                # Every authorization is valid, so the order is ready (RFC 8555 §7.1.6): no
                # need to fetch it again; a CA that lags says orderNotReady on finalize.
                return dataclasses.replace(order, status="ready"), None
        order = await self.client.poll_order(
            self.account,
            order.url,
            {"ready", "processing", "valid", "invalid"},
            self.budget,
            first=VALIDATION_FIRST_POLL,
        )
        if order.status == "invalid":
            await self.raise_order_failure(order)
        if order.status == "pending":
            return order, order.retry_after if order.retry_after is not None else 0.25
        return order, None

    async def raise_order_failure(self, order: Order) -> NoReturn:
        authzs = await self._fetch(order.authorizations, refresh=True)
        for authz in authzs:
            if authz.status not in ("pending", "valid"):
                _raise_authorization_failure(authz)
        if order.error:
            raise problem_from_document(order.error)
        raise ValidationFailed(
            "urn:ietf:params:acme:error:orderInvalid", f"the order {order.url} became invalid"
        )

    async def _fetch(self, urls: tuple[str, ...], refresh: bool = False) -> list[Authorization]:
        missing = [u for u in urls if refresh or u not in self._authorizations]
        fetched = await asyncio.gather(
            *(self.client.get_authorization(self.account, u) for u in missing)
        )
        self._authorizations.update((a.url, a) for a in fetched)
        return [self._authorizations[u] for u in urls]


def _raise_authorization_failure(authz: Authorization) -> NoReturn:
    name = f"*.{authz.identifier}" if authz.wildcard else authz.identifier
    challenge = authz.failed_challenge()
    if challenge is not None and challenge.error:
        problem = problem_from_document(challenge.error, validation=True)
        problem.identifier = name
        raise problem
    raise ValidationFailed(
        "urn:ietf:params:acme:error:unauthorized",
        f"the authorization is {authz.status}",
        identifier=name,
    )
