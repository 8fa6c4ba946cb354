"""Secrets at rest: AES-GCM under a key id, rotation, and context binding."""

from __future__ import annotations

import os

import pytest

from app.crypto.secretbox import DecryptionError, SecretBox


def test_round_trip_and_rotation() -> None:
    old, new = os.urandom(32), os.urandom(32)
    box_v1 = SecretBox({"k1": old}, "k1")
    token = box_v1.encrypt("hmac-key-value", context="org:1")
    assert "hmac-key-value" not in token
    assert token.startswith("v1:k1:")

    rotated = SecretBox({"k1": old, "k2": new}, "k2")
    assert rotated.decrypt_str(token, context="org:1") == "hmac-key-value"
    assert rotated.needs_rotation(token)
    fresh = rotated.encrypt("hmac-key-value", context="org:1")
    assert fresh.startswith("v1:k2:") and not rotated.needs_rotation(fresh)


def test_context_binding_and_tampering() -> None:
    box = SecretBox({"k1": os.urandom(32)}, "k1")
    token = box.encrypt(b"secret", context="row-a")
    with pytest.raises(DecryptionError):
        box.decrypt(token, context="row-b")
    version, key_id, nonce, sealed = token.split(":")
    flipped = sealed[:-2] + ("AA" if sealed[-2:] != "AA" else "BB")
    tampered = ":".join((version, key_id, nonce, flipped))
    with pytest.raises(DecryptionError):
        box.decrypt(tampered, context="row-a")
    with pytest.raises(DecryptionError):
        SecretBox({"k9": os.urandom(32)}, "k9").decrypt(token, context="row-a")


def test_unknown_active_key_is_refused() -> None:
    with pytest.raises(ValueError):
        SecretBox({"k1": os.urandom(32)}, "k2")
