"""Statistics: what coordinators and researchers may see, in one place.

Start here. The queries stay in `storage` (`storage/statistics.py` reads the event log and
the daily totals `storage/totals.py` folds from it); everything about the figures lives in
this package, which `bot/` imports and which imports nothing from `bot/`:

- `calendar`: the fixed periods a report may show (ISO weeks, months, quarters, the year;
  only those that have ended), never a range typed by hand;
- `suppression`: the small-cell rule (counts below 5, and what would give them away);
- `report`: `build`, the one way to a `Report` (`shapes`): the figures summed into those
  periods and suppressed once over the whole year (`builder`), table by table
  (`tables`), labelled and cut into the report one asks for;
- `labels`: every word, in Danish first and English;
- `exports`: CSV for a Danish Excel, XLSX, JSON and text, each exactly the report's cells;
- `research`: the long form for research (data dictionary: docs/research-export.md);
- `compute`: reading a year's figures from the database.
"""
