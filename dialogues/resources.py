"""Help outside snakkes that the bot points to: crisis lines (from the config) and the
community directory (a data file per deployment)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dialogues.content import LANGUAGES, read_yaml

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
        self, interest: str | None, region: str | None, limit: int = 5
    ) -> Sequence[Community]:
        """Matches for an interest and region; online communities suit every region."""
        found = [
            c
            for c in self.communities
            if (interest is None or interest in c.interests)
            and (region is None or region in c.regions or "online" in c.regions)
        ]
        return found[:limit]
