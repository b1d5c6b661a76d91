"""Settings: loaded from a TOML file, overridden by SNAKKES_<SECTION>_<KEY>, validated once.

Everything the service reads from its surroundings is read here, so that a wrong value
fails at start with a message naming the key and the file, never later in a handler.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import tomllib
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.addresses import networks
from dialogues.resources import CrisisLine
from volunteers.organisations import AGE_BANDS, WEEKDAYS, Organisation, Span

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"
LANGUAGES = ("da", "en")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key and where it came from."""


class Secret:
    """A string that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and secrets.compare_digest(self._value, other._value)

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ServiceSettings:
    data_dir: Path = Path("var")
    default_language: str = "da"
    timezone: str = "Europe/Copenhagen"
    log_level: str = "INFO"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite+aiosqlite:///var/snakkes.db"


@dataclass(frozen=True)
class SecuritySettings:
    secret_key: Secret = field(default_factory=lambda: Secret(""))
    # After a rotation: the keys before, comma-separated; they only open what they sealed.
    previous_secret_keys: Secret = field(default_factory=lambda: Secret(""))


@dataclass(frozen=True)
class TelegramSettings:
    token: Secret = field(default_factory=lambda: Secret(""))
    api_url: str = "https://api.telegram.org"
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: Secret = field(default_factory=lambda: Secret(""))
    max_messages_per_second: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    trusted_proxies: tuple[str, ...] = ()
    sweep_seconds: int = 10


@dataclass(frozen=True)
class PrivacySettings:
    message_retention_hours: int = 0


@dataclass(frozen=True)
class DialoguesSettings:
    flood_limit_per_minute: int = 20
    idle_restart_hours: int = 24
    communities_file: str = ""


@dataclass(frozen=True)
class CheckinsSettings:
    morning_hour: int = 9
    afternoon_hour: int = 15
    evening_hour: int = 19
    quiet_start: str = "22:00"
    quiet_end: str = "08:00"
    grace_hours: int = 6
    reminder_hours: int = 24
    stale_claim_seconds: int = 300
    tick_seconds: int = 60


@dataclass(frozen=True)
class DeliverySettings:
    # A send to Telegram not answered within this is a time-out, and is tried again.
    send_timeout_seconds: int = 5
    # How long an instance holds the messages it is sending; a dead one's come free after.
    lease_seconds: int = 10
    # How often the outbox is searched for messages nobody holds (a safety net).
    sweep_milliseconds: int = 1000


@dataclass(frozen=True)
class SafetySettings:
    classifier: str = "on"  # "on": the embedding model must load; "off": the lexicon alone
    head_file: str = ""  # the trained screen and head; empty: dialogues/data/safety/head.npz

    @property
    def classifier_on(self) -> bool:
        return self.classifier == "on"


@dataclass(frozen=True)
class HandoverSettings:
    wait_timeout_minutes: int = 10
    idle_ask_minutes: int = 30
    idle_close_minutes: int = 10
    note_max_chars: int = 500
    tick_seconds: int = 30


@dataclass(frozen=True)
class Settings:
    service: ServiceSettings
    database: DatabaseSettings
    security: SecuritySettings
    telegram: TelegramSettings
    web: WebSettings
    privacy: PrivacySettings
    dialogues: DialoguesSettings
    organisations: tuple[Organisation, ...]
    crisis_lines: tuple[CrisisLine, ...]
    source: str = "defaults"
    # Where the secret key came from: "" (configured), or the file it was generated into.
    generated_secret: str = ""
    environment: str = ""  # SNAKKES_ENV: "production" means production wherever it listens
    checkins: CheckinsSettings = field(default_factory=CheckinsSettings)
    handover: HandoverSettings = field(default_factory=HandoverSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    safety: SafetySettings = field(default_factory=SafetySettings)

    @property
    def secret_key(self) -> bytes:
        return self.security.secret_key.get().encode()

    @property
    def production(self) -> bool:
        """Listening beyond this machine, or said to be production."""
        return self.environment == "production" or not _loopback(self.web.host)

    @property
    def previous_secret_keys(self) -> tuple[bytes, ...]:
        keys = self.security.previous_secret_keys.get().split(",")
        return tuple(key.strip().encode() for key in keys if key.strip())


_SECTIONS: dict[str, type] = {
    "service": ServiceSettings,
    "database": DatabaseSettings,
    "security": SecuritySettings,
    "telegram": TelegramSettings,
    "web": WebSettings,
    "privacy": PrivacySettings,
    "dialogues": DialoguesSettings,
    "checkins": CheckinsSettings,
    "handover": HandoverSettings,
    "delivery": DeliverySettings,
    "safety": SafetySettings,
}


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read `path` (or the example's defaults), apply environment overrides, validate.

    Without [security] secret_key, a random key is generated once into the data directory,
    so a local install keeps its pseudonyms across restarts without a secret in the repo.
    """
    env = os.environ if environ is None else environ
    source = str(path) if path is not None else f"{EXAMPLE_CONFIG.name} (defaults)"
    raw = _read_toml(path if path is not None else EXAMPLE_CONFIG)
    unknown = set(raw) - set(_SECTIONS) - {"organisations", "crisis_lines"}
    if unknown:
        raise ConfigError(f"{source}: unknown section [{sorted(unknown)[0]}]")
    sections = {
        name: _build_section(name, cls, raw.get(name, {}), env, source)
        for name, cls in _SECTIONS.items()
    }
    settings = Settings(
        **sections,
        organisations=_organisations(
            raw.get("organisations", []), source, _zone(sections["service"], source)
        ),
        # Crisis lines are never missing: a file without them gets the example's.
        crisis_lines=_crisis_lines(
            raw["crisis_lines"]
            if "crisis_lines" in raw
            else _read_toml(EXAMPLE_CONFIG)["crisis_lines"],
            source,
        ),
        source=source,
        environment=env.get("SNAKKES_ENV", "").strip().lower(),
    )
    _validate(settings)
    if not settings.security.secret_key:
        settings = _with_generated_secret(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def _build_section(name: str, cls: type, values: Any, env: Mapping[str, str], source: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{source}: unknown key [{name}] {key}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        env_key = f"SNAKKES_{name.upper()}_{f.name.upper()}"
        if env_key in env:
            kwargs[f.name] = _coerce(env[env_key], hints[f.name], f"environment {env_key}")
        elif f.name in values:
            kwargs[f.name] = _coerce(values[f.name], hints[f.name], f"{source}: [{name}] {f.name}")
    return cls(**kwargs)


def _coerce(value: Any, target: Any, where: str) -> Any:
    if get_origin(target) in (Union, types.UnionType):
        target = next(arg for arg in get_args(target) if arg is not type(None))
    if target is Secret:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string")
        return Secret(value)
    if get_origin(target) is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where} must be a list of strings")
        return tuple(i.strip() for i in items if i.strip())
    if target is Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where} must be a non-empty path")
        return Path(value)
    if target is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where} must be a whole number, got {value!r}") from None
    if target is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, got {value!r}")
        return value
    raise ConfigError(f"{where}: unsupported setting type {target!r}")  # pragma: no cover


