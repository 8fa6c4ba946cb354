"""Behaviour pebble cannot show, against a scripted CA on httpx.MockTransport: Sectigo's
pre-validated authorizations with non-standard challenge types, Retry-After, rate limits."""

from __future__ import annotations

import datetime as dt
import json

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.issuers.acme import AcmeIssuer, InMemoryAccountStore
from app.issuers.base import StepOutcome
from tests.issuers.acme.conftest import drive, make_request

CA = "https://acme.example.test/v2/OV"


def _certificate_pem(name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(0xABC)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=90))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode() * 2  # leaf + "issuer"


class ScriptedCa:
    """Orders whose authorizations are born valid (as Sectigo's for pre-validated domains)."""

    def __init__(
        self,
        rate_limited_orders: int = 0,
        processing_polls: int = 0,
        not_ready: int = 0,
        drops: tuple[str, ...] = (),
    ) -> None:
        self.drops = list(drops)  # paths whose next request finds the connection closed
        self.rate_limited_orders = rate_limited_orders
        self.not_ready = not_ready
        self.processing_polls = processing_polls
        self.calls: list[str] = []
        self.nonce = 0
        self.order_status = "ready"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/v2/OV")
        self.calls.append(path)
        if path in self.drops:
            self.drops.remove(path)
            raise httpx.RemoteProtocolError("Server disconnected", request=request)
        self.nonce += 1
        headers = {"Replay-Nonce": f"nonce-{self.nonce}"}
        order = {
            "status": self.order_status,
            "identifiers": [{"type": "dns", "value": "a.test"}],
            "authorizations": [f"{CA}/authz/1"],
            "finalize": f"{CA}/finalize/1",
        }
        if path == "":
            return httpx.Response(
                200,
                json={
                    k: f"{CA}/{k}"
                    for k in ("newNonce", "newAccount", "newOrder", "revokeCert", "keyChange")
                },
            )
        if path == "/newNonce":
            return httpx.Response(200, headers=headers)
        if path == "/newAccount":
            return httpx.Response(
                201, json={"status": "valid"}, headers={**headers, "Location": f"{CA}/acct/1"}
            )
        if path == "/newOrder":
            if self.rate_limited_orders:
                self.rate_limited_orders -= 1
                return httpx.Response(
                    429,
                    headers={
                        **headers,
                        "Retry-After": "7",
                        "Content-Type": "application/problem+json",
                    },
                    json={
                        "type": "urn:ietf:params:acme:error:rateLimited",
                        "detail": "too many new orders",
                    },
                )
            return httpx.Response(201, json=order, headers={**headers, "Location": f"{CA}/order/1"})
        if path == "/authz/1":
            return httpx.Response(
                200,
                headers={**headers, "Retry-After": "300"},
                json={
                    "identifier": {"type": "dns", "value": "a.test"},
                    "status": "valid",
                    "wildcard": True,
                    "challenges": [
                        {"type": "sectigo-email-01", "url": f"{CA}/chall/1", "status": "valid"}
                    ],
                },
            )
        if path == "/finalize/1":
            assert json.loads(request.content)["payload"]
            if self.not_ready:
                self.not_ready -= 1
                return httpx.Response(
                    403,
                    headers={**headers, "Content-Type": "application/problem+json"},
                    json={"type": "urn:ietf:params:acme:error:orderNotReady"},
                )
            self.order_status = "processing"
            return httpx.Response(
                200, json={**order, "status": "processing"}, headers={**headers, "Retry-After": "0"}
            )
        if path == "/order/1":
            if self.order_status == "processing":
                if self.processing_polls:
                    self.processing_polls -= 1
                    return httpx.Response(
                        200, json=order, headers={**headers, "Retry-After": "600"}
                    )
                self.order_status = "valid"
            return httpx.Response(
                200,
                headers=headers,
                json={**order, "status": self.order_status, "certificate": f"{CA}/cert/1"},
            )
        if path == "/cert/1":
            return httpx.Response(200, text=_certificate_pem("a.test"), headers=headers)
        return httpx.Response(404, headers=headers)


def _issuer(ca: ScriptedCa) -> AcmeIssuer:
    http = httpx.AsyncClient(transport=httpx.MockTransport(ca))
    return AcmeIssuer(InMemoryAccountStore(), http=http, poll_budget=0.5)


