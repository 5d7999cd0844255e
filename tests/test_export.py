"""The writers, on real builds of the museums fixture: typed values, exact numbers, CSV format and order, the
SQLite schema, multilingual search, the README data dictionary and the zip bundle."""

from __future__ import annotations

import csv
import io
import json
import marshal
import multiprocessing
import sqlite3
import zipfile

import pytest

from broadsheet import validate
from broadsheet.build import _received_words, build, generate_repository
from broadsheet.errors import ConfigError
from broadsheet.export import dictionary, downloads
from broadsheet.export.sqlite import build_database, verify_database, word_rows
from broadsheet.export.values import exact_number
from broadsheet.layout import Layout
from broadsheet.package import load_package
from conftest import write

BIG = 2**53 + 1  # the first integer a double cannot hold


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0),
    ("-7", -7),
    ("1.5e8", 150000000),
    ("9007199254740993", 9007199254740993),
    ("123456789012345678901234567890", 123456789012345678901234567890),
    ("12.75", 12.75),
    ("0.1", 0.1),
    ("-1500.25", -1500.25),
    ("0.10000000000000000001", "0.10000000000000000001"),
    ("9007199254740993.5", "9007199254740993.5"),
])
def test_numbers_are_exact_or_kept_as_text(text, expected):
    value = exact_number(text)
    assert (type(value), value) == (type(expected), expected)


def built(layout: Layout) -> sqlite3.Connection:
    result = build(layout)
    assert result.built, result.report.to_dict()
    return sqlite3.connect(layout.out_dir / "museums-fixture.db")


def downloads_json(layout: Layout, name: str):
    return json.loads((layout.out_dir / "downloads" / "json" / f"{name}.json").read_text(encoding="utf-8"))


def test_big_integers_and_long_decimals_survive_csv_json_and_sqlite(museums):
    """Values at the documented limits (docs/dataset-format.md, Numbers) are held exactly everywhere, and a number
    column stays numeric: a value no double holds is a validation error now, never a TEXT column."""
    write(museums, "datapackage/cities/almaty.yaml", f"id: almaty\nname_en: Almaty\ncountry: KZ\npopulation: {BIG}\n")
    louvre = museums.root / "datapackage/museums/louvre.yaml"
    louvre.write_text(louvre.read_text(encoding="utf-8").replace("budget: 1.5e8", f"budget: {BIG}"), encoding="utf-8")
    central = museums.root / "datapackage/museums/central-state.yaml"
    central.write_text(central.read_text(encoding="utf-8").replace(
        "kind: history\n", "kind: history\nbudget: 0.123456789012345\n"), encoding="utf-8")
    db = built(museums)
    assert db.execute("SELECT population, typeof(population) FROM cities WHERE id = 'almaty'").fetchone() == (
        BIG, "integer")
    assert db.execute("SELECT id, budget, typeof(budget) FROM museums ORDER BY id").fetchall() == [
        ("central-state", 0.123456789012345, "real"), ("louvre", BIG, "integer")]
    assert ("budget", "NUMERIC") in db.execute("SELECT name, type FROM pragma_table_info('museums')").fetchall()
    cities = {row["id"]: row for row in downloads_json(museums, "cities")}
    assert cities["almaty"]["population"] == BIG
    assert '"population": 9007199254740993' in (museums.out_dir / "downloads/json/cities.json").read_text("utf-8")
    museums_json = {row["id"]: row for row in downloads_json(museums, "museums")}
    assert museums_json["louvre"]["budget"] == BIG
    assert museums_json["central-state"]["budget"] == 0.123456789012345
    rows = list(csv.DictReader(io.StringIO((museums.data_dir / "cities.csv").read_text(encoding="utf-8"))))
    assert [r["population"] for r in rows] == [str(BIG), "2100000"]


# (as typed in the record, the one form CSV, JSON and SQLite hold, the SQLite storage class)
CANONICAL = [
    ("1.568e9", "1568000000", "integer"),
    ("1.5E8", "150000000", "integer"),
    ("1.50", "1.5", "real"),
    ("-0.10", "-0.1", "real"),
    ("1.5e-7", "1.5e-07", "real"),
    ("2e0", "2", "integer"),
    ("-0", "0", "integer"),
    ("123456789012345678", "123456789012345678", "integer"),
]


