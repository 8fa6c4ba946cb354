"""Certificate authority backends behind one Issuer protocol."""

from app.issuers.base import (
    IssuedCertificate,
    Issuer,
    IssueRequest,
    IssuerRegistry,
    StepOutcome,
    StepResult,
)

__all__ = [
    "IssueRequest",
    "IssuedCertificate",
    "Issuer",
    "IssuerRegistry",
    "StepOutcome",
    "StepResult",
]
