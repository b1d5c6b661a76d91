"""Every word the statistics show, in Danish (first) and English: table titles, row
labels, the categories the event log records, the marks of suppression, period names.
A category the log holds but this file does not know is shown tidied up (never as a raw
id with underscores), and `tests/statistics/test_labels.py` checks every category the
content can record has a label here."""

from __future__ import annotations

from datetime import date
from typing import Literal

Language = Literal["da", "en"]
LANGUAGES: tuple[Language, ...] = ("da", "en")

TEXTS: dict[str, tuple[str, str]] = {
    # tables
    "people": ("Personer", "People"),
    "conversations": ("Samtaler med botten", "Bot conversations"),
    "age_bands": ("Alder oplyst ved start", "Age band told at intake"),
    "topics": ("Valgte emner", "Topics chosen"),
    "crisis": ("Krisesvar (sikkerhedsnettet)", "Crisis events (safety net)"),
    "checkins": ("Opfølgninger (check-ins)", "Check-ins"),
    "queue": ("Kø til en frivillig", "Handover queue"),
    "loneliness_first": ("Ensomhed ved første måling", "Loneliness at the first measurement"),
    "loneliness_change": ("Ændring i ensomhed", "Change in loneliness"),
    "what_helps": ("Hvad hjælper? Ændring i ensomhed efter vej",
                   "What helps? Change in loneliness by path"),
    "bridging": ("Fællesskaber: opfølgning", "Communities: follow-up"),
    "volunteer_conversations": ("Samtaler med frivillige", "Volunteer conversations"),
    "feedback": ("Vurdering efter en samtale med en frivillig (1-5)",
                 "Feedback after a volunteer conversation (1-5)"),
    "waiting": ("Ventetid fra ønske til en frivillig", "Waiting time from request to a volunteer"),
    "length": ("Længde af samtaler med frivillige", "Length of volunteer conversations"),
    # rows
    "new": ("Nye personer (har sagt ja til, hvad snakkes er)",
            "New people (accepted what snakkes is)"),
    "returning": ("Vender tilbage (efter et døgn eller mere)",
                  "Returning people (back after a day or more)"),
    "bot": ("Samtaler med botten", "Bot conversations"),
    "checkin_planned": ("Planlagte check-ins", "Check-ins planned"),
    "checkin_sent": ("Sendte beskeder", "Messages sent"),
    "checkin_answered": ("Besvaret", "Answered"),
    "checkin_missed": ("Ikke sendt i tide", "Missed (not sent in time)"),
    "requests": ("Ønsker om en frivillig (stillet i kø)", "Handover requests (joined the queue)"),
    "timeouts": ("Besked om lang ventetid (ingen kom i tide)",
                 "Time-out notices (nobody came in time)"),
    "left": ("Forlod køen", "Left the queue"),
    "bridge_planned": ("Bad om at blive spurgt igen", "Asked to be asked again"),
    "bridge_sent": ("Opfølgninger sendt", "Follow-ups sent"),
    "bridge_answer": ("Svar på opfølgningen", "Answers to the follow-up"),
    "bridge_why": ("Hvorfor det ikke var noget for dem", "Why it was not for them"),
    "first": ("Målt første gang", "People measured for the first time"),
    "change": ("Målt igen (første mod seneste)", "People measured again (first vs latest)"),
    "claimed": ("Samtaler med frivillige (alle organisationer)",
                "Volunteer conversations (all organisations)"),
    "feedback_all": ("Svar (alle organisationer)", "Feedback answers (all organisations)"),
    "answers": ("svar", "answers"),
    "rating": ("vurdering", "rating"),
    "score": ("score", "score"),
    "mean_score": ("gennemsnitlig score", "mean score"),
    "mean_rating": ("gennemsnitlig vurdering", "mean rating"),
    "mean_change": ("gennemsnitlig ændring i score (negativ: mindre ensom)",
                    "mean change of score (negative: less lonely)"),
    "all_orgs": ("alle organisationer", "all organisations"),
    "median": ("median", "median"),
    "p90": ("90 %-fraktil", "90th percentile"),
    "minutes": ("min.", "min"),
    "by_language": ("efter sprog", "by language"),
    "by_channel": ("efter kanal", "by channel"),
    # notes
    "note_people": (
        "En tilbagevenden tælles, hver gang nogen skriver igen efter mindst et døgns pause. "
        "Loggen gemmer ikke hvem, så én person, der vender tilbage to gange, tæller to gange.",
        "A return is counted each time someone writes again after 24 hours or more of quiet; "
        "the log keeps no pseudonym, so one person returning twice counts twice."),
    "note_conversations": (
        "En samtale starter med den første besked eller den første efter et døgns pause.",
        "A conversation starts with a first message, or the first after 24 hours of quiet."),
    "note_first": (
        "Three-Item Loneliness Scale fra 3 (mindst) til 9 (mest ensom); 6 eller mere læses "
        "normalt som ensom. Kun fuldstændige svar tæller.",
        "Three-Item Loneliness Scale, 3 (least) to 9 (most lonely); 6 or more is usually "
        "read as lonely. Only complete answers count."),
    "note_change": (
        "For hver person den første fuldstændige måling mod den seneste; talt i perioden "
        "for den seneste.",
        "Per person, the first complete measurement against the latest later one; counted "
        "in the period of the latest."),
    "note_what_helps": (
        "Tallene viser, hvordan ensomheden ændrede sig for dem, der gik hver vej, ikke at "
        "vejen var årsagen: der er ingen kontrolgruppe, og folk vælger selv deres vej. Én "
        "person, der har gået flere veje, tælles på hver af dem. Første fuldstændige måling "
        "mod den seneste (3-9); vejen taget før den seneste måling; talt i perioden for den "
        "seneste.",
        "The figures show how loneliness changed for those who took each path, not that the "
        "path caused it: there is no control group, and people choose their own path. A "
        "person who took several paths counts on each. First complete measurement against "
        "the latest (3-9); the path taken before the latest measurement; counted in the "
        "period of the latest."),
    "note_bridging": (
        "Efter forslag til fællesskaber kan botten spørge igen om en eller to uger, om "
        "personen fik kigget forbi. Svarene er valgt med knapper; der gemmes ingen tekst.",
        "After suggesting communities the bot may ask again in one or two weeks whether the "
        "person went. Answers are chosen with buttons; no text is kept."),
    # suppression
    "<5": ("færre end 5 (også 0)", "fewer than 5 (0 included)"),
    "x": ("holdt tilbage, så et tal under 5 ikke kan regnes ud fra en sum",
          "withheld so that a count below 5 cannot be worked out from a total"),
    "n<5": ("en median, fraktil eller et gennemsnit af færre end 5 værdier vises ikke",
            "a median, percentile or mean of fewer than 5 values is not shown"),
}

