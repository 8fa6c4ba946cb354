"""AES-256-GCM encryption of secrets at rest, tagged with the key id so keys can be rotated."""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"


class DecryptionError(Exception):
    """The ciphertext is damaged, was bound to other context, or its key is no longer held."""


class SecretBox:
    """Encrypts with the active key; decrypts with whichever held key a value names."""

    def __init__(self, keys: dict[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key {active_key_id!r} is not among the keys")
        self._aeads = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.active_key_id = active_key_id

    def encrypt(self, plaintext: bytes | str, context: str = "") -> str:
        """Return `v1:<key id>:<nonce>:<ciphertext>`. `context` (e.g. a row id) is bound as
        associated data, so a value copied into another row no longer decrypts."""
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(12)
        sealed = self._aeads[self.active_key_id].encrypt(nonce, data, context.encode())
        return ":".join((_VERSION, self.active_key_id, _b64(nonce), _b64(sealed)))

    def decrypt(self, token: str, context: str = "") -> bytes:
        try:
            version, key_id, nonce, sealed = token.split(":")
        except ValueError:
            raise DecryptionError("not an encrypted value") from None
        if version != _VERSION:
            raise DecryptionError(f"unknown format {version!r}")
        aead = self._aeads.get(key_id)
        if aead is None:
            raise DecryptionError(f"key {key_id!r} is not configured")
        try:
            return aead.decrypt(_unb64(nonce), _unb64(sealed), context.encode())
        except Exception:
            raise DecryptionError("ciphertext failed authentication") from None

    def decrypt_str(self, token: str, context: str = "") -> str:
        return self.decrypt(token, context).decode()

    def needs_rotation(self, token: str) -> bool:
        return token.split(":", 2)[1:2] != [self.active_key_id]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
