"""The tables, one module per area; importing this package registers them all."""

from storage.models.base import Base
from storage.models.dialogues import ConversationState, Measurement, StatEvent
from storage.models.participants import GroupNotice, Participant, PendingErasure, ProcessedUpdate

__all__ = [
    "Base",
    "ConversationState",
    "GroupNotice",
    "Measurement",
    "Participant",
    "PendingErasure",
    "ProcessedUpdate",
    "StatEvent",
]
