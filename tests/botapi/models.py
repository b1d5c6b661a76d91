"""Value objects of the Bot API double: fake users, recorded calls, bot messages, API errors.

Kept free of any server logic so tests can import and construct them cheaply, and so the
JSON shapes that PTB's ``de_json`` must accept live in one place.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
Buttons = list[list[tuple[str, str | None]]]


@dataclass(frozen=True)
class FakeUser:
    """A human Telegram user played by a test.

    Frozen (hashable) so tests can use users as dict keys; the id is all Telegram identifies
    a user by, the names only matter for what the bot greets people with.
    """

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = None
    last_name: str | None = None

    @property
    def chat_id(self) -> int:
        """The id of the private chat with the bot; Telegram makes it equal to the user id."""
        return self.id

    def to_json(self) -> JSON:
        """The ``User`` object as Telegram sends it (optional fields only when set)."""
        data: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data

    def private_chat_json(self) -> JSON:
        """The ``Chat`` object of this user's private chat with the bot."""
        data: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name is not None:
            data["last_name"] = self.last_name
        if self.username is not None:
            data["username"] = self.username
        return data


@dataclass
class Call:
    """One HTTP request the bot made, recorded before it is answered.

    ``params`` are decoded: form values that PTB JSON-encoded (ints, dicts, lists) are turned
    back into Python values, so tests can assert on ``params["reply_markup"]`` directly.
    ``error_code``/``description`` stay ``None`` for successful calls (and while a long poll
    is in flight).
    """

    method: str
    params: JSON
    at: float = field(default_factory=time.monotonic)
    error_code: int | None = None
    description: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        """Whether the double answered (or will answer) ``{"ok": true}``."""
        return self.error_code is None


def inline_buttons(reply_markup: JSON | None) -> Buttons:
    """Rows of ``(label, callback_data)``; ``callback_data`` is ``None`` for url/reply buttons."""
    if not reply_markup:
        return []
    rows = reply_markup.get("inline_keyboard") or reply_markup.get("keyboard") or []
    result: Buttons = []
    for row in rows:
        labels: list[tuple[str, str | None]] = []
        for button in row:
            if isinstance(button, str):  # reply keyboards may use plain strings
                labels.append((button, None))
            else:
                labels.append((str(button.get("text", "")), button.get("callback_data")))
        result.append(labels)
    return result


@dataclass
class SentMessage:
    """A message as the bot successfully sent (or edited) it, in the order it happened.

    ``text`` is what the user sees (markup parsed away); ``raw_text`` is what the bot sent.
    An edit appends a new ``SentMessage`` with ``edited=True`` and the same ``message_id``.
    """

    chat_id: int
    message_id: int
    text: str
    raw_text: str
    parse_mode: str | None
    reply_markup: JSON | None
    raw: JSON
    edited: bool = False
    method: str = "sendMessage"
    at: float = field(default_factory=time.monotonic)

    @property
    def buttons(self) -> Buttons:
        """The keyboard as rows of ``(label, callback_data)``."""
        return inline_buttons(self.reply_markup)

    def labels(self) -> list[str]:
        """All button labels, row by row, for concise assertions."""
        return [label for row in self.buttons for label, _ in row]

    def button(self, label_substring: str) -> str:
        """The callback_data of the button whose label is (or uniquely contains) the text.

        Raises AssertionError listing the labels so a failing test says what was offered.
        """
        flat = [(label, data) for row in self.buttons for label, data in row]
        exact = [data for label, data in flat if label == label_substring]
        matches = exact or [data for label, data in flat if label_substring in label]
        if len(matches) != 1 or matches[0] is None:
            raise AssertionError(
                f"expected exactly one callback button matching {label_substring!r} on message "
                f"{self.message_id} in chat {self.chat_id}; labels: {self.labels()!r}"
            )
        return matches[0]


class ApiError(Exception):
    """A Bot API error answer; the HTTP status equals ``error_code`` as on the real API."""

    def __init__(self, error_code: int, description: str, retry_after: int | None = None):
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> JSON:
        """The response body Telegram sends for this error."""
        data: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


