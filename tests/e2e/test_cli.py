"""The `snakkes` command as an operator runs it: a real process, real signals."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import free_port

SNAKKES = str(Path(sys.executable).with_name("snakkes"))


def test_migrate_creates_the_sqlite_database(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndata_dir = "{tmp_path}"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "migrate"]) == 0
    assert (tmp_path / "db.sqlite").stat().st_size > 0


def test_a_bad_config_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[web]\nport = 'x'\n", encoding="utf-8")
    assert main(["--config", str(config), "migrate"]) == 2
    assert f"{config}: [web] port must be a whole number" in capsys.readouterr().err


async def test_run_serves_healthz_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SNAKKES_SERVICE_DATA_DIR": str(tmp_path / "var"),
        "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/var/snakkes.db",
        "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
        "SNAKKES_WEB_PORT": str(port),
        "SNAKKES_TELEGRAM_TOKEN": "",
    }
    process = await asyncio.create_subprocess_exec(
        SNAKKES, "run", cwd=tmp_path, env=env, stderr=asyncio.subprocess.PIPE
    )
    try:
        health = await _wait_for_health(f"http://127.0.0.1:{port}/healthz")
        assert health == {
            "status": "ok", "database": True, "telegram": "disabled", "safety_classifier": "on"
        }
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    log = stderr.decode()
    assert process.returncode == 0, log
    assert log.count("Telegram is off: no bot token") == 1  # said once
    # The operator is told what to set, not "[removed]" (the log's scrubber takes any long
    # word for a token; the setting's name is ours, marked Configured).
    assert "config.toml or SNAKKES_TELEGRAM_TOKEN to add it (see README, Telegram)" in log
    assert "snakkes stopped" in log


async def _wait_for_health(url: str) -> object:
    async with aiohttp.ClientSession() as client:
        for _ in range(200):
            try:
                async with client.get(url) as reply:
                    return json.loads(await reply.text())
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
    raise AssertionError("snakkes run did not answer /healthz")


def test_run_stops_with_a_clear_error_when_the_safety_model_cannot_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "head.npz"
    broken.write_bytes(b"not a model")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[service]\ndata_dir = "{tmp_path}"\n'
        f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/db.sqlite"\n'
        f'[safety]\nhead_file = "{broken}"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "run"]) == 2
    error = capsys.readouterr().err
    assert "the safety net's classifier cannot start" in error
    assert 'classifier = "off"' in error
    assert not (tmp_path / "db.sqlite").exists()  # stopped before anything started


def test_an_unknown_classifier_setting_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[safety]\nclassifier = "maybe"\n', encoding="utf-8")
    assert main(["--config", str(config), "run"]) == 2
    assert '[safety] classifier must be "on" or "off"' in capsys.readouterr().err
