"""The crisis safety net: recall on the labelled set, false alarms, normalisation, lexicon
validation. The labelled set is tests/data/crisis_messages.yaml; add real misses there first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from dialogues.safety import CATEGORIES, CrisisHit, CrisisNet
from dialogues.text import fold, fold_word, normalize, words

DATA = Path(__file__).resolve().parents[1] / "data" / "crisis_messages.yaml"
LABELS = {"none", *CATEGORIES}
MAX_FALSE_ALARM_RATE = 0.10
# Messages that truly fit two categories may say so with `also`; keep that rare.
MAX_DUAL_LABEL_SHARE = 0.05
MIN_MESSAGES, MIN_POSITIVES, MIN_NEGATIVES = 150, 90, 60
DANISH_SHARE = (0.35, 0.65)  # "roughly half Danish, half English"


def _load() -> list[dict[str, Any]]:
    entries = yaml.safe_load(DATA.read_text(encoding="utf-8"))
    assert isinstance(entries, list)
    return entries


MESSAGES = _load()
POSITIVES = [entry for entry in MESSAGES if entry["label"] != "none"]
NEGATIVES = [entry for entry in MESSAGES if entry["label"] == "none"]


@pytest.fixture(scope="module")
def net() -> CrisisNet:
    return CrisisNet.default()


def _category(net: CrisisNet, text: str) -> str:
    hit = net.check(text)
    return hit.category if hit else "none"


# -- the labelled set ---------------------------------------------------------------------------


def test_labelled_set_is_well_formed() -> None:
    for entry in MESSAGES:
        assert set(entry) <= {"text", "lang", "label", "also"}, entry
        assert isinstance(entry["text"], str), entry
        assert entry["text"].strip(), entry
        assert entry["lang"] in {"da", "en"}, entry
        assert entry["label"] in LABELS, entry
        if "also" in entry:
            assert entry["label"] != "none", entry
            assert entry["also"] in CATEGORIES, entry
            assert entry["also"] != entry["label"], entry
    texts = [entry["text"] for entry in MESSAGES]
    assert len(texts) == len(set(texts)), "duplicate messages in the labelled set"


def test_labelled_set_is_big_and_balanced_enough() -> None:
    assert len(MESSAGES) >= MIN_MESSAGES
    assert len(POSITIVES) >= MIN_POSITIVES
    assert len(NEGATIVES) >= MIN_NEGATIVES
    assert {entry["label"] for entry in POSITIVES} == set(CATEGORIES)
    danish = sum(entry["lang"] == "da" for entry in MESSAGES)
    assert DANISH_SHARE[0] <= danish / len(MESSAGES) <= DANISH_SHARE[1]
    dual = sum("also" in entry for entry in POSITIVES)
    assert dual <= MAX_DUAL_LABEL_SHARE * len(POSITIVES)


def test_recall_is_total(net: CrisisNet) -> None:
    misses = [f"{e['label']}: {e['text']!r}" for e in POSITIVES if net.check(e["text"]) is None]
    assert not misses, f"{len(misses)}/{len(POSITIVES)} crisis messages missed:\n" + "\n".join(
        misses
    )


def test_category_is_right(net: CrisisNet) -> None:
    wrong = []
    for entry in POSITIVES:
        got = _category(net, entry["text"])
        if got != "none" and got not in {entry["label"], entry.get("also")}:
            wrong.append(f"{entry['label']} -> {got}: {entry['text']!r}")
    assert not wrong, "wrong category:\n" + "\n".join(wrong)


def test_false_alarms_are_rare(net: CrisisNet) -> None:
    alarms = []
    for entry in NEGATIVES:
        hit = net.check(entry["text"])
        if hit is not None:
            alarms.append(f"{hit.category} ({hit.pattern}): {entry['text']!r}")
    rate = len(alarms) / len(NEGATIVES)
    assert rate <= MAX_FALSE_ALARM_RATE, (
        f"false-alarm rate {rate:.1%} ({len(alarms)}/{len(NEGATIVES)}):\n" + "\n".join(alarms)
    )


@pytest.mark.parametrize("lang", ["da", "en"])
def test_recall_and_false_alarms_hold_per_language(net: CrisisNet, lang: str) -> None:
    positives = [e for e in POSITIVES if e["lang"] == lang]
    negatives = [e for e in NEGATIVES if e["lang"] == lang]
    assert all(net.check(e["text"]) for e in positives)
    alarms = sum(net.check(e["text"]) is not None for e in negatives)
    assert alarms <= MAX_FALSE_ALARM_RATE * len(negatives)


# -- behaviour that must not regress ------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "jeg vil ikke leve mere",
        "i don't want to live anymore",
        "jeg vil IKKE vågne igen",
        "jeg fortjener ikke at leve",
    ],
)
def test_negation_does_not_suppress(net: CrisisNet, text: str) -> None:
    assert net.check(text) == CrisisHit("suicide")


@pytest.mark.parametrize(
    "text",
    [
        "jeg dør af grin haha men seriøst jeg vil dø",
        "hit me up... my dad hits me",
        "i'm dying of laughter but i honestly want to die",
    ],
)
def test_guards_blank_only_the_idiom(net: CrisisNet, text: str) -> None:
    assert net.check(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "det er socialt selvmord hvis jeg tager den på",  # no compound "selvmordhvis"
        "fik en overdosis kaffe i morges",
        "overdose of coffee today, my hands are shaking",
        "literally shot myself in the foot by not studying",
    ],
)
def test_idioms_are_guarded(net: CrisisNet, text: str) -> None:
    assert net.check(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "jeg har taget en overdosis piller",
        "overdose on pills tonight",
        "selvmord hvis det ikke stopper",
    ],
)
def test_guards_stay_narrow(net: CrisisNet, text: str) -> None:
    assert net.check(text) is not None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("jeg har taget en masse piller fordi jeg vil dø", "danger"),
        ("jeg vil slå mig selv ihjel", "suicide"),
        ("han vil slå mig ihjel", "danger"),
        ("jeg skærer i mig selv fordi jeg vil dø", "suicide"),
        ("jeg vil dræbe mig selv", "suicide"),
        ("han vil dræbe mig", "danger"),
    ],
)
def test_priority_between_categories(net: CrisisNet, text: str, category: str) -> None:
    assert _category(net, text) == category


def test_mixed_languages_are_checked_together(net: CrisisNet) -> None:
    assert _category(net, "jeg er så done, i want to die") == "suicide"
    assert _category(net, "my stedfar slår mig") == "abuse"


@pytest.mark.parametrize("text", ["", "   ", "!!!", "🙂🙂", "ok", "hej"])
def test_empty_and_trivial_messages(net: CrisisNet, text: str) -> None:
    assert net.check(text) is None


def test_long_message_is_handled(net: CrisisNet) -> None:
    filler = "jeg har haft en lang dag i skolen og det regnede " * 200
    assert net.check(filler) is None
    assert _category(net, filler + " og jeg vil bare dø") == "suicide"


def test_hit_equality_is_by_category_and_names_the_pattern(net: CrisisNet) -> None:
    hit = net.check("jeg vil dø")
    assert hit == CrisisHit("suicide")
    assert hit is not None
    assert "suicide/da" in hit.pattern


def test_default_is_reusable_and_stable(net: CrisisNet) -> None:
    other = CrisisNet.default()
    for entry in MESSAGES[:40]:
        assert other.check(entry["text"]) == net.check(entry["text"])


# -- normalisation ------------------------------------------------------------------------------


def test_normalize_danish_letters() -> None:
    assert normalize("Jeg vil DØ, æbler og Århus") == "jeg vil doe aebler og aarhus"
    assert normalize("jeg vil dø") == normalize("jeg vil doe")


def test_fold_makes_all_danish_spellings_equal() -> None:
    spellings = ["død", "doed", "dod", "död", "DØØØD", "dødd"]
    assert {fold(word) for word in spellings} == {"dod"}
    assert fold("være") == fold("vaere") == fold("vare")
    assert fold("slået") == fold("slaaet") == fold("slaet")
    assert fold("skære") == fold("skaere") == fold("skare")


def test_normalize_strips_accents_and_keeps_other_words() -> None:
    assert normalize("Café naïve Ünïcödé résumé") == "cafe naive unicode resume"
    assert normalize("ﬁne ²") == "fine 2"


def test_normalize_collapses_repeats_and_punctuation() -> None:
    assert normalize("nooooo!!!   dööööö...") == "noo doo"
    assert normalize("hej---med-dig?!") == "hej med dig"
    assert normalize("  a\tb\nc  ") == "a b c"
    assert normalize("snake_case") == "snake case"


def test_normalize_keeps_contractions_together() -> None:
    assert normalize("I don't") == "i dont"
    assert normalize("i\u2019m ok") == "im ok"
    assert normalize("'quoted'") == "quoted"


def test_normalize_is_idempotent() -> None:
    for entry in MESSAGES:
        once = normalize(entry["text"])
        assert normalize(once) == once


def test_fold_word_spelling_tolerance() -> None:
    assert fold_word("sellvmoord") == fold_word("selvmord") == "selvmord"
    assert fold_word("su1c1de") == "suicide"
    assert fold_word("20") == "20"
    assert fold_word("ikke") == "ike"


def test_words() -> None:
    assert words("Hej, jeg hedder Åse!") == ["hej", "jeg", "hedder", "aase"]
    assert words("") == []


# -- lexicon validation -------------------------------------------------------------------------

GOOD_CATEGORIES = {name: {"da": [f"{name.replace('_', '')} ord"]} for name in CATEGORIES}


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "broken_safety.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_minimal_lexicon_loads(tmp_path: Path) -> None:
    net = CrisisNet.from_file(_write(tmp_path, {"categories": GOOD_CATEGORIES}))
    assert net.check("der står abuse ord her") == CrisisHit("abuse")
    assert net.check("ord") is None


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (["not", "a", "mapping"], "mapping"),
        ({"categories": {"suicide": {"da": ["x"]}}}, "categories must have exactly"),
        ({"categories": GOOD_CATEGORIES, "extra": 1}, "unknown top-level key"),
        ({"categories": GOOD_CATEGORIES, "version": 2}, "unsupported version"),
        ({"categories": GOOD_CATEGORIES, "priority": ["danger"]}, "priority"),
        ({"categories": GOOD_CATEGORIES, "max_gap": "three"}, "max_gap"),
        (
            {"categories": {**GOOD_CATEGORIES, "danger": {"da": ["@nope ord"]}}},
            "categories.danger.da[0] '@nope ord': unknown synonym group '@nope'",
        ),
        (
            {"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["ok", "~kort"]}}},
            "categories.abuse.da[1] '~kort'",
        ),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["... ord"]}}}, "start or end"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["a ... ... b"]}}}, "in a row"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["a ...x b"]}}}, "'...x'"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["!a b"]}}}, "start with '!word'"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["a||b"]}}}, "empty alternative"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["#x"]}}}, "whole number"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["ab*"]}}}, "prefixes need"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": [""]}}}, "non-empty string"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": [3]}}}, "non-empty string"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": []}}}, "has no patterns"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"dansk": ["a"]}}}, "language code"),
        ({"categories": {**GOOD_CATEGORIES, "abuse": {"da": ["a b", "a b"]}}}, "duplicate"),
        (
            {"categories": GOOD_CATEGORIES, "fillers": ["bare"], "guards": {"da": ["bare x"]}},
            "guards.da[0] 'bare x': 'bare' is a filler word",
        ),
        ({"categories": GOOD_CATEGORIES, "fillers": ["to ord"]}, "single word"),
        ({"categories": GOOD_CATEGORIES, "synonyms": {"g": "not a list"}}, "synonyms.g"),
        ({"categories": GOOD_CATEGORIES, "synonyms": {"g": ["a|b"]}}, "synonyms.g[0]"),
    ],
)
def test_malformed_lexicon_is_refused_clearly(tmp_path: Path, data: object, problem: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match=r"broken_safety\.yaml") as caught:
        CrisisNet.from_file(path)
    assert problem in str(caught.value)


def test_unreadable_yaml_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "broken_safety.yaml"
    path.write_text("categories: [unclosed\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken_safety\.yaml: cannot be read"):
        CrisisNet.from_file(path)
    with pytest.raises(ValueError, match="cannot be read"):
        CrisisNet.from_file(tmp_path / "missing.yaml")
