"""Help outside snakkes that the bot points to: crisis lines (from the config) and the
community directory (a data file per deployment)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialogues.content import LANGUAGES, read_yaml
from storage import communities
from storage.models import CommunityEntry

EXAMPLE_DIRECTORY = Path(__file__).resolve().parent / "communities.example.yaml"
REGIONS = ("hovedstaden", "sjaelland", "syddanmark", "midtjylland", "nordjylland", "online")
INTERESTS = ("peer", "volunteering", "sport", "creative", "online")


@dataclass(frozen=True)
class CrisisLine:
    name: str
    number: str
    hours: dict[str, str]  # per language, e.g. {"da": "hele døgnet", "en": "day and night"}
    who: dict[str, str]  # per language; empty strings when it is for everyone

    def line(self, language: str) -> str:
        who = f", {self.who[language]}" if self.who.get(language) else ""
        return f"• {self.name}: {self.number} ({self.hours[language]}{who})"


def crisis_text(lines: Iterable[CrisisLine], language: str) -> str:
    return "\n".join(line.line(language) for line in lines)


@dataclass(frozen=True)
class Community:
    name: str
    description: dict[str, str]
    contact: str
    regions: tuple[str, ...]
    municipality: str
    interests: tuple[str, ...]
    min_age: int = 13
    max_age: int = 30
    languages: tuple[str, ...] = LANGUAGES

    def line(self, language: str) -> str:
        place = f", {self.municipality}" if self.municipality else ""
        return f"• {self.name}{place}: {self.description[language]} {self.contact}"


@dataclass(frozen=True)
class Directory:
    communities: tuple[Community, ...]
    example_data: bool

    @classmethod
    def load(cls, path: Path) -> Directory:
        """Read and check a directory file; ValueError names the file and the entry."""
        data = read_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get("communities"), list):
            raise ValueError(f"{path.name}: needs a list 'communities'")
        entries = []
        for index, entry in enumerate(data["communities"]):
            where = f"{path.name}: community #{index + 1}"
            try:
                community = Community(
                    name=str(entry["name"]),
                    description={lang: str(entry["description"][lang]) for lang in LANGUAGES},
                    contact=str(entry.get("contact", "")),
                    regions=tuple(entry["regions"]),
                    municipality=str(entry.get("municipality", "")),
                    interests=tuple(entry["interests"]),
                )
            except (KeyError, TypeError) as error:
                raise ValueError(f"{where}: missing or wrong field {error}") from None
            unknown = set(community.regions) - set(REGIONS) | (
                set(community.interests) - set(INTERESTS)
            )
            if unknown:
                raise ValueError(f"{where}: unknown region or interest {sorted(unknown)}")
            entries.append(community)
        return cls(tuple(entries), bool(data.get("example_data", False)))

    def find(
        self,
        interest: str | None,
        region: str | None,
        limit: int = 5,
        *,
        age_band: str | None = None,
        language: str | None = None,
    ) -> Sequence[Community]:
        """Matches for an interest and region (online communities suit every region), for
        the person's age band when they told it; those in their language first."""
        ages = _band_ages(age_band)
        found = [
            c
            for c in self.communities
            if (interest is None or interest in c.interests)
            and (region is None or region in c.regions or "online" in c.regions)
            and (ages is None or (c.min_age <= ages[1] and ages[0] <= c.max_age))
        ]
        found.sort(key=lambda c: language is not None and language not in c.languages)
        return found[:limit]


def _band_ages(band: str | None) -> tuple[int, int] | None:
    """The ages of an age band ("15-17", "under-15"), or None (not told, or unknown)."""
    if band == "under-15":
        return (0, 14)
    low, _, high = (band or "").partition("-")
    return (int(low), int(high)) if low.isdigit() and high.isdigit() else None


# -- the directory in the database, managed on the dashboard ---------------------------------
MIN_AGE, MAX_AGE = 13, 30
REFRESH_AFTER = timedelta(minutes=1)
_LINK = re.compile(r"^https?://[^\s/?#]+\.[^\s/?#]{2,}(?:[/?#]\S*)?$", re.IGNORECASE)


