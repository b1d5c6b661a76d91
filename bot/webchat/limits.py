"""The web chat's rate limits (storage/limits.py keeps them, in memory only).

The client's IP address is used here and nowhere else: it is a key in a dictionary of
token buckets, never logged and never stored, and forgotten once its bucket is full again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from storage.limits import Rate


@dataclass(frozen=True)
class WebLimits:
    message_per_session: Rate = field(default_factory=partial(Rate, burst=20, per_second=1.0))
    message_per_ip: Rate = field(default_factory=partial(Rate, burst=60, per_second=3.0))
    # New cookies handed out, and WebSocket handshakes.
    session_per_ip: Rate = field(default_factory=partial(Rate, burst=40, per_second=1 / 10))
    connect_per_ip: Rate = field(default_factory=partial(Rate, burst=30, per_second=1.0))
