"""A fresh machine's first run: `make test` sees to its browser, the design is in the
repository, the CLI is quiet, packaging does not warn."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENSURE = ROOT / ".ci" / "ensure-chromium"
SNAKKES = str(Path(sys.executable).with_name("snakkes"))


def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


def _ensure(tmp_path: Path, uid: int) -> subprocess.CompletedProcess[str]:
    """The check `make test` runs first, with the browser path pointing at nothing and the
    machine's `id` and `apt-get` stood in for (the stand-in apt-get records its calls and
    puts a browser where it was asked for)."""
    stubs = tmp_path / "bin"
    stubs.mkdir()
    calls = tmp_path / "apt-calls"
    _stub(stubs, "id", f"echo {uid}")
    _stub(stubs, "apt-get", f'echo "$*" >> {calls}\n'
          'case "$*" in *install*) printf "#!/bin/sh\\n" > "$SNAKKES_TEST_CHROMIUM"; '
          'chmod +x "$SNAKKES_TEST_CHROMIUM";; esac')
    environ = {**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}",
               "SNAKKES_TEST_CHROMIUM": str(tmp_path / "no-such-chromium")}
    return subprocess.run(  # noqa: S603 - our own script
        ["/bin/sh", str(ENSURE)], env=environ, capture_output=True, text=True, check=False,
        timeout=30,
    )


def test_make_test_checks_the_browser_before_the_tests() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert ".ci/ensure-chromium" in recipe.splitlines()[1]


def test_a_missing_browser_stops_make_test_with_one_clear_line(tmp_path: Path) -> None:
    result = _ensure(tmp_path, uid=1000)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "apt-get install chromium" in line
    assert str(tmp_path / "no-such-chromium") in line
    assert not (tmp_path / "apt-calls").exists(), "only root installs"


def test_a_missing_browser_is_installed_from_debian_when_root(tmp_path: Path) -> None:
    result = _ensure(tmp_path, uid=0)
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "apt-calls").read_text(encoding="utf-8").splitlines()
    assert calls[0].startswith("update")
    assert re.search(r"install -y .*chromium$", calls[1])


def test_a_present_browser_needs_nothing(tmp_path: Path) -> None:
    browser = tmp_path / "no-such-chromium"
    browser.write_text("#!/bin/sh\n", encoding="utf-8")
    browser.chmod(0o755)
    result = _ensure(tmp_path, uid=1000)
    assert result.returncode == 0
    assert result.stderr == ""


def test_the_design_lives_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#:]+\.md)\)", readme)
    assert "docs/DESIGN.md" in links
    for link in links:
        assert (ROOT / link).is_file(), f"README links to {link}, which is not in the repository"


def test_the_license_is_an_spdx_string() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "AGPL-3.0-or-later"


def test_the_cli_prints_no_alembic_lines(tmp_path: Path) -> None:
    environ = {**os.environ, "SNAKKES_SERVICE_DATA_DIR": str(tmp_path),
               "SNAKKES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite"}
    result = subprocess.run(  # noqa: S603 - our own CLI
        [SNAKKES, "migrate"], env=environ, capture_output=True, text=True, check=False,
        timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "alembic" not in (result.stdout + result.stderr).lower()
