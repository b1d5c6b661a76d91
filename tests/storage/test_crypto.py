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


def test_sealed_values_name_their_key_and_previous_keys_still_open() -> None:
    old, new = Keyring(KEY), Keyring(b"n" * 32, previous=[KEY])
    assert old.key_id != new.key_id
    sealed = old.seal("7000000001", "pseudonym-a")
    assert sealed[1:5].hex() == old.key_id  # a version byte, then the key's id
    assert old.is_current(sealed)
    assert not new.is_current(sealed)
    assert new.open(sealed, "pseudonym-a") == "7000000001"
    resealed = new.seal("7000000001", "pseudonym-a")
    assert new.is_current(resealed)
    with pytest.raises(SealError):
        old.open(resealed, "pseudonym-a")
    text = old.seal_text("jeg er ensom", "relay_messages.text")
    assert text.startswith("s1.")
    assert "ensom" not in text
    assert new.open_text(text, "relay_messages.text") == "jeg er ensom"
    assert not new.text_is_current(text)
    with pytest.raises(SealError):
        new.open_text(text, "handovers.note")  # bound to its column


def test_values_sealed_before_key_ids_still_open() -> None:
    """A database from before key ids: nonce and ciphertext, no version or id."""
    keyring = Keyring(KEY)
    legacy = keyring.seal("7000000001", "pseudonym-a")[5:]
    assert keyring.open(legacy, "pseudonym-a") == "7000000001"
    assert not keyring.is_current(legacy)
