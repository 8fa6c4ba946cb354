"""Approvals: requests that wait for a listed approver, and expire when nobody decides."""
