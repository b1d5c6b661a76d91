"""The "users" half of the double: tests play Telegram users by queueing updates.

Builds the same JSON a real client's action produces on Telegram's side (message ids shared
per chat, bot_command entities, callback queries carrying the pressed message), so handlers
see production-shaped updates.
"""

from __future__ import annotations

import itertools
import re
import time

from tests.botapi.models import (
    JSON,
    MEDIA_KINDS,
    FakeUser,
    SentMessage,
    inline_buttons,
    media_fields,
)
from tests.botapi.state import BotState

_COMMAND_WORD = re.compile(r"^/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]+)?")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entities(text: str) -> list[JSON]:
    """Telegram marks a leading ``/command`` (optionally ``@botname``) as bot_command."""
    match = _COMMAND_WORD.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group(0))}]


class Players:
    """Mixin for ``BotApiDouble``: creating users/groups and sending updates as them."""

    _state: BotState

    def __init__(self) -> None:
        self._user_seq = itertools.count(1)
        self._group_seq = itertools.count(1)
        self._media_seq = itertools.count(1)
        self._query_seq = itertools.count(1)
        self._default_group: int | None = None

    # ------------------------------------------------------------------------ identities
    def user(
        self,
        first_name: str = "Ada",
        *,
        username: str | None = None,
        language_code: str | None = None,
        last_name: str | None = None,
    ) -> FakeUser:
        """A new user with a unique, realistically large id; the bot may message them."""
        user = FakeUser(
            id=7_000_000_000 + next(self._user_seq),
            first_name=first_name,
            username=username,
            language_code=language_code,
            last_name=last_name,
        )
        self._state.users[user.id] = user
        return user

    def group(
        self, title: str = "Testgruppe", *, supergroup: bool = False, group_id: int | None = None
    ) -> int:
        """Create a group chat the bot is a member of and return its (negative) chat id."""
        seq = next(self._group_seq)
        if group_id is None:
            group_id = -1_000_000_000_000 - seq if supergroup else -4_000_000_000 - seq
        kind = "supergroup" if supergroup else "group"
        self._state.groups[group_id] = {"id": group_id, "type": kind, "title": title}
        self._state.left_groups.discard(group_id)
        return group_id

    # ------------------------------------------------------------------------- messages
    def _message(self, user: FakeUser, chat: JSON, fields: JSON) -> JSON:
        self._state.users.setdefault(user.id, user)
        message: JSON = {
            "message_id": self._state.next_message_id(chat["id"]),
            "from": user.to_json(),
            "chat": chat,
            "date": int(time.time()),
            **fields,
        }
        self._state.messages[(chat["id"], message["message_id"])] = message
        return message

    def _text_fields(self, text: str) -> JSON:
        fields: JSON = {"text": text}
        if entities := _entities(text):
            fields["entities"] = entities
        return fields

    def send_text(self, user: FakeUser, text: str) -> int:
        """Queue a private text message from ``user``; returns its update_id.

        Like Telegram, a leading ``/command`` gets a bot_command entity.
        """
        chat = user.private_chat_json()
        message = self._message(user, chat, self._text_fields(text))
        return self._state.push_update("message", message)

    def send_command(self, user: FakeUser, command: str) -> int:
        """Queue a command such as ``"/start"`` or ``"/volunteer ABC"``; returns update_id."""
        if _COMMAND_WORD.match(command) is None:
            raise ValueError(f"not a bot command: {command!r}")
        return self.send_text(user, command)

    def send_kind(self, user: FakeUser, kind: str, *, caption: str | None = None) -> int:
        """Queue a non-text message (sticker, photo, voice, ...; see ``MEDIA_KINDS``)."""
        fields = media_fields(kind, next(self._media_seq), user)
        if caption is not None:
            fields["caption"] = caption
        chat = user.private_chat_json()
        return self._state.push_update("message", self._message(user, chat, fields))

    def group_text(self, user: FakeUser, text: str, group_id: int | None = None) -> int:
        """Queue a text from ``user`` in a group (created on first use); returns update_id."""
        if group_id is None:
            if self._default_group is None:
                self._default_group = self.group()
            group_id = self._default_group
        elif group_id not in self._state.groups:
            self.group(group_id=group_id)
        chat = self._state.groups[group_id]
        message = self._message(user, chat, self._text_fields(text))
        return self._state.push_update("message", message)

    def edit_text(self, user: FakeUser, original: int, new_text: str) -> int:
        """Queue an ``edited_message`` for one of ``user``'s earlier messages.

        ``original`` is the update_id returned when it was sent, or its message_id in the
        user's private chat.
        """
        key = self._find_user_message(user, original)
        current = self._state.messages[key]
        edited = {k: v for k, v in current.items() if k not in ("text", "entities")}
        edited |= self._text_fields(new_text) | {"edit_date": int(time.time())}
        self._state.messages[key] = edited
        return self._state.push_update("edited_message", edited)

    def _find_user_message(self, user: FakeUser, ref: int) -> tuple[int, int]:
        update = self._state.all_updates.get(ref)
        if update is not None and "message" in update:
            message = update["message"]
            key = (int(message["chat"]["id"]), int(message["message_id"]))
        else:
            key = (user.chat_id, ref)
        message = self._state.messages.get(key)
        if message is None or message.get("from", {}).get("id") != user.id:
            raise AssertionError(f"{user.first_name} has no live message for reference {ref}")
        return key

    # -------------------------------------------------------------------------- buttons
    def press(
        self, user: FakeUser, message: SentMessage, data: str, *, allow_unknown: bool = False
    ) -> int:
        """Queue a callback_query as if ``user`` pressed the button with ``data``.

        The query carries the message's current content (after edits), like Telegram's.
        Unless ``allow_unknown``, pressing data the message does not offer is a test error.
        """
        key = (message.chat_id, message.message_id)
        current = self._state.messages.get(key, message.raw)
        offered = [d for row in inline_buttons(current.get("reply_markup")) for _, d in row]
        if not allow_unknown and data not in offered:
            raise AssertionError(
                f"message {message.message_id} offers no button {data!r}: {offered!r}"
            )
        query_id = str(4_200_000_000_000_000_000 + next(self._query_seq))
        self._state.callback_queries[query_id] = False
        self._state.users.setdefault(user.id, user)
        payload = {
            "id": query_id,
            "from": user.to_json(),
            "message": current,
            "chat_instance": str(abs(message.chat_id) * 1_000_003 % 2**62),
            "data": data,
        }
        return self._state.push_update("callback_query", payload)

    # ------------------------------------------------------------------------------ raw
    def inject(self, raw_update: JSON) -> int:
        """Queue a hand-written update (update_id optional); returns its update_id."""
        return self._state.inject(raw_update)

    def redeliver(self, update_id: int) -> None:
        """Deliver an already delivered update again with the SAME update_id.

        Telegram does this after timeouts; the bot must not handle it twice.
        """
        self._state.redeliver(update_id)


__all__ = ["MEDIA_KINDS", "Players"]
