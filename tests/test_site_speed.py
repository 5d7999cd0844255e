"""What keeps the site fast under load: the folded search index, the response cache, and sorting by the label
only where that is cheap. Real Datasette in process, real SQLite files."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.export import sitemeta
from broadsheet.layout import Layout
from broadsheet.package import load_package
from broadsheet.words import fold
from broadsheet_site import builds, facets, search
from broadsheet_site import cache as cache_module
from test_site import make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> serve.Site:
    return make_site(tmp_path_factory.mktemp("speed") / "museums")


def get(ds, path: str, **kwargs):  # type: ignore[no-untyped-def]
    return asyncio.run(ds.client.get(path, **kwargs))


# ---------------------------------------------------------------- folded search index

ROWS = [(1, "Абай облысы"), (2, "Abay region"), (5, "Semey\nSemei"), (7, "Kurchatov"), (9, "ABAI"), (12, "卢浮宫")]


@pytest.mark.parametrize(("text", "limit", "rowids"), [
    ("abai", 10, [1, 2, 9]),  # Cyrillic, y/i and case folded together
    ("Абай", 10, [1, 2, 9]),
    ("abai", 2, [1, 2]),  # the limit counts rows
    ("Семей", 10, [5]),
    ("semei semei", 10, [5]),  # a line break inside a text reads as a space
    ("semei\nsemei", 10, [5]),
    ("kurchatov", 10, [7]),
    ("Курчатов", 10, [7]),
    ("卢浮", 10, [12]),
    ("zzz", 10, []),
    ("   ", 10, []),
])
def test_folded_index_finds_every_spelling_in_row_order(text: str, limit: int, rowids: list[int]) -> None:
    index = search.FoldedIndex.from_rows(ROWS)
    assert index.find(text, limit) == rowids


def test_folding_everything_at_once_equals_folding_each_text() -> None:
    texts = ["Ёлка Қазақстан", "Ḱhan-Tengri", "Straße ǅ", "Айдос Һ", "北京", "ĲssEL"]
    index = search.FoldedIndex.from_rows(list(enumerate(texts)))
    assert index.text.split("\n") == [fold(t) for t in texts]


def test_search_page_uses_the_index_for_other_spellings(site: serve.Site) -> None:
    page = get(serve.app(site), "/-/search?q=Tsentralny")
    assert 'href="/museums-fixture/museums/central-state"' in page.text


# ---------------------------------------------------------------- response cache


def test_a_page_is_rendered_once_then_sent_from_the_cache(site: serve.Site) -> None:
    ds = serve.app(site)
    first, second = get(ds, "/museums-fixture/museums"), get(ds, "/museums-fixture/museums")
    assert (first.status_code, first.headers["x-cache"]) == (200, "miss")
    assert (second.status_code, second.headers["x-cache"]) == (200, "hit")
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["x-frame-options"] == "DENY"  # the security headers are on cached answers too
    third = get(ds, "/museums-fixture/museums?_sort=id")  # another query string is another page
    assert third.headers["x-cache"] == "miss"


@pytest.mark.parametrize(("path", "headers"), [
    ("/museums-fixture/museums", {"cookie": "ds_actor=someone"}),
    ("/museums-fixture/museums", {"authorization": "Bearer x"}),
    ("/-/downloads/datapackage.json", {}),
])
def test_private_requests_and_downloads_are_never_cached(site: serve.Site, path: str, headers: dict) -> None:
    ds = serve.app(site)
    answers = [get(ds, path, headers=headers) for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 200]
    assert [a.headers.get("x-cache") for a in answers] == [None, None]


def test_errors_are_not_cached(site: serve.Site) -> None:
    ds = serve.app(site)
    answers = [get(ds, "/museums-fixture/no-such-table") for _ in range(2)]
    assert [(a.status_code, a.headers["x-cache"]) for a in answers] == [(404, "miss"), (404, "miss")]


def test_the_cache_can_be_turned_off(site: serve.Site, tmp_path: Path) -> None:
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    metadata["plugins"]["broadsheet"]["response_cache_mb"] = 0
    off = tmp_path / "metadata.json"
    off.write_text(json.dumps(metadata), encoding="utf-8")
    ds = serve.app(serve.Site(site.database, off, site.overrides))
    assert [get(ds, "/museums-fixture/museums").headers.get("x-cache") for _ in range(2)] == [None, None]


def test_the_cache_is_bounded_in_bytes_and_forgets_the_least_recently_used() -> None:
    cache = cache_module.ResponseCache(max_bytes=3 * (100 + 64), max_entry=200)  # sizes count 64 for the frame
    for name in (b"a", b"b", b"c"):
        cache.put((name,), cache_module.Stored(200, [], b"x" * 100))
    assert cache.get((b"a",)) is not None  # a is now the most recently used
    cache.put((b"d",), cache_module.Stored(200, [], b"x" * 100))
    cache.put((b"big",), cache_module.Stored(200, [], b"x" * 137))  # 201 bytes: more than one entry may hold
    assert [key for key in cache.entries] == [(b"c",), (b"a",), (b"d",)]
    assert cache.size == 3 * 164


# ---------------------------------------------------------------- label sort only where cheap


def test_tables_are_sorted_by_their_label_only_where_that_does_not_sort_a_large_table(tmp_path: Path) -> None:
    database = tmp_path / "sorts.db"
    with sqlite3.connect(database) as conn:
        conn.execute("create table big (id text primary key, name text, kind text)")
        conn.execute("create index big_kind on big (kind)")
        conn.executemany("insert into big values (?, ?, ?)",
                         [(f"r{n}", f"name {n}", "k") for n in range(sitemeta.UNINDEXED_SORT_ROWS + 1)])
        conn.execute("create table small (id text primary key, name text)")
        conn.execute("insert into small values ('a', 'A')")
    conn.close()
    assert sitemeta.cheap_sorts(database) == {("big", "id"), ("big", "kind"), ("small", "id"), ("small", "name")}
    assert sitemeta.cheap_sorts(tmp_path / "missing.db") is None


def test_the_built_fixture_keeps_its_alphabetical_order(site: serve.Site) -> None:
    tables = json.loads(site.metadata.read_text(encoding="utf-8"))["databases"]["museums-fixture"]["tables"]
    assert tables["museums"]["sort"] == "name_en"


# ---------------------------------------------------------------- titles a journalist reads (issue 5)


@pytest.mark.parametrize(("path", "texts"), [
    ("/-/search?q=Le%20Louvre", ["— Museum names: Le Louvre</span>"]),  # a child list's name, not museum_names.name
    ("/-/search?q=%E5%8D%A2%E6%B5%AE", ["— Museum names: 卢浮宫</span>"]),
    ("/museums-fixture/museums", ["<title>Museums: 2 rows sorted by Name en</title>"]),  # the schema's title
    ("/museums-fixture/museum_names", ["<title>Museum names: 5 rows</title>"]),
    ("/", ['<tr><td>Museum names</td>', 'href="/-/downloads/csv/museum_names.csv">museum_names.csv</a>']),
    ("/museums-fixture/museums/louvre", ['<a href="/museums-fixture">Museums (test fixture)</a>',  # breadcrumbs
                                         '<a href="/museums-fixture/museums">Museums</a>']),
])
def test_pages_use_the_schema_titles(site: serve.Site, path: str, texts: list[str]) -> None:
    page = get(serve.app(site), path)
    assert page.status_code == 200
    for text in texts:
        assert text in page.text
    assert "museum_names.name" not in page.text


@pytest.mark.parametrize(("field", "title"), [
    ("name_en", "Name (English)"),
    ("names.name", "Names"),  # the list's title already says what the column is
    ("names.note", "Names: Note"),
    ("unknown", "unknown"),
])
def test_field_title(field: str, title: str) -> None:
    resources = {"things": {"title": "Things", "fields": [{"name": "name_en", "title": "Name (English)"}]},
                 "names": {"title": "Names", "fields": [{"name": "name", "title": "Name"},
                                                        {"name": "note", "title": "Note"}]}}
    assert search.field_title(resources, "things", field) == title


# ---------------------------------------------------------------- facets on the first page of a selection


@pytest.mark.parametrize(("query", "sent"), [
    (b"_next=abc", b"_next=abc&_nofacet=1"),
    (b"_size=1&_next=a%2Cb", b"_size=1&_next=a%2Cb&_nofacet=1"),
    (b"_next=abc&_nofacet=1", b"_next=abc&_nofacet=1"),
    (b"kind=art&_facet=city_id", b"kind=art&_facet=city_id"),
    (b"q=_next", b"q=_next"),  # a value, not the parameter
])
def test_pages_after_the_first_ask_for_no_facets(query: bytes, sent: bytes) -> None:
    assert facets.without_facets_after_the_first_page(query) == sent


def test_facets_are_shown_on_the_first_page_only(site: serve.Site) -> None:
    ds = serve.app(site)
    first = get(ds, "/museums-fixture/museums.json?_size=1").json()
    assert sorted(first["facet_results"]) == ["city_id", "kind"]
    assert first["next"] == "Central+State+Museum,central-state"
    later = get(ds, "/museums-fixture/museums.json?_size=1&_shape=objects"
                    "&_next=Central%2BState%2BMuseum%2Ccentral-state").json()
    assert [row["id"] for row in later["rows"]] == ["louvre"]
    assert later["facet_results"] == {}


# ---------------------------------------------------------------- a search that matches more than a page

@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The benchmark's synthetic package at 1,000 records: common words match hundreds of records."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from generate import generate  # the benchmark's generator, not part of the toolkit

    layout = Layout(generate(tmp_path_factory.mktemp("crowded") / "package", 1000))
    assert build(layout).built
    return serve.app(serve.prepare(layout, load_package(layout)))


def test_a_search_matching_more_than_a_page_shows_the_best_page_and_says_so(crowded) -> None:  # type: ignore[no-untyped-def]
    page = get(crowded, "/-/search?q=Abai")
    assert page.status_code == 200
    shown = re.findall(r'<li class="bs-hit"', page.text)
    assert len(shown) == search.SEARCH_LIMIT
    assert f"The {search.SEARCH_LIMIT} best of the records that match <strong>Abai</strong>" in page.text


def test_a_search_matching_fewer_says_how_many(crowded) -> None:  # type: ignore[no-untyped-def]
    page = get(crowded, "/-/search?q=" + "Plant 17")
    count = re.search(r"(\d+) records? match <strong>Plant 17</strong>", page.text)
    assert count and 0 < int(count.group(1)) < search.SEARCH_LIMIT


# ---------------------------------------------------------------- answers of an immutable build, kept


def uncached_site(site: serve.Site, tmp_path: Path):  # type: ignore[no-untyped-def]
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    metadata["plugins"]["broadsheet"]["response_cache_mb"] = 0
    off = tmp_path / "metadata.json"
    off.write_text(json.dumps(metadata), encoding="utf-8")
    ds = serve.app(serve.Site(site.database, off, site.overrides))
    asyncio.run(ds.invoke_startup())
    return ds


@pytest.mark.parametrize("path", ["/museums-fixture/museums?_facet=kind&_facet=free_entry",
                                  "/museums-fixture/museums.json?_facet=kind", "/museums-fixture/museum_names"])
def test_a_page_rendered_again_from_kept_answers_is_the_same_page(site: serve.Site, tmp_path: Path,
                                                                   path: str) -> None:
    ds = uncached_site(site, tmp_path)
    database = ds.get_database("museums-fixture")
    assert isinstance(database, builds.BuildDatabase)  # the site answers from its pinned build
    first = get(ds, path)
    hits = database.answers.hits
    again = get(ds, path)
    assert first.status_code == again.status_code == 200
    assert database.answers.hits > hits  # the second rendering asked no query it had asked before
    timing = re.compile(rb'("query_ms": )[0-9.e-]+|(Queries took )[0-9.]+ms')
    assert timing.sub(rb"\1\2", again.content) == timing.sub(rb"\1\2", first.content)


def test_kept_answers_are_bounded_and_only_plain_parameters_make_a_key() -> None:
    answers = builds.Answers()
    for n in range(builds.Answers.MAX_ENTRIES + 1):
        answers.put(("q", n), builds.Results([(n,)], False, (("n",),)))
    assert len(answers.entries) == builds.Answers.MAX_ENTRIES and ("q", 0) not in answers.entries
    answers.put(("big",), builds.Results([(1,)] * (builds.Answers.MAX_ROWS + 1), False, (("n",),)))
    assert ("big",) not in answers.entries
    assert builds.Answers.key("select ?", [1], False, None, ()) != builds.Answers.key("select ?", [2], False, None, ())
    assert builds.Answers.key("select :a", {"a": [1]}, False, None, ()) is None  # a list is no plain value
    found = answers.get(("q", 5))
    assert found is not None and found.rows == [(5,)]
    found.rows.append((6,))  # a caller changing what it was given changes nothing kept
    assert answers.get(("q", 5)).rows == [(5,)]  # type: ignore[union-attr]


def test_an_interrupted_query_is_not_kept(site: serve.Site, tmp_path: Path) -> None:
    from datasette.database import QueryInterrupted

    ds = uncached_site(site, tmp_path)
    database = ds.get_database("museums-fixture")
    slow = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 100000000) select count(*) from n"
    for _ in range(2):
        with pytest.raises(QueryInterrupted):
            asyncio.run(database.execute(slow, custom_time_limit=20))
    assert not [key for key in database.answers.entries if key[0] == slow]


def test_remembered_table_permissions_are_datasettes_own(tmp_path: Path, site: serve.Site) -> None:
    """The kept view-table rules (security.remember_table_permissions) are what Datasette works out, and a table
    its metadata closes stays closed, asked once or many times."""
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    database = next(iter(metadata["databases"]))
    metadata["databases"][database].setdefault("tables", {}).setdefault("museums", {})["allow"] = {"id": "editor"}
    closed = tmp_path / "metadata.json"
    closed.write_text(json.dumps(metadata), encoding="utf-8")
    ds = serve.app(serve.Site(site.database, closed, site.overrides))
    fresh = [ds._table_permission_allows(database, table) for table in ("museums", "cities", "nothing")]
    asyncio.run(ds.invoke_startup())
    assert hasattr(ds._table_permission_allows, "cache_info")  # the startup hook installed it
    for _ in range(2):
        assert [ds._table_permission_allows(database, table) for table in ("museums", "cities", "nothing")] == fresh
        assert get(ds, f"/{database}/museums").status_code == 403
        assert get(ds, f"/{database}/museums/louvre").status_code == 403
    assert fresh[0] == [{"id": "editor"}]


# ---------------------------------------------------------------- the database file's hash, before the first visitor

def test_each_builds_hash_is_known_before_the_first_visitor_asks_for_the_home_page(tmp_path: Path) -> None:
    """Datasette hashes an immutable file the first time a page shows its hash, on the event loop: the startup
    hook, and the switch to a new build, work it out first (in a thread), so no visitor's request waits for it."""
    import hashlib

    from test_site_switch import NEW_MUSEUM

    site = make_site(tmp_path / "museums")
    ds = serve.app(site)

    async def visit() -> tuple[list[str | None], list[str]]:
        await ds.invoke_startup()
        known = [ds.get_database("museums-fixture").cached_hash]
        layout = Layout(tmp_path / "museums")
        (layout.records_dir("museums") / "museum-3.yaml").write_text(NEW_MUSEUM.format(n=3), encoding="utf-8")
        assert build(layout).built  # a second build: the site switches to it
        first = ds.get_database("museums-fixture").path
        for _ in range(200):  # a request starts the switch; it is done within a few requests
            assert (await ds.client.get("/museums-fixture/museums.json")).status_code == 200
            if ds.get_database("museums-fixture").path != first:
                break
            await asyncio.sleep(0.05)
        database = ds.get_database("museums-fixture")
        known.append(database.cached_hash)
        return known, [first, database.path]

    known, paths = asyncio.run(visit())
    assert paths[0] != paths[1]  # the site moved to the new build
    assert known == [hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in paths]


