"""The tables of a report, one function each: what is counted, its rows and categories,
their labels and notes. A new table is a function here, listed in `every_table`, with its
words in insights/labels.py and its keys in docs/research-export.md."""

from __future__ import annotations

from collections.abc import Sequence

from insights.builder import Builder
from insights.shapes import FEW, WITHHELD, Node, Row, Table
from insights.suppression import THRESHOLD
from storage.statistics import ALL, Percentiles

AGE_BANDS = ("under-15", "15-17", "18-24", "25-30", "unsaid")
LEFT = ("withdrawn", "timed_out", "blocked")
CHANGES = ("better", "same", "worse")


def every_table(b: Builder, orgs: list[str]) -> list[Table]:
    return [
        _people(b),
        _conversations(b),
        _categories(b, "age_bands", "age_band", known=list(AGE_BANDS)),
        _categories(b, "topics", "topic"),
        _categories(b, "crisis", "crisis"),
        _checkins(b),
        _queue(b),
        _loneliness_first(b),
        _loneliness_change(b),
        _what_helps(b),
        _bridging(b),
        _volunteer_conversations(b, orgs),
        _feedback(b, orgs),
        _summaries(b, "waiting", "handover_claimed", orgs),
        _summaries(b, "length", "handover_ended", orgs),
    ]


ORG_TABLES = {"volunteer_conversations", "feedback", "waiting", "length"}


def scoped(table: Table, org: str) -> Table:
    if table.key not in ORG_TABLES:
        return table
    return Table(table.key, table.title, tuple(r for r in table.rows if r.org == org),
                 table.note)


def _by(b: Builder, kind: str, key: str, details: list[str], label_kind: str) -> list[Node]:
    return [Node(f"{key}/{d}", b.cat(label_kind, d), b.count(kind, d)) for d in details]


def _people_by(b: Builder, kind: str, detail: str | None, key: str, *,
               field_index: int, label_kind: str, known: Sequence[str]) -> list[Node]:
    people = b.figures.people
    found = {k[field_index] for k in people if k[0] == kind}
    nodes: list[Node] = []
    for value in sorted(set(known) | found):
        daily = [0] * len(b.figures.periods.starts)
        for k, series in people.items():
            if k[0] == kind and detail in (None, k[1]) and k[field_index] == value:
                daily = [a + c for a, c in zip(daily, series, strict=True)]
        nodes.append(Node(f"{key}/{value}", b.cat(label_kind, value), b.cells(daily)))
    return nodes


def _people_total(b: Builder, kind: str, detail: str | None = None) -> list[int]:
    daily = [0] * len(b.figures.periods.starts)
    for k, series in b.figures.people.items():
        if k[0] == kind and detail in (None, k[1]):
            daily = [a + c for a, c in zip(daily, series, strict=True)]
    return b.cells(daily)


LANGS, CHANNELS = ("da", "en"), ("telegram", "web")


def _people(b: Builder) -> Table:
    new = Node("new", b.t("new"), _people_total(b, "new_person"), [
        _people_by(b, "new_person", None, "new/language", field_index=3,
                   label_kind="language", known=LANGS),
        _people_by(b, "new_person", None, "new/channel", field_index=2,
                   label_kind="channel", known=CHANNELS),
    ])
    back = Node("returning", b.t("returning"), _people_total(b, "bot_conversation", "again"), [
        _people_by(b, "bot_conversation", "again", "returning/channel", field_index=2,
                   label_kind="channel", known=CHANNELS),
    ])
    return b.count_table("people", [new, back], note=b.t("note_people"))


def _conversations(b: Builder) -> Table:
    node = Node("bot", b.t("bot"), _people_total(b, "bot_conversation"), [
        _people_by(b, "bot_conversation", None, "bot/language", field_index=3,
                   label_kind="language", known=LANGS),
        _people_by(b, "bot_conversation", None, "bot/channel", field_index=2,
                   label_kind="channel", known=CHANNELS),
    ])
    return b.count_table("conversations", [node], note=b.t("note_conversations"))


def _categories(b: Builder, key: str, kind: str, *, known: list[str] | None = None) -> Table:
    order = known or []
    details = sorted(set(order) | set(b.figures.details(kind)),
                     key=lambda d: (order.index(d) if d in order else 99, d))
    node = Node(key, b.t(key), b.count(kind), [_by(b, kind, key, details, kind)])
    return b.count_table(key, [node])


