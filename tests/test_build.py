"""`broadsheet build` as a process: deterministic, atomic under SIGKILL, locked against a second build, silent on
invalid data, `--check` for stale committed outputs, and accepted by the reference validator."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from broadsheet import validate
from broadsheet.errors import CODES
from broadsheet.layout import Layout
from conftest import REPO, write

FRICTIONLESS = Path(sys.executable).parent / "frictionless"
DB = "museums-fixture.db"
RESOURCES = ("cities", "museums", "museum_citations", "museum_names", "sources")


def run(root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run([sys.executable, "-m", "broadsheet", "build", "--root", str(root), *args],
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)


def start(root: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "broadsheet", "build", "--root", str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    """Every file under root (following out/'s links), by content hash and modification time; not the
    validation cache, which validate and build both keep up to date (it is no output)."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".broadsheet-cache" not in path.relative_to(root).parts:
            files[path.relative_to(root).as_posix()] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                        path.stat().st_mtime_ns)
    return files


def generated(root: Path) -> dict[str, bytes]:
    """The bytes of every generated file, committed and in out/ (the database apart: compared by dump)."""
    files = {"datapackage.json": (root / "datapackage.json").read_bytes()}
    files |= {f"datapackage/{r}.csv": (root / f"datapackage/{r}.csv").read_bytes() for r in RESOURCES}
    downloads = root / "out" / "downloads"
    files |= {f"downloads/{p.relative_to(downloads).as_posix()}": p.read_bytes()
              for p in sorted(downloads.rglob("*")) if p.is_file()}
    files["build.json"] = (root / "out" / "build.json").read_bytes()
    return files


