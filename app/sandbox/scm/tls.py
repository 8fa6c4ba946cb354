"""The optional mTLS listener that serves /private/api (client-certificate authentication).

uvicorn verifies the peer certificate during the handshake but does not pass it to the app.
So the simulator runs a second listener with `ssl.CERT_REQUIRED` against its own client CA;
any request arriving there has, by construction, presented a certificate that CA issued, and a
thin ASGI wrapper marks the request scope as such. /private/api on the plain listener is refused
(401), as a real SCM would refuse it without a client certificate.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from app.sandbox.scm.auth import CLIENT_CERT_SCOPE_KEY
from app.sandbox.scm.store import ScmStore


class ClientCertificateVerified:
    """Wraps the app for the mTLS listener only."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            scope[CLIENT_CERT_SCOPE_KEY] = True
        await self.app(scope, receive, send)


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files the mTLS listener and its clients need."""

    server_cert: Path  # leaf followed by the intermediate
    server_key: Path
    client_ca: Path  # which client certificates the listener accepts
    trust_root: Path  # what clients trust for the listener's certificate
    client_cert: Path  # a ready-made admin client certificate (login from the config)
    client_key: Path


def write_tls_files(store: ScmStore, directory: Path, hosts: list[str]) -> TlsFiles:
    directory.mkdir(parents=True, exist_ok=True)
    server = store.ca.issue_server_certificate(hosts)
    client = store.ca.issue_client_certificate(store.config.login)
    files = TlsFiles(
        *(
            directory / name
            for name in (
                "server.pem",
                "server.key",
                "client-ca.pem",
                "root.pem",
                "client.pem",
                "client.key",
            )
        )
    )
    files.server_cert.write_text(server.cert_pem + store.ca.intermediate.cert_pem)
    files.server_key.write_text(server.key_pem)
    files.client_ca.write_text(store.ca.client_ca.cert_pem)
    files.trust_root.write_text(store.ca.root.cert_pem)
    files.client_cert.write_text(client.cert_pem)
    files.client_key.write_text(client.key_pem)
    for key in (files.server_key, files.client_key):
        key.chmod(0o600)
    return files


def uvicorn_tls_options(files: TlsFiles) -> dict:
    return {
        "ssl_certfile": str(files.server_cert),
        "ssl_keyfile": str(files.server_key),
        "ssl_ca_certs": str(files.client_ca),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }
