"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Text
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in, timezone-aware UTC datetimes out, on every backend.

    SQLite keeps no zone; storing naive UTC and re-attaching UTC on the way out keeps the
    rest of the code free of naive datetimes (ruff DTZ).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


Clock = Callable[[], datetime]
"""Where "now" comes from: `utcnow` in the service, a controllable clock in tests."""


KEYRING_ON_DIALECT = "snakkes_keyring"


class SealedText(TypeDecorator[str]):
    """Text sealed at rest with the database's keyring (storage/crypto.py), bound to its
    column: message text and notes are readable only with the secret key.

    The keyring travels on the engine's dialect (set by `Database`), since a column type
    sees nothing else of where it is used; a database opened without one cannot write or
    read sealed text, and says so.
    """

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def _keyring(self, dialect: Dialect) -> Any:
        keyring = getattr(dialect, KEYRING_ON_DIALECT, None)
        if keyring is None:
            raise RuntimeError(f"{self.context} is sealed: open the Database with a keyring")
        return keyring

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self._keyring(dialect).seal_text(value, self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        opened: str = self._keyring(dialect).open_text(str(value), self.context)
        return opened
