"""Translation between Telegram's types and ours; pure functions, no I/O."""

from __future__ import annotations

from typing import Any

from telegram import Message, Update

from dialogues.messages import Inbound, Kind, Outbound

# Attachment fields of a Message, in the order we name them; the first present one wins.
_MEDIA_FIELDS = (
    "sticker",
    "photo",
    "voice",
    "video_note",
    "video",
    "animation",
    "audio",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
    "game",
    "story",
    "paid_media",
)


def inbound_of(update: Update) -> Inbound | None:
    """Our inbound message for a private-chat update, or None for updates we ignore.
    Captions and edited texts are carried too: the safety net reads every text."""
    if update.callback_query is not None:
        return Inbound(Kind.CHOICE, data=update.callback_query.data or "")
    if update.edited_message is not None:
        edited = update.edited_message
        return Inbound(Kind.EDITED, text=edited.text or edited.caption or "")
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        return Inbound.from_text(message.text)
    kind = media_kind(message)
    return Inbound(Kind.MEDIA, text=message.caption or "", data=kind) if kind else None


def media_kind(message: Message) -> str | None:
    for name in _MEDIA_FIELDS:
        if getattr(message, name, None):
            return name
    return None


def keyboard_of(outbound: Outbound) -> dict[str, Any]:
    """The buttons of a message as the Bot API's inline keyboard (JSON for a raw call)."""
    return {
        "inline_keyboard": [
            [{"text": choice.label, "callback_data": choice.data} for choice in row]
            for row in outbound.choices
        ]
    }
