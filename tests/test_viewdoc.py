"""A view's description and its columns' descriptions, read from the comment its SQL file starts with."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from broadsheet.build import build
from broadsheet.viewdoc import view_doc
from conftest import REPO, copy_of_flagship

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


SHOWN = [
    ("no mark", "-- Columns:\n--   n: How many.\nSELECT 1", {"n": "How many."}, {}),
    ("codes of a field", "-- Columns:\n--   s: The status. [values: projects.status]\nSELECT 1", {"s": "The status."},
     {"s": {"values": "projects.status"}}),
    ("money on a continued line", "-- Columns:\n--   a: The amount,\n--     in units. [currency: cur]\nSELECT 1",
     {"a": "The amount, in units."}, {"a": {"currency_field": "cur"}}),
    ("both marks", "-- Columns:\n--   a: A. [values: t.f] [currency: c]\nSELECT 1", {"a": "A."},
     {"a": {"values": "t.f", "currency_field": "c"}}),
    ("brackets that are no mark", "-- Columns:\n--   a: A [sic].\nSELECT 1", {"a": "A [sic]."}, {}),
    ("a list of codes", "-- Columns:\n--   c: Countries. [values: orgs.country, list]\nSELECT 1", {"c": "Countries."},
     {"c": {"values": "orgs.country", "type": "array"}}),
    ("a list of codes, spaced", "-- Columns:\n--   c: C. [values: t.f ,  list]\nSELECT 1", {"c": "C."},
     {"c": {"values": "t.f", "type": "array"}}),
    ("a list mark on a continued line", "-- Columns:\n--   c: Countries,\n--     [values: t.f, list]\nSELECT 1",
     {"c": "Countries,"}, {"c": {"values": "t.f", "type": "array"}}),
    ("a list of plain values", "-- Columns:\n--   n: Names. [list]\nSELECT 1", {"n": "Names."},
     {"n": {"type": "array"}}),
    ("money is never a list", "-- Columns:\n--   a: A. [currency: c, list]\nSELECT 1",
     {"a": "A. [currency: c, list]"}, {}),
    ("another word after the field", "-- Columns:\n--   c: C. [values: t.f, lists]\nSELECT 1",
     {"c": "C. [values: t.f, lists]"}, {}),
]


@pytest.mark.parametrize(("name", "sql", "columns", "shown"), SHOWN, ids=[c[0] for c in SHOWN])
def test_marks_say_how_a_column_is_shown(name: str, sql: str, columns: dict[str, str], shown: dict) -> None:
    found = view_doc(sql)
    assert (found.columns, found.shown) == (columns, shown)


@pytest.mark.parametrize("path", sorted((REPO / "schemas" / "views").glob("*.sql")), ids=lambda p: p.stem)
def test_the_flagship_views_marks_name_coded_fields_and_their_own_columns(path: Path) -> None:
    from broadsheet.layout import Layout
    from broadsheet.package import load_package

    package = load_package(Layout(REPO))
    doc = view_doc(path.read_text(encoding="utf-8"))
    wrong = []
    for column, marks in doc.shown.items():
        resource, _, name = marks.get("values", ".").partition(".")
        if "values" in marks and not any(f.name == name and f.labels for f in
                                         (package.resources[resource].fields if resource in package.resources else [])):
            wrong.append((column, marks["values"]))
        if "currency_field" in marks and marks["currency_field"] not in doc.columns:
            wrong.append((column, marks["currency_field"]))
    assert wrong == []


@pytest.fixture(scope="module")
def flagship_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The flagship built from a copy of the repository, so the check never depends on a stale out/."""
    root = tmp_path_factory.mktemp("flagship")
    result = build(copy_of_flagship(root))
    assert result.built, [p.message for p in result.report.problems][:5]
    return next((root / "out").glob("*.db"))


@pytest.mark.parametrize("path", sorted((REPO / "schemas" / "views").glob("*.sql")), ids=lambda p: p.stem)
def test_every_column_of_the_flagship_views_is_described(path: Path, flagship_database: Path) -> None:
    """Every column a flagship view gives is described in its file, and nothing else is, on a real build."""
    database = flagship_database
    with sqlite3.connect(f"{database.resolve().as_uri()}?immutable=1", uri=True) as conn:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{path.stem}")')]
    assert columns, path.stem
    assert list(view_doc(path.read_text(encoding="utf-8")).columns) == columns
