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


TITLES = [
    ("a title", "-- Columns:\n--   amount_max (Largest amount): The largest.\nSELECT 1",
     {"amount_max": "Largest amount"}, {"amount_max": "The largest."}),
    ("no title", "-- Columns:\n--   n: How many.\nSELECT 1", {}, {"n": "How many."}),
    ("no space before the parenthesis", "-- Columns:\n--   n(Count): How many.\nSELECT 1", {"n": "Count"},
     {"n": "How many."}),
    ("a title and no description", "-- Columns:\n--   n (Count):\nSELECT 1", {"n": "Count"}, {"n": ""}),
    ("a title with a colon and an apostrophe", "-- Columns:\n--   c (Investors' countries: codes): Codes.\nSELECT 1",
     {"c": "Investors' countries: codes"}, {"c": "Codes."}),
    ("spaces in a title are one", "-- Columns:\n--   n ( Count  of   rows ): How many.\nSELECT 1",
     {"n": "Count of rows"}, {"n": "How many."}),
    ("with marks on a continued line", "-- Columns:\n--   a (Amount): The amount,\n--     in units. [currency: cur]\n"
     "SELECT 1", {"a": "Amount"}, {"a": "The amount, in units."}),
    ("parentheses in the description are no title", "-- Columns:\n--   n: How many (all rows).\nSELECT 1", {},
     {"n": "How many (all rows)."}),
    ("a continued line in parentheses", "-- Columns:\n--   n (N): How many\n--     (all rows).\nSELECT 1",
     {"n": "N"}, {"n": "How many (all rows)."}),
]


@pytest.mark.parametrize(("name", "sql", "titles", "columns"), TITLES, ids=[c[0] for c in TITLES])
def test_a_column_line_gives_the_title(name: str, sql: str, titles: dict[str, str], columns: dict[str, str]) -> None:
    found = view_doc(sql)
    assert (found.titles, found.columns, found.faults) == (titles, columns, [])


# (case, the SQL, the faults: line, column, message)
FAULTS = [
    ("a title not closed", "-- Counts.\n-- Columns:\n--   n (Count: How many.\nSELECT 1",
     [(3, 8, "column 'n': a title is `name (Title): description`, closed before the colon and without parentheses "
             "inside")]),
    ("parentheses inside a title", "-- Columns:\n--   n (Count (all)): How many.\nSELECT 1",
     [(2, 8, "column 'n': a title is `name (Title): description`, closed before the colon and without parentheses "
             "inside")]),
    ("an empty title", "-- Columns:\n--   n (): How many.\nSELECT 1",
     [(2, 8, "column 'n': the title in parentheses is empty")]),
    ("a column described twice", "-- Columns:\n--   n (N): How many.\n--   m: More.\n--   n: Again.\nSELECT 1",
     [(4, 6, "column 'n' is described twice")]),
    ("codes without their resource", "-- Columns:\n--   s: Status. [values: status]\nSELECT 1",
     [(2, 17, "the mark [values: status] does not read as [values: resource.field]")]),
    ("a currency in another table", "-- Columns:\n--   a: Amount. [currency: t.currency]\nSELECT 1",
     [(2, 17, "the mark [currency: t.currency] does not read as [currency: column]")]),
    ("an empty mark", "-- Columns:\n--   a: Amount.\n--     [currency: ]\nSELECT 1",
     [(3, 8, "the mark [currency: ] does not read as [currency: column]")]),
    ("a mark not closed", "-- Columns:\n--   s: Status. [values: t.f\nSELECT 1",
     [(2, 17, "the mark [values: t.f does not read as [values: resource.field]")]),
    ("indented comment lines count from the file's columns", "  --  Columns:\n  --    n (: x\nSELECT 1",
     [(2, 11, "column 'n': a title is `name (Title): description`, closed before the colon and without "
              "parentheses inside")]),
]


@pytest.mark.parametrize(("name", "sql", "faults"), FAULTS, ids=[c[0] for c in FAULTS])
def test_what_cannot_be_read_is_a_located_fault(name: str, sql: str, faults: list[tuple[int, int, str]]) -> None:
    assert [(f.line, f.column, f.message) for f in view_doc(sql).faults] == faults


