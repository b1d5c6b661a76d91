"""Pseudonyms and sealed values, from the deployment's secret key (DESIGN.md, privacy model).

A participant is known only by an HMAC of (channel, channel user id): stable, so the same
person is recognised, and useless without the key. The address needed to write back (a
Telegram chat id, a web session) and every text kept for a while (relayed messages,
handover notes, web chat messages waiting for their browser) are sealed with AES-GCM under
keys derived separately, so a copy of the database holds neither identities, nor usable
addresses, nor anyone's words.

Every sealed value names the key that sealed it (a 4-byte key id), so the key can be
rotated: the keyring opens values sealed under the previous keys it is given and always
seals under the current one; `snakkes keys rotate` re-seals everything under the current
key (storage/rotation.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12
_VERSION = b"\x01"
_ID_BYTES = 4
TEXT_PREFIX = "s1."  # a sealed text column: "s1." and the sealed bytes in base64url


class SealError(Exception):
    """A sealed value could not be opened: wrong key or tampered data."""


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret)


@dataclass(frozen=True)
class _Key:
    secret: bytes
    aead: AESGCM
    key_id: bytes

    @classmethod
    def of(cls, secret: bytes) -> _Key:
        if len(secret) < 32:
            raise ValueError("the secret key must be at least 32 bytes")
        derived = _derive(secret, b"snakkes/address/v1")
        return cls(secret, AESGCM(derived), hashlib.sha256(derived).digest()[:_ID_BYTES])


class Keyring:
    """The keys derived from the deployment's secret (and from previous secrets, which only
    open); one instance per running service."""

    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        self._current = _Key.of(secret)
        self._keys = [self._current, *(_Key.of(old) for old in previous)]
        self._pseudonym_key = _derive(secret, b"snakkes/pseudonym/v1")

    @property
    def key_id(self) -> str:
        """The current key's id, as hex (shown by `snakkes keys`)."""
        return self._current.key_id.hex()

    def subkey(self, purpose: str) -> bytes:
        """A key of its own for one purpose (e.g. signing web chat session tokens)."""
        return self.subkeys(purpose)[0]

    def subkeys(self, purpose: str) -> list[bytes]:
        """The purpose's key under the current secret, then under each previous one (to
        accept what was signed before a rotation)."""
        return [_derive(key.secret, f"snakkes/{purpose}/v1".encode()) for key in self._keys]

    def pseudonym(self, channel: str, channel_user_id: str) -> str:
        """The stable, keyed name of a person on a channel; 64 hex characters."""
        message = f"{channel}\x1f{channel_user_id}".encode()
        return hmac.new(self._pseudonym_key, message, hashlib.sha256).hexdigest()

    def seal(self, plaintext: str, context: str) -> bytes:
        """Encrypt `plaintext`, bound to `context` (a pseudonym, a column) so it cannot be
        moved; the result names the key."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._current.aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _VERSION + self._current.key_id + nonce + sealed

    def open(self, sealed: bytes, context: str) -> str:
        if sealed[:1] == _VERSION:
            key_id = sealed[1 : 1 + _ID_BYTES]
            body = sealed[1 + _ID_BYTES :]
            for key in self._keys:
                if key.key_id == key_id:
                    found = _open(key, body, context)
                    if found is not None:
                        return found
        for key in self._keys:  # sealed before values named their key
            found = _open(key, sealed, context)
            if found is not None:
                return found
        raise SealError("sealed value does not open with these keys and context")

    def is_current(self, sealed: bytes) -> bool:
        """Sealed under the current key (nothing to re-seal)."""
        return sealed[:1] == _VERSION and sealed[1 : 1 + _ID_BYTES] == self._current.key_id

    def seal_text(self, plaintext: str, context: str) -> str:
        """For a text column: "s1." and the sealed bytes in base64url."""
        sealed = base64.urlsafe_b64encode(self.seal(plaintext, context)).decode()
        return TEXT_PREFIX + sealed

    def open_text(self, stored: str, context: str) -> str:
        """A text column's value; one stored before sealing is returned as it is."""
        if not stored.startswith(TEXT_PREFIX):
            return stored
        return self.open(base64.urlsafe_b64decode(stored[len(TEXT_PREFIX) :]), context)

    def text_is_current(self, stored: str) -> bool:
        return stored.startswith(TEXT_PREFIX) and self.is_current(
            base64.urlsafe_b64decode(stored[len(TEXT_PREFIX) :])
        )


def _open(key: _Key, body: bytes, context: str) -> str | None:
    try:
        plain = key.aead.decrypt(body[:_NONCE_BYTES], body[_NONCE_BYTES:], context.encode())
    except (InvalidTag, ValueError):
        return None
    return plain.decode()
