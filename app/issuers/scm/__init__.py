"""Sectigo Certificate Manager backend: the async REST client and the `ScmIssuer` adapter."""

from app.issuers.scm.auth import ClientCertAuth, HeaderAuth, OAuthAuth, ScmAuth
from app.issuers.scm.client import ScmClient
from app.issuers.scm.errors import (
    ScmAuthError,
    ScmCaUnavailableError,
    ScmError,
    ScmNotFoundError,
    ScmPendingError,
    ScmProtocolError,
    ScmRateLimitedError,
    ScmServerError,
    ScmTimeoutError,
    ScmTransportError,
    ScmValidationError,
)
from app.issuers.scm.retry import RetryPolicy
from app.issuers.scm.ssl_models import EnrollRequest, EnrollResult

__all__ = [
    "ClientCertAuth",
    "EnrollRequest",
    "EnrollResult",
    "HeaderAuth",
    "OAuthAuth",
    "RetryPolicy",
    "ScmAuth",
    "ScmAuthError",
    "ScmCaUnavailableError",
    "ScmClient",
    "ScmError",
    "ScmNotFoundError",
    "ScmPendingError",
    "ScmProtocolError",
    "ScmRateLimitedError",
    "ScmServerError",
    "ScmTimeoutError",
    "ScmTransportError",
    "ScmValidationError",
]
