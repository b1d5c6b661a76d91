"""Bot API method implementations of the double (everything except the async getUpdates).

Each handler takes the decoded params, returns the ``result`` value or raises ``ApiError``
with Telegram's own wording, validating what the real server validates so bugs such as an
over-long callback_data or a re-answered callback query fail in tests rather than in prod.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from tests.botapi.formatting import plain_text
from tests.botapi.models import (
    BUTTON_DATA_INVALID,
    DELETE_NOT_FOUND,
    EDIT_NOT_FOUND,
    JSON,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    TEXT_EMPTY,
    TOO_LONG,
    ApiError,
    SentMessage,
)
from tests.botapi.state import BotState

Handler = Callable[[BotState, JSON], Any]

_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def _checked_markup(value: Any) -> JSON | None:
    """Validate ``reply_markup``; returns it (any keyboard kind) or ``None``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    rows = value.get("inline_keyboard")
    if rows is None:
        return value
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not button.get("text"):
            raise _bad("BUTTON_TEXT_INVALID")
        if not any(key in button for key in _BUTTON_ACTIONS):
            raise _bad("text buttons are unallowed in the inline keyboard")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
            raise ApiError(400, BUTTON_DATA_INVALID)
    return value


def _inline_only(markup: JSON | None) -> JSON | None:
    """Telegram echoes (and stores on the message) only inline keyboards."""
    return markup if markup is not None and "inline_keyboard" in markup else None


def _visible_text(params: JSON) -> tuple[str, str, str | None]:
    """(raw, visible, parse_mode) of the ``text`` param, validated like Telegram does."""
    raw = params.get("text")
    raw_text = "" if raw is None else str(raw)
    parse_mode = params.get("parse_mode") or None
    text = plain_text(raw_text, parse_mode)
    if not text.strip():
        raise ApiError(400, TEXT_EMPTY)
    if len(text) > 4096:
        raise ApiError(400, TOO_LONG)
    return raw_text, text, parse_mode


def _record(
    state: BotState, message: JSON, raw_text: str, parse_mode: str | None, method: str
) -> None:
    sent = SentMessage(
        chat_id=message["chat"]["id"],
        message_id=message["message_id"],
        text=message.get("text", ""),
        raw_text=raw_text,
        parse_mode=parse_mode,
        reply_markup=message.get("reply_markup"),
        raw=dict(message),
        edited="edit_date" in message,
        method=method,
    )
    if not state.lean:
        state.sent.append(sent)
    for listener in state.sent_listeners:
        listener(sent)
    state.signal.fire()


def send_message(state: BotState, params: JSON) -> JSON:
    chat = state.chat_json(params.get("chat_id"))
    state.ensure_reachable(chat["id"])
    raw_text, text, parse_mode = _visible_text(params)
    markup = _checked_markup(params.get("reply_markup"))
    state.check_rate_limit(chat["id"])
    message: JSON = {
        "message_id": state.next_message_id(chat["id"]),
        "from": state.bot_json(),
        "chat": chat,
        "date": int(time.time()),
        "text": text,
    }
    if (inline := _inline_only(markup)) is not None:
        message["reply_markup"] = inline
    if not state.lean:
        key = (chat["id"], message["message_id"])
        state.messages[key] = message
        state.bot_messages.add(key)
    state.note_delivery(chat["id"])
    _record(state, message, raw_text, parse_mode, "sendMessage")
    return message


def _editable(state: BotState, params: JSON) -> tuple[tuple[int, int], JSON]:
    if "inline_message_id" in params:
        raise _bad("MESSAGE_ID_INVALID")
    chat = state.chat_json(params.get("chat_id"))
    state.ensure_reachable(chat["id"])
    try:
        key = (chat["id"], int(params.get("message_id", 0)))
    except (TypeError, ValueError):
        raise ApiError(400, EDIT_NOT_FOUND) from None
    current = state.messages.get(key)
    if current is None:
        raise ApiError(400, EDIT_NOT_FOUND)
    if key not in state.bot_messages:
        raise _bad("message can't be edited")
    return key, current


def _last_raw(state: BotState, key: tuple[int, int]) -> tuple[str, str | None]:
    for sent in reversed(state.sent):
        if (sent.chat_id, sent.message_id) == key:
            return sent.raw_text, sent.parse_mode
    return "", None


def _store_edit(
    state: BotState, key: tuple[int, int], edited: JSON, raw: tuple[str, str | None], method: str
) -> JSON:
    edited["edit_date"] = int(time.time())
    state.messages[key] = edited
    _record(state, edited, raw[0], raw[1], method)
    return edited


def edit_message_text(state: BotState, params: JSON) -> JSON:
    key, current = _editable(state, params)
    raw_text, text, parse_mode = _visible_text(params)
    markup = _inline_only(_checked_markup(params.get("reply_markup")))
    same_text = current.get("text") == text and _last_raw(state, key)[0] == raw_text
    if same_text and current.get("reply_markup") == markup:
        raise ApiError(400, NOT_MODIFIED)
    edited = {k: v for k, v in current.items() if k != "reply_markup"} | {"text": text}
    if markup is not None:  # editing text without a markup removes the keyboard
        edited["reply_markup"] = markup
    return _store_edit(state, key, edited, (raw_text, parse_mode), "editMessageText")


