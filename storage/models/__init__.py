"""The tables, one module per area; importing this package registers them all."""

from storage.models.base import Base
from storage.models.checkins import Checkin
from storage.models.communities import CommunityEntry
from storage.models.console import CannedResponse, ConsoleSession, InboxItem, ReadAlong
from storage.models.coordinators import Coordinator, DashboardSession
from storage.models.dialogues import ConversationState, Measurement, StatEvent
from storage.models.handover import Handover, Invite, RelayMessage, Volunteer
from storage.models.outbox import InboxUpdate, OutboxMessage, TelegramBudget, TelegramSend
from storage.models.participants import GroupNotice, Participant, PendingErasure, ProcessedUpdate
from storage.models.paths import ParticipantPath
from storage.models.statistics import DailyCount, DailyValue, FoldState, MeasurementScore
from storage.models.webchat import WebchatMessage

__all__ = [
    "Base",
    "CannedResponse",
    "Checkin",
    "CommunityEntry",
    "ConsoleSession",
    "ConversationState",
    "Coordinator",
    "DailyCount",
    "DailyValue",
    "DashboardSession",
    "FoldState",
    "GroupNotice",
    "Handover",
    "InboxItem",
    "InboxUpdate",
    "Invite",
    "Measurement",
    "MeasurementScore",
    "OutboxMessage",
    "Participant",
    "ParticipantPath",
    "PendingErasure",
    "ProcessedUpdate",
    "ReadAlong",
    "RelayMessage",
    "StatEvent",
    "TelegramBudget",
    "TelegramSend",
    "Volunteer",
    "WebchatMessage",
]
