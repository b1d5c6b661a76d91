"""The `snakkes` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from bot import logs
from bot.app import init_app
from bot.config import ConfigError, Settings, load_settings
from bot.service import build_conversation
from dialogues.flows import FlowError
from storage import migrate
from storage.db import Database

log = logging.getLogger("snakkes")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="snakkes", description="The snakkes chat service.")
    parser.add_argument(
        "--config", type=Path, help="config file (default: ./config.toml if present)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="migrate the database and run the service")
    commands.add_parser("migrate", help="bring the database schema up to date")
    dialogues = commands.add_parser("dialogues", help="work with the dialogue flows")
    dialogues.add_argument("action", choices=["check"], help="check: validate every flow")
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
        return _check_dialogues(settings)
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


def _check_dialogues(settings: Settings) -> int:
    try:
        library = build_conversation(settings).engine.library
    except FlowError as error:
        for problem in error.problems:
            print(f"snakkes: {problem}", file=sys.stderr)
        print(f"snakkes: {len(error.problems)} problem(s) in the dialogue flows", file=sys.stderr)
        return 1
    print(f"dialogues ok: {len(library.nodes)} nodes")
    return 0


def _run(settings: Settings) -> int:
    host, port = settings.web.host, settings.web.port
    log.info("snakkes starting (config: %s); web on http://%s:%d/", settings.source, host, port)
    # run_app turns SIGINT and SIGTERM into a graceful shutdown of the cleanup contexts.
    web.run_app(init_app(settings), host=host, port=port, access_log=None, print=None)
    log.info("snakkes stopped")
    return 0