def edit_message_reply_markup(state: BotState, params: JSON) -> JSON:
    key, current = _editable(state, params)
    markup = _inline_only(_checked_markup(params.get("reply_markup")))
    if current.get("reply_markup") == markup:
        raise ApiError(400, NOT_MODIFIED)
    edited = {k: v for k, v in current.items() if k != "reply_markup"}
    if markup is not None:
        edited["reply_markup"] = markup
    return _store_edit(state, key, edited, _last_raw(state, key), "editMessageReplyMarkup")


def delete_message(state: BotState, params: JSON) -> bool:
    chat = state.chat_json(params.get("chat_id"))
    key = (chat["id"], int(params.get("message_id", 0)))
    if state.messages.pop(key, None) is None:
        raise ApiError(400, DELETE_NOT_FOUND)
    state.bot_messages.discard(key)
    state.deleted.append(key)
    state.signal.fire()
    return True


def answer_callback_query(state: BotState, params: JSON) -> bool:
    query_id = str(params.get("callback_query_id", ""))
    if state.callback_queries.get(query_id) is not False:
        raise ApiError(400, QUERY_TOO_OLD)
    state.callback_queries[query_id] = True
    return True


def _scope_key(params: JSON) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    if not isinstance(scope, dict) or "type" not in scope:
        raise _bad("can't parse BotCommandScope JSON object")
    name = str(scope["type"])
    if "chat_id" in scope:
        name += f":{scope['chat_id']}"
    if "user_id" in scope:
        name += f":{scope['user_id']}"
    return name, str(params.get("language_code") or "")


def set_my_commands(state: BotState, params: JSON) -> bool:
    commands = params.get("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise _bad("can't parse commands JSON object")
    for entry in commands:
        if not isinstance(entry, dict) or not _COMMAND.match(str(entry.get("command", ""))):
            raise _bad("BOT_COMMAND_INVALID")
        if not 1 <= len(str(entry.get("description", "")).strip()) <= 256:
            raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
    stored = [{"command": c["command"], "description": c["description"]} for c in commands]
    state.commands[_scope_key(params)] = stored
    return True


def get_my_commands(state: BotState, params: JSON) -> list[JSON]:
    return list(state.commands.get(_scope_key(params), []))


def delete_my_commands(state: BotState, params: JSON) -> bool:
    state.commands.pop(_scope_key(params), None)
    return True


def send_chat_action(state: BotState, params: JSON) -> bool:
    chat = state.chat_json(params.get("chat_id"))
    state.ensure_reachable(chat["id"])
    if params.get("action") not in _CHAT_ACTIONS:
        raise _bad("wrong parameter action in request")
    return True


def leave_chat(state: BotState, params: JSON) -> bool:
    chat = state.chat_json(params.get("chat_id"))
    if chat["type"] == "private":
        raise _bad("chat member status can't be changed in private chats")
    state.left_groups.add(chat["id"])
    return True


def get_chat(state: BotState, params: JSON) -> JSON:
    gifts = dict.fromkeys(
        (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        ),
        False,
    )
    return state.chat_json(params.get("chat_id")) | {
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": gifts,
    }


def get_me(state: BotState, params: JSON) -> JSON:
    return state.bot_json() | {
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


def set_webhook(state: BotState, params: JSON) -> bool:
    url = str(params.get("url") or "")
    if not url:
        state.webhook = None
        return True
    if not url.startswith(("http://", "https://")):
        raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.get("secret_token")
    if secret is not None and not _SECRET.match(str(secret)):
        raise _bad("secret token contains unallowed characters")
    if params.get("drop_pending_updates"):
        state.drop_pending()
    if isinstance(params.get("allowed_updates"), list):
        state.allowed_updates = list(params["allowed_updates"])
    state.webhook = {"url": url, "secret_token": secret}
    state.webhook_error = {}
    state.signal.fire()  # running long polls must learn about the webhook
    return True


def delete_webhook(state: BotState, params: JSON) -> bool:
    state.webhook = None
    if params.get("drop_pending_updates"):
        state.drop_pending()
    return True


def get_webhook_info(state: BotState, params: JSON) -> JSON:
    info: JSON = {
        "url": state.webhook["url"] if state.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(state.queue),
    }
    if state.webhook:
        info["max_connections"] = 40
        info |= state.webhook_error
        if state.allowed_updates:
            info["allowed_updates"] = list(state.allowed_updates)
    return info


def _true(state: BotState, params: JSON) -> bool:
    return True


_HANDLERS: dict[str, Handler] = {
    "getMe": get_me,
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "answerCallbackQuery": answer_callback_query,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "sendChatAction": send_chat_action,
    "leaveChat": leave_chat,
    "getChat": get_chat,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "close": _true,
    "logOut": _true,
}

# Telegram matches method names case-insensitively.
METHODS: dict[str, tuple[str, Handler]] = {
    name.lower(): (name, handler) for name, handler in _HANDLERS.items()
}
