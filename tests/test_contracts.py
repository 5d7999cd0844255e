"""Contracts as data: the roles of citation columns are declared in `x-broadsheet` (no generic code names the
columns), and the tables the build adds are named once and handed to the site in the generated metadata."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.errors import ConfigError
from broadsheet.export import sitemeta
from broadsheet.package import load_package
from conftest import write

CITATIONS = "schemas/museum_citations.yaml"


def test_the_build_makes_exactly_the_internal_tables_the_metadata_names(museums):
    result = build(museums)
    assert result.built
    with sqlite3.connect(result.database) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type = 'table'")}
    package = load_package(museums)
    internal = sitemeta.generate(museums, package)["plugins"]["broadsheet"]["internal_tables"]
    assert set(internal) == {"search", "columns", "tables", "history", "words"}
    assert set(internal.values()) <= tables
    search = internal["search"]
    assert tables - set(package.resources) - set(internal.values()) == {  # nothing else but the search indexes
        name for name in tables if name.startswith((f"{search}_fts", f"{search}_trigram"))}


def test_citation_roles_come_from_the_schema(museums):
    text = (museums.root / CITATIONS).read_text(encoding="utf-8")
    write(museums, CITATIONS, text.replace("locator: locator}", "locator: page}").replace(
        "name: locator", "name: page"))
    for path in (museums.root / "datapackage/museums").glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("    locator:", "    page:"), encoding="utf-8")
    package = load_package(museums)
    structure = sitemeta.generate(museums, package)["plugins"]["broadsheet"]["resources"]["museum_citations"]
    assert (structure["cites"], structure["locator"], structure["note"]) == ("field", "page", None)
    result = build(museums)
    assert result.built, result.report
    query = sitemeta.supported_by_query(package)["supported_by_sources"]["sql"]
    with sqlite3.connect(result.database) as conn:
        rows = conn.execute(query, {"id": "guide-2024"}).fetchall()
    assert ("museums", "louvre", "Louvre", "visitors", "page 4") in rows


def test_a_role_must_name_a_field(museums):
    text = (museums.root / CITATIONS).read_text(encoding="utf-8")
    write(museums, CITATIONS, text.replace("locator: locator}", "locator: locator, note: remark}"))
    with pytest.raises(ConfigError, match="'remark'"):
        load_package(museums)


def test_the_site_shows_citation_columns_by_their_roles(museums):
    """The record page and the source page find the locator and the note by the roles the schema declares, so a
    citation table whose columns are called `page` and `remark` reads as one whose columns are `locator`/`note`."""
    text = (museums.root / CITATIONS).read_text(encoding="utf-8")
    text = text.replace("locator: locator}", "locator: page, note: remark}").replace("name: locator", "name: page")
    write(museums, CITATIONS, text.replace(
        "primaryKey:", "  - name: remark\n    type: string\n    description: A remark.\nprimaryKey:"))
    for path in (museums.root / "datapackage/museums").glob("*.yaml"):
        path.write_text(path.read_text(encoding="utf-8").replace("    locator:", "    page:").replace(
            "    page: page 4", "    page: page 4\n    remark: the figure for 2023"), encoding="utf-8")
    assert build(museums).built
    ds = serve.app(serve.prepare(museums, load_package(museums)))
    record = asyncio.run(ds.client.get("/museums-fixture/museums/louvre")).text
    source = asyncio.run(ds.client.get("/museums-fixture/sources/guide-2024")).text
    assert ", page 4" in record and '<span class="bs-muted">the figure for 2023</span>' in record
    assert "Visitors (page 4)" in source
