"""A view's description and its columns' descriptions, read from the comment its SQL file starts with."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from broadsheet.viewdoc import view_doc
from conftest import REPO

CASES = [
    ("no comment", "SELECT 1", "", {}),
    ("description only", "-- One row per city.\n-- Sorted by name.\nSELECT 1", "One row per city. Sorted by name.", {}),
    ("columns", "-- Counts.\n-- Columns:\n--   city_id: The city.\n--   n: How many.\nSELECT 1", "Counts.",
     {"city_id": "The city.", "n": "How many."}),
    ("continued", "-- Columns:\n--   n: How many\n--     of them.\n--   m: More.\nSELECT 1", "",
     {"n": "How many of them.", "m": "More."}),
    ("a colon in a continued line", "-- Columns:\n--   n: Count\n--     note: not a column\nSELECT 1", "",
     {"n": "Count note: not a column"}),
    ("comment ends at the SQL", "-- A.\nSELECT 1\n-- Columns:\n--   n: x\n", "A.", {}),
]


@pytest.mark.parametrize(("name", "sql", "description", "columns"), CASES, ids=[c[0] for c in CASES])
def test_view_doc(name: str, sql: str, description: str, columns: dict[str, str]) -> None:
    found = view_doc(sql)
    assert (found.description, found.columns) == (description, columns)


@pytest.mark.parametrize("path", sorted((REPO / "schemas" / "views").glob("*.sql")), ids=lambda p: p.stem)
def test_every_column_of_the_flagship_views_is_described(path: Path) -> None:
    """Every column a flagship view gives is described in its file, and nothing else is (checked on the built
    database when there is one)."""
    database = next((REPO / "out").glob("*.db"), None)
    if database is None:
        pytest.skip("no built database (run broadsheet build)")
    with sqlite3.connect(f"{database.resolve().as_uri()}?immutable=1", uri=True) as conn:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{path.stem}")')]
    assert columns, path.stem
    assert list(view_doc(path.read_text(encoding="utf-8")).columns) == columns
