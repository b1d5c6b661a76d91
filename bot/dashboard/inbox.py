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
from bot.dashboard.routes import DASHBOARD, database_of, html, protected
from bot.pubsub import Hub, volunteer_topic
from dialogues.content import LANGUAGES
from storage import console as store
from storage import handover
from storage.models import CannedResponse, Handover, InboxItem, ReadAlong, Volunteer

HubOf = Callable[[web.Application], Hub | None]
HUB_OF: web.AppKey[HubOf] = web.AppKey("inbox_hub_of")
KINDS = {"flag": "Flagged by the volunteer", "follow_up": "Debrief: follow up"}
MAX_CANNED = 1000


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
    note = f'<p class="status" role="status">{escape(message)}</p>' if message else ""
    body = (
        f"<h1>Inbox</h1>{note}{_items(who, items)}"
        f"{_canned(who, canned, _orgs(request, who))}{_audit(audit)}"
    )
    return html(pages.layout("Inbox", body, who), status)


def _orgs(request: web.Request, who: Who) -> list[str]:
    slugs = [org.slug for org in request.app[DASHBOARD].settings.organisations]
    return slugs if who.admin else [s for s in slugs if s == who.org]


def _items(who: Who, items: Sequence[InboxItem]) -> str:
    if not items:
        return "<p>Nothing in the inbox.</p>"
    rows = "".join(
        "<tr>"
        f"<td>{escape(KINDS.get(item.kind, item.kind))}</td>"
        f"<td>Ung #{item.young_number}</td><td>{escape(item.volunteer_alias)}</td>"
        f"<td>{escape(item.org_slug)}</td><td>{item.created_at:%Y-%m-%d %H:%M}</td>"
        f"<td>{_status(who, item)}</td></tr>"
        for item in items
    )
    return (
        '<section aria-labelledby="inbox-heading"><h2 id="inbox-heading">Flags and '
        'follow-ups</h2><div class="scroll" tabindex="0" role="region" '
        'aria-label="Flags and follow-ups"><table><thead><tr><th scope="col">What</th>'
        '<th scope="col">Young person</th><th scope="col">Volunteer</th>'
        '<th scope="col">Organisation</th><th scope="col">When (UTC)</th>'
        f'<th scope="col">Status</th></tr></thead><tbody>{rows}</tbody></table></div>'
        "</section>"
    )


def _status(who: Who, item: InboxItem) -> str:
    if item.status == store.HANDLED:
        when = f"{item.handled_at:%Y-%m-%d %H:%M}" if item.handled_at else ""
        return f"handled by {escape(item.handled_by or '')} {when}"
    return (
        'open <form method="post" action="/dashboard/inbox/handled" class="inline">'
        f'{pages.csrf_field(who.csrf)}<input type="hidden" name="id" value="{item.id}">'
        f'<button type="submit">Mark Ung #{item.young_number} handled</button></form>'
    )


