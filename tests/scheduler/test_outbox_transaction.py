"""A check-in's message is written to the durable outbox in the same transaction as the
check-in is taken over for sending: both commit or neither does, so a crash between them
cannot lose a check-in ('sending', never sent) nor repeat one. Proved on the database's
own statements, watched through SQLAlchemy's engine events (nothing of ours patched)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event

from tests.botapi import BotApiDouble
from tests.e2e.conftest import StartSnakkes
from tests.scheduler.helpers import local_noon, move_clock, seed, settled


async def test_a_check_in_is_taken_over_and_written_to_the_outbox_in_one_transaction(
    double: BotApiDouble, start_snakkes: StartSnakkes
) -> None:
    snakkes = await start_snakkes()
    noon = local_noon(snakkes)
    await move_clock(snakkes, noon - timedelta(hours=1))
    people = [double.user(language_code="da") for _ in range(3)]
    await seed(snakkes, people, noon)

    seen: list[tuple[int, str]] = []  # (connection, what it did), in order
    engine = snakkes.service.database.engine.sync_engine

    def began(connection: Any) -> None:
        seen.append((id(connection), "BEGIN"))

    def committed(connection: Any) -> None:
        seen.append((id(connection), "COMMIT"))

    def executed(connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append((id(connection), " ".join(statement.split()).upper()))

    event.listen(engine, "begin", began)
    event.listen(engine, "commit", committed)
    event.listen(engine, "after_cursor_execute", executed)
    try:
        await move_clock(snakkes, noon)
        for person in people:
            await double.wait_for_messages(person, timeout=20)
        await settled(snakkes)
    finally:
        event.remove(engine, "begin", began)
        event.remove(engine, "commit", committed)
        event.remove(engine, "after_cursor_execute", executed)

    # storage.checkins.begin_send: the only UPDATE of check-ins that returns rows and
    # names the claim's token in its condition.
    take_overs = [
        i for i, (_, what) in enumerate(seen)
        if what.startswith("UPDATE CHECKINS SET") and "RETURNING" in what
        and "CHECKINS.CLAIMED_BY = " in what.split("WHERE", 1)[-1]
    ]
    assert len(take_overs) == len(people), [seen[i][1] for i in take_overs]
    for index in take_overs:
        connection = seen[index][0]
        rest = [what for conn, what in seen[index + 1 :] if conn == connection]
        until_commit = rest[: rest.index("COMMIT")]
        assert any(what.startswith("INSERT INTO OUTBOX") for what in until_commit), rest[:6]