@pytest.mark.parametrize(("typed", "written", "storage"), CANONICAL, ids=[c[0] for c in CANONICAL])
def test_a_number_has_one_written_form_in_every_output(museums, typed, written, storage):
    louvre = museums.root / "datapackage/museums/louvre.yaml"
    louvre.write_text(louvre.read_text(encoding="utf-8").replace("budget: 1.5e8", f"budget: {typed}"),
                      encoding="utf-8")
    db = built(museums)
    [(value, kind)] = db.execute("SELECT budget, typeof(budget) FROM museums WHERE id = 'louvre'").fetchall()
    assert (str(value), kind) == (written, storage)
    rows = list(csv.DictReader(io.StringIO((museums.data_dir / "museums.csv").read_text(encoding="utf-8"))))
    assert [r["budget"] for r in rows if r["id"] == "louvre"] == [written]
    text = (museums.out_dir / "downloads/json/museums.json").read_text("utf-8")
    assert f'"budget": {written}' in text
    with zipfile.ZipFile(museums.out_dir / "downloads/museums-fixture.zip") as bundle:
        assert f",{written}," in bundle.read("datapackage/museums.csv").decode("utf-8")


def test_negative_numbers_are_not_formula_injection_but_text_is(museums):
    louvre = museums.root / "datapackage/museums/louvre.yaml"
    louvre.write_text(louvre.read_text(encoding="utf-8").replace("budget: 1.5e8", "budget: -1500.25"),
                      encoding="utf-8")
    db = built(museums)
    assert db.execute("SELECT budget, typeof(budget) FROM museums WHERE id = 'louvre'").fetchone() == (
        -1500.25, "real")
    assert "louvre,Louvre,paris,art,1793-08,1793-08-10,8700000,-1500.25,false," in (
        museums.data_dir / "museums.csv").read_text(encoding="utf-8")
    louvre.write_text(louvre.read_text(encoding="utf-8").replace("name_en: Louvre", "name_en: -Louvre"),
                      encoding="utf-8")
    result = build(museums)
    assert not result.built
    assert [(p.code, p.field) for p in result.report.errors] == [("formula-injection", "name_en")]


def test_csv_is_rfc4180_sorted_by_primary_key_with_numbers_in_numeric_order(museums):
    names = "".join(f"  - language: en\n    name: Name {n}\n" for n in range(1, 12))
    write(museums, "datapackage/museums/aaa.yaml", f"id: aaa\nname_en: 'A, \"quoted\" museum'\nnames:\n{names}")
    built(museums)
    data = (museums.data_dir / "museum_names.csv").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8").split("\r\n")
    assert lines[0] == "museum_id,position,language,name"
    assert [line.split(",")[1] for line in lines[1:12]] == [str(n) for n in range(1, 12)]
    assert lines[-1] == ""  # every record ends with CRLF, the last one too
    assert (museums.data_dir / "museums.csv").read_bytes().decode("utf-8").split("\r\n")[1] == (
        'aaa,"A, ""quoted"" museum",,,,,,,,,')
    bom_copy = (museums.out_dir / "downloads/csv/museum_names.csv").read_bytes()
    assert bom_copy == b"\xef\xbb\xbf" + data


def test_json_values_are_typed(museums):
    built(museums)
    louvre = next(r for r in downloads_json(museums, "museums") if r["id"] == "louvre")
    assert louvre == {"id": "louvre", "name_en": "Louvre", "city_id": "paris", "kind": "art", "founded": "1793-08",
                      "opened": "1793-08-10", "visitors": 8700000, "budget": 150000000, "free_entry": False,
                      "topics": ["painting", "sculpture"], "registry_code": "050540004455"}
    whole = downloads_json(museums, "museums-fixture")
    assert whole["name"] == "museums-fixture"
    assert list(whole["resources"]) == ["cities", "museums", "museum_citations", "museum_names", "sources"]
    assert whole["resources"]["museums"] == downloads_json(museums, "museums")