def seed_rows(directory: Directory) -> list[dict[str, Any]]:
    """The YAML directory as rows (kept by the administrators: no organisation)."""
    return [
        {
            "org_slug": None,
            "name": c.name[:80],
            "kind": c.interests[0] if c.interests else INTERESTS[0],
            "regions": ",".join(c.regions),
            "municipality": c.municipality[:60],
            "min_age": c.min_age,
            "max_age": c.max_age,
            "link": c.contact if c.contact.startswith(("http://", "https://"))
            else f"https://{c.contact}",
            "languages": ",".join(c.languages),
            "description_da": c.description["da"][:300],
            "description_en": c.description["en"][:300],
            "example": directory.example_data,
        }
        for c in directory.communities
    ]


def from_rows(rows: Iterable[CommunityEntry]) -> Directory:
    found = tuple(
        Community(
            name=row.name,
            description={"da": row.description_da, "en": row.description_en},
            contact=row.link,
            regions=tuple(r for r in row.regions.split(",") if r),
            municipality=row.municipality,
            interests=(row.kind,),
            min_age=row.min_age,
            max_age=row.max_age,
            languages=tuple(lang for lang in row.languages.split(",") if lang),
        )
        for row in rows
    )
    return Directory(found, any(row.example for row in rows))


def validate(form: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A community as the dashboard's form sends it: the row's values, and the keys of
    what is wrong (name, link, kind, regions, ages, languages, description_da/_en)."""
    errors: list[str] = []
    name = str(form.get("name", "")).strip()
    if not name or len(name) > 80:
        errors.append("name")
    link = str(form.get("link", "")).strip()
    if not _LINK.match(link) or len(link) > 200:
        errors.append("link")
    kind = str(form.get("kind", ""))
    if kind not in INTERESTS:
        errors.append("kind")
    regions = [r for r in _many(form, "regions") if r in REGIONS]
    if not regions or len(regions) != len(_many(form, "regions")):
        errors.append("regions")
    try:
        low, high = int(str(form.get("min_age", ""))), int(str(form.get("max_age", "")))
        if not MIN_AGE <= low <= high <= MAX_AGE:
            raise ValueError("ages")
    except ValueError:
        errors.append("ages")
        low, high = MIN_AGE, MAX_AGE
    languages = [lang for lang in _many(form, "languages") if lang in LANGUAGES]
    if not languages or len(languages) != len(_many(form, "languages")):
        errors.append("languages")
    descriptions = {}
    for lang in LANGUAGES:
        text = " ".join(str(form.get(f"description_{lang}", "")).split())
        if not text or len(text) > 300:
            errors.append(f"description_{lang}")
        descriptions[f"description_{lang}"] = text
    municipality = " ".join(str(form.get("municipality", "")).split())[:60]
    values = {
        "name": name, "link": link, "kind": kind, "regions": ",".join(regions),
        "municipality": municipality, "min_age": low, "max_age": high,
        "languages": ",".join(languages), **descriptions,
    }
    return values, errors


def _many(form: Mapping[str, Any], key: str) -> list[str]:
    getall = getattr(form, "getall", None)
    found = getall(key, []) if getall is not None else form.get(key, [])
    return [str(v) for v in (found if isinstance(found, list) else [found])]


@dataclass
class Catalog:
    """The directory the conversation suggests from: the database's, read again at most
    once a minute (and at once after an edit on this instance), the YAML file's until
    then."""

    directory: Directory
    loaded_at: datetime | None = None
    _refresh_after: timedelta = field(default=REFRESH_AFTER)

    @property
    def example_data(self) -> bool:
        return self.directory.example_data

    def find(self, interest: str | None, region: str | None, limit: int = 5, *,
             age_band: str | None = None, language: str | None = None
             ) -> Sequence[Community]:
        return self.directory.find(interest, region, limit, age_band=age_band,
                                   language=language)

    def changed(self) -> None:
        self.loaded_at = None

    async def refresh(self, session: AsyncSession, now: datetime) -> None:
        if self.loaded_at is not None and now - self.loaded_at < self._refresh_after:
            return
        rows = await communities.every(session)
        self.directory = from_rows(rows)
        self.loaded_at = now
