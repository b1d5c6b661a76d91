"""Write bench/RESULTS.md from the JSON results of the benchmarks, with the machine, the
date and the commit they were measured on."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // (1024 * 1024)
    return f"{os.cpu_count()} cores ({model}), {memory} GiB, Python {platform.python_version()}"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            cwd=HERE,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


SECTIONS: dict[str, tuple[str, list[str]]] = {
    "inbound.json": (
        "Inbound throughput and latency",
        [
            "bot",
            "mode",
            "updates",
            "updates_per_second",
            "ratio_to_echo",
            "ratio_to_echo_same_stack",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "unanswered",
            "cpu_seconds_per_1000",
            "requests_per_update",
            "commits_per_update",
            "peak_rss_mb",
        ],
    ),
    "safety_net.json": (
        "Safety net: CPU per message on one core (bench/safety_net.py)",
        ["mix", "messages", "cpu_ms_p50", "cpu_ms_p99", "cpu_ms_mean", "share_to_model"],
    ),
    "understanding.json": (
        "Understanding typed text: each step per message, in-process (bench/understanding.py)",
        ["step", "messages", "embedded", "p50_ms", "p95_ms", "p99_ms", "mean_ms"],
    ),
    "checkin_burst.json": (
        "Check-in burst",
        [
            "checkins",
            "seconds",
            "messages_per_second",
            "checkin_share_of_cap",
            "share_of_cap",
            "rejected_429",
            "duplicates",
            "lost",
            "crisis_answers",
            "crisis_p50_ms",
            "crisis_p99_ms",
            "crisis_max_ms",
        ],
    ),
    "memory.json": ("Memory", ["people", "updates", "seconds", "rss_mb", "peak_rss_mb"]),
    "stats_overview.json": (
        "Statistics overview (a year, 1,000,000 conversations)",
        ["backend", "events", "best_s", "median_s", "load_s", "fold_s"],
    ),
    "console.json": (
        "Volunteer console: a volunteer's message to the web chat, 50 conversations",
        ["conversations", "messages", "offered_rate", "lost", "p50_ms", "p95_ms", "p99_ms",
         "max_ms", "cpu_seconds_per_1000", "total_bytes", "first_contentful_paint_ms"],
    ),
    "webchat_instances.json": (
        "Web chat across two instances on PostgreSQL (bench/webchat_instances.py)",
        ["people", "messages", "offered_rate", "lost", "via_sweep", "p50_ms", "p95_ms",
         "p99_ms", "max_ms", "stored_p50_ms", "stored_p99_ms", "load_average"],
    ),
}


def _without_comment(text: str) -> str:
    return re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)


def main() -> None:
    # When and on what `make bench` ran; a report written later (after editing NOTES.md)
    # keeps saying so.
    run_file = RESULTS / "make_bench.json"
    run = json.loads(run_file.read_text(encoding="utf-8")) if run_file.exists() else {}
    finished = run.get("finished", f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    parts = [
        "# Benchmark results",
        "",
        f"Measured {finished} on commit `{run.get('commit', commit())}`, {machine()}. "
        "Written by `make bench` (bench/report.py); the JSON is in bench/results/."
        + (f" `make bench` took {run['minutes']} minutes." if "minutes" in run else ""),
    ]
    aims = HERE / "AIMS.md"  # the issues' aims against this run, written by hand
    if aims.exists():
        parts += ["", _without_comment(aims.read_text(encoding="utf-8")).strip()]
    notes = HERE / "NOTES.md"
    for name, (title, columns) in SECTIONS.items():
        path = RESULTS / name
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data if isinstance(data, list) else data.get("results", [data])
        parts += ["", f"## {title}", "", table(rows, columns)]
        if isinstance(data, dict) and "note" in data:
            parts += ["", str(data["note"])]
        if isinstance(data, dict) and "growth" in data:
            growth = ", ".join(f"{g['people']:,}: {g['rss_mb']} MB" for g in data["growth"])
            parts += ["", f"Resident memory along the way: {growth}."]
    if notes.exists():
        parts += ["", notes.read_text(encoding="utf-8").strip()]
    (HERE / "RESULTS.md").write_text("\n".join(parts) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
