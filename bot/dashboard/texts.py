"""The dashboard's words, Danish first and English (the statistics' own words are in
insights/labels.py). The language is chosen by `?lang=` and kept in a cookie."""

from __future__ import annotations

from insights.labels import Language

TEXTS: dict[str, tuple[str, str]] = {
    "overview": ("Overblik", "Overview"),
    "volunteers": ("Frivillige", "Volunteers"),
    "log_out": ("Log ud", "Log out"),
    "dashboard": ("snakkes for koordinatorer", "snakkes dashboard"),
    "all_orgs": ("alle organisationer", "all organisations"),
    "year": ("År", "Year"),
    "choose": ("Vælg tal", "Choose figures"),
    "per": ("Pr.", "Per"),
    "week": ("uge", "week"),
    "month": ("måned", "month"),
    "quarter": ("kvartal", "quarter"),
    "organisation": ("Organisation", "Organisation"),
    "show": ("Vis", "Show"),
    "download": ("Hent", "Download"),
    "csv": ("CSV (Excel)", "CSV"),
    "xlsx": ("Excel-fil (XLSX)", "Excel (XLSX)"),
    "json": ("JSON", "JSON"),
    "switch": ("English", "Dansk"),
    "nothing_yet": ("Ingen hele perioder i dette år endnu.",
                    "No whole periods in this year yet."),
    "whole_periods": (
        "Kun hele, afsluttede perioder vises (hele uger, måneder og kvartaler), så to "
        "udtræk aldrig kan trækkes fra hinanden og afsløre et tal under 5.",
        "Only whole periods that have ended are shown (whole weeks, months and quarters), so "
        "that no two reports can be subtracted to reveal a count below 5."),
    "times_local": ("Tider i {zone}.", "Times in {zone}."),
    "chart_people": ("Personer og samtaler med botten", "People and bot conversations"),
    "chart_help": ("Ønsker om en frivillig og samtaler med frivillige",
                   "Handover requests and volunteer conversations"),
    "chart_wait": ("Median ventetid (minutter)", "Median waiting time (minutes)"),
    "series_bot": ("samtaler med botten", "bot conversations"),
    "series_new": ("nye personer", "new people"),
    "series_returning": ("vender tilbage", "returning"),
    "series_requests": ("ønsker om en frivillig", "handover requests"),
    "series_claimed": ("samtaler med frivillige", "volunteer conversations"),
    "series_wait": ("median ventetid (min.)", "median wait (min)"),
    "withheld": ("holdt tilbage", "withheld"),
    "bad_selection": ("Det udtræk kan ikke vises; her er standardudtrækket.",
                      "That report cannot be shown; showing the default."),
    "alias": ("Alias", "Alias"),
    "role": ("Rolle", "Role"),
    "active": ("Aktiv", "Active"),
    "last_active": ("Sidst aktiv ({zone})", "Last active ({zone})"),
    "yes": ("ja", "yes"),
    "no": ("nej", "no"),
    "volunteer": ("frivillig", "volunteer"),
    "coordinator": ("koordinator", "coordinator"),
    "joining": ("(på vej ind)", "(joining)"),
    "invite": ("Lav en invitationskode", "Create invite code"),
    "deactivate": ("Deaktivér {alias}", "Deactivate {alias}"),
    "code_once": ("Engangskode til invitation (vises kun nu):",
                  "One-time invite code (shown only now):"),
    "code_how": ("Den frivillige sender {command} til botten i en privat chat.",
                 "The volunteer sends {command} to the bot in a private chat."),
    "bad_invite": ("Ikke en organisation eller rolle, du kan invitere til.",
                   "Not an organisation or role you can invite to."),
    "not_yours": ("Ikke din organisation.", "Not your organisation."),
    "deactivated": ("{alias} er deaktiveret.", "{alias} is deactivated."),
    "no_volunteer": ("Ingen frivillig ved navn {alias}.", "No volunteer {alias}."),
    "legend": ("Tegn i tabellerne", "Marks in the tables"),
}


def t(key: str, language: Language, **values: str) -> str:
    da, en = TEXTS[key]
    return (da if language == "da" else en).format(**values)