async def handled(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    item = str(form.get("id", ""))
    if not item.isdigit():
        return await inbox_page(request, who, "No such item.", 400)
    async with database_of(request).session() as session, session.begin():
        done = await store.mark_handled(session, int(item), _scope(who), who.name,
                                        _now(request))
    if not done:
        return await inbox_page(request, who, "That item was already handled or is not "
                                "yours.", 404)
    return await inbox_page(request, who, "Marked as handled.")


# -- canned responses ---------------------------------------------------------------------
def _canned(who: Who, canned: Sequence[CannedResponse], orgs: Sequence[str]) -> str:
    rows = "".join(
        f"<tr><td>{escape(c.org_slug)}</td><td>{escape(c.language)}</td>"
        f"<td>{escape(c.title)}</td><td>{escape(c.text)}</td><td>"
        '<form method="post" action="/dashboard/canned/delete" class="inline">'
        f'{pages.csrf_field(who.csrf)}<input type="hidden" name="id" value="{c.id}">'
        f'<button type="submit">Delete “{escape(c.title)}”</button></form></td></tr>'
        for c in canned
    )
    org_options = "".join(f'<option value="{escape(o)}">{escape(o)}</option>' for o in orgs)
    languages = "".join(f'<option value="{lang}">{lang}</option>' for lang in LANGUAGES)
    return (
        '<section aria-labelledby="canned-heading"><h2 id="canned-heading">Canned '
        "responses</h2><p>Volunteers insert these with one click. <code>{pseudonym}</code> "
        "becomes the young person's “Ung #NNNN”, <code>{alias}</code> the volunteer's "
        "name.</p>"
        '<div class="scroll" tabindex="0" role="region" '
        'aria-label="Canned responses"><table><thead><tr><th scope="col">Organisation</th>'
        '<th scope="col">Language</th><th scope="col">Title</th><th scope="col">Text</th>'
        f'<th scope="col"></th></tr></thead><tbody>{rows}</tbody></table></div>'
        '<form method="post" action="/dashboard/canned/add" class="invite">'
        f'{pages.csrf_field(who.csrf)}'
        f'<label for="canned-org">Organisation</label><select id="canned-org" name="org">'
        f"{org_options}</select>"
        f'<label for="canned-language">Language</label>'
        f'<select id="canned-language" name="language">{languages}</select>'
        '<label for="canned-title">Title</label>'
        '<input id="canned-title" name="title" required maxlength="60">'
        '<label for="canned-text">Text</label>'
        f'<textarea id="canned-text" name="text" required maxlength="{MAX_CANNED}">'
        "</textarea><button type=\"submit\">Add canned response</button></form></section>"
    )


async def canned_add(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    org, language = str(form.get("org", "")), str(form.get("language", ""))
    title, text = str(form.get("title", "")).strip(), str(form.get("text", "")).strip()
    if (org not in _orgs(request, who) or language not in LANGUAGES or not title
            or not text or len(title) > 60 or len(text) > MAX_CANNED):
        return await inbox_page(request, who, "A canned response needs your organisation, a "
                                "language, a title (up to 60) and a text (up to 1000).", 400)
    async with database_of(request).session() as session, session.begin():
        store.add_canned(session, org, language, title=title, text=text, now=_now(request))
    return await inbox_page(request, who, "Canned response added.")


async def canned_delete(request: web.Request, who: Who) -> web.StreamResponse:
    form = await request.post()
    item = str(form.get("id", ""))
    if item.isdigit():
        async with database_of(request).session() as session, session.begin():
            await store.remove_canned(session, int(item), _scope(who))
    return await inbox_page(request, who, "Canned response deleted.")


# -- supervision ---------------------------------------------------------------------------
def _audit(rows: Sequence[ReadAlong]) -> str:
    if not rows:
        return ('<section aria-labelledby="audit-heading"><h2 id="audit-heading">Read-along '
                "log</h2><p>Nobody has read along yet.</p></section>")
    lines = "".join(
        f"<tr><td>{r.viewed_at:%Y-%m-%d %H:%M}</td><td>{escape(r.coordinator_name)}</td>"
        f"<td>Ung #{r.young_number}</td><td>{escape(r.volunteer_alias)}</td></tr>"
        for r in rows
    )
    return (
        '<section aria-labelledby="audit-heading"><h2 id="audit-heading">Read-along log</h2>'
        '<div class="scroll" tabindex="0" role="region" '
        'aria-label="Read-along log"><table><thead><tr><th scope="col">When (UTC)</th>'
        '<th scope="col">Coordinator</th><th scope="col">Young person</th>'
        f'<th scope="col">Volunteer</th></tr></thead><tbody>{lines}</tbody></table></div>'
        "</section>"
    )


async def live_page(request: web.Request, who: Who) -> web.StreamResponse:
    now = _now(request)
    async with database_of(request).session() as session:
        rows = await handover.in_progress(session)
        aliases = {v.id: v.alias or "" for v in await handover.all_volunteers(session)}
        orgs = {v.id: v.org_slug for v in await handover.all_volunteers(session)}
    scope = _orgs(request, who)
    lines = []
    for row in rows:
        org = row.org_slug or (orgs.get(row.volunteer_id or 0))
        if row.status == handover.ACTIVE and org not in scope:
            continue
        since = row.claimed_at if row.status == handover.ACTIVE else row.waiting_since
        minutes = int((now - (since or now)).total_seconds() // 60)
        marks = " ".join(m for m, on in (("crisis", row.crisis), ("flagged", row.flagged)) if on)
        action = (f'<a href="/dashboard/live/{row.id}">Read along with Ung #{row.young_number}'
                  "</a>" if row.status == handover.ACTIVE else "")
        lines.append(
            f"<tr><td>Ung #{row.young_number}</td><td>{escape(row.status)}</td>"
            f"<td>{minutes} min</td><td>{escape(aliases.get(row.volunteer_id or 0, ''))}</td>"
            f"<td>{escape(marks)}</td><td>{action}</td></tr>"
        )
    body = (
        "<h1>Live conversations</h1><p>Waiting and active conversations; reading along is "
        "written to the read-along log and shown to the volunteer.</p>"
        '<div class="scroll" tabindex="0" role="region" '
        'aria-label="Live conversations"><table><thead><tr><th scope="col">Young person</th>'
        '<th scope="col">Status</th><th scope="col">Waiting / running</th>'
        '<th scope="col">Volunteer</th><th scope="col">Marks</th><th scope="col"></th>'
        f'</tr></thead><tbody>{"".join(lines)}</tbody></table></div>'
    )
    return html(pages.layout("Live", body, who))


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
    found = await _supervised(request, who)
    if found is None:
        return html(pages.layout("Not found", "<h1>Not found</h1><p>That conversation has "
                                 "ended or is not one of your organisation's.</p>", who), 404)
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
        f"<h1>Reading along: Ung #{row.young_number} with {escape(volunteer.alias or '')}</h1>"
        f"{note}<p>Read-only. {escape(volunteer.alias or '')} sees that you are reading "
        f'along; this view is in the read-along log.</p><ol class="transcript">{said}</ol>'
        f'<form method="post" action="/dashboard/live/{row.id}/whisper" class="invite">'
        f"{pages.csrf_field(who.csrf)}"
        '<label for="whisper">Whisper to the volunteer (only they see it)</label>'
        '<input id="whisper" name="text" required maxlength="500">'
        '<button type="submit">Whisper</button></form>'
    )
    return html(pages.layout("Read along", body, who))


async def whisper(request: web.Request, who: Who) -> web.StreamResponse:
    found = await _supervised(request, who)
    form = await request.post()
    text = str(form.get("text", "")).strip()[:500]
    if found is None or not text:
        return html(pages.layout("Not sent", "<h1>Not sent</h1><p>The conversation has "
                                 "ended, or the whisper was empty.</p>", who), 400)
    hub = request.app[HUB_OF](request.app)
    if hub is not None:
        hub.publish(volunteer_topic(found[1].id),
                    {"type": "whisper", "from": who.name, "text": text})
    return await read_along(request, who, "Whispered.")

