"""Where an inbound update's CPU goes: the service run in this process (as `snakkes run`
builds it) against bench/load.py's Bot API double in another, with SQL statements and
commits counted by SQLAlchemy event hooks (here, not in the service's code) and, with
--profile, cProfile on the event loop's thread while the load runs.

    python -m bench.profile_inbound [--updates 1000] [--mode throughput|rate] [--rate 30]
        [--postgres URL] [--profile] [--top 40]

Prints the event loop's CPU per update (its thread's time) and the process's (the safety
net's model threads too), statements and commits per update by kind, and with --profile
where the loop's time went: by package (own time) and by a list of the service's steps
(inclusive time). Figures with --profile carry cProfile's own overhead: compare the CPU
without it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import re
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import event
from sqlalchemy.engine import Engine

from bench.inbound import Bot, _commits, database_for, service_environment
from bench.procs import Process, python

_VERB = re.compile(r"^\s*(\w+)(?:\s+(?:INTO|FROM)?\s*(\w+)|\s+(\w+))?", re.IGNORECASE)


class Counts:
    """Statements by verb and table, transactions begun and committed, on every engine."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()
        self.commits = 0
        self.rollbacks = 0
        self.on = False
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        event.listen(Engine, "rollback", self._rollback)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.on:
            self.statements[_kind(statement)] += 1

    def _commit(self, _conn: Any) -> None:
        if self.on:
            self.commits += 1

    def _rollback(self, _conn: Any) -> None:
        if self.on:
            self.rollbacks += 1


def _thread_times() -> tuple[float, float]:
    """This thread's user and system CPU seconds (Linux)."""
    fields = Path(f"/proc/self/task/{threading.get_native_id()}/stat").read_text()
    parts = fields.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(parts[11]) / ticks, int(parts[12]) / ticks


def _kind(statement: str) -> str:
    text = " ".join(statement.split())
    upper = text.upper()
    if upper.startswith("SELECT PG_NOTIFY") or "PG_NOTIFY" in upper[:40]:
        return "NOTIFY"
    match = re.match(r"(INSERT INTO|DELETE FROM|UPDATE|WITH \w+ AS)\s+(\w+)?", text, re.I)
    if match:
        verb = match.group(1).split()[0].upper()
        if verb == "WITH":
            found = re.search(r"\)\s*(UPDATE|INSERT INTO|DELETE FROM|SELECT)\s+(\w+)", text, re.I)
            if found:
                return f"WITH..{found.group(1).split()[0].upper()} {found.group(2)}"
            return "WITH"
        return f"{verb} {match.group(2)}"
    found = re.match(r"SELECT .*? FROM (\w+)", text, re.I)
    if upper.startswith("SELECT") and found:
        return f"SELECT {found.group(1)}"
    return text[:40]


# The service's steps, by (file suffix, function name): inclusive time under each.
STEPS = [
    ("bot/core.py", "handle"),
    ("bot/core.py", "understand"),
    ("bot/core.py", "_handle"),
    ("bot/core.py", "_letters"),
    ("dialogues/conversation.py", "handle"),
    ("dialogues/conversation.py", "understand"),
    ("storage/participants.py", "arrive"),
    ("storage/updates.py", "claim"),
    ("storage/outbox.py", "add"),
    ("storage/outbox.py", "seal_body"),
    ("storage/crypto.py", "seal"),
    ("storage/crypto.py", "open"),
    ("storage/crypto.py", "pseudonym"),
    ("sqlalchemy/ext/asyncio/session.py", "flush"),
    ("sqlalchemy/ext/asyncio/session.py", "commit"),
    ("sqlalchemy/ext/asyncio/session.py", "execute"),
    ("sqlalchemy/ext/asyncio/session.py", "scalars"),
    ("sqlalchemy/ext/asyncio/session.py", "get"),
    ("sqlalchemy/ext/asyncio/session.py", "close"),
    ("sqlalchemy/ext/asyncio/engine.py", "execute"),
    ("sqlalchemy/engine/base.py", "_execute_context"),
    ("sqlalchemy/sql/compiler.py", "__init__"),
    ("sqlalchemy/pool/base.py", "_checkout"),
    ("sqlalchemy/pool/base.py", "_checkin"),
    ("bot/delivery.py", "_work"),
    ("bot/delivery.py", "_delete_all"),
    ("bot/delivery.py", "sweep_once"),
    ("bot/telegram/channel.py", "_on_update"),
    ("bot/telegram/channel.py", "attempt"),
    ("bot/telegram/channel.py", "_process"),
    ("bot/telegram/polling.py", "_fetch"),
    ("bot/telegram/polling.py", "_take_waiting"),
    ("bot/telegram/polling.py", "_note_done"),
    ("storage/inbox.py", "store"),
    ("storage/limits.py", "_ask_once"),
    ("storage/budget.py", "take"),
    ("telegram/_update.py", "de_json"),
    ("telegram/_bot.py", "send_message"),
    ("telegram/_bot.py", "_post"),
    ("telegram/ext/_application.py", "process_update"),
    ("bot/telegram/request.py", "do_request"),
    ("bot/telegram/limits.py", "process_request"),
    ("logging/__init__.py", "_log"),
    ("bot/logs.py", "new_correlation_id"),
]


