"""kill -9 in the middle of 1,000 updates, then a restart: every update answered, none twice.

The real `snakkes run` in its own process against the Bot API double (in polling mode it
fetches; in webhook mode the double posts, as Telegram does, again until it gets a 200).
Each update is a /help, answered with exactly one message, so an undisturbed run gives
every person exactly as many answers as they sent updates.

Nothing may be lost. What may come twice, and why it is bounded:
- An update is never handled twice: its claim (storage/updates.py) commits with its reply's
  outbox row, so an update handled again after the restart (still in the inbox, or posted
  again by Telegram) finds its claim and writes nothing.
- A reply is sent twice only if Telegram took it and its outbox row was not yet deleted when
  the process died: Telegram's API cannot be asked whether a message arrived, so after the
  restart the row is sent again. The sender holds a send's place (bot/delivery.py,
  `LaneSlots`, 32 of them) from the request until the row's deletion has committed, so at
  any instant at most 32 messages are "sent or being sent, not yet marked": that is the
  bound. Measured 4-26 in polling mode and 2-15 in webhook mode: this test keeps all 32
  places busy and the double answers at once, so at the kill nearly every send in flight
  has reached "Telegram" and waits only for this process to read the answer and commit.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from storage import checkins
from storage.crypto import Keyring
from storage.db import Database
from storage.models import Checkin, Participant
from storage.types import utcnow
from tests.botapi import BotApiDouble, FakeUser
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import TOKEN, free_port
from tests.e2e.test_cli import SNAKKES, _wait_for_health

PEOPLE, EACH = 250, 4  # 1,000 updates
SENDER_PLACES = 32  # bot/delivery.py: Postman(in_flight=32), each held until marked


def environment(
    tmp_path: Path, double: BotApiDouble, mode: str, port: int, database_url: str
) -> dict[str, str]:
    env = {
        **os.environ,
        "SNAKKES_SERVICE_DATA_DIR": str(tmp_path / "var"),
        "SNAKKES_DATABASE_URL": database_url,
        "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
        "SNAKKES_WEB_PORT": str(port),
        "SNAKKES_TELEGRAM_TOKEN": TOKEN,
        "SNAKKES_TELEGRAM_API_URL": double.url,
        "SNAKKES_TELEGRAM_MODE": mode,
        "SNAKKES_TELEGRAM_MAX_MESSAGES_PER_SECOND": "100000",
        "SNAKKES_SERVICE_LOG_LEVEL": "WARNING",
        # A killed instance's messages come free quickly for the restarted one.
        "SNAKKES_DELIVERY_LEASE_SECONDS": "2",
        "SNAKKES_DELIVERY_SEND_TIMEOUT_SECONDS": "1",
    }
    if mode == "webhook":
        env["SNAKKES_TELEGRAM_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram/webhook"
    return env


async def run(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        SNAKKES, "run", cwd=cwd, env=env, stderr=asyncio.subprocess.DEVNULL
    )
    await _wait_for_health(f"http://127.0.0.1:{env['SNAKKES_WEB_PORT']}/healthz")
    return process


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_kill_9_during_1000_updates_then_a_restart_answers_each_once(
    double: BotApiDouble, tmp_path: Path, mode: str, database_url: str
) -> None:
    """On PostgreSQL a polled update's turn and a delivered message's deletion commit
    without waiting for the flush (storage.db.unflushed_commit): a kill -9 of the process
    forgets nothing PostgreSQL committed, so the count is the same as on SQLite."""
    people = [double.user(language_code="da") for _ in range(PEOPLE)]
    for _ in range(EACH):
        for person in people:
            double.send_command(person, "/help")
    env = environment(tmp_path, double, mode, free_port(), database_url)
    first = await run(env, tmp_path)
    if mode == "webhook":
        double.pump_webhook(connections=16)
    # Killed while it is busy: a few hundred answers out, most updates still to come.
    await double.wait_for_call(
        "sendMessage", timeout=30, predicate=lambda call: len(double.sent) >= 150
    )
    first.send_signal(signal.SIGKILL)
    await first.wait()
    killed_at = len(double.sent)
    assert killed_at < PEOPLE * EACH, "the kill came too late to test anything"

    second = await run(env, tmp_path)
    try:
        for person in people:
            await double.wait_for_messages(person, count=EACH, timeout=60)
        await asyncio.sleep(3)  # a lease's time for anything sent twice to show
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    answers = {person.chat_id: len(double.messages_to(person)) for person in people}
    lost = {chat: n for chat, n in answers.items() if n < EACH}
    twice = sum(n - EACH for n in answers.values() if n > EACH)
    backend = database_url.split(":", 1)[0]
    print(f"[{mode}, {backend}] killed after {killed_at} answers; lost {len(lost)}, "
          f"sent twice {twice}")
    assert not lost, f"killed after {killed_at} answers; lost: {lost}"
    assert twice <= SENDER_PLACES, f"killed after {killed_at} answers; {twice} sent twice"


BURST = 300


async def seed_due_checkins(env: dict[str, str], users: list[FakeUser]) -> None:
    """People with a check-in due now, written straight to the running service's file (as
    people would have planned them over time)."""
    keyring = Keyring(TEST_SECRET.encode())
    database = Database(env["SNAKKES_DATABASE_URL"], keyring)
    people = []
    for user in users:
        pseudonym = keyring.pseudonym("telegram", str(user.id))
        people.append({"pseudonym": pseudonym, "channel": "telegram", "language": "da",
                       "sealed_address": keyring.seal(str(user.chat_id), pseudonym)})
    try:
        async with database.session() as session, session.begin():
            ids = await session.scalars(
                insert(Participant).returning(Participant.id, sort_by_parameter_order=True),
                people,
            )
            due = utcnow() - timedelta(minutes=1)
            await session.execute(insert(Checkin), [
                {"participant_id": person, "kind": checkins.CHECKIN, "slot": "evening",
                 "due_at": due, "status": checkins.PLANNED, "attempts": 0}
                for person in ids.all()
            ])
    finally:
        await database.close()


async def test_kill_9_during_a_check_in_burst_then_a_restart_loses_none(
    double: BotApiDouble, tmp_path: Path, database_url: str
) -> None:
    """A check-in is taken over for sending in the same transaction as its message is
    written to the outbox (scheduler/dispatch.py): killed at any moment, it is either not
    taken over (sent after the restart) or in the outbox (delivered after the restart). When
    the take-over committed first and the outbox row after it, a check-in taken over in
    between was lost ('uncertain', never sent); a kill seldom lands in that window, so
    tests/scheduler/test_outbox_transaction.py proves the one transaction on the statements.
    Sent twice: only what Telegram took and whose row was not yet deleted, as above."""
    env = {
        **environment(tmp_path, double, "polling", free_port(), database_url),
        "SNAKKES_CHECKINS_TICK_SECONDS": "1",
        "SNAKKES_CHECKINS_QUIET_START": "00:00",  # never quiet, whatever the time of day
        "SNAKKES_CHECKINS_QUIET_END": "00:00",
        # The killed instance's claims come free for the restarted one in seconds.
        "SNAKKES_CHECKINS_STALE_CLAIM_SECONDS": "3",
    }
    people = [double.user(language_code="da") for _ in range(BURST)]
    first = await run(env, tmp_path)
    await seed_due_checkins(env, people)
    await double.wait_for_call(
        "sendMessage", timeout=60, predicate=lambda call: len(double.sent) >= 60
    )
    first.send_signal(signal.SIGKILL)
    await first.wait()
    killed_at = len(double.sent)
    assert killed_at < BURST, "the kill came too late to test anything"

    second = await run(env, tmp_path)
    try:
        for person in people:
            await double.wait_for_messages(person, timeout=60)
        await asyncio.sleep(3)  # a lease's time for anything sent twice to show
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), 30)
    answers = [len(double.messages_to(person)) for person in people]
    twice = sum(n - 1 for n in answers if n > 1)
    print(f"[check-ins] killed after {killed_at} sent; sent twice {twice}")
    assert twice <= SENDER_PLACES, f"killed after {killed_at}; {twice} sent twice"