def dump(root: Path) -> list[str]:
    conn = sqlite3.connect(root / "out" / DB)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def assert_servable(root: Path, cities: int) -> None:
    conn = sqlite3.connect(f"file:{root / 'out' / DB}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("SELECT count(*) FROM cities").fetchone() == (cities,)
    finally:
        conn.close()
    assert (root / "out/downloads" / "museums-fixture.zip").is_file()
    assert f'"cities": {cities},' in (root / "out/build.json").read_text(encoding="utf-8")


def add_city(root: Path) -> None:
    write(Layout(root), "datapackage/cities/rome.yaml", "id: rome\nname_en: Rome\ncountry: IT\n")


def test_two_builds_in_two_places_are_byte_identical(museums, tmp_path):
    other = tmp_path / "elsewhere"
    shutil.copytree(museums.root, other)
    assert run(museums.root).returncode == 0
    assert run(other).returncode == 0
    first, second = generated(museums.root), generated(other)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
    assert dump(museums.root) == dump(other)
    # and a rebuild in place changes nothing either
    assert run(museums.root).returncode == 0
    assert generated(museums.root) == first
    assert dump(museums.root) == dump(other)


def test_invalid_data_writes_nothing(museums):
    write(museums, "datapackage/cities/bad.yaml", "id: bad\nname_en: Bad\ncountry: nowhere\n")
    before = snapshot(museums.root)
    result = run(museums.root)
    assert result.returncode == 1
    assert "datapackage/cities/bad.yaml:3:10: error[constraint-error]" in result.stdout
    assert snapshot(museums.root) == before
    assert not (museums.root / "out").exists()


def test_invalid_data_leaves_the_last_good_build_untouched(museums):
    assert run(museums.root).returncode == 0
    write(museums, "datapackage/cities/bad.yaml", "id: bad\nname_en: Bad\ncountry: nowhere\n")
    before = snapshot(museums.root)
    assert run(museums.root).returncode == 1
    assert snapshot(museums.root) == before


@pytest.mark.parametrize(("stage", "cities_after_kill"), [
    ("tables", 2), ("sqlite", 2), ("downloads", 2), ("verify", 2), ("repository", 2), ("swap", 2), ("cleanup", 3),
])
def test_sigkill_at_any_stage_leaves_a_complete_out(museums, tmp_path, stage, cities_after_kill):
    assert run(museums.root).returncode == 0
    previous = generated(museums.root)
    add_city(museums.root)
    marker = tmp_path / "paused"
    process = start(museums.root, {"BROADSHEET_TEST_PAUSE": stage, "BROADSHEET_TEST_PAUSE_FILE": str(marker)})
    try:
        for _ in range(600):  # up to 60 s for the build to reach the stage
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.read_text(encoding="utf-8") == stage
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert_servable(museums.root, cities_after_kill)
    if cities_after_kill == 2:
        now = generated(museums.root)
        assert {k: v for k, v in now.items() if k.startswith(("downloads/", "build.json"))} == {
            k: v for k, v in previous.items() if k.startswith(("downloads/", "build.json"))}
    # the next build succeeds and clears what the killed one left behind
    assert run(museums.root).returncode == 0
    assert_servable(museums.root, 3)
    leftovers = sorted(p.name for p in (museums.root / "out").iterdir() if p.name.startswith((".tmp-", ".build-")))
    assert len(leftovers) == 1 and leftovers[0].startswith(".build-")


@pytest.mark.parametrize("stage", ["tables", "sqlite", "downloads", "verify", "repository", "swap", "cleanup"])
def test_sigkill_during_a_spliced_build_leaves_a_complete_out(museums, tmp_path, stage):
    """The same for a build that updates the last one (broadsheet.splice): killed before the swap, out/ is the
    last build untouched (its database too: the splice works on a copy); after it, the new one."""
    assert run(museums.root).returncode == 0
    previous = generated(museums.root)
    paris = museums.root / "datapackage/cities/paris.yaml"
    paris.write_text(paris.read_text(encoding="utf-8").replace("name_en: Paris", "name_en: Lutetia"), "utf-8")
    marker = tmp_path / "paused"
    process = start(museums.root, {"BROADSHEET_TEST_PAUSE": stage, "BROADSHEET_TEST_PAUSE_FILE": str(marker)})
    try:
        for _ in range(600):
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.read_text(encoding="utf-8") == stage
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        process.stdout.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert_servable(museums.root, 2)
    now = generated(museums.root)
    names = [line for line in dump(museums.root) if line.startswith('INSERT INTO "cities"')]
    if stage == "cleanup":
        assert any("Lutetia" in line for line in names)
    else:
        assert not any("Lutetia" in line for line in names)
        assert {k: v for k, v in now.items() if k.startswith(("downloads/", "build.json"))} == {
            k: v for k, v in previous.items() if k.startswith(("downloads/", "build.json"))}
    assert run(museums.root).returncode == 0
    other = tmp_path / "reference"
    shutil.copytree(museums.root, other, ignore=shutil.ignore_patterns("out", ".broadsheet-cache"))
    assert run(other).returncode == 0
    assert generated(museums.root) == generated(other)


def test_two_builds_at_once_both_succeed_one_after_the_other(museums, tmp_path):
    marker = tmp_path / "paused"
    first = start(museums.root, {"BROADSHEET_TEST_PAUSE": "sqlite", "BROADSHEET_TEST_PAUSE_FILE": str(marker),
                                 "BROADSHEET_TEST_PAUSE_SECONDS": "2"})
    for _ in range(600):
        if marker.exists() or first.poll() is not None:
            break
        time.sleep(0.1)
    second = start(museums.root, {})  # the first holds the lock, mid-build: this one must wait for it
    outputs = [p.communicate(timeout=120) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert_servable(museums.root, 2)
    other = tmp_path / "reference"
    shutil.copytree(museums.root, other, ignore=shutil.ignore_patterns("out"))
    assert run(other).returncode == 0
    assert generated(museums.root) == generated(other)


def test_check_flags_stale_outputs_and_writes_nothing(museums):
    write(museums, "README.md", "# Museums\n\n<!-- data-dictionary:start -->\n<!-- data-dictionary:end -->\n")
    before = snapshot(museums.root)
    result = run(museums.root, "--check")
    assert (result.returncode, result.stdout) == (1, (
        "7 generated files out of date (run `broadsheet build` and commit the result):\n"
        "  README.md\n  datapackage.json\n  datapackage/cities.csv\n  datapackage/museum_citations.csv\n"
        "  datapackage/museum_names.csv\n  datapackage/museums.csv\n  datapackage/sources.csv\n"))
    assert snapshot(museums.root) == before
    assert run(museums.root).returncode == 0
    fresh = run(museums.root, "--check")
    assert (fresh.returncode, fresh.stdout) == (
        0, "up to date: committed CSVs, datapackage.json and README data dictionary\n")
    add_city(museums.root)
    assert run(museums.root, "--check").stdout.splitlines()[1:] == ["  datapackage.json", "  datapackage/cities.csv"]
    schema = museums.root / "schemas/sources.yaml"
    schema.write_text(schema.read_text(encoding="utf-8").replace("Title as published.", "Title as printed."),
                      encoding="utf-8")
    assert run(museums.root, "--check").stdout.splitlines()[1:] == [
        "  README.md", "  datapackage.json", "  datapackage/cities.csv"]
    write(museums, "datapackage/old_table.csv", "a\r\n")
    assert "  datapackage/old_table.csv" in run(museums.root, "--check").stdout.splitlines()


def test_check_catches_a_stale_list_of_error_codes(museums):
    """README's list of codes is generated from broadsheet.errors.CODES: an edit by hand is drift."""
    write(museums, "README.md", "# Museums\n\nCodes:\n\n<!-- error-codes:start -->\n<!-- error-codes:end -->\n")
    assert run(museums.root).returncode == 0
    readme = (museums.root / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^- `([a-z0-9-]+)`: ", readme, flags=re.MULTILINE)
    assert listed == list(CODES) and {"unreadable-file", "not-a-record", "fmt-unsafe"} <= set(listed)
    assert run(museums.root, "--check").returncode == 0
    write(museums, "README.md", readme.replace("- `fmt-unsafe`", "- `fmt-failed`"))
    result = run(museums.root, "--check")
    assert (result.returncode, result.stdout.splitlines()[1:]) == (1, ["  README.md"])


def test_check_on_invalid_data_prints_the_report(museums):
    write(museums, "datapackage/cities/bad.yaml", "id: bad\nname_en: Bad\ncountry: nowhere\n")
    result = run(museums.root, "--check")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "1 error in 1 file"


def test_quiet_when_piped(museums):
    result = run(museums.root, env={"BROADSHEET_TEST_PAUSE": "sqlite", "BROADSHEET_TEST_PAUSE_SECONDS": "2.5"})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"built: 5 tables, 14 rows → out/{DB}\n")


def frictionless_validate(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FRICTIONLESS), "validate", "datapackage.json"], cwd=folder, capture_output=True,
                          text=True, timeout=300)