def _breakdown(stats: pstats.Stats, updates: int, top: int) -> None:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_package: Counter[str] = Counter()
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_package[_package(filename)] += tottime
    total = sum(by_package.values())
    print(f"\nprofiled loop time: {total * 1000 / updates:.2f} ms per update")
    print("own time by package (ms per update):")
    for package, seconds in by_package.most_common(25):
        print(f"  {package:40s} {seconds * 1000 / updates:7.3f}  {seconds / total:6.1%}")
    print("inclusive time of the service's steps (ms per update, calls per update):")
    for suffix, name in STEPS:
        cumulative = calls = 0.0
        for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in raw.items():
            if func == name and filename.endswith(suffix):
                cumulative += ct
                calls += nc
        if calls:
            print(f"  {suffix}:{name:28s} {cumulative * 1000 / updates:7.3f}  "
                  f"{calls / updates:6.2f}")
    print(f"top {top} by own time:")
    stats.sort_stats("tottime").print_stats(top)


def _package(filename: str) -> str:
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    parts = Path(filename).parts
    if "site-packages" in parts:
        index = parts.index("site-packages")
        rest = parts[index + 1 :]
        if rest and rest[0] == "sqlalchemy" and len(rest) > 2:
            return "/".join(rest[:2])
        return rest[0] if rest else filename
    for root in ("bot", "dialogues", "storage", "scheduler", "volunteers", "tests", "bench"):
        if root in parts:
            index = parts.index(root)
            return "/".join(parts[index : index + 2]) if root == "bot" else root
    if "python3.11" in filename:
        name = Path(filename)
        return f"stdlib/{name.parent.name if name.parent.name != 'python3.11' else name.stem}"
    return filename


async def main() -> None:  # noqa: PLR0915 - one script, read top to bottom
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=1000)
    parser.add_argument("--mode", choices=["throughput", "rate"], default="throughput")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--postgres", default="")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--json", default="", help="write the counts here too")
    args = parser.parse_args()
    bot = Bot("snakkes", args.postgres or "sqlite")
    counts = Counts()
    load = Process(
        "double",
        *python("-m", "bench.load", "--mode", args.mode, "--updates", str(args.updates),
                "--rate", str(args.rate)),
    )
    await load.start()
    with tempfile.TemporaryDirectory() as workdir:
        async with database_for(bot, Path(workdir)) as database_url:
            url = (await load.line()).removeprefix("URL ")
            os.environ.update(service_environment(url, database_url, workdir))
            from bot import logs  # noqa: PLC0415 - after the environment is set
            from bot.app import init_app  # noqa: PLC0415
            from bot.config import load_settings  # noqa: PLC0415
            from bot.service import build_safety_net  # noqa: PLC0415

            settings = load_settings(None)
            logs.configure(settings.service.log_level)
            app = init_app(settings, net=build_safety_net(settings))
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", settings.web.port)
            await site.start()
            import gc  # noqa: PLC0415

            gc.freeze()  # as `snakkes run` does after start-up
            # CPU time of this thread, not the wall clock: on a busy machine a send() that
            # wakes another process is often preempted, and wall time would blame it.
            profiler = cProfile.Profile(time.thread_time)
            try:
                assert await load.line(wait=300) == "START"
                commits_before = await _commits(database_url)
                counts.on = True
                loop0, process0 = time.thread_time(), time.process_time()
                user0, system0 = _thread_times()
                if args.profile:
                    profiler.enable()
                result = json.loads((await load.line(wait=900)).removeprefix("RESULT "))
                if args.profile:
                    profiler.disable()
                loop_cpu = time.thread_time() - loop0
                user1, system1 = _thread_times()
                process_cpu = time.process_time() - process0
                counts.on = False
                await asyncio.sleep(1.0)
                server_commits = await _commits(database_url) - commits_before
            finally:
                await runner.cleanup()
                await load.stop()
    updates = result["updates"]
    statements = sum(counts.statements.values())
    summary = {
        "database": "postgresql" if args.postgres else "sqlite",
        "mode": args.mode,
        "updates": updates,
        "profiled": args.profile,
        "loop_cpu_seconds_per_1000": round(loop_cpu / updates * 1000, 3),
        "loop_user_seconds_per_1000": round((user1 - user0) / updates * 1000, 3),
        "loop_system_seconds_per_1000": round((system1 - system0) / updates * 1000, 3),
        "process_cpu_seconds_per_1000": round(process_cpu / updates * 1000, 3),
        "statements_per_update": round(statements / updates, 2),
        "commits_per_update": round(counts.commits / updates, 2),
        "server_commits_per_update": round(server_commits / updates, 2) if args.postgres else None,
        "rollbacks_per_update": round(counts.rollbacks / updates, 2),
        "requests": result["requests"],
        "statements": {k: round(v / updates, 3) for k, v in counts.statements.most_common()},
    }
    if args.mode == "rate":
        latencies = sorted(v * 1000 for v in result["latencies"])
        summary["p50_ms"] = round(latencies[len(latencies) // 2], 1)
        summary["p99_ms"] = round(latencies[int(0.99 * (len(latencies) - 1))], 1)
        summary["unanswered"] = result["unanswered"]
    print(json.dumps(summary, indent=2))
    if args.json:
        await asyncio.to_thread(
            Path(args.json).write_text, json.dumps(summary, indent=2) + "\n", "utf-8"
        )
    if args.profile:
        _breakdown(pstats.Stats(profiler), updates, args.top)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