# Telegram's own wording, so code that matches on descriptions behaves as in production.
BLOCKED = "Forbidden: bot was blocked by the user"
NOT_MEMBER = "Forbidden: bot is not a member of the group chat"
CHAT_NOT_FOUND = "Bad Request: chat not found"
TOO_LONG = "Bad Request: message is too long"
TEXT_EMPTY = "Bad Request: message text is empty"
BUTTON_DATA_INVALID = "Bad Request: BUTTON_DATA_INVALID"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
EDIT_NOT_FOUND = "Bad Request: message to edit not found"
DELETE_NOT_FOUND = "Bad Request: message to delete not found"
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance "
    "is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
    "delete the webhook first"
)


def too_many_requests(retry_after: int) -> ApiError:
    """A flood-control answer as Telegram words it."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


DEFAULT_DESCRIPTIONS = {
    400: CHAT_NOT_FOUND,
    401: "Unauthorized",
    403: BLOCKED,
    404: "Not Found",
    409: CONFLICT_POLL,
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def _file(kind: str, seq: int) -> JSON:
    return {"file_id": f"{kind.upper()}-FILE-{seq:06d}", "file_unique_id": f"u{kind}{seq}"}


def media_fields(kind: str, seq: int, user: FakeUser) -> JSON:
    """Message fields for a non-text message of ``kind``, shaped like real client uploads."""
    payloads: dict[str, JSON] = {
        "sticker": {
            "sticker": {
                **_file("sticker", seq),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            }
        },
        "photo": {
            "photo": [
                {**_file("photo_s", seq), "width": 90, "height": 67, "file_size": 1200},
                {**_file("photo", seq), "width": 1280, "height": 960, "file_size": 98765},
            ]
        },
        "voice": {"voice": {**_file("voice", seq), "duration": 3, "mime_type": "audio/ogg"}},
        "video": {"video": {**_file("video", seq), "width": 640, "height": 360, "duration": 5}},
        "video_note": {"video_note": {**_file("video_note", seq), "length": 240, "duration": 4}},
        "audio": {
            "audio": {
                **_file("audio", seq),
                "duration": 180,
                "mime_type": "audio/mpeg",
                "title": "Sang",
                "performer": "Kunstner",
            }
        },
        "document": {
            "document": {
                **_file("document", seq),
                "file_name": "notes.pdf",
                "mime_type": "application/pdf",
                "file_size": 4321,
            }
        },
        "animation": {
            "animation": {**_file("animation", seq), "width": 320, "height": 240, "duration": 2},
            "document": {**_file("animation", seq), "mime_type": "video/mp4"},
        },
        "location": {"location": {"latitude": 55.6761, "longitude": 12.5683}},
        "venue": {
            "venue": {
                "location": {"latitude": 55.6736, "longitude": 12.5681},
                "title": "Tivoli",
                "address": "Vesterbrogade 3, København",
            },
            "location": {"latitude": 55.6736, "longitude": 12.5681},
        },
        "contact": {
            "contact": {
                "phone_number": "+4512345678",
                "first_name": user.first_name,
                "user_id": user.id,
            }
        },
        "poll": {
            "poll": {
                "id": str(5_000_000_000_000_000 + seq),
                "question": "Kaffe eller te?",
                "options": [
                    {"text": "Kaffe", "voter_count": 0, "persistent_id": "0"},
                    {"text": "Te", "voter_count": 0, "persistent_id": "1"},
                ],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
        },
        "dice": {"dice": {"emoji": "🎲", "value": seq % 6 + 1}},
    }
    if kind not in payloads:
        raise ValueError(f"unknown message kind {kind!r}; choose from {sorted(payloads)}")
    return payloads[kind]


MEDIA_KINDS = (
    "sticker",
    "photo",
    "voice",
    "video",
    "video_note",
    "audio",
    "document",
    "location",
    "contact",
    "poll",
    "dice",
    "animation",
    "venue",
)
