"""The console's HTML: plain strings, every value through `html.escape`, no inline script
or style (the Content Security Policy forbids both). Texts come from
dialogues/content/texts/console.yaml, in the page's language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from dialogues.content import LANGUAGES, Texts
from volunteers.messages import TOPICS

# Texts the console's script needs, handed over in data attributes (no inline script).
SCRIPT_TEXTS = (
    "console_available", "console_away", "console_status_available", "console_status_away",
    "console_closed", "console_queue_empty", "console_take", "console_waited",
    "console_crisis", "console_note", "console_handback_note", "console_talks_empty",
    "console_message_label", "console_send", "console_canned", "console_canned_none",
    "console_end", "console_back", "console_back_note", "console_flag", "console_flagged",
    "console_transfer", "console_transfer_to", "console_transfer_note",
    "console_transfer_none", "console_confirm", "console_cancel", "console_you",
    "console_reading_along", "console_whisper", "console_debrief_heading",
    "console_debrief_topic", "console_debrief_crisis", "console_debrief_follow_up",
    "console_yes", "console_no", "console_debrief_send", "console_result_gone",
    "console_result_full", "console_result_closed", "console_result_not_yours",
    "console_result_failed", "console_connection_lost", "console_new_message",
    "console_ended", "console_thanks", "console_quiet", "console_typing",
)


def _say(texts: Texts, language: str) -> Callable[[str], str]:
    def get(key: str) -> str:
        return texts.get(key, language)

    return get


def other(language: str) -> str:
    return next(code for code in LANGUAGES if code != language)


def layout(texts: Texts, language: str, title: str, body: str, *, switch: str) -> str:
    """`switch` is the markup of the language switch (a link, or a form when logged in)."""
    return (
        f'<!doctype html><html lang="{escape(language)}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">'
        f"<title>{escape(title)} – snakkes</title>"
        '<link rel="stylesheet" href="/console/static/console.css">'
        '<script src="/console/static/console.js" defer></script></head>'
        f'<body><header class="top"><p class="brand">snakkes · '
        f'{escape(texts.get("console_title", language))}</p>{switch}</header>'
        f'<main id="main">{body}</main></body></html>'
    )


def _switch_link(texts: Texts, language: str, path: str) -> str:
    target = other(language)
    return (f'<a class="switch" lang="{target}" hreflang="{target}" '
            f'href="{escape(path)}?lang={target}">'
            f'{escape(texts.get("console_other_language", language))}</a>')


def _error(text: str) -> str:
    return f'<p class="error" role="alert">{escape(text)}</p>' if text else ""


def _field(name: str, label: str, *, kind: str = "text", value: str = "",
           autocomplete: str = "off", hint: str = "", required: bool = True,
           extra: str = "") -> str:
    described = f' aria-describedby="{name}-hint"' if hint else ""
    shown = f'<p class="hint" id="{name}-hint">{escape(hint)}</p>' if hint else ""
    keep = f' value="{escape(value)}"' if value and kind != "password" else ""
    return (f'<label for="{name}">{escape(label)}</label>'
            f'<input id="{name}" name="{name}" type="{kind}"{" required" if required else ""} '
            f'autocomplete="{autocomplete}"{keep}{described}{extra}>{shown}')


def _orgs(texts: Texts, language: str, orgs: Sequence[tuple[str, str]], chosen: str) -> str:
    if len(orgs) == 1:
        return f'<input type="hidden" name="org" value="{escape(orgs[0][0])}">'
    options = "".join(
        f'<option value="{escape(slug)}"{" selected" if slug == chosen else ""}>'
        f"{escape(name)}</option>" for slug, name in orgs
    )
    return (f'<label for="org">{escape(texts.get("console_org", language))}</label>'
            f'<select id="org" name="org">{options}</select>')


def login(texts: Texts, language: str, csrf: str, orgs: Sequence[tuple[str, str]], *,
          alias: str = "", org: str = "", error: str = "") -> str:
    t = _say(texts, language)
    body = (
        f'<h1>{escape(t("console_login_heading"))}</h1>{_error(error)}'
        '<form method="post" action="/console/login" class="card">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="lang" value="{escape(language)}">'
        f'{_orgs(texts, language, orgs, org)}'
        f'{_field("alias", t("console_alias"), value=alias, autocomplete="username")}'
        f'{_field("password", t("console_password"), kind="password", autocomplete="current-password")}'  # noqa: E501
        f'{_field("totp", t("console_totp_code"), autocomplete="one-time-code", required=False, hint=t("console_totp_login_hint"), extra=_CODE)}'  # noqa: E501
        f'<button type="submit">{escape(t("console_login_button"))}</button></form>'
        f'<p><a href="/console/signup?lang={escape(language)}">'
        f'{escape(t("console_signup_link"))}</a></p>'
    )
    return layout(texts, language, t("console_login_heading"), body,
                  switch=_switch_link(texts, language, "/console/login"))


def signup(texts: Texts, language: str, csrf: str, *, alias: str = "", error: str = ""
           ) -> str:
    t = _say(texts, language)
    conduct = "".join(f"<li>{escape(line.lstrip('• '))}</li>"
                      for line in t("console_conduct").splitlines()[1:])
    body = (
        f'<h1>{escape(t("console_signup_heading"))}</h1>{_error(error)}'
        '<form method="post" action="/console/signup" class="card">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="lang" value="{escape(language)}">'
        f'{_field("code", t("console_code"), autocomplete="one-time-code")}'
        f'{_field("alias", t("console_alias"), value=alias, autocomplete="nickname")}'
        f'{_field("password", t("console_password"), kind="password", autocomplete="new-password", hint=t("console_password_hint"))}'  # noqa: E501
        f'{_field("password2", t("console_password_again"), kind="password", autocomplete="new-password")}'  # noqa: E501
        f'<section aria-labelledby="conduct-heading" class="conduct">'
        f'<h2 id="conduct-heading">{escape(t("console_conduct").splitlines()[0])}</h2>'
        f"<ul>{conduct}</ul></section>"
        '<p class="check"><input type="checkbox" id="accept" name="accept" value="yes" required>'
        f'<label for="accept">{escape(t("console_accept"))}</label></p>'
        f'<button type="submit">{escape(t("console_signup_button"))}</button></form>'
        f'<p><a href="/console/login?lang={escape(language)}">'
        f'{escape(t("console_login_link"))}</a></p>'
    )
    return layout(texts, language, t("console_signup_heading"), body,
                  switch=_switch_link(texts, language, "/console/signup"))


_CODE = ' inputmode="numeric" pattern="[0-9 ]{6,8}" maxlength="8"'


def totp(texts: Texts, language: str, csrf: str, *, secret: str, qr_svg: str,
         required: bool, error: str = "") -> str:
    """Setting up the second factor: the QR code (inline SVG, no image request) and the
    same secret as text, shown this once; then a code from the app to confirm."""
    t = _say(texts, language)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    body = (
        f'<h1>{escape(t("console_totp_heading"))}</h1>{_error(error)}'
        f'<p>{escape(t("console_totp_required" if required else "console_totp_intro"))}</p>'
        f'<figure class="qr" role="img" aria-label="{escape(t("console_totp_qr_label"))}">'
        f"{qr_svg}</figure>"
        f'<p>{escape(t("console_totp_secret"))} <code class="secret">{escape(grouped)}</code></p>'
        '<form method="post" action="/console/totp" class="card">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="secret" value="{escape(secret)}">'
        f'{_field("totp", t("console_totp_code"), autocomplete="one-time-code", extra=_CODE)}'
        f'<button type="submit">{escape(t("console_totp_confirm"))}</button></form>'
        + ("" if required else
           f'<p><a href="/console">{escape(t("console_totp_not_now"))}</a></p>')
    )
    return layout(texts, language, t("console_totp_heading"), body,
                  switch=_switch_link(texts, language, "/console/totp"))


def refused(texts: Texts, language: str) -> str:
    return layout(texts, language, texts.get("console_title", language),
                  _error(texts.get("console_refused", language)),
                  switch=_switch_link(texts, language, "/console/login"))


def console(texts: Texts, language: str, csrf: str, *, alias: str, org: str,
            topic_labels: Sequence[tuple[str, str]], totp_on: bool = True) -> str:
    """The shell the script fills from the socket's state frames."""
    t = _say(texts, language)
    data = " ".join(
        f'data-{key.removeprefix("console_").replace("_", "-")}="{escape(t(key))}"'
        for key in SCRIPT_TEXTS
    )
    topics = " ".join(f'data-topic-{k}="{escape(label)}"' for k, label in topic_labels)
    switch = (
        '<div class="tools"><form method="post" action="/console/language" class="inline">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<input type="hidden" name="lang" value="{other(language)}">'
        f'<button type="submit" class="switch" lang="{other(language)}">'
        f'{escape(t("console_other_language"))}</button></form>'
        '<form method="post" action="/console/logout" class="inline">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
        f'<button type="submit">{escape(t("console_logout_button"))}</button></form></div>'
    )
    body = (
        f'<div id="texts" hidden {data} {topics}></div>'
        f'<div id="console" data-csrf="{escape(csrf)}" data-lang="{escape(language)}">'
        f'<h1>{escape(alias)} · {escape(org)}</h1>'
        + ("" if totp_on else
           f'<p class="totp-link"><a href="/console/totp">{escape(t("console_totp_link"))}'
           "</a></p>") +
        '<section aria-labelledby="status-heading" class="status">'
        f'<h2 id="status-heading">{escape(t("console_status"))}</h2>'
        '<p id="status-text" role="status"></p>'
        f'<button type="button" id="toggle-available" aria-pressed="false">'
        f'{escape(t("console_available"))}</button>'
        '<p id="notice" role="alert" class="notice"></p></section>'
        '<div class="columns">'
        '<section aria-labelledby="queue-heading" class="queue">'
        f'<h2 id="queue-heading">{escape(t("console_queue_heading"))}</h2>'
        '<ul id="queue" class="cards"></ul></section>'
        '<section aria-labelledby="talks-heading" class="talks">'
        f'<h2 id="talks-heading">{escape(t("console_talks_heading"))}</h2>'
        '<div id="debriefs"></div><div id="talks"></div></section>'
        '</div><div id="announce" class="visually-hidden" aria-live="polite"></div></div>'
    )
    return layout(texts, language, t("console_title"), body, switch=switch)


def topic_labels(texts: Texts, language: str) -> list[tuple[str, str]]:
    return [(topic, texts.get(f"volunteer_topic_{topic}", language)) for topic in TOPICS]
