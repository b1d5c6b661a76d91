"""The coordinators' side of the volunteer console, on the dashboard: the inbox of flags
and debrief follow-ups (open, handled, by whom), canned responses, the live list of
waiting and active conversations, read-along (audited) and a whisper to the volunteer.

A coordinator sees their own organisation; an administrator sees every one. Reading along
shows the conversation's text while it runs and writes who looked, and when, to the
audit log; the volunteer's console says that a coordinator is reading along.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape

from aiohttp import web

from bot.dashboard import pages
from bot.dashboard.pages import Who
from bot.dashboard.routes import (
    DASHBOARD,
    database_of,
    html,
    language_of,
    protected,
    remember_language,
)
from bot.pubsub import Hub, volunteer_topic
from dialogues.content import LANGUAGES
from insights.labels import Language
from storage import console as store
from storage import handover
from storage.models import CannedResponse, Handover, InboxItem, ReadAlong, Volunteer

HubOf = Callable[[web.Application], Hub | None]
HUB_OF: web.AppKey[HubOf] = web.AppKey("inbox_hub_of")
MAX_CANNED = 1000

# These pages' words, Danish first (the dashboard's shared words are in texts.py).
WORDS: dict[str, tuple[str, str]] = {
    "kind_flag": ("Flaget af den frivillige", "Flagged by the volunteer"),
    "kind_follow_up": ("Efter samtalen: følg op", "Debrief: follow up"),
    "inbox": ("Indbakke", "Inbox"),
    "empty": ("Indbakken er tom.", "Nothing in the inbox."),
    "items": ("Flag og opfølgninger", "Flags and follow-ups"),
    "what": ("Hvad", "What"),
    "young": ("Ung", "Young person"),
    "volunteer": ("Frivillig", "Volunteer"),
    "organisation": ("Organisation", "Organisation"),
    "when": ("Hvornår (UTC)", "When (UTC)"),
    "status": ("Status", "Status"),
    "handled_by": ("klaret af {name} {when}", "handled by {name} {when}"),
    "open": ("åben", "open"),
    "mark": ("Marker {young} som klaret", "Mark {young} handled"),
    "no_item": ("Den findes ikke.", "No such item."),
    "not_yours": ("Den er allerede klaret eller hører ikke til din organisation.",
                  "That item was already handled or is not yours."),
    "marked": ("Markeret som klaret.", "Marked as handled."),
    "canned": ("Standardsvar", "Canned responses"),
    "canned_help": (
        "De frivillige sætter dem ind med ét klik. <code>{pseudonym}</code> bliver den unges "
        "„Ung #NNNN“, <code>{alias}</code> den frivilliges navn.",
        "Volunteers insert these with one click. <code>{pseudonym}</code> becomes the young "
        "person's “Ung #NNNN”, <code>{alias}</code> the volunteer's name."),
    "language": ("Sprog", "Language"),
    "title": ("Titel", "Title"),
    "text": ("Tekst", "Text"),
    "delete": ("Slet „{title}“", "Delete “{title}”"),
    "add": ("Tilføj standardsvar", "Add canned response"),
    "canned_bad": (
        "Et standardsvar skal have din organisation, et sprog, en titel (højst 60 tegn) og "
        "en tekst (højst 1000).",
        "A canned response needs your organisation, a language, a title (up to 60) and a "
        "text (up to 1000)."),
    "added": ("Standardsvaret er tilføjet.", "Canned response added."),
    "deleted": ("Standardsvaret er slettet.", "Canned response deleted."),
    "audit": ("Log over medlæsning", "Read-along log"),
    "audit_empty": ("Ingen har læst med endnu.", "Nobody has read along yet."),
    "coordinator": ("Koordinator", "Coordinator"),
    "live": ("Samtaler nu", "Live conversations"),
    "live_help": (
        "Ventende og igangværende samtaler. Når du læser med, bliver det skrevet i loggen "
        "over medlæsning, og den frivillige kan se det.",
        "Waiting and active conversations; reading along is written to the read-along log "
        "and shown to the volunteer."),
    "waited": ("Venter / i gang", "Waiting / running"),
    "marks": ("Markeringer", "Marks"),
    "crisis": ("krise", "crisis"),
    "flagged": ("flaget", "flagged"),
    "waiting": ("venter", "waiting"),
    "active": ("i gang", "active"),
    "minutes": ("{n} min", "{n} min"),
    "read": ("Læs med hos {young}", "Read along with {young}"),
    "not_found": ("Ikke fundet", "Not found"),
    "not_found_body": ("Samtalen er slut eller hører ikke til din organisation.",
                       "That conversation has ended or is not one of your organisation's."),
    "reading": ("Du læser med: {young} med {alias}", "Reading along: {young} with {alias}"),
    "reading_help": (
        "Kun læsning. {alias} kan se, at du læser med; det står i loggen over medlæsning.",
        "Read-only. {alias} sees that you are reading along; this view is in the read-along "
        "log."),
    "read_along": ("Læs med", "Read along"),
    "whisper_label": ("Hvisk til den frivillige (kun de ser det)",
                      "Whisper to the volunteer (only they see it)"),
    "whisper": ("Hvisk", "Whisper"),
    "whispered": ("Hvisket.", "Whispered."),
    "not_sent": ("Ikke sendt", "Not sent"),
    "not_sent_body": ("Samtalen er slut, eller hvisken var tom.",
                      "The conversation has ended, or the whisper was empty."),
    "switch": ("English", "Dansk"),
}


def w(key: str, language: Language, **values: str) -> str:
    da, en = WORDS[key]
    text = da if language == "da" else en
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def _page(request: web.Request, body: str, status: int = 200) -> web.Response:
    """The page, and the language switch remembered (as on the rest of the dashboard)."""
    response = html(body, status)
    remember_language(response, request)
    return response


def _switch(path: str, language: Language) -> str:
    other = "en" if language == "da" else "da"
    return (f'<p><a class="language" lang="{other}" href="{escape(path)}?lang={other}">'
            f"{w('switch', language)}</a></p>")


def add_routes(app: web.Application, hub_of: HubOf) -> None:
    app[HUB_OF] = hub_of
    app.router.add_get("/dashboard/inbox", protected(inbox_page))
    app.router.add_post("/dashboard/inbox/handled", protected(handled))
    app.router.add_post("/dashboard/canned/add", protected(canned_add))
    app.router.add_post("/dashboard/canned/delete", protected(canned_delete))
    app.router.add_get("/dashboard/live", protected(live_page))
    app.router.add_get("/dashboard/live/{id:\\d+}", protected(read_along))
    app.router.add_post("/dashboard/live/{id:\\d+}/whisper", protected(whisper))


def _scope(who: Who) -> list[str] | None:
    return None if who.admin else [who.org]


def _now(request: web.Request) -> datetime:
    return request.app[DASHBOARD].clock()


# -- the inbox -----------------------------------------------------------------------------
async def inbox_page(request: web.Request, who: Who, message: str = "",
                     status: int = 200) -> web.StreamResponse:
    async with database_of(request).session() as session:
        items = await store.inbox(session, _scope(who))
        canned = [c for org in _orgs(request, who) for c in await store.canned(session, org)]
        audit = await store.read_alongs(session, _scope(who))
    lang = language_of(request)
    note = f'<p class="status" role="status">{escape(message)}</p>' if message else ""
    body = (
        f"<h1>{w('inbox', lang)}</h1>{_switch('/dashboard/inbox', lang)}{note}"
        f"{_items(who, items, lang)}"
        f"{_canned(who, canned, _orgs(request, who), lang)}{_audit(audit, lang)}"
    )
    return _page(request, pages.layout(w("inbox", lang), body, who, lang), status)


def _orgs(request: web.Request, who: Who) -> list[str]:
    slugs = [org.slug for org in request.app[DASHBOARD].settings.organisations]
    return slugs if who.admin else [s for s in slugs if s == who.org]


def _kind(kind: str, lang: Language) -> str:
    return w(f"kind_{kind}", lang) if f"kind_{kind}" in WORDS else kind


def _head(lang: Language, *keys: str) -> str:
    return "".join(f'<th scope="col">{w(key, lang) if key else ""}</th>' for key in keys)


def _items(who: Who, items: Sequence[InboxItem], lang: Language) -> str:
    if not items:
        return f"<p>{w('empty', lang)}</p>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(_kind(item.kind, lang))}</td>"
        f"<td>Ung #{item.young_number}</td><td>{escape(item.volunteer_alias)}</td>"
        f"<td>{escape(item.org_slug)}</td><td>{item.created_at:%Y-%m-%d %H:%M}</td>"
        f"<td>{_status(who, item, lang)}</td></tr>"
        for item in items
    )
    return (
        f'<section aria-labelledby="inbox-heading"><h2 id="inbox-heading">{w("items", lang)}'
        '</h2><div class="scroll" tabindex="0" role="region" '
        f'aria-label="{w("items", lang)}"><table><thead><tr>'
        f'{_head(lang, "what", "young", "volunteer", "organisation", "when", "status")}'
        f"</tr></thead><tbody>{rows}</tbody></table></div></section>"
    )


def _status(who: Who, item: InboxItem, lang: Language) -> str:
    if item.status == store.HANDLED:
        when = f"{item.handled_at:%Y-%m-%d %H:%M}" if item.handled_at else ""
        return w("handled_by", lang, name=escape(item.handled_by or ""), when=when)
    return (
        f'{w("open", lang)} <form method="post" action="/dashboard/inbox/handled" '
        f'class="inline">{pages.csrf_field(who.csrf)}'
        f'<input type="hidden" name="id" value="{item.id}">'
        f'<button type="submit">{w("mark", lang, young=f"Ung #{item.young_number}")}'
        "</button></form>"
    )


async def handled(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    item = str(form.get("id", ""))
    lang = language_of(request)
    if not item.isdigit():
        return await inbox_page(request, who, w("no_item", lang), 400)
    async with database_of(request).session() as session, session.begin():
        done = await store.mark_handled(session, int(item), _scope(who), who.name,
                                        _now(request))
    if not done:
        return await inbox_page(request, who, w("not_yours", lang), 404)
    return await inbox_page(request, who, w("marked", lang))


# -- canned responses ---------------------------------------------------------------------
def _canned(who: Who, canned: Sequence[CannedResponse], orgs: Sequence[str],
            lang: Language) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.org_slug)}</td><td>{escape(c.language)}</td>"
        f"<td>{escape(c.title)}</td><td>{escape(c.text)}</td><td>"
        '<form method="post" action="/dashboard/canned/delete" class="inline">'
        f'{pages.csrf_field(who.csrf)}<input type="hidden" name="id" value="{c.id}">'
        f'<button type="submit">{w("delete", lang, title=escape(c.title))}</button></form>'
        "</td></tr>"
        for c in canned
    )
    org_options = "".join(f'<option value="{escape(o)}">{escape(o)}</option>' for o in orgs)
    languages = "".join(f'<option value="{lang}">{lang}</option>' for lang in LANGUAGES)
    return (
        f'<section aria-labelledby="canned-heading"><h2 id="canned-heading">'
        f'{w("canned", lang)}</h2><p>{w("canned_help", lang)}</p>'
        '<div class="scroll" tabindex="0" role="region" '
        f'aria-label="{w("canned", lang)}"><table><thead><tr>'
        f'{_head(lang, "organisation", "language", "title", "text", "")}'
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
        '<form method="post" action="/dashboard/canned/add" class="invite">'
        f'{pages.csrf_field(who.csrf)}'
        f'<label for="canned-org">{w("organisation", lang)}</label>'
        f'<select id="canned-org" name="org">{org_options}</select>'
        f'<label for="canned-language">{w("language", lang)}</label>'
        f'<select id="canned-language" name="language">{languages}</select>'
        f'<label for="canned-title">{w("title", lang)}</label>'
        '<input id="canned-title" name="title" required maxlength="60">'
        f'<label for="canned-text">{w("text", lang)}</label>'
        f'<textarea id="canned-text" name="text" required maxlength="{MAX_CANNED}">'
        f'</textarea><button type="submit">{w("add", lang)}</button></form></section>'
    )


async def canned_add(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    org, language = str(form.get("org", "")), str(form.get("language", ""))
    title, text = str(form.get("title", "")).strip(), str(form.get("text", "")).strip()
    lang = language_of(request)
    if (org not in _orgs(request, who) or language not in LANGUAGES or not title
            or not text or len(title) > 60 or len(text) > MAX_CANNED):
        return await inbox_page(request, who, w("canned_bad", lang), 400)
    async with database_of(request).session() as session, session.begin():
        store.add_canned(session, org, language, title=title, text=text, now=_now(request))
    return await inbox_page(request, who, w("added", lang))


async def canned_delete(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    item = str(form.get("id", ""))
    if item.isdigit():
        async with database_of(request).session() as session, session.begin():
            await store.remove_canned(session, int(item), _scope(who))
    return await inbox_page(request, who, w("deleted", language_of(request)))


# -- supervision ---------------------------------------------------------------------------
def _audit(rows: Sequence[ReadAlong], lang: Language) -> str:
    if not rows:
        return ('<section aria-labelledby="audit-heading"><h2 id="audit-heading">'
                f'{w("audit", lang)}</h2><p>{w("audit_empty", lang)}</p></section>')
    lines = "".join(
        f"<tr><td>{r.viewed_at:%Y-%m-%d %H:%M}</td><td>{escape(r.coordinator_name)}</td>"
        f"<td>Ung #{r.young_number}</td><td>{escape(r.volunteer_alias)}</td></tr>"
        for r in rows
    )
    return (
        f'<section aria-labelledby="audit-heading"><h2 id="audit-heading">{w("audit", lang)}'
        '</h2><div class="scroll" tabindex="0" role="region" '
        f'aria-label="{w("audit", lang)}"><table><thead><tr>'
        f'{_head(lang, "when", "coordinator", "young", "volunteer")}'
        f"</tr></thead><tbody>{lines}</tbody></table></div></section>"
    )


async def live_page(request: web.Request, who: Who) -> web.StreamResponse:
    now = _now(request)
    async with database_of(request).session() as session:
        rows = await handover.in_progress(session)
        aliases = {v.id: v.alias or "" for v in await handover.all_volunteers(session)}
        orgs = {v.id: v.org_slug for v in await handover.all_volunteers(session)}
    scope, lang = _orgs(request, who), language_of(request)
    lines = []
    for row in rows:
        org = row.org_slug or (orgs.get(row.volunteer_id or 0))
        if row.status == handover.ACTIVE and org not in scope:
            continue
        since = row.claimed_at if row.status == handover.ACTIVE else row.waiting_since
        minutes = int((now - (since or now)).total_seconds() // 60)
        marks = " ".join(w(m, lang) for m, on in (("crisis", row.crisis),
                                                   ("flagged", row.flagged)) if on)
        young = f"Ung #{row.young_number}"
        action = (f'<a href="/dashboard/live/{row.id}">{w("read", lang, young=young)}</a>'
                  if row.status == handover.ACTIVE else "")
        status = w(row.status, lang) if row.status in WORDS else row.status
        lines.append(
            f"<tr><td>{young}</td><td>{escape(status)}</td>"
            f"<td>{w('minutes', lang, n=str(minutes))}</td>"
            f"<td>{escape(aliases.get(row.volunteer_id or 0, ''))}</td>"
            f"<td>{escape(marks)}</td><td>{action}</td></tr>"
        )
    body = (
        f"<h1>{w('live', lang)}</h1>{_switch('/dashboard/live', lang)}"
        f"<p>{w('live_help', lang)}</p>"
        '<div class="scroll" tabindex="0" role="region" '
        f'aria-label="{w("live", lang)}"><table><thead><tr>'
        f'{_head(lang, "young", "status", "waited", "volunteer", "marks", "")}'
        f'</tr></thead><tbody>{"".join(lines)}</tbody></table></div>'
    )
    return _page(request, pages.layout(w("live", lang), body, who, lang))


async def _supervised(request: web.Request, who: Who) -> tuple[Handover, Volunteer] | None:
    async with database_of(request).session() as session:
        row = await session.get(Handover, int(request.match_info["id"]))
        volunteer = await session.get(Volunteer, row.volunteer_id or 0) if row else None
    if row is None or volunteer is None or row.status != handover.ACTIVE:
        return None
    if not who.admin and volunteer.org_slug != who.org:
        return None
    return row, volunteer


async def read_along(request: web.Request, who: Who, message: str = "") -> web.StreamResponse:
    found, lang = await _supervised(request, who), language_of(request)
    if found is None:
        return _page(request, pages.layout(w("not_found", lang), f"<h1>{w('not_found', lang)}</h1>"
                                 f"<p>{w('not_found_body', lang)}</p>", who, lang), 404)
    row, volunteer = found
    async with database_of(request).session() as session, session.begin():
        store.log_read_along(session, who.name, row, volunteer.alias or "", _now(request))
        lines = await handover.messages_of(session, row.id)
    hub = request.app[HUB_OF](request.app)
    if hub is not None:
        hub.publish(volunteer_topic(volunteer.id), {"type": "changed"})
    young, alias = f"Ung #{row.young_number}", escape(volunteer.alias or "")
    said = "".join(
        f'<li class="{escape(m.sender)}"><strong>{young if m.sender == "young" else alias}'
        f"</strong>: {escape(m.text)}</li>"
        for m in lines
    )
    note = f'<p class="status" role="status">{escape(message)}</p>' if message else ""
    body = (
        f"<h1>{w('reading', lang, young=young, alias=alias)}</h1>"
        f"{_switch(f'/dashboard/live/{row.id}', lang)}"
        f"{note}<p>{w('reading_help', lang, alias=alias)}</p>"
        f'<ol class="transcript">{said}</ol>'
        f'<form method="post" action="/dashboard/live/{row.id}/whisper" class="invite">'
        f"{pages.csrf_field(who.csrf)}"
        f'<label for="whisper">{w("whisper_label", lang)}</label>'
        '<input id="whisper" name="text" required maxlength="500">'
        f'<button type="submit">{w("whisper", lang)}</button></form>'
    )
    return _page(request, pages.layout(w("read_along", lang), body, who, lang))


async def whisper(request: web.Request, who: Who) -> web.StreamResponse:
    found = await _supervised(request, who)
    form = await request.post()
    text = str(form.get("text", "")).strip()[:500]
    lang = language_of(request)
    if found is None or not text:
        return _page(request, pages.layout(w("not_sent", lang), f"<h1>{w('not_sent', lang)}</h1>"
                                 f"<p>{w('not_sent_body', lang)}</p>", who, lang), 400)
    hub = request.app[HUB_OF](request.app)
    if hub is not None:
        hub.publish(volunteer_topic(found[1].id),
                    {"type": "whisper", "from": who.name, "text": text})
    return await read_along(request, who, w("whispered", lang))

