"""Key rotation: everything sealed is sealed again under the keyring's current key, and
every participant gets their pseudonym under it, so nobody is lost.

Run with the service stopped, after the new key became `[security] secret_key` and the old
one went to `previous_secret_keys` (`snakkes keys rotate`; README, "Privacy"). The channel
user id a pseudonym is made from is the address sealed with it (a Telegram private chat's
id is its user's id; a web session's key is both), so it can be made again under the new
key. Groups told "private only" are forgotten (they had no address): at worst a group
hears it once more.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from storage.crypto import Keyring
from storage.models import GroupNotice, Participant

# Text columns sealed with SealedText: (table, column); the context is "table.column".
SEALED_TEXT = (
    ("relay_messages", "text"),
    ("handovers", "note"),
    ("handovers", "handback_note"),
    ("webchat_messages", "text"),
)


@dataclass(frozen=True)
class Rotated:
    participants: int
    texts: int


async def rotate(session: AsyncSession, keyring: Keyring) -> Rotated:
    """In the caller's transaction: all or nothing."""
    people = 0
    for person in (await session.scalars(select(Participant))).all():
        address = keyring.open(person.sealed_address, person.pseudonym)
        pseudonym = keyring.pseudonym(person.channel, address)
        if pseudonym != person.pseudonym or not keyring.is_current(person.sealed_address):
            person.pseudonym = pseudonym
            person.sealed_address = keyring.seal(address, pseudonym)
            people += 1
    await session.execute(delete(GroupNotice))
    texts = 0
    for table, column in SEALED_TEXT:
        context = f"{table}.{column}"
        rows = await session.execute(
            text(f"SELECT id, {column} FROM {table} WHERE {column} IS NOT NULL")  # noqa: S608
        )
        for row_id, stored in rows.all():
            if keyring.text_is_current(stored):
                continue
            fresh = keyring.seal_text(keyring.open_text(stored, context), context)
            await session.execute(
                text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),  # noqa: S608
                {"value": fresh, "id": row_id},
            )
            texts += 1
    await session.flush()
    return Rotated(people, texts)
