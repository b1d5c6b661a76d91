from __future__ import annotations

import pytest

from storage.crypto import Keyring, SealError

KEY = b"k" * 32


def test_pseudonyms_are_stable_keyed_and_per_channel() -> None:
    keyring = Keyring(KEY)
    assert keyring.pseudonym("telegram", "42") == Keyring(KEY).pseudonym("telegram", "42")
    assert keyring.pseudonym("telegram", "42") != keyring.pseudonym("web", "42")
    assert keyring.pseudonym("telegram", "42") != Keyring(b"j" * 32).pseudonym("telegram", "42")
    assert "42" not in keyring.pseudonym("telegram", "42")


def test_sealed_addresses_open_only_with_the_key_and_their_context() -> None:
    keyring = Keyring(KEY)
    sealed = keyring.seal("7000000001", "pseudonym-a")
    assert b"7000000001" not in sealed
    assert keyring.open(sealed, "pseudonym-a") == "7000000001"
    assert keyring.seal("7000000001", "pseudonym-a") != sealed  # a fresh nonce each time
    with pytest.raises(SealError):
        keyring.open(sealed, "pseudonym-b")
    with pytest.raises(SealError):
        Keyring(b"j" * 32).open(sealed, "pseudonym-a")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        Keyring(b"short")