def test_json_downloads_hold_one_object_per_line(museums):
    built(museums)
    lines = (museums.out_dir / "downloads/json/cities.json").read_text(encoding="utf-8").split("\n")
    assert lines[0] == "[" and lines[-2:] == ["]", ""]
    assert [json.loads(line.rstrip(",")) for line in lines[1:-2]] == downloads_json(museums, "cities")
    assert [json.loads(line.rstrip(","))["id"] for line in lines[1:-2]] == ["almaty", "paris"]
    whole = (museums.out_dir / "downloads/json/museums-fixture.json").read_text(encoding="utf-8")
    assert whole.startswith('{\n"name": "museums-fixture",\n"resources": {\n"cities": [\n{"id": "almaty", ')
    assert whole.endswith("\n]\n}\n}\n")


def test_a_view_that_fails_in_sqlite_is_a_config_error_and_out_is_untouched(museums):
    built(museums)
    before = sorted(p.name for p in museums.out_dir.iterdir())
    write(museums, "schemas/views/broken.sql", "SELECT no_such_column FROM museums\n")
    with pytest.raises(ConfigError, match="view does not run in SQLite: no such column: no_such_column"):
        build(museums)
    assert sorted(p.name for p in museums.out_dir.iterdir()) == before


def test_sqlite_schema_keys_and_indexes(museums):
    db = built(museums)
    columns = db.execute("SELECT name, type, \"notnull\", pk FROM pragma_table_info('museums')").fetchall()
    assert columns == [("id", "TEXT", 1, 1), ("name_en", "TEXT", 1, 0), ("city_id", "TEXT", 0, 0),
                       ("kind", "TEXT", 0, 0), ("founded", "TEXT", 0, 0), ("opened", "TEXT", 0, 0),
                       ("visitors", "INTEGER", 0, 0), ("budget", "NUMERIC", 0, 0), ("free_entry", "INTEGER", 0, 0),
                       ("topics", "TEXT", 0, 0), ("registry_code", "TEXT", 0, 0)]
    assert db.execute("SELECT name, pk FROM pragma_table_info('museum_names') WHERE pk > 0").fetchall() == [
        ("museum_id", 1), ("position", 2)]
    assert db.execute("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('museum_citations') "
                      "ORDER BY \"from\"").fetchall() == [("museums", "museum_id", "id"),
                                                          ("sources", "source_id", "id")]
    indexes = {row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%'")}
    assert indexes == {"idx_cities_country", "idx_museums_city_id", "idx_museums_kind",
                       "idx_museum_citations_source_id", "idx_search_record",
                       "idx_search_words_word"}
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("SELECT free_entry, typeof(free_entry) FROM museums WHERE id = 'louvre'").fetchone() == (
        0, "integer")


@pytest.mark.parametrize("table, column", [
    ("museums", "kind"),  # a facet column
    ("museums", "city_id"),  # a foreign key
    ("museum_citations", "source_id"),  # a foreign key of a table whose key has two columns
])
def test_a_selection_by_an_indexed_column_is_listed_in_key_order_without_sorting(museums, table, column):
    """The site lists a selection (`?kind=art`) in key order, a page at a time: its index ends with the primary
    key, so SQLite reads the page from the index instead of sorting the whole selection for every page."""
    db = built(museums)
    key = [row[0] for row in db.execute(f"SELECT name FROM pragma_table_info('{table}') WHERE pk > 0 ORDER BY pk")]
    plan = [row[-1] for row in db.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM {table} WHERE {column} = ? ORDER BY {', '.join(key)} LIMIT 101", ["x"])]
    assert len(plan) == 1 and plan[0].startswith(f"SEARCH {table} USING INDEX idx_{table}_{column} ({column}=?)"), plan


@pytest.mark.parametrize("table, column, counted", [
    ("museums", "city_id", "kind"),  # a foreign key's selection, counted by a facet
    ("museums", "kind", "city_id"),  # a facet's selection, counted by another
])
def test_a_selections_counts_by_another_facet_read_only_the_index(museums, table, column, counted):
    """A faceted page counts its selection (`?kind=art`) by the table's other facets: each facet's index holds
    them, so SQLite counts from the index without reading the selected rows from the table."""
    db = built(museums)
    plan = [row[-1] for row in db.execute(
        f"EXPLAIN QUERY PLAN SELECT {counted}, count(*) FROM {table} WHERE {column} = ? GROUP BY {counted}", ["x"])]
    assert plan[0].startswith(f"SEARCH {table} USING COVERING INDEX idx_{table}_{column} ({column}=?)"), plan


def test_word_rows_made_in_the_build_process_are_those_the_database_makes_itself(museums, tmp_path):
    """A build makes the search's word rows in its own process and hands them to the database's process
    (build._DatabaseJob); the database is the one it writes when it makes them from its search table."""
    validated = validate.rows(museums)
    tables = generate_repository(validated).tables
    made_here, handed = tmp_path / "here.db", tmp_path / "handed.db"
    build_database(made_here, validated.package, tables)
    build_database(handed, validated.package, tables, lambda: word_rows(validated.package, tables))
    with sqlite3.connect(made_here) as first, sqlite3.connect(handed) as second:
        assert first.execute("SELECT count(*) FROM _search_words").fetchone()[0] > 0
        assert list(first.iterdump()) == list(second.iterdump())
        rows = "SELECT rowid, * FROM _search_words ORDER BY rowid"  # (iterdump leaves rowids out)
        assert first.execute(rows).fetchall() == second.execute(rows).fetchall()


@pytest.mark.parametrize("sent, received", [
    (None, None),  # the build's process closed its end without sending: its own work failed
    (b"\x00not marshal", None),
    (marshal.dumps({"abai": 1}), None),  # not the rows
    (marshal.dumps([("abai", "abai", 1)]), [("abai", "abai", 1)]),
])
def test_the_database_process_makes_the_word_rows_itself_unless_it_receives_them(sent, received):
    """What the database's process takes from the build's (build._DatabaseJob): the word rows, or None, on which
    it makes them from its own search table."""
    incoming, outgoing = multiprocessing.Pipe(duplex=False)
    if sent is not None:
        outgoing.send_bytes(sent)
    outgoing.close()
    assert _received_words(incoming) == received


def test_verify_catches_a_broken_foreign_key(museums):
    db = built(museums)
    db.close()
    copy = museums.root / "copy.db"
    copy.write_bytes((museums.out_dir / "museums-fixture.db").read_bytes())
    conn = sqlite3.connect(copy)
    conn.execute("DELETE FROM cities WHERE id = 'paris'")
    conn.commit()
    conn.close()
    assert verify_database(copy, {"cities": 2}) == [
        "foreign_key_check: museums row 2 refers to a missing cities row", "cities: 1 rows in SQLite, 2 validated"]


@pytest.mark.parametrize(("index", "term", "expected"), [
    ("_search_fts", "Центральный", ("museums", "central-state", "Central State Museum", "museum_names.name")),
    ("_search_fts", "қазақстан", ("museums", "central-state", "Central State Museum", "museum_names.name")),
    ("_search_fts", "Қазақстан", ("museums", "central-state", "Central State Museum", "museum_names.name")),
    ("_search_fts", "卢浮宫", ("museums", "louvre", "Louvre", "museum_names.name")),
    ("_search_fts", "musee", ("museums", "louvre", "Louvre", "museum_names.name")),
    ("_search_trigram", "卢浮宫", ("museums", "louvre", "Louvre", "museum_names.name")),
    ("_search_trigram", "мемлекет", ("museums", "central-state", "Central State Museum", "museum_names.name")),
    ("_search_fts", "paris", ("cities", "paris", "Paris", "name_en")),
])
def test_search_finds_records_in_every_script(museums, index, term, expected):
    db = built(museums)
    found = db.execute(f"SELECT s.resource, s.record_id, s.label, s.field FROM {index} JOIN _search s "
                       f"ON s.rowid = {index}.rowid WHERE {index} MATCH ?", (f'"{term}"',)).fetchall()
    assert found == [expected]


def test_views_are_materialised_and_described(museums):
    write(museums, "schemas/views/museums_per_city.sql",
          "-- Museums per city.\nSELECT city_id, count(*) AS museums FROM museums GROUP BY city_id ORDER BY city_id;\n")
    db = built(museums)
    assert db.execute("SELECT * FROM museums_per_city").fetchall() == [("almaty", 1), ("paris", 1)]
    assert db.execute("SELECT * FROM _tables WHERE table_name = 'museums_per_city'").fetchone() == (
        "museums_per_city", "museums_per_city", "Museums per city.", None, 2)
    assert downloads_json(museums, "museums_per_city") == [{"city_id": "almaty", "museums": 1},
                                                           {"city_id": "paris", "museums": 1}]
    assert (museums.out_dir / "downloads/csv/museums_per_city.csv").read_bytes() == (
        b"\xef\xbb\xbfcity_id,museums\r\nalmaty,1\r\nparis,1\r\n")


def test_a_view_is_a_described_resource_of_the_zipped_package(museums, tmp_path):
    write(museums, "schemas/views/museums_per_city.sql",
          "-- Museums per city.\n-- Columns:\n--   city_id (City): The city.\n--   museums: How many museums\n"
          "--     stand in it.\nSELECT city_id, count(*) AS museums FROM museums GROUP BY city_id;\n")
    db = built(museums)
    assert db.execute("SELECT description FROM _tables WHERE table_name = 'museums_per_city'").fetchone() == (
        "Museums per city.",)
    assert db.execute("SELECT column_name, description FROM _columns WHERE table_name = 'museums_per_city' "
                      "ORDER BY position").fetchall() == [("city_id", "The city."),
                                                          ("museums", "How many museums stand in it.")]
    with zipfile.ZipFile(museums.out_dir / "downloads/museums-fixture.zip") as archive:
        descriptor = json.loads(archive.read("datapackage.json"))
        archive.extractall(tmp_path)
        view_csv = archive.read("views/museums_per_city.csv")
    (view,) = [r for r in descriptor["resources"] if r["name"] == "museums_per_city"]
    assert view["path"] == "views/museums_per_city.csv" and view["description"] == "Museums per city."
    assert view["schema"] == {"fields": [{"name": "city_id", "type": "string", "title": "City",
                                          "description": "The city."},
                                         {"name": "museums", "type": "integer",
                                          "description": "How many museums stand in it."}]}
    assert view["bytes"] == len(view_csv)
    # the committed descriptor stays the tables' (its paths resolve in the repository)
    assert "museums_per_city" not in (museums.root / "datapackage.json").read_text(encoding="utf-8")
    import subprocess
    import sys
    from pathlib import Path

    frictionless = Path(sys.executable).parent / "frictionless"
    checked = subprocess.run([str(frictionless), "validate", "datapackage.json"], cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout[-2000:]


def test_tables_and_columns_describe_the_schemas(museums):
    db = built(museums)
    assert db.execute("SELECT * FROM _tables ORDER BY table_name").fetchall() == [
        ("cities", "Cities", "Cities where museums stand.", None, 2),
        ("museum_citations", "Museum citations", "Which source states which fact of a museum.", "museums", 5),
        ("museum_names", "Museum names", "Names of a museum in other languages.", "museums", 4),
        ("museums", "Museums", "One row per museum.", None, 2),
        ("sources", "Sources", "Documents that state the facts.", None, 1)]
    assert db.execute("SELECT * FROM _columns WHERE table_name = 'museums' AND column_name IN "
                      "('founded', 'budget') ORDER BY position").fetchall() == [
        ("museums", "founded", 5, "partial date", None, "When it was founded (YYYY, YYYY-MM or YYYY-MM-DD).", None),
        ("museums", "budget", 8, "number", None, "Yearly budget in euros.", "EUR")]


def test_readme_data_dictionary(museums):
    write(museums, "README.md", "# Museums\n\nIntro.\n\n<!-- data-dictionary:start -->\nold\n"
                                "<!-- data-dictionary:end -->\n\nAfter.\n")
    built(museums)
    readme = (museums.root / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Museums\n\nIntro.\n\n<!-- data-dictionary:start -->\n\n_Generated by")
    assert readme.endswith("<!-- data-dictionary:end -->\n\nAfter.\n")
    assert "old" not in readme
    assert ("### Museums (`museums`)\n\nOne row per museum.\n\n"
            "File: `datapackage/museums.csv`. Primary key: `id`.") in readme
    assert "| `budget` | number |  | Yearly budget in euros. Unit: EUR. |" in readme
    assert "| `kind` | string |  | What it shows. One of `art`, `history`, `science`. |" in readme
    assert "| `city_id` | string |  | The city it stands in. Refers to `cities.id`. |" in readme
    assert "| `founded` | partial date |  |" in readme
    assert ("One row per item of the `names` list in `museums` records.") in readme
    assert readme.count("### ") == 5


def test_dictionary_is_none_without_markers(museums):
    assert dictionary.with_dictionary("# no markers\n", load_package(museums)) is None


def test_bundle_has_everything_and_fixed_timestamps(museums):
    built(museums)
    with zipfile.ZipFile(museums.out_dir / "downloads/museums-fixture.zip") as archive:
        names = archive.namelist()
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        # fixed order: license, readme, the tables' files sorted, then the whole-package JSON (it holds the views'
        # rows, which come later), then the descriptor (it describes the views' files too)
        tables = ("cities", "museum_citations", "museum_names", "museums", "sources")
        assert names == ["LICENSE.txt", "README.txt", *(f"datapackage/{r}.csv" for r in tables),
                         *(f"json/{r}.json" for r in tables), "json/museums-fixture.json", "datapackage.json"]
        assert archive.testzip() is None  # every CRC checks, the streamed entry's included
        assert archive.read("json/museums-fixture.json") == (
            museums.out_dir / "downloads/json/museums-fixture.json").read_bytes()
        assert archive.read("datapackage/museums.csv") == (museums.data_dir / "museums.csv").read_bytes()
        readme = archive.read("README.txt").decode("utf-8")
        assert readme.startswith("Museums (test fixture)\n======================\n\nA small package")
        # the one citation text (broadsheet.package.citation), as the site shows it
        assert "How to cite\n-----------\nMuseums (test fixture). Version 0.1.0. Licence CC-BY-4.0.\n" in readme
        assert "CC-BY-4.0" in archive.read("LICENSE.txt").decode("utf-8")


def test_the_bundle_deflated_a_row_a_piece_reads_back_as_the_files(museums, monkeypatch):
    """Each table is deflated in pieces; the whole-package JSON takes its tables' pieces from their own entries."""
    monkeypatch.setattr(downloads, "GROUP", 1)  # a piece per row: each table spans several
    built(museums)
    files = museums.out_dir / "downloads"
    with zipfile.ZipFile(files / "museums-fixture.zip") as archive:
        assert archive.testzip() is None
        for name in ("json/museums-fixture.json", "json/museums.json", "json/museum_names.json"):
            assert archive.read(name) == (files / name).read_bytes(), name
        assert archive.read("datapackage/museums.csv") == (museums.data_dir / "museums.csv").read_bytes()


def test_readme_data_dictionary_lists_each_view_with_its_titles(museums):
    write(museums, "README.md", "# Museums\n\n<!-- data-dictionary:start -->\n<!-- data-dictionary:end -->\n")
    write(museums, "schemas/views/museums_per_city.sql",
          "-- Museums per city.\n-- Columns:\n--   city_id (City): The city.\n--   kinds (Kinds): What they show.\n"
          "--     [values: museums.kind, list]\n--   n_museums: How many.\n--   budget (Budget): Summed.\n"
          "--     [currency: currency]\n--   currency (Currency): Its currency.\n"
          "SELECT city_id, json_group_array(kind) AS kinds, count(*) AS n_museums, sum(budget) AS budget,\n"
          "  'EUR' AS currency FROM museums GROUP BY city_id;\n")
    built(museums)
    readme = (museums.root / "README.md").read_text(encoding="utf-8")
    assert ("### Museums per city (`museums_per_city`, derived)\n\nMuseums per city.\n\n"
            "Made by `broadsheet build` from the tables (`schemas/views/museums_per_city.sql`); in the downloads as "
            "`views/museums_per_city.csv` in the zip and `csv/museums_per_city.csv`.\n\n"
            "| column | title | description |\n|---|---|---|\n"
            "| `city_id` | City | The city. |\n"
            "| `kinds` | Kinds | What they show. Each item a code of `museums.kind`. |\n"
            "| `n_museums` | N museums | How many. |\n"
            "| `budget` | Budget | Summed. Money: the currency is in `currency`. |\n"
            "| `currency` | Currency | Its currency. |\n") in readme
