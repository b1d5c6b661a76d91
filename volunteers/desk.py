"""What every part of the handover feature shares: the rules, the words, and the way out
to other people (after the turn commits)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dialogues.conversation import Turn
from dialogues.messages import Delivery, Outbound, Outbox
from storage import handover as store
from storage.models import Handover, Volunteer
from volunteers.messages import Post, Wording
from volunteers.queue import Policy


class Unconnected:
    """The outbox of a conversation built without a running service (`dialogues check`)."""

    async def send(self, participant_id: int, message: Outbound) -> Delivery:
        return Delivery.FAILED


@dataclass
class Desk:
    policy: Policy
    wording: Wording
    outbox: Outbox
    on_blocked: Callable[[], None] | None = None  # wakes the runner, which settles it

    def post(self, turn: Turn, posts: list[Post]) -> None:
        """Send `posts` with the turn: they are written to the outbox in its transaction and
        go out once it commits (a block found then wakes the runner, which settles it)."""
        for participant_id, message in posts:
            turn.send_to(participant_id, message)

    def stale(self, turn: Turn) -> None:
        turn.replies.append(turn.conversation.stale(turn.language))

    async def volunteer(self, turn: Turn) -> Volunteer | None:
        return await store.volunteer_of(turn.session, turn.participant.id)

    async def active_volunteer(self, turn: Turn) -> Volunteer | None:
        found = await self.volunteer(turn)
        return found if found is not None and found.active else None

    async def own_row(self, turn: Turn, data_id: str) -> Handover | None:
        """The handover a young person's button names, if it is theirs."""
        if not data_id.isdigit():
            return None
        row = await turn.session.get(Handover, int(data_id))
        return row if row is not None and row.participant_id == turn.participant.id else None
