"""Pseudonyms and sealed addresses, from one secret key (DESIGN.md, privacy model).

A participant is known only by an HMAC of (channel, channel user id): stable, so the same
person is recognised, and useless without the key. The address needed to write back (a
Telegram chat id, a web session) is sealed with AES-GCM under a key derived separately,
so a leaked database holds neither identities nor usable addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value could not be opened: wrong key or tampered data."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


class Keyring:
    """The keys derived from the deployment's secret; one instance per running service."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 32:
            raise ValueError("the secret key must be at least 32 bytes")
        self._secret = secret
        self._pseudonym_key = _derive(secret, b"snakkes/pseudonym/v1")
        self._aead = AESGCM(_derive(secret, b"snakkes/address/v1"))

    def subkey(self, purpose: str) -> bytes:
        """A key of its own for one purpose (e.g. signing web chat session tokens)."""
        return _derive(self._secret, f"snakkes/{purpose}/v1".encode())

    def pseudonym(self, channel: str, channel_user_id: str) -> str:
        """The stable, keyed name of a person on a channel; 64 hex characters."""
        message = f"{channel}\x1f{channel_user_id}".encode()
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()

    def seal(self, plaintext: str, context: str) -> bytes:
        """Encrypt `plaintext`, bound to `context` (a pseudonym) so it cannot be moved."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        try:
            plain = self._aead.decrypt(
                sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], context.encode()
            )
        except InvalidTag:
            raise SealError("sealed value does not open with this key and context") from None
        return plain.decode()
