"""Reading the loneliness measure back to the person: which kind words follow it.

Never a label or a score on screen: the result only chooses the reflection (and, when the
answers say the person often feels alone, the offer of a human and of check-ins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

THREE_ITEMS = ("companionship", "left_out", "isolated")  # 1 hardly ever .. 3 often
DIRECT = "lonely"  # 1 never .. 5 often or always
RESULTS = tuple(f"measure.result_{level}" for level in ("skipped", "low", "mid", "high"))


def result_node(answers: Mapping[str, Any]) -> str:
    """The node after the measure: measure.result_skipped, _low, _mid or _high."""
    items = [v for k in THREE_ITEMS if isinstance(v := answers.get(k), int) and 1 <= v <= 3]
    direct = answers.get(DIRECT)
    direct = direct if isinstance(direct, int) and 1 <= direct <= 5 else None
    if not items and direct is None:
        return "measure.result_skipped"
    # One answer alone says less than several: it never leads to the strongest words.
    mean = sum(items) / len(items) if len(items) >= 2 else min(sum(items) / 1.0, 2.0)
    if direct == 5 or mean >= 2.6 or (direct == 4 and mean >= 2):
        return "measure.result_high"
    if (direct is not None and direct >= 3) or mean >= 5 / 3:
        return "measure.result_mid"
    return "measure.result_low"