def test_reference_validator_accepts_the_committed_package_alone(museums, tmp_path):
    assert run(museums.root).returncode == 0
    clone = tmp_path / "clone"  # what a fresh clone needs: datapackage.json and the CSVs, nothing generated else
    (clone / "datapackage").mkdir(parents=True)
    shutil.copy(museums.root / "datapackage.json", clone)
    for name in RESOURCES:
        shutil.copy(museums.root / f"datapackage/{name}.csv", clone / "datapackage")
    result = frictionless_validate(clone)
    assert result.returncode == 0, result.stdout
    # the validator does check the recorded hash: a changed byte is caught
    csv_path = clone / "datapackage/cities.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"Paris", b"Pariz"))
    assert frictionless_validate(clone).returncode == 1


def test_flagship_builds_and_validates_with_the_reference_validator(tmp_path):
    assert validate.report(Layout(REPO)).valid
    copy = tmp_path / "flagship"
    shutil.copytree(REPO / "schemas", copy / "schemas")
    shutil.copytree(REPO / "datapackage", copy / "datapackage", ignore=shutil.ignore_patterns("*.csv"))
    shutil.copy(REPO / "datapackage.json", copy)
    assert run(copy).returncode == 0
    result = frictionless_validate(copy)
    assert result.returncode == 0, result.stdout


def run_on_terminal(root: Path, env: dict[str, str]) -> str:
    """Run a build with stderr on a pseudo-terminal, as a person at a shell would; return what it showed."""
    import pty

    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "broadsheet", "build", "--root", str(root)],
                                   stdout=subprocess.DEVNULL, stderr=terminal, env={**os.environ, **env})
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the build closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        assert process.wait(timeout=120) == 0
        return shown.decode("utf-8", "replace")
    finally:
        os.close(controller)


def test_progress_on_a_terminal_for_a_slow_build_but_not_in_ci(museums):
    # the threshold is set per run, so the outcome does not depend on how fast this machine builds
    slow = {"BROADSHEET_TEST_PAUSE": "sqlite", "BROADSHEET_TEST_PAUSE_SECONDS": "1", "CI": "",
            "BROADSHEET_PROGRESS_AFTER": "0"}
    assert "building: sqlite" in run_on_terminal(museums.root, slow)
    assert run_on_terminal(museums.root, {**slow, "CI": "true"}) == ""
    quick = {**slow, "BROADSHEET_PROGRESS_AFTER": "3600"}
    assert run_on_terminal(museums.root, quick) == ""  # a build shorter than the threshold shows nothing
