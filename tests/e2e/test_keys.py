"""The secret key: never beside the database in production, and rotated without losing
anyone (`snakkes keys rotate`)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from yarl import URL

from bot.cli import main
from bot.webchat.session import COOKIE
from dialogues.messages import Outbound
from storage import participants, webchat
from storage.crypto import Keyring
from tests.botapi import BotApiDouble
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import StartSnakkes
from tests.e2e.helpers import to_menu
from tests.e2e.webchat import WebClient, choice_data, web_outbox

SNAKKES = str(Path(sys.executable).with_name("snakkes"))
NEW_SECRET = "a-new-secret-key-for-the-rotation-" + "y" * 20
WAITING = "Ventemarkoer dit tjek ind 9090"


def _config(tmp_path: Path, host: str) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndata_dir = "{tmp_path}/var"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/var/db.sqlite"\n'
        f'[web]\nhost = "{host}"\nport = 1\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture
def root_logging() -> Iterator[None]:
    """`main` installs our log handler on the captured stderr; put things back after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
@pytest.mark.parametrize(
    ("host", "environment"), [("0.0.0.0", ""), ("127.0.0.1", "production")]  # noqa: S104
)
def test_production_refuses_a_key_beside_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    host: str, environment: str,
) -> None:
    monkeypatch.delenv("SNAKKES_SECURITY_SECRET_KEY", raising=False)
    monkeypatch.setenv("SNAKKES_ENV", environment)
    assert main(["--config", str(_config(tmp_path, host)), "run"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"{tmp_path}/var/secret_key" in line
    assert "SNAKKES_SECURITY_SECRET_KEY" in line
    assert "secret_key" in line


def _rotate(database_url: str, data_dir: Path) -> str:
    environ = {**os.environ, "SNAKKES_DATABASE_URL": database_url,
               "SNAKKES_SERVICE_DATA_DIR": str(data_dir),
               "SNAKKES_SECURITY_SECRET_KEY": NEW_SECRET,
               "SNAKKES_SECURITY_PREVIOUS_SECRET_KEYS": TEST_SECRET}
    done = subprocess.run(  # noqa: S603 - our own CLI
        [SNAKKES, "keys", "rotate"], env=environ, capture_output=True, text=True,
        check=False, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_rotated_key_loses_nobody(
    double: BotApiDouble, start_snakkes: StartSnakkes, tmp_path: Path
) -> None:
    before = await start_snakkes()
    ada = double.user(language_code="da")
    await to_menu(double, ada)
    async with WebClient(before.url) as client:
        await client.open_page()
        async with client.socket() as sock:
            [greeting], _ = await sock.say("/start")
            await sock.press(choice_data(greeting, "Okay"))
        token = client.token
        key = client.session_key
    async with before.service.database.session() as session:
        web_person = await participants.arrive(
            session, before.service.core.keyring, channel="web", channel_user_id=key,
            address=key, language="da", create=False)
    assert web_person is not None
    await web_outbox(before.service).send(web_person.participant.id, Outbound(WAITING))
    old_id = before.service.core.keyring.key_id
    await before.stop()

    said = _rotate(before.settings.database.url, before.settings.service.data_dir)
    assert "2 participant(s), 1 text(s)" in said

    # With the new key alone: the Telegram person is known, the waiting text opens.
    after = await start_snakkes(security_secret_key=NEW_SECRET)
    assert after.service.core.keyring.key_id != old_id
    double.send_command(ada, "/start")
    greeting_again, _menu = await double.wait_for_messages(ada.chat_id, count=2)
    assert "igen" in greeting_again.text  # welcomed back, not asked for consent again
    async with after.service.database.session() as session:
        found = await participants.arrive(
            session, after.service.core.keyring, channel="web", channel_user_id=key,
            address=key, language="da", create=False)
        assert found is not None
        [waiting] = await webchat.pending(session, found.participant.id)
    assert waiting.text == WAITING
    assert Keyring(NEW_SECRET.encode()).is_current(found.participant.sealed_address)
    await after.stop()

    # With the old key among the previous ones, the browser's cookie still works.
    again = await start_snakkes(security_secret_key=NEW_SECRET,
                                security_previous_secret_keys=TEST_SECRET)
    async with WebClient(again.url) as client:
        client.http.cookie_jar.update_cookies({COOKIE: token}, URL(again.url))
        async with client.socket() as sock:
            assert sock.ready["known"] is True
            assert sock.ready["pending"] == 1