CATEGORIES: dict[str, dict[str, tuple[str, str]]] = {
    "language": {"da": ("Dansk", "Danish"), "en": ("Engelsk", "English")},
    "channel": {"telegram": ("Telegram", "Telegram"), "web": ("Webchat", "Web chat")},
    "age_band": {
        "under-15": ("Under 15 år", "Under 15"),
        "15-17": ("15-17 år", "15-17"),
        "18-24": ("18-24 år", "18-24"),
        "25-30": ("25-30 år", "25-30"),
        "unsaid": ("Ville ikke sige", "Preferred not to say"),
    },
    "topic": {
        # Split into "breakup" and "grief" (issue #14); kept for the weeks before.
        "breakup_loss": ("Et brud eller et tab", "A break-up or a loss"),
        "breakup": ("Kærester og kærestesorg", "Love and heartbreak"),
        "grief": ("At miste nogen", "Losing someone"),
        "bullying": ("Mobning", "Bullying"),
        "identity": ("Hvem jeg er – LGBT+", "Who I am – LGBT+"),
        "school_or_studies": ("Skole eller studie", "School or studies"),
        "friends": ("Venner, eller at stå udenfor", "Friends, or being left out"),
        "family": ("Familien", "Family"),
        "moving": ("Flyttet et nyt sted hen", "Moved somewhere new"),
        "social_anxiety": ("Nervøs sammen med andre", "Nervous around people"),
        "online": ("Online og gaming", "Online and gaming"),
        "different": ("Føler sig anderledes", "Feeling different"),
        "other": ("Noget andet", "Something else"),
    },
    "crisis": {
        "suicide": ("Selvmordstanker", "Suicidal thoughts"),
        "self_harm": ("Selvskade", "Self-harm"),
        "abuse": ("Vold eller overgreb", "Violence or abuse"),
        "danger": ("Akut fare", "Immediate danger"),
    },
    "checkin_kind": {"checkin": ("check-ins", "check-ins"),
                     "reminder": ("påmindelser", "reminders"),
                     "ask": ("spørgsmål om at fortsætte", "questions whether to go on"),
                     "bridge": ("opfølgning på fællesskaber", "community follow-ups")},
    "bridge_answer": {
        "went": ("var der", "went"),
        "not_yet": ("ikke endnu", "not yet"),
        "not_for_me": ("ikke noget for mig", "not for me"),
    },
    "bridge_why": {
        "far": ("for langt væk", "too far away"),
        "interest": ("ikke lige dem", "not really them"),
        "nervous": ("for nervøs", "too nervous"),
        "time": ("tidspunktet passede ikke", "the time did not suit"),
        "other": ("noget andet", "something else"),
    },
    "left": {
        "withdrawn": ("gik selv", "withdrew"),
        "timed_out": ("efter besked om lang ventetid", "after a time-out notice"),
        "blocked": ("blokerede botten", "blocked the bot"),
    },
    "score_band": {
        "low": ("score 3-5", "score 3-5"),
        "high": ("score 6-9 (læses normalt som ensom)", "score 6-9 (usually read as lonely)"),
    },
    "path": {
        "bot": ("Kun botten", "The bot only"),
        "checkins": ("Holdt check-ins", "Kept check-ins"),
        "volunteer": ("Talte med en frivillig", "Talked with a volunteer"),
        "community": ("Besøgte et fællesskab", "Visited a community"),
    },
    "change": {
        "better": ("mindre ensom", "less lonely"),
        "same": ("uændret", "unchanged"),
        "worse": ("mere ensom", "lonelier"),
    },
}

