"""Every category the service can record has a human label in Danish and English, and the
research export says the same as the report, with every key in its data dictionary."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import date
from pathlib import Path

from dialogues.flows import FLOWS_DIR
from dialogues.safety import CATEGORIES
from insights import research
from insights.calendar import Calendar
from insights.labels import CATEGORIES as LABELS
from insights.report import build
from tests.statistics.test_fixed_periods import ORGS, random_figures

DOCS = Path(__file__).resolve().parents[2] / "docs" / "research-export.md"


def recorded(key: str) -> set[str]:
    """Every value a flow file gives `key` (`topic: x` or `set: {key: x}`)."""
    found: set[str] = set()
    for path in FLOWS_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(rf"\b{key}: \"?([\w-]+)\"?", text))
    return found


def test_every_topic_crisis_category_and_age_band_has_a_label() -> None:
    assert recorded("topic") <= set(LABELS["topic"])
    assert set(CATEGORIES) <= set(LABELS["crisis"])
    assert recorded("age_band") <= set(LABELS["age_band"])
    for kind in LABELS.values():
        for da, en in kind.values():
            assert da
            assert en
            assert "_" not in da + en


def test_the_research_export_is_the_report_in_long_form_and_documented() -> None:
    calendar = Calendar.of(2025, date(2026, 2, 1))
    report = build(random_figures(random.Random(3), calendar), calendar, ORGS,
                   grain="month")
    lines = list(csv.DictReader(io.StringIO(research.to_csv(report))))
    assert list(lines[0]) == list(research.COLUMNS)
    cells = {(t.key, r.key, p.key): c for t in report.tables for r in t.rows
             for p, c in zip(report.periods, r.cells, strict=True)}
    assert len(lines) == len(cells)
    for line in lines:
        shown = cells[(line["table"], line["row"], line["period"])]
        if line["suppressed"]:
            assert line["value"] == ""
            assert research.SUPPRESSED[shown] == line["suppressed"]
        else:
            assert line["value"] == shown.lstrip("+")
    dictionary = DOCS.read_text(encoding="utf-8")
    for table in report.tables:
        assert f"`{table.key}`" in dictionary, table.key
        for row in table.rows:
            key = row.key
            for org in ORGS:
                key = key.replace(f"@{org}", "@{org}").replace(f"{org}/", "{org}/")
            first = re.split(r"/", key)[0]
            assert f"`{first}" in dictionary, row.key
