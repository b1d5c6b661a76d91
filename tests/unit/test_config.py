from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import EXAMPLE_CONFIG, ConfigError, load_settings


def test_defaults_come_from_the_example_and_generate_a_secret_once(tmp_path: Path) -> None:
    environ = {"SNAKKES_SERVICE_DATA_DIR": str(tmp_path / "var")}
    first = load_settings(None, environ)
    second = load_settings(None, environ)

    assert first.web.host == "127.0.0.1"
    assert first.web.port == 8080
    assert first.database.url == "sqlite+aiosqlite:///var/snakkes.db"
    assert first.telegram.enabled is False
    assert [org.slug for org in first.organisations] == ["example"]
    assert len(first.secret_key) >= 32
    assert first.secret_key == second.secret_key
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_overrides_keys(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        {
            "SNAKKES_SERVICE_DATA_DIR": str(tmp_path),
            "SNAKKES_TELEGRAM_TOKEN": "123:abc",
            "SNAKKES_TELEGRAM_API_URL": "http://127.0.0.1:9999",
            "SNAKKES_DATABASE_URL": "postgresql+asyncpg://u@h/db",
            "SNAKKES_SECURITY_SECRET_KEY": "k" * 40,
            "SNAKKES_WEB_HOST": "0.0.0.0",  # noqa: S104 - a value, not a bind
            "SNAKKES_WEB_PORT": "9090",
        },
    )
    assert settings.telegram.token.get() == "123:abc"
    assert settings.telegram.api_url == "http://127.0.0.1:9999"
    assert settings.database.url == "postgresql+asyncpg://u@h/db"
    assert settings.secret_key == b"k" * 40
    assert settings.web.host == "0.0.0.0"  # noqa: S104
    assert settings.web.port == 9090


def test_secrets_never_show_in_a_repr(tmp_path: Path) -> None:
    settings = load_settings(
        None, {"SNAKKES_SERVICE_DATA_DIR": str(tmp_path), "SNAKKES_TELEGRAM_TOKEN": "123:abc"}
    )
    assert "123:abc" not in repr(settings)
    assert settings.security.secret_key.get() not in repr(settings)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[web]\nport = 'eighty'\n", "[web] port must be a whole number"),
        ("[web]\nport = 70000\n", "[web] port must be between"),
        ("[web]\nsweep_seconds = 0\n", "[web] sweep_seconds must be more than 0"),
        ("[telegram]\nmode = 'push'\n", "[telegram] mode must be"),
        ("[nonsense]\n", "unknown section [nonsense]"),
        ("[web]\nhots = 'x'\n", "unknown key [web] hots"),
        ("[service]\ntimezone = 'Mars/Olympus'\n", "[service] timezone"),
        ("[security]\nsecret_key = 'short'\n", "[security] secret_key must be at least 32"),
        ("[database]\nurl = 'mysql://x'\n", "[database] url must start"),
        ("[[organisations]]\nslug = 'Bad Slug'\nname = 'x'\n", "slug must be lower-case"),
        ("[web\n", "not valid TOML"),
    ],
)
def test_errors_name_the_key_and_the_file(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, {"SNAKKES_SERVICE_DATA_DIR": str(tmp_path)})
    assert message in str(raised.value)
    assert str(path) in str(raised.value)


def test_environment_errors_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment SNAKKES_WEB_PORT must be a whole number"):
        load_settings(None, {"SNAKKES_SERVICE_DATA_DIR": str(tmp_path), "SNAKKES_WEB_PORT": "x"})


def test_webhook_mode_needs_https_on_telegrams_own_servers(tmp_path: Path) -> None:
    base = {
        "SNAKKES_SERVICE_DATA_DIR": str(tmp_path),
        "SNAKKES_TELEGRAM_TOKEN": "123:abc",
        "SNAKKES_TELEGRAM_MODE": "webhook",
        "SNAKKES_TELEGRAM_WEBHOOK_URL": "http://example.org/telegram/webhook",
    }
    with pytest.raises(ConfigError, match="webhook_url must be an https:// URL"):
        load_settings(None, base)
    # A self-hosted Bot API server may post over plain HTTP.
    settings = load_settings(None, {**base, "SNAKKES_TELEGRAM_API_URL": "http://127.0.0.1:8081"})
    assert settings.telegram.mode == "webhook"


def test_every_key_in_the_example_is_commented() -> None:
    """Each key has a comment above it: right above, or heading its group of lines."""
    explained = False
    for line in EXAMPLE_CONFIG.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("["):
            explained = False
        elif stripped.startswith("#"):
            explained = True
        else:
            assert explained, f"uncommented key: {line}"