MONTHS = {
    "da": ("jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def text(key: str, language: Language) -> str:
    da, en = TEXTS[key]
    return da if language == "da" else en


def category(kind: str, value: str, language: Language) -> str:
    """A category's human label; one not listed is tidied up, never shown raw."""
    found = CATEGORIES.get(kind, {}).get(value)
    if found is not None:
        return found[0] if language == "da" else found[1]
    tidy = value.replace("_", " ").replace("-", " ").strip()
    return tidy[:1].upper() + tidy[1:] if tidy else "-"


def period(key: str, language: Language) -> str:
    """A period's short name: "uge 10", "mar 2026", "1. kvt. 2026", "2026" (en: "Week 10",
    "Mar 2026", "Q1 2026")."""
    if "-W" in key:
        year, week = key.split("-W")
        return f"uge {int(week)}" if language == "da" else f"Week {int(week)}"
    if "-Q" in key:
        year, quarter = key.split("-Q")
        return f"{quarter}. kvt. {year}" if language == "da" else f"Q{quarter} {year}"
    if "-" in key:
        year, month = key.split("-")
        return f"{MONTHS[language][int(month) - 1]} {year}"
    return f"Hele {key}" if language == "da" else f"All {key}"


def day(value: date, language: Language) -> str:
    if language == "da":
        return f"{value.day}. {MONTHS['da'][value.month - 1]} {value.year}"
    return f"{value.day} {MONTHS['en'][value.month - 1]} {value.year}"
