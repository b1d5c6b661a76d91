"""The dashboard's words, Danish first and English (the statistics' own words are in
insights/labels.py). The language is chosen by `?lang=` and kept in a cookie."""

from __future__ import annotations

from insights.labels import Language

TEXTS: dict[str, tuple[str, str]] = {
    "overview": ("Overblik", "Overview"),
    "volunteers": ("Frivillige", "Volunteers"),
    "log_out": ("Log ud", "Log out"),
    "log_in": ("Log ind", "Log in"),
    "login_title": ("Log ind som koordinator", "Coordinator log-in"),
    "login_name": ("Navn", "Name"),
    "login_password": ("Adgangskode", "Password"),
    "login_expired": ("Formularen var udløbet. Prøv igen.",
                      "The form had expired. Please try again."),
    "login_wrong": ("Forkert navn eller adgangskode.", "Wrong name or password."),
    "login_wait": ("For mange forsøg. Prøv igen om {wait} sekunder.",
                   "Too many attempts. Try again in {wait} seconds."),
    "sessions": ("Sessioner", "Sessions"),
    "sessions_title": ("Dine sessioner", "Your sessions"),
    "sessions_help": (
        "Alle browsere, hvor du er logget ind. En ny adgangskode, en ny rolle eller en "
        "deaktivering afslutter dem alle.",
        "Every browser where you are logged in. A new password, a new role or a "
        "deactivation ends them all."),
    "sessions_started": ("Startet", "Started"),
    "sessions_expires": ("Udløber", "Expires"),
    "sessions_end": ("Log ud overalt", "Log out everywhere"),
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
    "research.csv": ("Til forskning (CSV)", "For research (CSV)"),
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
    "no_ranges": (
        "Tal for vilkårlige datoer vises ikke længere, kun for hele uger, måneder og "
        "kvartaler. Vælg år og periode herunder.",
        "Figures for any dates are no longer shown, only for whole weeks, months and "
        "quarters. Choose a year and a period below."),
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
    "code_how": ("Den frivillige tilmelder sig med koden i frivilligkonsollen på "
                 "/console/signup (eller sender {command} til botten i en privat chat, hvor "
                 "organisationen tillader Telegram).",
                 "The volunteer signs up with it in the volunteer console at /console/signup "
                 "(or sends {command} to the bot in a private chat, where the organisation "
                 "allows Telegram)."),
    "bad_invite": ("Ikke en organisation eller rolle, du kan invitere til.",
                   "Not an organisation or role you can invite to."),
    "not_yours": ("Ikke din organisation.", "Not your organisation."),
    "deactivated": ("{alias} er deaktiveret.", "{alias} is deactivated."),
    "no_volunteer": ("Ingen frivillig ved navn {alias}.", "No volunteer {alias}."),
    "legend": ("Tegn i tabellerne", "Marks in the tables"),
    "communities": ("Fællesskaber", "Communities"),
    "inbox": ("Indbakke", "Inbox"),
    "live": ("Samtaler nu", "Live"),
    "communities_intro": (
        "De fællesskaber, botten foreslår. Din organisation vedligeholder sine egne; de "
        "fælles vedligeholdes af administratorerne. Ændringer når botten inden for et minut.",
        "The communities the bot suggests. Your organisation keeps its own; the shared ones "
        "are kept by the administrators. Changes reach the bot within a minute."),
    "shared": ("fælles", "shared"),
    "c_name": ("Navn", "Name"),
    "c_kind": ("Slags", "Kind"),
    "c_regions": ("Region eller online", "Region or online"),
    "c_municipality": ("By eller kommune (valgfri)", "Town or municipality (optional)"),
    "c_ages": ("Alder", "Ages"),
    "c_from_age": ("Fra", "From"),
    "c_to_age": ("Til", "To"),
    "c_link": ("Link", "Link"),
    "c_languages": ("Sprog", "Languages"),
    "c_description_da": ("Kort beskrivelse på dansk", "Short description in Danish"),
    "c_description_en": ("Kort beskrivelse på engelsk", "Short description in English"),
    "c_save": ("Gem fællesskab", "Save community"),
    "c_add": ("Tilføj et fællesskab", "Add a community"),
    "c_edit": ("Ret fællesskabet", "Edit the community"),
    "c_edit_one": ("Ret {name}", "Edit {name}"),
    "c_delete": ("Slet {name}", "Delete {name}"),
    "c_saved": ("Fællesskabet er gemt.", "The community is saved."),
    "c_deleted": ("Fællesskabet er slettet.", "The community is deleted."),
    "c_missing": ("Det fællesskab findes ikke.", "No such community."),
    "c_forbidden": ("Det fællesskab hører til en anden organisation.",
                    "That community belongs to another organisation."),
    "fix_these": ("Fællesskabet blev ikke gemt. Ret venligst:",
                  "The community was not saved. Please fix:"),
    "error_name": ("Skriv et navn (højst 80 tegn).", "Write a name (at most 80 characters)."),
    "error_link": ("Linket skal være en hel webadresse, der starter med https://, fx "
                   "https://eksempel.dk.",
                   "The link must be a whole web address starting with https://, e.g. "
                   "https://example.org."),
    "error_kind": ("Vælg en slags.", "Choose a kind."),
    "error_regions": ("Vælg mindst én region eller online.",
                      "Choose at least one region or online."),
    "error_ages": ("Alderen skal være fra 13 til 30, og \"fra\" højst \"til\".",
                   "Ages must be from 13 to 30, with \"from\" at most \"to\"."),
    "error_languages": ("Vælg mindst ét sprog.", "Choose at least one language."),
    "error_description_da": ("Skriv en kort beskrivelse på dansk (højst 300 tegn).",
                             "Write a short description in Danish (at most 300 characters)."),
    "error_description_en": ("Skriv en kort beskrivelse på engelsk (højst 300 tegn).",
                             "Write a short description in English (at most 300 characters)."),
    "error_org": ("Vælg en organisation.", "Choose an organisation."),
}


def t(key: str, language: Language, **values: str) -> str:
    da, en = TEXTS[key]
    return (da if language == "da" else en).format(**values)
