"""The community directory the bot suggests from, managed on the dashboard by each
organisation's coordinators and seeded from the deployment's YAML file."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import utcnow


class CommunityEntry(Base):
    """One community: who keeps it (an organisation, or None: the administrators), where
    (regions, "online"), what kind, for which ages and languages, and a line in each
    language. Lists are stored comma-separated: they are short and only ever read whole."""

    __tablename__ = "communities"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_slug: Mapped[str | None] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    regions: Mapped[str] = mapped_column(String(120))
    municipality: Mapped[str] = mapped_column(String(60), default="")
    min_age: Mapped[int]
    max_age: Mapped[int]
    link: Mapped[str] = mapped_column(String(200))
    languages: Mapped[str] = mapped_column(String(20))
    description_da: Mapped[str] = mapped_column(String(300))
    description_en: Mapped[str] = mapped_column(String(300))
    example: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