def _checkins(b: Builder) -> Table:
    kinds = ["checkin", "reminder"]
    roots = [
        Node(kind, b.t(kind), b.count(kind),
             [_by(b, kind, kind, sorted(set(kinds) | set(b.figures.details(kind))),
                  "checkin_kind")] if split else [])
        for kind, split in (("checkin_planned", False), ("checkin_sent", True),
                            ("checkin_answered", False), ("checkin_missed", True))
    ]
    return b.count_table("checkins", roots)


def _queue(b: Builder) -> Table:
    left = b.figures.details("handover_left")
    details = [*LEFT, *(d for d in left if d not in LEFT)]
    roots = [
        Node("requests", b.t("requests"), b.count("handover_requested")),
        Node("timeouts", b.t("timeouts"), b.count("handover_timed_out")),
        Node("left", b.t("left"), b.count("handover_left"),
             [_by(b, "handover_left", "left", details, "left")]),
    ]
    return b.count_table("queue", roots)


def _daily(b: Builder, series: list[int] | None) -> list[int]:
    return b.cells(series) if series is not None else b.zeros()


BANDS = {"low": range(3, 6), "high": range(6, 10)}


def _loneliness_first(b: Builder) -> Table:
    """First measurements in two bands (a score per row would be mostly small cells, and
    would hide the mean), and the mean score wherever the number measured is shown."""
    size = len(b.figures.periods.starts)
    children: list[Node] = []
    for band, scores in BANDS.items():
        daily = [0] * size
        for score in scores:
            for i, n in enumerate(b.figures.first_scores.get(score, [])):
                daily[i] += n
        children.append(Node(f"first/{band}", b.cat("score_band", band), b.cells(daily)))
    total = [sum(c.counts[i] for c in children) for i in range(len(b.calendar.cells))]
    node = Node("first", b.t("first"), total, [children])
    table = b.count_table("loneliness_first", [node], note=b.t("note_first"))
    sums = [0] * size
    for score, series in b.figures.first_scores.items():
        for i, n in enumerate(series):
            sums[i] += score * n
    mean = _mean_of(b, table, "first", b.t("mean_score"), total=total, daily_sums=sums,
                    signed=False)
    return Table(table.key, table.title, (*table.rows, mean), table.note)


def _loneliness_change(b: Builder) -> Table:
    children = [Node(f"change/{way}", b.cat("change", way), _daily(b, b.figures.changes.get(way)))
                for way in CHANGES]
    total = [sum(c.counts[i] for c in children) for i in range(len(b.calendar.cells))]
    node = Node("change", b.t("change"), total, [children])
    table = b.count_table("loneliness_change", [node], note=b.t("note_change"))
    mean = _mean_change(b, table, "change", total=total,
                        daily_sums=b.figures.change_sums or None)
    return Table(table.key, table.title, (*table.rows, mean), table.note)


PATHS = ("bot", "checkins", "volunteer", "community")


def _mean_change(b: Builder, table: Table, key: str, *, total: list[int],
                 daily_sums: list[int] | None) -> Row:
    return _mean_of(b, table, key, b.t("mean_change"), total=total, daily_sums=daily_sums,
                    signed=True)


def _mean_of(b: Builder, table: Table, key: str, label: str, *, total: list[int],
             daily_sums: list[int] | None, signed: bool) -> Row:
    """A mean wherever the number of people it is over is shown. Why that is enough: the
    categories beside it (bands, better/same/worse) do not fix the sum it rests on, so it
    solves no hidden cell; and its number is shown only where no other shown number
    differs from it by less than 5, so two means never give away fewer than 5 people's
    sum."""
    sums = b.cells(daily_sums) if daily_sums is not None else b.zeros()
    counted = table.row(key)
    cells: list[str] = []
    shown: list[float | None] = []
    for i, c in enumerate(b.shown):
        n = total[c]
        if counted.values[i] is None:
            cells.append(FEW if n < THRESHOLD else WITHHELD)
            shown.append(None)
            continue
        digits = 2 if signed else 1
        cells.append(f"{sums[c] / n:+.{digits}f}" if signed else f"{sums[c] / n:.{digits}f}")
        shown.append(round(sums[c] / n, digits))
    return Row(f"{key}/mean", label, 1, tuple(cells), tuple(shown))


