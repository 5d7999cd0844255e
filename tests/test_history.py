"""Record history from a real temporary git repository: one row per commit that changed a record's values."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadsheet.history import parse_log, record_dates, record_history
from broadsheet.layout import Layout
from test_diff import LONDON, commit, make_repo

MUSEUM_FIELDS = ["id", "name_en", "city_id", "kind", "founded"]


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Layout, list[str]]:
    root = tmp_path / "repo"
    return Layout(root), make_repo(root)


def test_history_rows_of_every_commit(repo):
    layout, hashes = repo
    rows = record_history(layout)
    got = [(r["date"], r["commit"], r["subject"], r["resource"], r["record_id"], r["change"], r["fields_changed"])
           for r in rows]
    first = ("2025-01-01", hashes[0], "Museums fixture")
    assert got == [
        (*first, "cities", "almaty", "added", ["id", "name_en", "country"]),
        (*first, "cities", "paris", "added", ["id", "name_en", "country", "population"]),
        (*first, "museums", "central-state", "added", [*MUSEUM_FIELDS, "names", "citations"]),
        (*first, "museums", "louvre", "added",
         [*MUSEUM_FIELDS, "opened", "visitors", "budget", "free_entry", "topics", "registry_code", "names",
          "citations"]),
        (*first, "sources", "guide-2024", "added", ["id", "title", "url", "published"]),
        ("2025-02-01", hashes[1], "Add Tate Modern", "cities", "london", "added", ["id", "name_en", "country"]),
        ("2025-02-01", hashes[1], "Add Tate Modern", "museums", "tate", "added",
         ["id", "name_en", "city_id", "kind", "citations"]),
        # the same commit re-quoted central-state's `founded`: no change of values, no row
        ("2025-03-01", hashes[2], "Louvre: visitors for 2024", "museums", "louvre", "changed", ["visitors"]),
        ("2025-04-01", hashes[3], "Remove Central State Museum", "museums", "central-state", "removed",
         [*MUSEUM_FIELDS, "names", "citations"]),
        ("2025-05-01", hashes[4], "Louvre: names in Chinese and German", "museums", "louvre", "changed", ["names"]),
    ]
    assert set(rows[0]) == {"resource", "record_id", "date", "commit", "subject", "change", "fields_changed"}


def test_first_added_and_last_changed(repo):
    layout, _ = repo
    dates = record_dates(record_history(layout))
    assert dates[("museums", "louvre")] == {"first_added": "2025-01-01", "last_changed": "2025-05-01"}
    assert dates[("museums", "central-state")] == {"first_added": "2025-01-01", "last_changed": "2025-04-01"}
    assert dates[("cities", "london")] == {"first_added": "2025-02-01", "last_changed": "2025-02-01"}
    assert len(dates) == 7


def test_a_broken_version_is_skipped_and_the_fix_compared_with_the_last_good_one(tmp_path: Path):
    root = tmp_path / "repo"
    make_repo(root, [
        ("Add London", "2025-02-01T10:00:00+00:00", {"datapackage/cities/london.yaml": LONDON}),
        ("Break London", "2025-02-02T10:00:00+00:00",
         {"datapackage/cities/london.yaml": "id: london\n\tname_en: London\n"}),
        ("Fix London, with its population", "2025-02-03T10:00:00+00:00",
         {"datapackage/cities/london.yaml": LONDON + "population: 8866180\n"}),
        ("Not a record: ignored", "2025-02-04T10:00:00+00:00", {"datapackage/cities/README.txt": "notes\n"}),
    ])
    rows = [(r["date"], r["subject"], r["change"], r["fields_changed"])
            for r in record_history(Layout(root)) if r["record_id"] == "london"]
    assert rows == [("2025-02-01", "Add London", "added", ["id", "name_en", "country"]),
                    ("2025-02-03", "Fix London, with its population", "changed", ["population"])]


def test_outside_git_history_is_empty(museums):
    assert record_history(museums) == []


def test_a_repository_without_commits_has_no_history(museums):
    from test_diff import git

    git(museums.root, "init", "-q")
    assert record_history(museums) == []


def test_a_later_commit_to_an_old_record_shows_its_date(repo):
    layout, _ = repo
    short = commit(layout.root, "Almaty population", "2026-01-15T23:30:00+00:00",
                   {"datapackage/cities/almaty.yaml": "id: almaty\nname_en: Almaty\ncountry: KZ\n"
                                                      "population: 2000000\n"})
    last = record_history(layout)[-1]
    assert last == {"resource": "cities", "record_id": "almaty", "date": "2026-01-15", "commit": short,
                    "subject": "Almaty population", "change": "changed", "fields_changed": ["population"]}


def test_parse_log_reads_git_raw_z_output():
    text = ("\x1eabc\x1f2025-01-02\x1fFirst: a | b\0\n"
            ":000000 100644 " + "0" * 40 + " " + "1" * 40 + " A\0datapackage/x/y.yaml\0"
            "\x1edef\x1f2025-01-03\x1fSecond\0\n"
            ":100644 000000 " + "1" * 40 + " " + "0" * 40 + " D\0datapackage/x/y.yaml\0")
    commits = parse_log(text, short_length=2)
    assert [(c.short, c.date, c.subject, [(f.path, f.old_blob[:1], f.new_blob[:1]) for f in c.files])
            for c in commits] == [("ab", "2025-01-02", "First: a | b", [("datapackage/x/y.yaml", "0", "1")]),
                                  ("de", "2025-01-03", "Second", [("datapackage/x/y.yaml", "1", "0")])]


def test_build_writes_the_record_history_table(repo):
    import json
    import sqlite3

    from broadsheet.build import build

    layout, hashes = repo
    result = build(layout)
    assert result.report.valid, result.report.problems
    conn = sqlite3.connect(f"file:{result.database}?mode=ro", uri=True)
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(record_history)")]
        rows = conn.execute('SELECT date, "commit", subject, change, fields_changed FROM record_history '
                            "WHERE resource = 'museums' AND record_id = 'louvre' ORDER BY rowid").fetchall()
    finally:
        conn.close()
    assert columns == ["resource", "record_id", "date", "commit", "subject", "change", "fields_changed"]
    assert [(*row[:4], json.loads(row[4])) for row in rows] == [
        ("2025-01-01", hashes[0], "Museums fixture", "added",
         [*MUSEUM_FIELDS, "opened", "visitors", "budget", "free_entry", "topics", "registry_code", "names",
          "citations"]),
        ("2025-03-01", hashes[2], "Louvre: visitors for 2024", "changed", ["visitors"]),
        ("2025-05-01", hashes[4], "Louvre: names in Chinese and German", "changed", ["names"]),
    ]
