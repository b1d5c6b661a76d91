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

from storage import inbox, outbox
from storage.crypto import Keyring
from storage.models import GroupNotice, InboxUpdate, OutboxMessage, Participant

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
    renamed: dict[str, str] = {}
    for person in (await session.scalars(select(Participant))).all():
        address = keyring.open(person.sealed_address, person.pseudonym)
        pseudonym = keyring.pseudonym(person.channel, address)
        if pseudonym != person.pseudonym or not keyring.is_current(person.sealed_address):
            renamed[person.pseudonym] = pseudonym
            person.pseudonym = pseudonym
            person.sealed_address = keyring.seal(address, pseudonym)
            people += 1
    await _reseal_outbox(session, keyring, renamed)
    for update in (await session.scalars(select(InboxUpdate))).all():
        if update.sealed_update is not None and not keyring.is_current(update.sealed_update):
            plain = keyring.open(update.sealed_update, inbox.CONTEXT)
            update.sealed_update = keyring.seal(plain, inbox.CONTEXT)
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


async def _reseal_outbox(
    session: AsyncSession, keyring: Keyring, renamed: dict[str, str]
) -> None:
    """Messages still waiting to be sent: sealed with their chat (the recipient's
    pseudonym), which may have changed too."""
    for row in (await session.scalars(select(OutboxMessage))).all():
        chat = renamed.get(row.chat, row.chat)
        if chat == row.chat and keyring.is_current(row.sealed_address):
            continue
        address = keyring.open(row.sealed_address, row.chat)
        if row.sealed_body:
            body = keyring.open(row.sealed_body, outbox.body_context(row.chat))
            row.sealed_body = keyring.seal(body, outbox.body_context(chat))
        row.chat, row.sealed_address = chat, keyring.seal(address, chat)
