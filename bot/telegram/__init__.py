"""The Telegram channel (python-telegram-bot 22): updates in, our message types out."""

import os

# Opt in to python-telegram-bot 23's behaviour now: durations (RetryAfter.retry_after) are
# timedeltas. Without it, PTB 22 warns with a deprecation on every 429 it meets.
os.environ.setdefault("PTB_TIMEDELTA", "true")
