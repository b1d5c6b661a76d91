"""`snakkes coordinators …` and `snakkes stats …`: the dashboard's accounts and the same
statistics as the dashboard, on the command line (registered by bot/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.config import Settings
from bot.dashboard.auth import hash_password
from insights import compute, exports, research
from insights.calendar import GRAINS, Grain, default_year
from insights.labels import LANGUAGES, Language
from insights.report import Report
from storage import coordinators, migrate, rotation
from storage.crypto import SealError
from storage.db import Database
from storage.models import Coordinator
from storage.statistics import ALL
from storage.types import utcnow

COMMANDS = ("coordinators", "stats", "keys")
FORMATS = {"table": exports.to_text, "csv": exports.to_csv, "json": exports.to_json,
           "research": research.to_csv}


def add_commands(commands: Any) -> None:
    people = commands.add_parser("coordinators", help="dashboard log-ins of coordinators")
    actions = people.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a coordinator, or set a new password")
    add.add_argument("name")
    add.add_argument("--org", required=True, help="the organisation's slug")
    add.add_argument("--admin", action="store_true", help="sees every organisation")
    add.add_argument("--password-stdin", action="store_true", required=True,
                     help="read the password from the first line of standard input")
    actions.add_parser("list", help="name, organisation, admin, active, last log-in")
    off = actions.add_parser("deactivate", help="no more log-ins; open sessions end now")
    off.add_argument("name")
    sessions = actions.add_parser("sessions", help="open dashboard sessions (--end NAME ends "
                                  "a coordinator's)")
    sessions.add_argument("name", nargs="?", help="only this coordinator's")
    sessions.add_argument("--end", metavar="NAME", help="end every session of NAME")
    keys = commands.add_parser("keys", help="the secret key: its id; rotation")
    key_actions = keys.add_subparsers(dest="action", required=True)
    key_actions.add_parser("id", help="the current key's id (sealed values name it)")
    key_actions.add_parser(
        "rotate", help="with the service stopped, after the new key became secret_key and the "
        "old one previous_secret_keys: re-seal everything under the new key"
    )
    stats = commands.add_parser("stats", help="anonymised statistics (small counts as <5)")
    stats.add_argument("--year", type=int, help="a calendar year (default: this year once "
                       "a month of it has ended); only whole periods that have ended are shown")
    stats.add_argument("--org", help="one organisation's view (default: all)")
    stats.add_argument("--per", choices=GRAINS, default="month",
                       help="columns per ISO week, month or quarter (default month)")
    stats.add_argument("--format", choices=(*FORMATS, "xlsx"), default="table",
                       help="xlsx is written to standard output as bytes; research: the "
                       "long form described in docs/research-export.md")
    stats.add_argument("--lang", choices=LANGUAGES, default="da", help="da (default) or en")


def run(settings: Settings, args: argparse.Namespace) -> int:
    slugs = [org.slug for org in settings.organisations]
    org = getattr(args, "org", None)
    if org is not None and org not in slugs:
        known = ", ".join(sorted(slugs)) or "none"
        print(f"snakkes: no organisation {org!r} in the config (known: {known})",
              file=sys.stderr)
        return 2
    if args.command == "keys":
        return asyncio.run(_keys(settings, args.action))
    if args.command == "stats":
        return _run_stats(settings, args, org or ALL, slugs)
    if args.action in ("list", "deactivate", "sessions"):
        return asyncio.run(_sessions(settings, args))
    password = sys.stdin.readline().rstrip("\r\n")
    try:
        hashed = hash_password(password)
    except ValueError as error:
        print(f"snakkes: {error}", file=sys.stderr)
        return 2
    asyncio.run(_add(settings, args.name, args.org, hashed, admin=args.admin))
    role = "administrator (all organisations)" if args.admin else f"coordinator of {args.org}"
    print(f"{args.name} can log in at /dashboard as {role}.")
    return 0


def _run_stats(settings: Settings, args: argparse.Namespace, scope: str, slugs: list[str]
               ) -> int:
        today = utcnow().astimezone(settings.service.zone).date()
        year = args.year if args.year is not None else default_year(today)
        if not 2000 <= year <= today.year:
            print(f"snakkes: no statistics for {year}", file=sys.stderr)
            return 2
        built = asyncio.run(_stats(settings, year, today, scope, slugs,
                                   grain=args.per, language=args.lang))
        if args.format == "xlsx":
            sys.stdout.buffer.write(exports.to_xlsx(built))
            return 0
        output = FORMATS[args.format](built)
        print(output, end="" if output.endswith("\n") else "\n")
        return 0


async def _stats(
    settings: Settings, year: int, today: date, scope: str, slugs: list[str], *,
    grain: Grain, language: Language,
) -> Report:
    database = Database(settings.database.url)
    try:
        await migrate.upgrade(database)
        async with database.session() as session:
            return await compute.report(session, year, settings.service.zone, today, slugs,
                                        grain=grain, scope=scope, language=language)
    finally:
        await database.close()


async def _add(settings: Settings, name: str, org: str, hashed: str, *, admin: bool) -> None:
    database = Database(settings.database.url)
    try:
        await migrate.upgrade(database)
        async with database.session() as session, session.begin():
            await coordinators.add(session, name, org, hashed, admin=admin, now=utcnow())
    finally:
        await database.close()


async def _keys(settings: Settings, action: str) -> int:
    from bot.service import settings_keyring  # noqa: PLC0415 - the CLI loads no service

    keyring = settings_keyring(settings)
    if action == "id":
        print(keyring.key_id)
        return 0
    database = Database(settings.database.url, keyring)
    try:
        await migrate.upgrade(database)
        async with database.session() as session, session.begin():
            done = await rotation.rotate(session, keyring)
    except SealError:
        print("snakkes: a sealed value opens with none of the keys: put the key it was sealed "
              "with in [security] previous_secret_keys", file=sys.stderr)
        return 1
    finally:
        await database.close()
    print(f"Re-sealed under key {keyring.key_id}: {done.participants} participant(s), "
          f"{done.texts} text(s). The previous keys are still needed for web chat cookies "
          "for 30 days; then remove them from previous_secret_keys.")
    return 0


async def _sessions(settings: Settings, args: argparse.Namespace) -> int:
    database = Database(settings.database.url)
    try:
        await migrate.upgrade(database)
        async with database.session() as session, session.begin():
            if args.action == "list":
                found = await coordinators.all_coordinators(session)
                for line in _list(found):
                    print(line)
                return 0
            if args.action == "deactivate":
                if not await coordinators.deactivate(session, args.name):
                    print(f"snakkes: no coordinator {args.name!r}", file=sys.stderr)
                    return 1
                print(f"{args.name} is deactivated; their sessions have ended.")
                return 0
            if args.end is not None:
                ended = await coordinators.end_sessions(session, args.end)
                if ended is None:
                    print(f"snakkes: no coordinator {args.end!r}", file=sys.stderr)
                    return 1
                print(f"Ended {ended} session(s) of {args.end}.")
                return 0
            rows = await coordinators.open_sessions(session, utcnow(), args.name)
    finally:
        await database.close()
    print(f"{'name':<24} {'started':<17} expires")
    for name, row in rows:
        print(f"{name:<24} {row.created_at:%Y-%m-%d %H:%M} {row.expires_at:%Y-%m-%d %H:%M}")
    return 0


def _list(rows: Sequence[Coordinator]) -> list[str]:
    lines = [f"{'name':<24} {'org':<16} {'admin':<6} {'active':<7} last log-in"]
    for row in rows:
        last = row.last_login_at.strftime("%Y-%m-%d %H:%M") if row.last_login_at else "never"
        lines.append(f"{row.name:<24} {row.org_slug:<16} {'yes' if row.admin else 'no':<6} "
                     f"{'yes' if row.active else 'no':<7} {last}")
    return lines
