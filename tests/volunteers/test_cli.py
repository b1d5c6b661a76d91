"""`snakkes volunteers invite | list | deactivate` as a coordinator runs them."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import cli
from bot.cli import main
from storage.db import Database
from storage.types import utcnow
from tests.botapi import BotApiDouble
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import Snakkes
from tests.volunteers.helpers import ask_for_human, onboard, runner, tap
from volunteers import invites


def test_invite_prints_a_one_time_code_last_and_stores_only_its_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"
    monkeypatch.setenv("SNAKKES_DATABASE_URL", url)
    monkeypatch.setenv("SNAKKES_SECURITY_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("SNAKKES_SERVICE_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)

    assert main(["volunteers", "invite", "--org", "example", "--role", "coordinator",
                 "--expires", "2d"]) == 0
    code = capsys.readouterr().out.strip().splitlines()[-1]
    assert len(code) == 14

    async def redeem_twice() -> list[bool]:
        database = Database(url)
        try:
            results = []
            for _ in range(2):
                async with database.session() as session, session.begin():
                    invite = await invites.redeem(session, code, utcnow())
                    results.append(invite is not None and invite.role == "coordinator")
            return results
        finally:
            await database.close()

    assert asyncio.run(redeem_twice()) == [True, False]
    assert code.encode() not in (tmp_path / "db.sqlite").read_bytes()

    assert main(["volunteers", "invite", "--org", "nowhere"]) == 2
    assert "no organisation 'nowhere'" in capsys.readouterr().err
    assert main(["volunteers", "list"]) == 0
    assert "alias" in capsys.readouterr().out
    assert main(["volunteers", "deactivate", "Nobody", "--org", "example"]) == 1


async def test_list_shows_no_ids_and_deactivate_hands_the_conversation_back(
    double: BotApiDouble, snakkes: Snakkes
) -> None:
    maria = await onboard(double, snakkes, "Maria")
    ada = double.user("Ada", language_code="da")
    await ask_for_human(double, ada)
    [notice] = await double.wait_for_messages(maria)
    await tap(double, maria, notice, "vt:take:")
    await double.wait_for_messages(ada)

    database = snakkes.service.database
    [_header, line] = await cli.list_volunteers(database)
    assert line.split()[:4] == ["Maria", "example", "volunteer", "yes"]
    assert str(maria.id) not in line
    assert "RealMaria" not in line
    assert await cli.deactivate_volunteer(database, "maria", "example")
    await runner(snakkes).run_once()
    [told] = await double.wait_for_messages(ada)
    assert "tilbage i køen" in told.text
    double.send_command(maria, "/available")
    [refused] = await double.wait_for_messages(maria)
    assert "ikke aktiv" in refused.text
