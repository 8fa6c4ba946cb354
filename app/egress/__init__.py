"""Outbound connections a tenant can influence: the policy, the address classes, pinned HTTP."""

from app.egress.addresses import IpAddress, classify
from app.egress.policy import CheckedTarget, EgressPolicy, EgressRefused, EgressUnresolved

__all__ = [
    "CheckedTarget",
    "EgressPolicy",
    "EgressRefused",
    "EgressUnresolved",
    "IpAddress",
    "classify",
]