# ---------------------------------------------------------------- short queries on the loop's thread

SLOW_SQL = "with recursive n(i) as (select 1 union all select i + 1 from n where i < 50000000) select count(*) from n"
COUNT_TO_2M = SLOW_SQL.replace("50000000", "2000000")  # ~0.3 s of SQLite: far past inline.INLINE_MS


def where_it_ran(database: builds.BuildDatabase, sql: str, limit_ms: int | None = None, catch: bool = False,
                 times: int = 1) -> tuple[list[str], object]:
    """Where `sql`, asked `times` through execute_fn as `execute` asks it, ran ("loop", then "thread" if it was
    asked again there), and the rows or the error of the last answer."""
    import threading

    from datasette.utils import sqlite_timelimit

    ran: list[str] = []

    async def ask():  # type: ignore[no-untyped-def]
        loop_thread = threading.get_ident()

        def fn(conn):  # type: ignore[no-untyped-def]
            ran.append("loop" if threading.get_ident() == loop_thread else "thread")
            with sqlite_timelimit(conn, limit_ms or 1000):
                try:
                    return [tuple(row) for row in conn.execute(sql).fetchall()]
                except sqlite3.OperationalError as error:
                    if not catch:
                        raise
                    return [str(error)]  # a function that turns the interruption into an answer of its own

        answer: object = None
        for _ in range(times):
            asking = builds.ASKING.set(sql)
            try:
                answer = await database.execute_fn(fn)
            except sqlite3.OperationalError as error:
                answer = str(error)
            finally:
                builds.ASKING.reset(asking)
        return answer

    answer = asyncio.run(ask())
    return ran, answer


