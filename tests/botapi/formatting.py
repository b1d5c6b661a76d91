"""Telegram's text formatting, parsed the way the server does before it measures a message.

The double must reject what Telegram rejects (unescaped ``<`` in HTML, a bare ``.`` in
MarkdownV2) or tests would pass against the double and fail in production; it also needs the
visible text, because the 4096-character limit applies after markup is removed.
"""

from __future__ import annotations

import re

from tests.botapi.models import ApiError

_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
        "tg-time",
    }
)
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)(\s[^<>]*)?>")
_HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9A-Fa-f]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MDV2_RESERVED = frozenset("#+-={}.!()>")
_MDV2_MARKERS = frozenset("_*~|[")


def _cant_parse(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _unescape(chunk: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _NAMED:
            return _NAMED[name]
        number = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        return chr(number)

    return _HTML_ENTITY.sub(replace, chunk)


def _plain_html(text: str) -> str:
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (lt := text.find("<", pos)) != -1:
        out.append(_unescape(text[pos:lt]))
        match = _TAG.match(text, lt)
        if match is None:
            word = re.match(r"</?([^\s<>]*)", text[lt:])
            name = word.group(1) if word else ""
            raise _cant_parse(
                f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, lt)}'
            )
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _HTML_TAGS:
            kind = "end" if closing else "start"
            raise _cant_parse(
                f'Unsupported {kind} tag "{name}" at byte offset {_byte_offset(text, lt)}'
            )
        if not closing:
            stack.append(name)
        elif not stack or stack[-1] != name:
            raise _cant_parse(f"Unexpected end tag at byte offset {_byte_offset(text, lt)}")
        else:
            stack.pop()
        pos = match.end()
    out.append(_unescape(text[pos:]))
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _plain_markdown_v2(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    in_code = False
    while i < n:
        char = text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if char == "\\" and i + 1 < n:
            out.append(text[i + 1])
            i += 2
        elif char == "`":
            fence = 3 if text.startswith("```", i) else 1
            in_code = not in_code
            i += fence
        elif in_code:
            out.append(char)
            i += 1
        elif char == "]" and text.startswith("](", i):
            close = text.find(")", i)
            if close == -1:
                offset = _byte_offset(text, i)
                raise _cant_parse(f"Can't find end of a URL at byte offset {offset}")
            i = close + 1
        elif char in _MDV2_MARKERS or char == "]" or (char == ">" and at_line_start):
            i += 1
        elif char in _MDV2_RESERVED:
            raise _cant_parse(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        else:
            out.append(char)
            i += 1
    return "".join(out)


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees for ``text`` sent with ``parse_mode``; raises 400 like Telegram."""
    mode = (parse_mode or "").lower()
    if mode == "html":
        return _plain_html(text)
    if mode == "markdownv2":
        return _plain_markdown_v2(text)
    if mode == "markdown":
        unlinked = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
        return unlinked.translate(str.maketrans("", "", "*_`"))
    return text