def _zone(service: ServiceSettings, source: str) -> ZoneInfo:
    try:
        return service.zone
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{source}: [service] timezone is not a known time zone") from None


def _organisations(entries: Any, source: str, zone: ZoneInfo) -> tuple[Organisation, ...]:
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: organisations must be a list of [[organisations]] tables")
    result = [
        _organisation(entry, f"{source}: [[organisations]] #{index + 1}", zone)
        for index, entry in enumerate(entries)
    ]
    slugs = [org.slug for org in result]
    if len(set(slugs)) != len(slugs):
        raise ConfigError(f"{source}: organisation slugs must be unique")
    return tuple(result)


_ORGANISATION_KEYS = {
    "slug", "name", "languages", "age_bands", "always_open", "hours", "closed_on",
    "max_waiting", "capacity", "telegram_console", "require_totp",
}


def _flag(entry: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where} {key} must be true or false")
    return value


def _organisation(entry: Any, where: str, zone: ZoneInfo) -> Organisation:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a table")
    for key in entry:
        if key not in _ORGANISATION_KEYS:
            raise ConfigError(f"{where} unknown key {key}")
    slug, name = entry.get("slug"), entry.get("name")
    if not isinstance(slug, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", slug):
        raise ConfigError(f"{where} slug must be lower-case letters, digits and dashes")
    where = f"{where} ({slug})"
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{where} name must be a non-empty string")
    languages = entry.get("languages", list(LANGUAGES))
    if not isinstance(languages, list) or not languages or not set(languages) <= set(LANGUAGES):
        raise ConfigError(f"{where} languages must be a list of {LANGUAGES}")
    bands = entry.get("age_bands", list(AGE_BANDS))
    if not isinstance(bands, list) or not bands or not set(bands) <= set(AGE_BANDS):
        raise ConfigError(f"{where} age_bands must be a list of {AGE_BANDS}")
    always_open = _flag(entry, "always_open", False, where)
    telegram_console = _flag(entry, "telegram_console", True, where)
    require_totp = _flag(entry, "require_totp", False, where)
    hours = _opening_hours(entry.get("hours", {}), where)
    if not always_open and not any(hours):
        raise ConfigError(f"{where} needs hours (e.g. mon = \"09:00-21:00\") or always_open")
    counts = {}
    for key, default in (("max_waiting", 20), ("capacity", 1)):
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where} {key} must be a whole number, 1 or more")
        counts[key] = value
    return Organisation(
        slug=slug,
        name=name,
        languages=tuple(languages),
        age_bands=tuple(bands),
        always_open=always_open,
        hours=hours,
        closed_on=_closed_on(entry.get("closed_on", []), where),
        max_waiting=counts["max_waiting"],
        capacity=counts["capacity"],
        telegram_console=telegram_console,
        require_totp=require_totp,
        zone=zone,
    )


