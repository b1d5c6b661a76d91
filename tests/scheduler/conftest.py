"""Check-in tests share the end-to-end harness (the real service and PTB against the Bot API
double) and the database fixtures."""

from tests.e2e.conftest import double, snakkes, start_snakkes

__all__ = ["double", "snakkes", "start_snakkes"]
