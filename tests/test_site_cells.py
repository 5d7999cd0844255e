"""Table and row pages made with one direct call per cell (broadsheet_site.cells.make_quick) are the pages
Datasette's own display_columns_and_rows makes, asking the plugin through pluggy for every cell: every table and
view of the site's fixture and of the benchmark package at 1,000 records, first and later pages, sorted,
faceted, with and without labels, row pages; and a database of values the site's data does not hold (web
addresses, binary data, expanded foreign keys with and without a label, compound and missing primary keys).
Real Datasette, real SQLite files; the response cache is off so that every page is rendered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.layout import Layout
from broadsheet.package import load_package
from test_site import DB, make_site

TIMING = re.compile(rb'("query_ms": )[0-9.e-]+|(Queries took )[0-9.]+ms|(took )[0-9.]+ms')


def uncached(site: serve.Site, scratch: Path):  # type: ignore[no-untyped-def]
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    metadata.setdefault("plugins", {}).setdefault("broadsheet", {})["response_cache_mb"] = 0
    off = scratch / "metadata.json"
    off.write_text(json.dumps(metadata), encoding="utf-8")
    ds = serve.app(serve.Site(site.database, off, site.overrides))
    asyncio.run(ds.invoke_startup())
    return ds


@contextlib.contextmanager
def datasettes_own_cells() -> Iterator[None]:
    """Datasette's display_columns_and_rows in place of the quick one, while the block runs."""
    from datasette.views import row, table

    quick = table.display_columns_and_rows, row.display_columns_and_rows
    assert all(hasattr(each, "original") for each in quick)  # the site's startup installed the quick path
    table.display_columns_and_rows, row.display_columns_and_rows = (each.original for each in quick)
    try:
        yield
    finally:
        table.display_columns_and_rows, row.display_columns_and_rows = quick


def both_ways(ds, paths: list[str]) -> None:  # type: ignore[no-untyped-def]
    async def ask(path: str) -> tuple[int, bytes]:
        response = await ds.client.get(path)
        return response.status_code, TIMING.sub(rb"\1\2\3", response.content)

    quick = [asyncio.run(ask(path)) for path in paths]
    with datasettes_own_cells():
        plain = [asyncio.run(ask(path)) for path in paths]
    for path, (status, body), (plain_status, plain_body) in zip(paths, quick, plain, strict=True):
        assert status == plain_status == 200, path
        assert body == plain_body, path


def tables_and_views(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?immutable=1", uri=True) as connection:
        names = [row[0] for row in connection.execute(
            "select name from sqlite_master where type in ('table', 'view') and name not like 'sqlite_%' "
            "order by name")]
    connection.close()
    return [name for name in names if not name.startswith("_")]  # the search index's own tables are no pages


def pages_of(ds, database: str, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    """A table's first page, a later one, a sorted one, one without labels, and the row pages of its first rows."""
    base = f"/{database}/{table}"
    first = asyncio.run(ds.client.get(f"{base}.json?_size=3&_shape=objects")).json()
    paths = [base, f"{base}?_size=3", f"{base}?_labels=off"]
    if first.get("next"):
        paths.append(f"{base}?_size=3&_next={first['next']}")
    columns = first.get("columns") or []
    if len(columns) > 1:
        paths += [f"{base}?_sort_desc={columns[1]}", f"{base}?_facet={columns[1]}"]
    primary = first.get("primary_keys") or []
    for row in first.get("rows", [])[:2]:
        if primary and all(row.get(key) is not None for key in primary):
            paths.append(f"{base}/" + ",".join(_tilde(row[key]) for key in primary))
    return paths


def _tilde(value: object) -> str:
    from datasette.utils import tilde_encode

    return tilde_encode(str(value))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> serve.Site:
    return make_site(tmp_path_factory.mktemp("cells") / "museums")


def test_every_page_of_the_fixture_is_the_page_datasette_makes(site: serve.Site, tmp_path: Path) -> None:
    ds = uncached(site, tmp_path)
    paths = [path for table in tables_and_views(site.database) for path in pages_of(ds, DB, table)]
    assert any(re.search(r"/museums/[^/?]+$", path) for path in paths)  # row pages are among them
    both_ways(ds, paths + [f"/{DB}/museums?kind=art", f"/{DB}/museum_names?_sort=name"])


@pytest.fixture(scope="module")
def benchmark_site(tmp_path_factory: pytest.TempPathFactory) -> serve.Site:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import generate  # the benchmark's generator, not part of the toolkit

    layout = Layout(generate(tmp_path_factory.mktemp("bench") / "package", 1000))
    assert build(layout).built
    return serve.prepare(layout, load_package(layout))


def test_every_table_of_the_benchmark_package_is_the_page_datasette_makes(benchmark_site: serve.Site,
                                                                          tmp_path: Path) -> None:
    ds = uncached(benchmark_site, tmp_path)
    database = benchmark_site.database.stem
    paths = [path for table in tables_and_views(benchmark_site.database) for path in pages_of(ds, database, table)]
    both_ways(ds, paths + [f"/{database}/plants?_facet=sector&_facet=currency&sector=energy",
                           f"/{database}/plants?_sort=announced", f"/{database}/plants?_sort_desc=jobs"])


ODD = [
    # (table, columns, rows): values a curated dataset does not hold, in tables of every key shape
    ("places", "id text primary key, name text", [("p1", "Almaty"), ("p2", "p2"), ("p3", "")]),
    ("things", "id integer primary key, place_id text references places(id), site text, data blob, note text, "
               "amount real, flag integer",
     [(1, "p1", "https://example.org/a?b=1&c=<2>", None, "", 1.5, 0),
      (2, "p2", " http://example.org/padded ", None, None, None, None),  # a label equal to the value
      (3, "p3", "http://not a url", None, "<b>bold</b> & more", -0.0, 1),  # an empty label
      (4, None, "ftp://example.org", None, "Ünïcødé 卢浮宫", 1e300, 2**62)]),
    ("blobs", "id integer primary key, data blob", [(1, b"\x00\x01binary"), (2, None)]),
    ("pairs", "a text, b integer, value text, primary key (a, b)", [("x/y", 1, "one"), ("x,y", 2, "two")]),
    ("nokey", "value text, other text", [("v1", "https://example.org"), ("v2", None)]),
]


@pytest.fixture(scope="module")
def odd_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    database = tmp_path_factory.mktemp("odd") / "odd.db"
    with sqlite3.connect(database) as connection:
        for table, columns, rows in ODD:
            connection.execute(f"create table {table} ({columns})")
            connection.executemany(f"insert into {table} values ({', '.join('?' * len(rows[0]))})", rows)
        connection.execute("create view things_view as select id, site, note from things")
    connection.close()
    return database


@pytest.mark.parametrize("table", [name for name, _, _ in ODD] + ["things_view"])
def test_values_the_site_does_not_hold_are_shown_as_datasette_shows_them(odd_database: Path, table: str) -> None:
    from datasette.app import Datasette

    from broadsheet_site import cells

    ds = Datasette([str(odd_database)], settings={"truncate_cells_html": 0},
                   metadata={"plugins": {"broadsheet": {"response_cache_mb": 0}}})  # every page rendered
    asyncio.run(ds.invoke_startup())
    cells.install_quick_cells()  # a plain Datasette runs no site startup of its own beyond the plugin's hook
    both_ways(ds, pages_of(ds, "odd", table) + [f"/odd/{table}?_size=1"])