def _opening_hours(table: Any, where: str) -> tuple[tuple[Span, ...], ...]:
    """`{ mon = "09:00-21:00", sat = ["10:00-12:00", "13:00-16:00"] }`, by weekday."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} hours must be a table like {{ mon = \"09:00-21:00\" }}")
    for day in table:
        if day not in WEEKDAYS:
            raise ConfigError(f"{where} hours: {day!r} is not one of {', '.join(WEEKDAYS)}")
    result: list[tuple[Span, ...]] = []
    for day in WEEKDAYS:
        value = table.get(day, [])
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ConfigError(f"{where} hours.{day} must be \"HH:MM-HH:MM\" or a list of them")
        try:
            result.append(tuple(Span.parse(text) for text in texts))
        except ValueError as error:
            raise ConfigError(f"{where} hours.{day}: {error}") from None
    return tuple(result)


def _closed_on(value: Any, where: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise ConfigError(f"{where} closed_on must be a list of dates like \"2026-12-24\"")
    days: set[date] = set()
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            days.add(item)  # TOML's own date literal
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            raise ConfigError(
                f"{where} closed_on: {item!r} is not a date like 2026-12-24"
            ) from None
    return frozenset(days)


def _crisis_lines(entries: Any, source: str) -> tuple[CrisisLine, ...]:
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: at least one [[crisis_lines]] entry is needed")
    result = []
    for index, entry in enumerate(entries):
        where = f"{source}: [[crisis_lines]] #{index + 1}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where} must be a table")
        values: dict[str, str] = {}
        for key in ("name", "number", "hours_da", "hours_en", "who_da", "who_en"):
            value = entry.get(key, "")
            if not isinstance(value, str) or (key in ("name", "number") and not value):
                raise ConfigError(f"{where} {key} must be a string")
            values[key] = value
        result.append(
            CrisisLine(
                name=values["name"],
                number=values["number"],
                hours={"da": values["hours_da"], "en": values["hours_en"]},
                who={"da": values["who_da"], "en": values["who_en"]},
            )
        )
    return tuple(result)


def _validate(settings: Settings) -> None:
    _validate_service(settings)
    _validate_telegram(settings)
    _validate_dialogues(settings)
    _validate_checkins(settings)
    _validate_handover(settings)
    if settings.safety.classifier not in ("on", "off"):
        raise ConfigError(f"{settings.source}: [safety] classifier must be \"on\" or \"off\"")
    _validate_delivery(settings)


def _validate_delivery(settings: Settings) -> None:
    src, de = settings.source, settings.delivery
    for key in ("send_timeout_seconds", "lease_seconds", "sweep_milliseconds"):
        if getattr(de, key) < 1:
            raise ConfigError(f"{src}: [delivery] {key} must be 1 or more")
    if de.lease_seconds <= de.send_timeout_seconds:
        raise ConfigError(
            f"{src}: [delivery] lease_seconds must be more than send_timeout_seconds"
        )


def _validate_service(settings: Settings) -> None:
    src = settings.source
    if settings.service.default_language not in LANGUAGES:
        raise ConfigError(f"{src}: [service] default_language must be one of {LANGUAGES}")
    try:
        ZoneInfo(settings.service.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{src}: [service] timezone is not a known time zone") from None
    if settings.service.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"{src}: [service] log_level must be DEBUG, INFO, WARNING or ERROR")
    if not settings.database.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ConfigError(
            f"{src}: [database] url must start with sqlite+aiosqlite:// or postgresql+asyncpg://"
        )
    key = settings.security.secret_key
    if key and len(key.get()) < 32:
        raise ConfigError(f"{src}: [security] secret_key must be at least 32 characters")
    if any(len(old) < 32 for old in settings.previous_secret_keys):
        raise ConfigError(
            f"{src}: [security] previous_secret_keys must each be at least 32 characters"
        )
    if not 0 < settings.web.port < 65536:
        raise ConfigError(f"{src}: [web] port must be between 1 and 65535")
    try:
        networks(settings.web.trusted_proxies)
    except ValueError:
        raise ConfigError(
            f"{src}: [web] trusted_proxies must list IP addresses or networks"
        ) from None
    if settings.web.sweep_seconds <= 0:
        raise ConfigError(f"{src}: [web] sweep_seconds must be more than 0")
    if settings.privacy.message_retention_hours < 0:
        raise ConfigError(f"{src}: [privacy] message_retention_hours must be 0 or more")


def _validate_telegram(settings: Settings) -> None:
    src, tg = settings.source, settings.telegram
    if tg.mode not in ("polling", "webhook"):
        raise ConfigError(f"{src}: [telegram] mode must be 'polling' or 'webhook'")
    if not tg.api_url.startswith(("http://", "https://")):
        raise ConfigError(f"{src}: [telegram] api_url must be an http(s) URL")
    if tg.enabled and tg.mode == "webhook":
        # Telegram's own servers post only to HTTPS; a self-hosted Bot API server may use HTTP.
        scheme = "https://" if "api.telegram.org" in tg.api_url else ("https://", "http://")
        if not tg.webhook_url.startswith(scheme):
            raise ConfigError(f"{src}: [telegram] webhook_url must be an https:// URL")
    if tg.max_messages_per_second < 1:
        raise ConfigError(f"{src}: [telegram] max_messages_per_second must be 1 or more")
    if tg.webhook_secret and not _WEBHOOK_SECRET.match(tg.webhook_secret.get()):
        raise ConfigError(f"{src}: [telegram] webhook_secret may use only A-Z a-z 0-9 _ -")


def _validate_dialogues(settings: Settings) -> None:
    src = settings.source
    if settings.dialogues.flood_limit_per_minute < 1:
        raise ConfigError(f"{src}: [dialogues] flood_limit_per_minute must be 1 or more")
    if settings.dialogues.idle_restart_hours < 1:
        raise ConfigError(f"{src}: [dialogues] idle_restart_hours must be 1 or more")
    path = settings.dialogues.communities_file
    if path and not Path(path).is_file():
        raise ConfigError(f"{src}: [dialogues] communities_file {path} does not exist")


def _validate_checkins(settings: Settings) -> None:
    src, ci = settings.source, settings.checkins
    for name in ("morning_hour", "afternoon_hour", "evening_hour"):
        if not 0 <= getattr(ci, name) <= 23:
            raise ConfigError(f"{src}: [checkins] {name} must be an hour from 0 to 23")
    for name in ("quiet_start", "quiet_end"):
        if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", getattr(ci, name)):
            raise ConfigError(f"{src}: [checkins] {name} must be a time of day as HH:MM")
    for name in ("grace_hours", "reminder_hours", "stale_claim_seconds", "tick_seconds"):
        if getattr(ci, name) < 1:
            raise ConfigError(f"{src}: [checkins] {name} must be 1 or more")


def _validate_handover(settings: Settings) -> None:
    src, ho = settings.source, settings.handover
    for name in (
        "wait_timeout_minutes", "idle_ask_minutes", "idle_close_minutes", "tick_seconds"
    ):
        if getattr(ho, name) < 1:
            raise ConfigError(f"{src}: [handover] {name} must be 1 or more")
    if not 1 <= ho.note_max_chars <= 2000:
        raise ConfigError(f"{src}: [handover] note_max_chars must be from 1 to 2000")


def _with_generated_secret(settings: Settings) -> Settings:
    path = settings.service.data_dir / "secret_key"
    if path.exists():
        key = path.read_text(encoding="ascii").strip()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(key + "\n")
    security = replace(settings.security, secret_key=Secret(key))
    return replace(settings, security=security, generated_secret=str(path))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
