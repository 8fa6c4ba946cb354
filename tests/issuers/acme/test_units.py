"""Pure pieces of the ACME client: JWS, EAB, ARI certID, problem typing, config, HTTP-01 app."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from app.issuers.acme import AccountKey, AcmeConfig, Http01App, InMemoryHttp01Responder, errors
from app.issuers.acme.ari import cert_id, serial_der_bytes
from app.issuers.acme.challenges import choose_challenge, dns01_txt_value
from app.issuers.acme.jws import b64url, b64url_decode, external_account_binding, sign_jws
from app.issuers.acme.models import Authorization, Challenge
from app.issuers.acme.transport import retry_after_seconds


def _decode(part: str) -> dict:
    return json.loads(b64url_decode(part))


def test_es256_jws_verifies_with_the_public_key():
    key = AccountKey.generate()
    jws = sign_jws(key, {"hello": 1}, "https://ca/x", nonce="n1", kid="https://ca/acct/1")
    assert _decode(jws["protected"]) == {
        "alg": "ES256",
        "url": "https://ca/x",
        "nonce": "n1",
        "kid": "https://ca/acct/1",
    }
    raw = b64url_decode(jws["signature"])
    signature = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    public = ec.EllipticCurvePublicNumbers(
        int.from_bytes(b64url_decode(key.jwk["x"])),
        int.from_bytes(b64url_decode(key.jwk["y"])),
        ec.SECP256R1(),
    ).public_key()
    public.verify(
        signature, f"{jws['protected']}.{jws['payload']}".encode(), ec.ECDSA(hashes.SHA256())
    )


def test_post_as_get_has_empty_payload_and_new_account_carries_jwk():
    key = AccountKey.generate("rsa2048")
    jws = sign_jws(key, None, "https://ca/new-acct", nonce="n")
    assert jws["payload"] == ""
    header = _decode(jws["protected"])
    assert header["alg"] == "RS256" and header["jwk"] == key.jwk and "kid" not in header
    numbers = key._key.public_key()
    numbers.verify(
        b64url_decode(jws["signature"]),
        f"{jws['protected']}.".encode(),
        padding.PKCS1v15(),
        hashes.SHA256(),
    )


def test_thumbprint_matches_rfc7638_example():
    # RFC 7638 §3.1 uses an RSA key; the same canonical form for EC (RFC 8037 style check).
    key = AccountKey.generate()
    canonical = json.dumps(
        {k: key.jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":")
    ).encode()
    assert key.thumbprint == b64url(hashlib.sha256(canonical).digest())
    assert key.key_authorization("tok") == f"tok.{key.thumbprint}"


def test_external_account_binding():
    key = AccountKey.generate()
    mac_key = b64url(b"\x01" * 32)
    eab = external_account_binding(key, "kid-1", mac_key, "https://ca/new-acct")
    assert _decode(eab["protected"]) == {
        "alg": "HS256",
        "kid": "kid-1",
        "url": "https://ca/new-acct",
    }
    assert _decode(eab["payload"]) == key.jwk
    expected = hmac.new(
        b"\x01" * 32, f"{eab['protected']}.{eab['payload']}".encode(), hashlib.sha256
    ).digest()
    assert b64url_decode(eab["signature"]) == expected
    # Padded keys (as some CAs print them) decode the same.
    assert external_account_binding(key, "kid-1", mac_key + "=", "https://ca/new-acct") == eab


def test_ari_cert_id_rfc9773_example():
    # RFC 9773 §4.1: AKI 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
    # serial 0x87654321 -> "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE".
    aki = bytes.fromhex("69885B6B87464041E1B37B847BA0AE2CDE01C8D4")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.com")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x87654321)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.AuthorityKeyIdentifier(aki, None, None), critical=False)
        .sign(key, hashes.SHA256())
    )
    assert cert_id(certificate) == "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE"
    assert serial_der_bytes(0x7F) == b"\x7f"
    assert serial_der_bytes(0x80) == b"\x00\x80"


@pytest.mark.parametrize(
    ("doc", "cls", "words"),
    [
        (
            {"type": "urn:ietf:params:acme:error:externalAccountRequired"},
            errors.ExternalAccountRequired,
            "set the organization's EAB kid and HMAC key",
        ),
        (
            {"type": "urn:ietf:params:acme:error:rateLimited", "detail": "slow down"},
            errors.RateLimited,
            "rate limit",
        ),
        (
            {
                "type": "urn:ietf:params:acme:error:rejectedIdentifier",
                "detail": "no",
                "identifier": {"type": "dns", "value": "bad.example"},
            },
            errors.RejectedIdentifier,
            "bad.example",
        ),
        ({"type": "urn:ietf:params:acme:error:badNonce"}, errors.BadNonce, "nonce"),
        (
            {"type": "urn:ietf:params:acme:error:orderNotReady"},
            errors.OrderNotReady,
            "before all its names were validated",
        ),
        (
            {"type": "urn:ietf:params:acme:error:somethingNew", "detail": "x"},
            errors.AcmeProblem,
            "refused",
        ),
        ({"type": "about:blank", "detail": "teapot"}, errors.AcmeProblem, "teapot"),
    ],
)
def test_problem_documents_become_typed_errors(doc, cls, words):
    problem = errors.problem_from_document(doc, 400, retry_after=3.0)
    assert type(problem) is cls
    assert words in problem.user_message
    assert problem.retry_after == 3.0 and problem.status == 400


def test_validation_errors_keep_the_challenge_detail():
    doc = {
        "type": "urn:ietf:params:acme:error:connection",
        "detail": "127.0.0.1: Connection refused",
        "status": 400,
    }
    problem = errors.problem_from_document(doc, validation=True)
    assert isinstance(problem, errors.ConnectionFailed)
    assert isinstance(problem, errors.ValidationFailed)
    assert "could not connect" in problem.user_message
    assert "Connection refused" in problem.user_message
    unauthorized = errors.problem_from_document(
        {"type": "urn:ietf:params:acme:error:unauthorized", "detail": "wrong key auth"},
        validation=True,
    )
    assert type(unauthorized) is errors.ValidationFailed


def test_transient_errors():
    assert errors.RateLimited("t").transient and errors.BadNonce("t").transient
    assert errors.AcmeTransportError("x").transient
    assert not errors.Malformed("t").transient and not errors.EabRejected("t").transient


def test_config():
    config = AcmeConfig.model_validate(
        {
            "directory_url": "https://acme.sectigo.com/v2/DV",
            "eab_kid": "k",
            "eab_hmac_key": "c2VjcmV0",
            "unrelated": 1,
        }
    )
    assert config.hmac_key == "c2VjcmV0" and "c2VjcmV0" not in repr(config)
    assert config.challenge_types == ["http-01", "dns-01"]
    with pytest.raises(ValidationError, match="https"):
        AcmeConfig.model_validate({"directory_url": "http://169.254.169.254/dir"})
    with pytest.raises(ValidationError):
        AcmeConfig.model_validate({"directory_url": "https://x/dir", "challenge_types": ["tls"]})


def _authz(wildcard: bool, *types: str) -> Authorization:
    challenges = tuple(Challenge(t, f"https://ca/chall/{t}", "pending", "tok") for t in types)
    return Authorization("https://ca/authz/1", "example.com", "pending", wildcard, challenges)


def test_challenge_choice():
    both = _authz(False, "http-01", "dns-01", "tls-alpn-01")
    assert choose_challenge(both, ["http-01", "dns-01"]).type == "http-01"
    assert choose_challenge(both, ["dns-01", "http-01"]).type == "dns-01"
    assert choose_challenge(_authz(True, "dns-01"), ["http-01", "dns-01"]).type == "dns-01"
    with pytest.raises(errors.NoSupportedChallenge, match="wildcards need dns-01"):
        choose_challenge(_authz(True, "dns-01"), ["http-01"])
    # RFC 8555 §8.4 test vector shape: base64url(SHA-256(key authorization)), 43 characters.
    assert len(dns01_txt_value("token.thumbprint")) == 43


def test_retry_after_header():
    assert retry_after_seconds(httpx.Response(200, headers={"Retry-After": "120"})) == 120
    assert retry_after_seconds(httpx.Response(200)) is None
    date = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT"
    )
    assert 55 < retry_after_seconds(httpx.Response(200, headers={"Retry-After": date})) <= 60


async def test_http01_app_serves_only_known_tokens():
    responder = InMemoryHttp01Responder()
    await responder.present("tok_1-A", "tok_1-A.thumb")
    transport = httpx.ASGITransport(app=Http01App(responder.lookup))
    async with httpx.AsyncClient(transport=transport, base_url="http://example.com") as client:
        found = await client.get("/.well-known/acme-challenge/tok_1-A")
        assert (found.status_code, found.text) == (200, "tok_1-A.thumb")
        assert (await client.get("/.well-known/acme-challenge/nope")).status_code == 404
        assert (await client.get("/.well-known/acme-challenge/../x")).status_code == 404
        assert (await client.get("/other")).status_code == 404
    await responder.cleanup("tok_1-A")
    assert await responder.lookup("tok_1-A") is None


async def test_webroot_responder_writes_and_removes_token_files(tmp_path):
    from app.issuers.acme import WebrootHttp01Responder

    responder = WebrootHttp01Responder(tmp_path)
    await responder.present("tok-1", "tok-1.thumb")
    path = tmp_path / ".well-known" / "acme-challenge" / "tok-1"
    assert path.read_text() == "tok-1.thumb"
    await responder.cleanup("tok-1")
    await responder.cleanup("tok-1")  # absent is fine
    assert not path.exists()
    with pytest.raises(ValueError):
        await responder.present("../../etc/passwd", "x")
