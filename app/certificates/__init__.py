"""Certificates: ordering, the issuance state machine, events, downloads and revocation."""
