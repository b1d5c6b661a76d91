"""`snakkes coordinators add` and `snakkes stats`, run as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET


def snakkes(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "SNAKKES_SERVICE_DATA_DIR": str(tmp_path),
        "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'snakkes.db'}",
        "SNAKKES_SECURITY_SECRET_KEY": TEST_SECRET,
        "SNAKKES_SERVICE_LOG_LEVEL": "WARNING",
    }
    return subprocess.run(  # noqa: S603 - our own CLI
        [str(Path(sys.executable).parent / "snakkes"), *args], input=stdin, capture_output=True,
        text=True, env=environ, cwd=tmp_path, check=False, timeout=60,
    )


def test_coordinators_and_stats_on_the_command_line(tmp_path: Path) -> None:
    short = snakkes(tmp_path, "coordinators", "add", "anna", "--org", "example",
                    "--password-stdin", stdin="short\n")
    assert short.returncode == 2
    assert "at least 12" in short.stderr
    added = snakkes(tmp_path, "coordinators", "add", "anna", "--org", "example",
                    "--password-stdin", stdin="a long and good password\n")
    assert added.returncode == 0, added.stderr
    assert "coordinator of example" in added.stdout
    unknown = snakkes(tmp_path, "stats", "--year", "2025", "--org", "nowhere")
    assert unknown.returncode == 2
    # A range of days is not a report one may ask for: only fixed periods.
    ranged = snakkes(tmp_path, "stats", "--from", "2025-03-01", "--to", "2025-03-30")
    assert ranged.returncode == 2
    found = snakkes(tmp_path, "stats", "--year", "2025", "--per", "quarter",
                    "--org", "example", "--format", "json", "--lang", "en")
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert [c["label"] for c in data["columns"]] == ["Q1 2025", "Q2 2025", "Q3 2025",
                                                     "Q4 2025", "All 2025"]
    assert data["organisation"] == "example"
    cells = {c for t in data["tables"] for r in t["rows"] for c in r["cells"]}
    assert cells <= {"<5", "n<5"}  # nothing happened: nothing but small cells
    long_form = snakkes(tmp_path, "stats", "--year", "2025", "--per", "quarter",
                        "--format", "research")
    assert long_form.returncode == 0, long_form.stderr
    lines = long_form.stdout.splitlines()
    assert lines[0] == ("period,period_kind,period_from,period_to,scope,table,row,level,"
                        "value,suppressed")
    assert "2025-Q1,quarter,2025-01-01,2025-03-31,all,crisis,crisis,0,,small" in lines
    table = snakkes(tmp_path, "stats", "--year", "2025")
    assert table.returncode == 0, table.stderr
    assert "Krisesvar (sikkerhedsnettet)" in table.stdout
    assert "jan 2025" in table.stdout
