"""Conversation state and loneliness measurements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConversationState, Measurement
from storage.types import utcnow

MEASURE_KEYS = ("companionship", "left_out", "isolated", "lonely")


async def load(
    session: AsyncSession, participant_id: int, start: str, *, new: bool = False
) -> ConversationState:
    """The person's state, created at `start` ("flow.node") on first contact (`new`: the
    participant was created just now, so there is nothing to look up)."""
    state = None if new else await session.get(ConversationState, participant_id)
    if state is None:
        flow, node = start.split(".", 1)
        state = ConversationState(
            participant_id=participant_id,
            flow=flow,
            node=node,
            answers={},
            flood_count=0,
            flood_noticed=False,
            updated_at=utcnow(),
        )
        session.add(state)
    return state


async def save_measurement(
    session: AsyncSession,
    participant_id: int,
    state: ConversationState,
    *,
    now: datetime | None = None,
) -> Measurement | None:
    """Store the measure answers collected in `state` (0 = skipped) and clear them; nothing
    is stored when every question was skipped."""
    answers = dict(state.answers)
    values = {key: answers.pop(key, 0) or None for key in MEASURE_KEYS}
    context = str(answers.pop("measure_context", "menu"))
    state.answers = answers
    if all(value is None for value in values.values()):
        return None
    measurement = Measurement(
        participant_id=participant_id, context=context, taken_at=now or utcnow(), **values
    )
    session.add(measurement)
    return measurement
