"""The ACME backend (RFC 8555 with External Account Binding): a client and the "acme" issuer."""

from app.issuers.acme.accounts import AcmeAccountStore, InMemoryAccountStore, StoredAccount
from app.issuers.acme.client import AcmeAccount, AcmeClient
from app.issuers.acme.config import AcmeConfig
from app.issuers.acme.http01 import (
    Http01App,
    Http01Responder,
    InMemoryHttp01Responder,
    WebrootHttp01Responder,
)
from app.issuers.acme.issuer import AcmeIssuer, Checkpoint
from app.issuers.acme.jws import AccountKey

__all__ = [
    "AccountKey",
    "AcmeAccount",
    "AcmeAccountStore",
    "AcmeClient",
    "AcmeConfig",
    "AcmeIssuer",
    "Checkpoint",
    "Http01App",
    "Http01Responder",
    "InMemoryAccountStore",
    "InMemoryHttp01Responder",
    "StoredAccount",
    "WebrootHttp01Responder",
]
