"""Cryptography the broker does itself: data encryption at rest, keys, CSRs."""