def _what_helps(b: Builder) -> Table:
    """The change in loneliness by the path taken before the latest measurement."""
    roots: list[Node] = []
    for path in PATHS:
        children = [Node(f"path/{path}/{way}", b.cat("change", way),
                         _daily(b, b.figures.paths.get((path, way)))) for way in CHANGES]
        total = [sum(c.counts[i] for c in children) for i in range(len(b.calendar.cells))]
        roots.append(Node(f"path/{path}", b.cat("path", path), total, [children]))
    table = b.count_table("what_helps", roots, note=b.t("note_what_helps"))
    rows: list[Row] = []
    for root, path in zip(roots, PATHS, strict=True):
        rows += [r for r in table.rows if r.key == root.key or r.key.startswith(root.key + "/")]
        rows.append(_mean_change(b, table, root.key, total=root.counts,
                                 daily_sums=b.figures.path_sums.get(path)))
    return Table(table.key, table.title, tuple(rows), table.note)


BRIDGE_ANSWERS = ("went", "not_yet", "not_for_me")
BRIDGE_REASONS = ("far", "interest", "nervous", "time", "other")


def _bridging(b: Builder) -> Table:
    """Community bridging: follow-ups planned, sent, and what people answered."""
    roots = [
        Node("bridge_planned", b.t("bridge_planned"), b.count("bridge_planned")),
        Node("bridge_sent", b.t("bridge_sent"), b.count("checkin_sent", "bridge")),
        Node("bridge_answer", b.t("bridge_answer"), b.count("bridge_answer"),
             [_by(b, "bridge_answer", "bridge_answer", list(BRIDGE_ANSWERS), "bridge_answer")]),
        Node("bridge_why", b.t("bridge_why"), b.count("bridge_why"),
             [_by(b, "bridge_why", "bridge_why", list(BRIDGE_REASONS), "bridge_why")]),
    ]
    return b.count_table("bridging", roots, note=b.t("note_bridging"))


def _volunteer_conversations(b: Builder, orgs: list[str]) -> Table:
    children = [Node(f"claimed/{org}", org, b.count("handover_claimed", org=org), org=org)
                for org in orgs]
    node = Node("claimed", b.t("claimed"), b.count("handover_claimed"), [children])
    return b.count_table("volunteer_conversations", [node])


def _feedback(b: Builder, orgs: list[str]) -> Table:
    ratings = [str(r) for r in range(1, 6)]
    rating = b.t("rating")
    by_rating = [Node(f"feedback/{r}", f"{rating} {r}", b.count("feedback_rating", r))
                 for r in ratings]
    by_org = [
        Node(f"feedback@{org}", f"{org}: {b.t('answers')}",
             b.count("feedback_rating", org=org),
             [[Node(f"feedback@{org}/{r}", f"{rating} {r}",
                    b.count("feedback_rating", r, org=org), org=org) for r in ratings]],
             org=org)
        for org in orgs
    ]
    root = Node("feedback", b.t("feedback_all"), b.count("feedback_rating"),
                [by_rating, by_org])
    links = [([f"feedback@{org}/{r}" for org in orgs], f"feedback/{r}") for r in ratings]
    means = [("feedback", b.t("mean_rating"), {f"feedback/{r}": int(r) for r in ratings})]
    means += [(f"feedback@{org}", b.t("mean_rating"),
               {f"feedback@{org}/{r}": int(r) for r in ratings}) for org in orgs]
    return b.count_table("feedback", [root], links=links if orgs else (), means=means)


def _summaries(b: Builder, key: str, kind: str, orgs: list[str]) -> Table:
    found = b.summaries(kind)
    empty: list[Percentiles | None] = [None] * len(b.shown)
    rows: list[Row] = []
    for org in [ALL, *orgs]:
        name = b.t("all_orgs") if org == ALL else org
        for part in ("median", "p90"):
            cells: list[str] = []
            shown: list[float | None] = []
            for item in found.get(org, empty):
                if item is None or item.n < THRESHOLD:
                    cells.append(FEW)
                    shown.append(None)
                    continue
                minutes = round(getattr(item, part) / 60, 1)
                cells.append(f"{minutes:g}")
                shown.append(minutes)
            rows.append(Row(f"{org}/{part}", f"{name}: {b.t(part)} ({b.t('minutes')})", 0,
                            tuple(cells), tuple(shown), None if org == ALL else org))
    return Table(key, b.t(key), tuple(rows))