CONFIG = {
    "directory_url": CA,
    "eab_kid": "kid",
    "eab_hmac_key": "c2VjcmV0",
    "challenge_types": ["dns-01"],
}


async def test_valid_authorizations_with_unknown_types_are_skipped():
    ca = ScriptedCa()
    request = make_request(["*.a.test"], CONFIG)
    result = await drive(_issuer(ca), request)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    assert request.state.get("challenges", {}) == {}
    assert "/chall/1" not in ca.calls
    assert ca.calls.count("/newOrder") == 1
    assert result.certificate.serial_hex == "abc"
    assert len(result.certificate.chain_pems) == 1


async def test_rate_limit_is_pending_with_the_servers_retry_after():
    ca = ScriptedCa(rate_limited_orders=1)
    issuer = _issuer(ca)
    request = make_request(["a.test"], CONFIG)
    first = await issuer.advance(request)
    assert first.outcome is StepOutcome.PENDING
    assert first.retry_after == 7
    assert "rate limit" in first.reason
    assert "order_url" not in first.state


async def test_long_retry_after_while_processing_is_handed_back_to_the_job():
    ca = ScriptedCa(processing_polls=1)
    issuer = _issuer(ca)
    request = make_request(["a.test"], CONFIG)
    steps = []
    while True:
        result = await issuer.advance(request)
        request.state = result.state
        steps.append((result.outcome, result.retry_after))
        if result.outcome is not StepOutcome.PENDING:
            break
    assert (StepOutcome.PENDING, 600) in steps  # not slept inside advance
    assert result.outcome is StepOutcome.ISSUED
    assert ca.calls.count("/finalize/1") == 1


async def test_order_not_ready_on_finalize_is_retried():
    ca = ScriptedCa(not_ready=2)
    result = await drive(_issuer(ca), make_request(["a.test"], CONFIG))
    assert result.outcome is StepOutcome.ISSUED, result.reason
    assert ca.calls.count("/finalize/1") == 3
    assert ca.calls.count("/newOrder") == 1


async def test_unreadable_csr_fails_clearly():
    request = make_request(["a.test"], CONFIG)
    request.csr_pem = "not a csr"
    result = await drive(_issuer(ScriptedCa()), request)
    assert result.outcome is StepOutcome.FAILED
    assert result.reason.startswith("the certificate signing request is not acceptable")


async def test_dropped_connections_retry_reads_but_not_finalize():
    ca = ScriptedCa(drops=("/order/1", "/finalize/1"))
    issuer = _issuer(ca)
    request = make_request(["a.test"], CONFIG)
    steps = []
    while True:
        result = await issuer.advance(request)
        request.state = result.state
        steps.append(result)
        if result.outcome is not StepOutcome.PENDING:
            break
    assert result.outcome is StepOutcome.ISSUED
    assert ca.calls[4:6] == ["/order/1", "/order/1"]  # the read was sent again at once
    dropped = [s for s in steps if s.reason and "could not be reached" in s.reason]
    assert len(dropped) == 1 and dropped[0].retry_after == 30  # finalize: left to the job
    assert ca.calls.count("/newOrder") == 1


async def test_a_step_retried_after_finalize_does_not_finalize_again():
    """Finalize is not a persistence point: a crash after it resumes from the last checkpoint
    (no `finalized` in it), finds the order processing or valid, and only downloads."""
    ca = ScriptedCa(processing_polls=1)  # the first poll after finalize says "come back later"
    saved: list[dict] = []

    async def checkpoint(request, state):
        saved.append(state)

    issuer = _issuer(ca)
    request = make_request(["a.test"], CONFIG)
    request.checkpoint = checkpoint
    first = await issuer.advance(request)
    assert first.outcome is StepOutcome.PENDING and first.state["finalized"] is True
    assert ca.calls.count("/finalize/1") == 1
    # The worker dies before the job commits `first.state`; the retry starts from the last
    # checkpoint.
    assert "finalized" not in saved[-1]
    retry = make_request(["a.test"], CONFIG, **saved[-1])
    result = await drive(issuer, retry)
    assert result.outcome is StepOutcome.ISSUED, result.reason
    assert ca.calls.count("/finalize/1") == 1
    assert ca.calls.count("/newOrder") == 1
