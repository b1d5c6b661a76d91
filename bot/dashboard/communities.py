"""The community directory on the dashboard: each organisation's coordinators keep their
own entries (administrators every entry, and the shared ones seeded from the YAML file);
every change is a POST with the session's CSRF token and is validated
(dialogues.resources.validate); a bad link or an empty name gets a clear message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import Any

from aiohttp import web

from bot.dashboard.pages import Who, csrf_field, layout
from bot.dashboard.texts import t
from dialogues.content import LANGUAGES
from dialogues.resources import INTERESTS, MAX_AGE, MIN_AGE, REGIONS, Catalog, validate
from insights.labels import Language
from storage import communities
from storage.db import Database
from storage.models import CommunityEntry
from storage.types import utcnow

SHARED = ""  # the organisation field of an entry the administrators keep
CatalogOf = Callable[[web.Application], Catalog | None]

REGION_NAMES = {
    "hovedstaden": ("Hovedstaden", "Capital Region"), "sjaelland": ("Sjælland", "Zealand"),
    "syddanmark": ("Syddanmark", "Southern Denmark"),
    "midtjylland": ("Midtjylland", "Central Jutland"),
    "nordjylland": ("Nordjylland", "North Jutland"), "online": ("Online", "Online"),
}
KIND_NAMES = {
    "peer": ("Grupper for unge", "Groups for young people"),
    "volunteering": ("Frivilligt arbejde", "Volunteering"),
    "sport": ("Sport og bevægelse", "Sport and movement"),
    "creative": ("Kreativt", "Creative"), "online": ("Online fællesskab", "Online community"),
}
LANGUAGE_NAMES = {"da": ("Dansk", "Danish"), "en": ("Engelsk", "English")}


def _name(names: dict[str, tuple[str, str]], key: str, language: Language) -> str:
    da, en = names.get(key, (key, key))
    return da if language == "da" else en


def may_edit(who: Who, entry: CommunityEntry) -> bool:
    return who.admin or (entry.org_slug is not None and entry.org_slug == who.org)


async def page(request: web.Request, who: Who, database: Database, organisations: Sequence[str],
               language: Language, *, form: dict[str, Any] | None = None,
               errors: Sequence[str] = (), message: str = "", status: int = 200) -> web.Response:
    async with database.session() as session:
        rows = await communities.every(session)
    shown = [r for r in rows if who.admin or r.org_slug in (None, who.org)]
    body = render(who, shown, organisations, language, form=form, errors=errors,
                  message=message, editing=request.query.get("edit", ""))
    return web.Response(text=layout(t("communities", language), body, who, language),
                        content_type="text/html", status=status)


def render(who: Who, rows: Sequence[CommunityEntry], organisations: Sequence[str],
           language: Language, *, form: dict[str, Any] | None, errors: Sequence[str],
           message: str, editing: str) -> str:
    current = next((r for r in rows if str(r.id) == editing and may_edit(who, r)), None)
    if form is None and current is not None:
        form = _as_form(current)
    problems = "".join(f"<li>{t('error_' + key, language)}</li>" for key in errors)
    alert = (f'<div class="error" role="alert"><p>{t("fix_these", language)}</p>'
             f"<ul>{problems}</ul></div>") if errors else ""
    note = f'<p class="status" role="status">{escape(message)}</p>' if message else ""
    listing = "".join(_row(who, r, language) for r in rows)
    return (
        f"<h1>{t('communities', language)}</h1>"
        f'<p class="note">{t("communities_intro", language)}</p>{note}'
        '<div class="scroll" tabindex="0" role="region" '
        f'aria-label="{t("communities", language)}">'
        f'<table class="directory"><thead><tr><th scope="col">{t("c_name", language)}</th>'
        f'<th scope="col">{t("organisation", language)}</th>'
        f'<th scope="col">{t("c_kind", language)}</th>'
        f'<th scope="col">{t("c_regions", language)}</th>'
        f'<th scope="col">{t("c_ages", language)}</th>'
        f'<th scope="col">{t("c_languages", language)}</th>'
        f'<th scope="col">{t("c_link", language)}</th><th scope="col"></th></tr></thead>'
        f"<tbody>{listing}</tbody></table></div>"
        f"<h2>{t('c_edit' if form and form.get('id') else 'c_add', language)}</h2>{alert}"
        + _form(who, organisations, language, form or {})
    )


def _row(who: Who, entry: CommunityEntry, language: Language) -> str:
    regions = ", ".join(_name(REGION_NAMES, r, language) for r in entry.regions.split(",") if r)
    languages = ", ".join(_name(LANGUAGE_NAMES, x, language)
                          for x in entry.languages.split(",") if x)
    keeper = entry.org_slug or t("shared", language)
    actions = ""
    if may_edit(who, entry):
        actions = (
            f'<a href="/dashboard/communities?edit={entry.id}">'
            f'{t("c_edit_one", language, name=escape(entry.name))}</a> '
            '<form method="post" action="/dashboard/communities/delete" class="inline">'
            f'{csrf_field(who.csrf)}<input type="hidden" name="id" value="{entry.id}">'
            f'<button type="submit">{t("c_delete", language, name=escape(entry.name))}'
            "</button></form>"
        )
    description = entry.description_da if language == "da" else entry.description_en
    return (
        f'<tr data-id="{entry.id}"><th scope="row">{escape(entry.name)}'
        f'<br><span class="note">{escape(description)}</span></th>'
        f"<td>{escape(keeper)}</td><td>{escape(_name(KIND_NAMES, entry.kind, language))}</td>"
        f"<td>{escape(regions)}</td><td>{entry.min_age}-{entry.max_age}</td>"
        f"<td>{escape(languages)}</td><td>{escape(entry.link)}</td><td>{actions}</td></tr>"
    )


def _as_form(entry: CommunityEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id), "org": entry.org_slug or SHARED, "name": entry.name,
        "kind": entry.kind, "regions": entry.regions.split(","), "link": entry.link,
        "municipality": entry.municipality, "min_age": str(entry.min_age),
        "max_age": str(entry.max_age), "languages": entry.languages.split(","),
        "description_da": entry.description_da, "description_en": entry.description_en,
    }


def _form(who: Who, organisations: Sequence[str], language: Language,
          form: dict[str, Any]) -> str:
    def value(key: str) -> str:
        return escape(str(form.get(key, "")))

    def checks(name: str, options: Sequence[str], names: dict[str, tuple[str, str]],
               default: Sequence[str]) -> str:
        chosen = form.get(name, default)
        return "".join(
            f'<label class="check"><input type="checkbox" name="{name}" value="{o}"'
            f'{" checked" if o in chosen else ""}> {_name(names, o, language)}</label>'
            for o in options
        )

    kinds = "".join(
        f'<option value="{k}"{" selected" if form.get("kind") == k else ""}>'
        f"{_name(KIND_NAMES, k, language)}</option>" for k in INTERESTS
    )
    org = ""
    if who.admin:
        options = [(SHARED, t("shared", language)), *((o, o) for o in organisations)]
        org = (f'<label for="c-org">{t("organisation", language)}</label>'
               '<select id="c-org" name="org">' + "".join(
                   f'<option value="{escape(v)}"{" selected" if form.get("org") == v else ""}>'
                   f"{escape(text)}</option>" for v, text in options) + "</select>")
    return (
        '<form method="post" action="/dashboard/communities/save" class="directory">'
        f'{csrf_field(who.csrf)}<input type="hidden" name="id" value="{value("id")}">{org}'
        f'<label for="c-name">{t("c_name", language)}</label>'
        f'<input id="c-name" name="name" maxlength="80" value="{value("name")}">'
        f'<label for="c-kind">{t("c_kind", language)}</label>'
        f'<select id="c-kind" name="kind">{kinds}</select>'
        f'<fieldset><legend>{t("c_regions", language)}</legend>'
        f'{checks("regions", REGIONS, REGION_NAMES, [])}</fieldset>'
        f'<label for="c-municipality">{t("c_municipality", language)}</label>'
        f'<input id="c-municipality" name="municipality" maxlength="60" '
        f'value="{value("municipality")}">'
        f'<fieldset><legend>{t("c_ages", language)}</legend>'
        f'<label for="c-min">{t("c_from_age", language)}</label>'
        f'<input id="c-min" name="min_age" type="number" min="{MIN_AGE}" max="{MAX_AGE}" '
        f'value="{value("min_age") or MIN_AGE}">'
        f'<label for="c-max">{t("c_to_age", language)}</label>'
        f'<input id="c-max" name="max_age" type="number" min="{MIN_AGE}" max="{MAX_AGE}" '
        f'value="{value("max_age") or MAX_AGE}"></fieldset>'
        f'<label for="c-link">{t("c_link", language)}</label>'
        f'<input id="c-link" name="link" maxlength="200" placeholder="https://" '
        f'value="{value("link")}">'
        f'<fieldset><legend>{t("c_languages", language)}</legend>'
        f'{checks("languages", LANGUAGES, LANGUAGE_NAMES, list(LANGUAGES))}</fieldset>'
        f'<label for="c-da">{t("c_description_da", language)}</label>'
        f'<textarea id="c-da" name="description_da" maxlength="300">'
        f'{value("description_da")}</textarea>'
        f'<label for="c-en">{t("c_description_en", language)}</label>'
        f'<textarea id="c-en" name="description_en" maxlength="300">'
        f'{value("description_en")}</textarea>'
        f'<button type="submit">{t("c_save", language)}</button></form>'
    )


def form_values(form: Any) -> dict[str, Any]:
    """What was sent, to show again with the error messages."""
    keys = ("id", "org", "name", "kind", "link", "municipality", "min_age", "max_age",
            "description_da", "description_en")
    found: dict[str, Any] = {k: str(form.get(k, "")) for k in keys}
    found["regions"] = [str(v) for v in form.getall("regions", [])]
    found["languages"] = [str(v) for v in form.getall("languages", [])]
    return found


async def save(database: Database, who: Who, organisations: Sequence[str], form: Any
               ) -> tuple[str, list[str]]:
    """Add or change an entry: ("saved" | "forbidden" | "missing" | "invalid", errors)."""
    values, errors = validate(form)
    if errors:
        return "invalid", errors
    org = str(form.get("org", who.org)) if who.admin else who.org
    if org not in (SHARED, *organisations):
        return "invalid", ["org"]
    entry_id = str(form.get("id", ""))
    async with database.session() as session, session.begin():
        if entry_id:
            entry = await communities.get(session, int(entry_id)) if entry_id.isdigit() else None
            if entry is None:
                return "missing", []
            if not may_edit(who, entry):
                return "forbidden", []
        else:
            entry = CommunityEntry(example=False)
            session.add(entry)
        for key, value in values.items():
            setattr(entry, key, value)
        entry.org_slug = org or None
        entry.updated_at = utcnow()
    return "saved", []


async def delete(database: Database, who: Who, entry_id: str) -> str:
    if not entry_id.isdigit():
        return "missing"
    async with database.session() as session, session.begin():
        entry = await communities.get(session, int(entry_id))
        if entry is None:
            return "missing"
        if not may_edit(who, entry):
            return "forbidden"
        await communities.remove(session, entry.id)
    return "deleted"
