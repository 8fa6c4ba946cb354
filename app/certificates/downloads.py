"""Downloads: PEM certificate, chain and full chain; PKCS#12 and the private key (audited)."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.audit.service import record
from app.auth.dependencies import require_scopes
from app.auth.principal import Scope
from app.certificates import service
from app.certificates.models import Certificate
from app.certificates.schemas import Pkcs12Request
from app.crypto.keys import pkcs12_bundle
from app.deps import DbSession, RuntimeDep
from app.errors import Conflict
from app.http.negotiation import download_content, negotiate
from app.http.routing import GuardedRoute

router = APIRouter(prefix="/v1/certificates", tags=["downloads"], route_class=GuardedRoute)

Reader = require_scopes(Scope.CERTIFICATES_READ)
KeyExporter = require_scopes(Scope.KEYS_EXPORT)
# The registered type first (what a client that states no preference gets), then the generic
# ones generated clients understand; `Accept` picks among them.
PEM_TYPES = ("application/pem-certificate-chain", "text/plain", "application/octet-stream")
KEY_TYPES = ("application/x-pem-file", "text/plain", "application/octet-stream")
PKCS12_TYPES = ("application/x-pkcs12", "application/octet-stream")
TEXT = {"type": "string"}
BINARY = {"type": "string", "format": "binary"}
PEM_RESPONSE = {
    200: {"content": download_content(PEM_TYPES, TEXT), "description": "PEM text"},
    404: {"description": "No such certificate"},
    409: {"description": "Not issued yet"},
}


def _issued(cert: Certificate) -> tuple[str, str]:
    if cert.leaf_pem is None:
        raise Conflict(f"the certificate is {cert.status}; nothing to download yet")
    return cert.leaf_pem, cert.chain_pem or ""


def _pem(request: Request, body: str, cert: Certificate, suffix: str) -> Response:
    filename = f"{cert.common_name.replace('*', 'wildcard')}.{suffix}.pem"
    return Response(
        body,
        media_type=negotiate(request, PEM_TYPES),
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"},
    )


@router.get(
    "/{certificate_id}/certificate.pem",
    operation_id="certificates_download_certificate",
    response_class=Response,
    responses=PEM_RESPONSE,
)
async def download_certificate(
    certificate_id: str, request: Request, session: DbSession, caller: Reader
) -> Response:
    """The leaf certificate alone."""
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    leaf, _ = _issued(cert)
    return _pem(request, leaf, cert, "crt")


@router.get(
    "/{certificate_id}/chain.pem",
    operation_id="certificates_download_chain",
    response_class=Response,
    responses=PEM_RESPONSE,
)
async def download_chain(
    certificate_id: str, request: Request, session: DbSession, caller: Reader
) -> Response:
    """The issuing chain, the leaf's issuer first."""
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    _, chain = _issued(cert)
    return _pem(request, chain, cert, "chain")


@router.get(
    "/{certificate_id}/fullchain.pem",
    operation_id="certificates_download_fullchain",
    response_class=Response,
    responses=PEM_RESPONSE,
)
async def download_fullchain(
    certificate_id: str, request: Request, session: DbSession, caller: Reader
) -> Response:
    """The leaf followed by its chain, as web servers want it."""
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    leaf, chain = _issued(cert)
    return _pem(request, leaf + chain, cert, "fullchain")


def _held_key(cert: Certificate, runtime) -> str:
    if cert.private_key is None:
        raise Conflict(
            "the broker does not hold this certificate's key (it was ordered with a CSR)"
        )
    return runtime.secretbox.decrypt_str(cert.private_key, context=f"certificate:{cert.id}")


@router.post(
    "/{certificate_id}/pkcs12",
    operation_id="certificates_download_pkcs12",
    response_class=Response,
    responses={
        200: {
            "content": download_content(PKCS12_TYPES, BINARY),
            "description": "PKCS#12 file",
        },
        404: {"description": "No such certificate"},
        409: {"description": "Not issued, or the key is not held"},
    },
)
async def download_pkcs12(
    certificate_id: str,
    body: Pkcs12Request,
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    caller: KeyExporter,
) -> Response:
    """The key, certificate and chain as PKCS#12 (AES-256), protected by your passphrase.
    Needs `keys:export`; every export is audited."""
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    leaf, chain = _issued(cert)
    key_pem = _held_key(cert, runtime)
    chain_certs = x509.load_pem_x509_certificates(chain.encode()) if chain.strip() else []
    chain_pems = [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain_certs]
    blob = pkcs12_bundle(key_pem, leaf, chain_pems, body.passphrase, cert.common_name)
    record(session, caller, "certificate.pkcs12.export", "certificate", cert.id)
    service.transition(session, cert, None, caller.subject, "private key exported as PKCS#12")
    filename = f"{cert.common_name.replace('*', 'wildcard')}.p12"
    return Response(
        blob,
        media_type=negotiate(request, PKCS12_TYPES),
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "Vary": "Accept",
        },
    )


@router.get(
    "/{certificate_id}/private-key.pem",
    operation_id="certificates_download_private_key",
    response_class=Response,
    responses={
        200: {
            "content": download_content(KEY_TYPES, TEXT),
            "description": "PKCS#8 PEM",
        },
        404: {"description": "No such certificate"},
        409: {"description": "The key is not held"},
    },
)
async def download_private_key(
    certificate_id: str,
    request: Request,
    session: DbSession,
    runtime: RuntimeDep,
    caller: KeyExporter,
) -> Response:
    """The private key the broker generated. Needs `keys:export`; every export is audited."""
    cert = await service.get_certificate(session, certificate_id, caller.tenant_id)
    key_pem = _held_key(cert, runtime)
    record(session, caller, "certificate.private_key.export", "certificate", cert.id)
    service.transition(session, cert, None, caller.subject, "private key exported")
    return Response(
        key_pem,
        media_type=negotiate(request, KEY_TYPES),
        headers={"Cache-Control": "no-store", "Vary": "Accept"},
    )