@pytest.mark.parametrize(("sql", "limit_ms", "catch", "times", "expected"), [
    ("select name from sqlite_master where name = 'museums'", None, False, 2,
     (["loop", "loop"], [("museums",)])),  # a quick query: no trip to a thread
    (COUNT_TO_2M, None, False, 1, (["loop", "thread"], [(2000000,)])),  # past INLINE_MS: asked again in a thread
    (COUNT_TO_2M, None, True, 1, (["loop", "thread"], [(2000000,)])),  # the answer made of the cut is not kept
    (COUNT_TO_2M, None, False, 2, (["loop", "thread", "thread"], [(2000000,)])),  # remembered: to a thread at once
    (SLOW_SQL, 1, False, 1, (["loop"], "interrupted")),  # its own limit, shorter than INLINE_MS, is its answer
])
def test_a_query_runs_on_the_loop_until_the_inline_bound_then_in_a_sql_thread(
        site: serve.Site, tmp_path: Path, sql: str, limit_ms: int | None, catch: bool, times: int,
        expected: tuple) -> None:
    ds = uncached_site(site, tmp_path)
    database = ds.get_database("museums-fixture")
    assert isinstance(database, builds.BuildDatabase)
    assert where_it_ran(database, sql, limit_ms, catch, times) == expected