@pytest.mark.parametrize(("case", "text", "line", "column", "message"), [
    ("a title not closed", "-- Museums per city.\n-- Columns:\n--   city_id (City: The city.\nSELECT city_id "
     "FROM museums\n", 3, 14, "column 'city_id': a title is `name (Title): description`"),
    ("a mark without its resource", "-- Columns:\n--   kind (Kind): What. [values: kind]\nSELECT kind FROM museums\n",
     2, 25, "the mark [values: kind] does not read as [values: resource.field]"),
])
def test_a_view_whose_documentation_has_a_fault_is_refused_where_it_is(museums, case: str, text: str, line: int,
                                                                      column: int, message: str) -> None:
    from broadsheet.errors import ConfigError
    from broadsheet.package import load_package
    from conftest import write

    write(museums, "schemas/views/per_city.sql", text)
    with pytest.raises(ConfigError) as error:
        load_package(museums)
    assert (error.value.where(), error.value.message.startswith(f"view per_city: {message}")) == (
        f"schemas/views/per_city.sql:{line}:{column}", True)


def test_a_canned_query_whose_documentation_has_a_fault_is_refused_where_it_is(museums) -> None:
    from broadsheet.errors import ConfigError
    from broadsheet.export import sitemeta
    from broadsheet.package import load_package
    from conftest import write

    write(museums, "site/metadata.yml", "title: Museums\ndatabase:\n  queries:\n    by_kind:\n      title: By kind\n"
          "      sql: |-\n        -- Columns:\n        --   kind (Kind): What. [currency: ]\n"
          "        select kind from museums\n")
    with pytest.raises(ConfigError) as error:
        sitemeta.generate(museums, load_package(museums))
    assert (error.value.where(), error.value.message) == (
        "site/metadata.yml:8:33", "query by_kind: the mark [currency: ] does not read as [currency: column]")


@pytest.mark.parametrize(("name", "title"), [
    ("amount_max", "Amount max"), ("investor_countries", "Investor countries"), ("n_sources", "N sources"),
    ("project_id", "Project ID"), ("id", "ID"), ("status", "Status"), ("_private", "Private"), ("a__b", "A b"),
    ("rowid", "Rowid"),
])
def test_a_column_without_a_title_is_called_by_its_name_in_words(name: str, title: str) -> None:
    from broadsheet.display import readable_name

    assert readable_name(name) == title


@pytest.mark.parametrize("path", sorted((REPO / "schemas" / "views").glob("*.sql")), ids=lambda p: p.stem)
def test_every_column_of_the_flagship_views_has_a_title(path: Path) -> None:
    doc = view_doc(path.read_text(encoding="utf-8"))
    assert (doc.faults, [c for c in doc.columns if not doc.titles.get(c)]) == ([], [])


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


def test_the_downloaded_packages_views_carry_titles_labels_and_currency(flagship_database: Path,
                                                                        tmp_path: Path) -> None:
    """In the zip, a view's fields have the titles of its documentation, the `categories` (value and label) of
    the schema field its `[values: …]` mark names and the `x-currency-field` its `[currency: …]` mark names; the
    package with them passes frictionless."""
    import json
    import subprocess
    import sys
    import zipfile

    import yaml

    (archive_path,) = (flagship_database.parent / "downloads").glob("*.zip")
    with zipfile.ZipFile(archive_path) as archive:
        descriptor = json.loads(archive.read("datapackage.json"))
        archive.extractall(tmp_path)
    fields = {f["name"]: f for r in descriptor["resources"] if r["name"] == "project_overview"
              for f in r["schema"]["fields"]}
    schema = yaml.safe_load((REPO / "schemas" / "projects_status_history.yaml").read_text(encoding="utf-8"))
    (status_field,) = [f for f in schema["fields"] if f["name"] == "status"]
    assert status_field["categories"] and all(c["label"] for c in status_field["categories"])
    assert fields["status"] == {
        "name": "status", "type": "string", "title": "Latest status",
        "description": "The latest status from the project's whole linked story (view project_story_status).",
        "categories": status_field["categories"]}
    assert fields["amount_max"] == {
        "name": "amount_max", "type": "integer", "title": "Largest amount",
        "description": "The largest investment announced for the project in that currency, in whole units.",
        "x-currency-field": "currency"}
    assert fields["project_id"] == {"name": "project_id", "type": "string", "title": "Project ID",
                                    "description": "The project."}
    checked = subprocess.run([str(Path(sys.executable).parent / "frictionless"), "validate", "datapackage.json"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0, checked.stdout[-2000:]
