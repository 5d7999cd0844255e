"""The Datasette site, in process: generated metadata, every page type, JSON, CSV and downloads, safety.

The museums fixture is built with the real `broadsheet build` into a temporary copy, with a little site prose
(a headline and a disagreement rule) and a second French name for the Louvre so that two names disagree.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.export import sitemeta
from broadsheet.layout import Layout
from broadsheet.package import load_package
from broadsheet_site import security
from conftest import FIXTURES, REPO, headers, phone_labels

DB = "museums-fixture"
ATOM = "{http://www.w3.org/2005/Atom}"
PROSE = """\
title: Museums of two cities
site:
  intro: Two museums in two cities. Every fact cites a guide.
  headline:
    sql: select count(*) as museums, sum(visitors) as visitors from museums
    text: "{museums} museums, {visitors} visitors a year"
  disagreements:
    museum_names: {key: [language], values: [name]}
database:
  queries:
    museums_by_kind:
      title: Museums by kind
      sql: select kind, count(*) as museums from museums group by kind order by kind
"""
EXTRA_NAME = "  - language: fr\n    name: Le Louvre\n"


def make_site(target: Path) -> serve.Site:
    """A built copy of the museums fixture with site prose, ready to serve."""
    shutil.copytree(FIXTURES / "museums", target)
    layout = Layout(target)
    (target / "site").mkdir()
    (target / "site" / "metadata.yml").write_text(PROSE, encoding="utf-8")
    louvre = target / "datapackage" / "museums" / "louvre.yaml"
    text = louvre.read_text(encoding="utf-8")
    louvre.write_text(text.replace("citations:\n", EXTRA_NAME + "citations:\n", 1), encoding="utf-8")
    result = build(layout)
    assert result.built, [p.message for p in result.report.problems]
    package = load_package(layout)
    return serve.prepare(layout, package, REPO / "site")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> serve.Site:
    return make_site(tmp_path_factory.mktemp("site") / "museums")


@pytest.fixture(scope="module")
def ds(site: serve.Site):  # type: ignore[no-untyped-def]
    return serve.app(site)


def get(ds, path: str):  # type: ignore[no-untyped-def]
    return asyncio.run(ds.client.get(path))


# ---------------------------------------------------------------- metadata


def test_metadata_is_generated_from_the_schemas_and_the_prose_wins(site: serve.Site) -> None:
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    tables = metadata["databases"][DB]["tables"]
    assert metadata["title"] == "Museums of two cities"  # site/metadata.yml over datapackage.json's title
    assert metadata["license"] == "Creative Commons Attribution 4.0"
    assert metadata["license_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert tables["museums"]["columns"]["budget"] == "Yearly budget in euros. Unit: EUR."
    assert list(tables["museums"]["columns"]) == ["id", "name_en", "city_id", "kind", "founded", "opened", "visitors",
                                                  "budget", "free_entry", "topics", "registry_code"]
    assert tables["museums"]["facets"] == ["city_id", "kind"]
    assert tables["museums"]["label_column"] == "name_en"
    assert tables["museums"]["sort"] == "name_en"
    assert tables["museum_names"]["title"] == "Museum names"
    assert "sort" not in tables["museum_names"]
    assert all(tables[name]["hidden"] for name in ("_search", "_search_fts", "_search_fts_data", "_columns",
                                                   "_tables", "_search_trigram"))
    assert metadata["databases"][DB]["allow_sql"] is False
    assert sorted(metadata["databases"][DB]["queries"]) == ["museums_by_kind", "supported_by_sources"]
    assert metadata["plugins"]["broadsheet"]["resources_file"] == "site-resources.json"
    structure = json.loads(site.metadata.with_name("site-resources.json").read_text(encoding="utf-8"))
    assert structure["museums"]["citation_table"] == "museum_citations"
    assert structure["museums"]["children"] == ["museum_citations", "museum_names"]
    assert structure["sources"]["url"] == "url"
    assert structure["museum_names"]["parent_link"] == {"museum_id": "id"}


def test_prose_merges_key_by_key() -> None:
    generated = {"a": {"b": 1, "c": 2}, "d": [1]}
    assert sitemeta.merge(generated, {"a": {"c": 3}, "d": [2], "e": 4}) == {"a": {"b": 1, "c": 3}, "d": [2], "e": 4}


def test_a_package_without_prose_gets_its_text_from_datapackage_json(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "museums", tmp_path / "m")
    layout = Layout(tmp_path / "m")
    metadata = sitemeta.generate(layout, load_package(layout))
    assert metadata["title"] == "Museums (test fixture)"
    assert metadata["plugins"]["broadsheet"]["citation"]["text"] == (
        "Museums (test fixture). Version 0.1.0. Licence CC-BY-4.0.")


def test_citation_cff_says_what_datapackage_json_says() -> None:
    import yaml

    descriptor = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["title"] == descriptor["title"]
    assert cff["version"] == descriptor["version"]
    assert cff["license"] == descriptor["licenses"][0]["name"]
    assert [a["name"] for a in cff["authors"]] == [c["title"] for c in descriptor["contributors"]]
    assert cff["type"] == "dataset"


# ---------------------------------------------------------------- pages

PAGES = [
    # path, status, texts the page must contain
    ("/", 200, ["Museums of two cities", "Two museums in two cities.", "2 museums, 8,700,000 visitors a year",
                "Downloads", "/-/downloads/museums-fixture.zip", "/-/downloads/csv/museums.csv",
                "/-/downloads/json/museum_names.json", "/-/downloads/museums-fixture.db",
                "/-/downloads/datapackage.json",
                "Museums (test fixture). Version 0.1.0. http://localhost/. Licence CC-BY-4.0.",
                "Creative Commons Attribution 4.0", "Museums by kind"]),
    (f"/{DB}", 200, ["museums", "cities"]),
    (f"/{DB}/museums", 200, ["Louvre", "Central State Museum", "Yearly budget in euros. Unit: EUR."]),
    (f"/{DB}/museums?kind=art", 200, ["Louvre", "1 row where Kind = &#34;art&#34; sorted by Name en"]),
    (f"/{DB}/museum_names", 200, ["卢浮宫", "Центральный государственный музей"]),
    (f"/{DB}/museums/louvre", 200, ["Louvre", "卢浮宫", "Musée du Louvre", "A guide to museums", "page 4",
                                    'href="https://example.org/guide"', f'href="/{DB}/cities/paris"',
                                    "8,700,000", "<ul class=\"bs-items\"><li>painting</li><li>sculpture</li></ul>",
                                    "Sources disagree", "Le Louvre"]),
    (f"/{DB}/museums/central-state", 200, ["Қазақстан Республикасының Орталық мемлекеттік музейі", "page 9"]),
    (f"/{DB}/cities/paris", 200, ["Paris", "Related records", f'href="/{DB}/museums/louvre"']),
    (f"/{DB}/sources/guide-2024", 200, ["A guide to museums", "Louvre", "Central State Museum"]),
    (f"/{DB}/museum_names/louvre,1", 200, ["Musée du Louvre"]),
    (f"/{DB}/museums_by_kind", 200, ["art", "history"]),
    (f"/{DB}/supported_by_sources?id=guide-2024", 200, ["visitors", "page 4", "Central State Museum"]),
    ("/-/search?q=%E5%8D%A2%E6%B5%AE", 200, ["Museums", f'href="/{DB}/museums/louvre"']),  # 卢浮
    ("/-/search?q=%D0%A6%D0%B5%D0%BD%D1%82%D1%80%D0%B0%D0%BB%D1%8C%D0%BD%D1%8B%D0%B9", 200,  # Центральный
     [f'href="/{DB}/museums/central-state"']),
    ("/-/search?q=Tsentralny", 200, [f'href="/{DB}/museums/central-state"']),  # transliterated
    ("/-/search?q=almaty", 200, [f'href="/{DB}/cities/almaty"']),
    ("/-/search?q=zzzz", 200, ["Nothing matches"]),
    ("/-/search?q=%22%20OR%20*", 200, ["Nothing matches"]),  # FTS syntax in the box is just text
    ("/-/search", 200, ["Search"]),
    (f"/{DB}/museums/no-such-museum", 404, []),
    ("/no-such-page", 404, []),
]


@pytest.mark.parametrize(("path", "status", "texts"), PAGES)
def test_page(ds, path: str, status: int, texts: list[str]) -> None:
    response = get(ds, path)
    assert response.status_code == status
    for text in texts:
        assert text in response.text, text
    assert 'action="/-/search"' in response.text  # the search box is on every page


def test_home_page_claims_no_citation_file_the_dataset_lacks(ds) -> None:
    page = get(ds, "/").text
    assert "How to cite" in page
    assert "CITATION.cff" not in page


def test_search_finds_nothing_the_data_does_not_hold(ds) -> None:
    assert f'href="/{DB}/museums/louvre"' not in get(ds, "/-/search?q=%D0%B0%D0%B1%D0%B0%D0%B9").text  # абай


JSON_ENDPOINTS = [
    (f"/{DB}/museums.json?_shape=array", "name_en", ["Central State Museum", "Louvre"]),
    (f"/{DB}/museum_names.json?_shape=array", "name",
     ["Musée du Louvre", "卢浮宫", "Le Louvre", "Қазақстан Республикасының Орталық мемлекеттік музейі",
      "Центральный государственный музей"]),
    (f"/{DB}/museums/louvre.json?_shape=array", "registry_code", ["050540004455"]),
    (f"/{DB}/museums_by_kind.json?_shape=array", "kind", ["art", "history"]),
]


@pytest.mark.parametrize(("path", "column", "values"), JSON_ENDPOINTS)
def test_json(ds, path: str, column: str, values: list[str]) -> None:
    response = get(ds, path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert sorted(row[column] for row in response.json()) == sorted(values)


def test_csv_export_of_a_table(ds) -> None:
    response = get(ds, f"/{DB}/museum_names.csv?_dl=1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.splitlines()[0] == "museum_id,position,language,name"
    assert "central-state,2,ru,Центральный государственный музей" in response.text
    assert "louvre,2,zh,卢浮宫" in response.text


DOWNLOADS = [
    ("/-/downloads/museums-fixture.zip", "application/zip", b"PK\x03\x04"),
    ("/-/downloads/csv/museum_names.csv", "text/csv; charset=utf-8", "\ufeffmuseum_id".encode()),
    ("/-/downloads/json/museums.json", "application/json; charset=utf-8", b"["),
    ("/-/downloads/json/museums-fixture.json", "application/json; charset=utf-8", b"{"),
    ("/-/downloads/datapackage.json", "application/json; charset=utf-8", b"{"),
    ("/-/downloads/museums-fixture.db", "application/vnd.sqlite3", b"SQLite format 3\x00"),
]


@pytest.mark.parametrize(("path", "content_type", "start"), DOWNLOADS)
def test_download(ds, path: str, content_type: str, start: bytes) -> None:
    response = get(ds, path)
    assert response.status_code == 200
    assert response.headers["content-type"] == content_type
    assert response.content.startswith(start)


def test_csv_download_keeps_cyrillic_and_chinese_for_excel(ds) -> None:
    data = get(ds, "/-/downloads/csv/museum_names.csv").content
    text = data.decode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM tells Excel the file is UTF-8
    assert "卢浮宫" in text and "Центральный государственный музей" in text


@pytest.mark.parametrize("path", [
    "/-/downloads/build.json", "/-/downloads/..%2Fbuild.json", "/-/downloads/csv/..%2F..%2Fbuild.json",
    "/-/downloads/other.db", "/-/downloads/xml/museums.xml", "/-/downloads/csv/missing.csv",
])
def test_downloads_serve_nothing_else(ds, path: str) -> None:
    assert get(ds, path).status_code == 404


def test_the_raw_database_route_is_off(ds) -> None:
    assert get(ds, f"/{DB}.db").status_code == 403


# ---------------------------------------------------------------- changes feed


def feed_entries(response) -> list[ET.Element]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    assert root.find(f"{ATOM}updated") is not None and root.find(f"{ATOM}id") is not None
    return root.findall(f"{ATOM}entry")


def test_changes_feed_is_valid_and_empty_without_history(ds) -> None:
    assert feed_entries(get(ds, "/-/changes.atom")) == []


def test_changes_feed_lists_the_record_history(tmp_path: Path) -> None:
    site = make_site(tmp_path / "museums")
    database = site.database.resolve()
    with sqlite3.connect(database) as conn:
        conn.execute("delete from record_history")  # the fixture copy is no git repository: no history yet
        conn.executemany("insert into record_history (resource, record_id, date, \"commit\", subject, change, "
                         "fields_changed) values (?, ?, ?, ?, ?, ?, ?)", [
            ("museums", "louvre", "2025-01-02", "abc123", "Add visitors", "changed", '["visitors"]'),
            ("cities", "paris", "2025-03-04", "def456", "Add Paris", "added", "[]"),
        ])
    entries = feed_entries(get(serve.app(site), "/-/changes.atom"))
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Added in Cities: Paris", "Changed in Museums: Louvre"]
    assert [e.find(f"{ATOM}updated").text for e in entries] == ["2025-03-04T00:00:00Z", "2025-01-02T00:00:00Z"]
    assert entries[1].find(f"{ATOM}link").get("href") == f"http://localhost/{DB}/museums/louvre"
    assert entries[1].find(f"{ATOM}summary").text == "Add visitors (fields: visitors)"
    home = get(serve.app(site), "/").text
    assert "2025-03-04" in home  # last updated: the newest change


# ---------------------------------------------------------------- safety

SECURITY_HEADERS = ["content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"]


@pytest.mark.parametrize("path", ["/", f"/{DB}/museums", f"/{DB}/museums/louvre", "/-/search?q=a",
                                  "/-/downloads/datapackage.json", "/missing", f"/{DB}/museums.json"])
def test_security_headers_on_every_response(ds, path: str) -> None:
    headers = get(ds, path).headers
    assert [name for name in SECURITY_HEADERS if name not in headers] == []
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


@pytest.mark.parametrize("path", [
    "//evil.example/", "//evil.example/%2F..", "/%2F%2Fevil.example", "/\\evil.example/", f"/{DB}/museums/",
    f"/{DB}/museums.json/", "///evil.example/", f"/{DB}/museums?_next=//evil.example",
])
def test_redirects_stay_on_the_site(ds, path: str) -> None:
    response = get(ds, path)
    location = response.headers.get("location", "")
    assert location == "" or (location.startswith("/") and not location.startswith(("//", "/\\"))), location


@pytest.mark.parametrize(("target", "kept"), [
    ("/museums", "/museums"), ("/a?b=c", "/a?b=c"), ("//evil.example", "/"), ("https://evil.example/", "/"),
    ("/\\evil.example", "/"), ("javascript:alert(1)", "/"), ("evil.example", "/"), ("/a\\b", "/"),
])
def test_location_headers_are_made_local(target: str, kept: str) -> None:
    assert security.local_location(target) == kept


@pytest.mark.parametrize("path", [
    f"/{DB}?sql=select+1", f"/{DB}.json?sql=select+1",
    f"/{DB}/museums?_where=randomblob(1000000000)", f"/{DB}?sql=with+recursive+c(x)+as+(select+1+union+all+"
    "select+x%2B1+from+c)+select+count(*)+from+c",
])
def test_arbitrary_sql_is_off(ds, path: str) -> None:
    assert get(ds, path).status_code == 403


EXPENSIVE = [
    ("with recursive c(x) as (select 1 union all select x+1 from c) select count(*) from c", "took too long"),
    ("select length(randomblob(1000000000))", "too big"),
    ("select length(zeroblob(1000000000))", "too big"),
    ("select length(printf('%.*c', 2000000000, 'x'))", "raised exception"),
    ("select length(format('%2000000000d', 1))", "raised exception"),
    ("select length(replace(printf('%.*c', 9000, 'x'), 'x', printf('%.*c', 9000, 'y')))", "too big"),
]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the refused printf's ValueError
@pytest.mark.parametrize(("sql", "message"), EXPENSIVE)
def test_limits_hold_even_with_sql_turned_on(site: serve.Site, tmp_path: Path, sql: str, message: str) -> None:
    """Defence in depth: if an operator turns arbitrary SQL on, the time and size limits still stop these."""
    metadata = json.loads(site.metadata.read_text(encoding="utf-8"))
    metadata["databases"][DB]["allow_sql"] = True
    opened = tmp_path / "metadata.json"
    opened.write_text(json.dumps(metadata), encoding="utf-8")
    ds = serve.app(serve.Site(site.database, opened, site.overrides))
    response = asyncio.run(ds.client.get(f"/{DB}.json", params={"sql": sql}))
    assert response.status_code == 400
    assert message in response.json()["error"].lower()


def test_an_unexpected_error_shows_no_trace_or_path(ds) -> None:
    """The plugin's error handler, given a real request and an exception that names a server path."""
    from datasette.utils.asgi import Request

    request = Request.fake(f"/{DB}/museums")
    request.scope["csrftoken"] = lambda: ""  # what Datasette's CSRF middleware adds to every real request
    exception = RuntimeError("unable to open /srv/secret/out/museums-fixture.db")
    response = asyncio.run(security.error_page(ds, request, exception)())
    assert response.status == 500
    assert "Something went wrong" in response.body
    assert "/srv/secret" not in response.body and "Traceback" not in response.body
    json_request = Request.fake("/x.json")
    json_request.scope["csrftoken"] = lambda: ""
    json_response = asyncio.run(security.error_page(ds, json_request, exception)())
    assert json_response.status == 500 and "/srv/secret" not in json_response.body


# ---------------------------------------------------------------- a real server process (browser and load tests)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


START_SECONDS = 90


class Server:
    """`python -m datasette serve ...` exactly as `broadsheet serve` runs it, on 127.0.0.1 and a free port."""

    def __init__(self, site: serve.Site) -> None:
        import subprocess

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(serve.command(site, port=self.port), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        try:
            wait_for_site(self.process, self.url)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        stop_server(self.process)


def stop_server(process) -> None:  # type: ignore[no-untyped-def]
    """Terminate a server process (its workers with it), killing it if it has not exited after 20 s."""
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def wait_for_site(process, url: str) -> None:  # type: ignore[no-untyped-def]
    """Until the server `process` answers its home page at `url` (RuntimeError with its error output if it
    exits, or after START_SECONDS). A bound, not a target: on a loaded machine the first page can take seconds
    (with several processes every worker imports Datasette first), and a client that gives up after one second
    and asks again only queues more work in front of its own request."""
    import time
    import urllib.request

    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/", timeout=START_SECONDS / 4):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "") from None
            time.sleep(0.1)
    raise RuntimeError(f"the site did not start within {START_SECONDS} s")


HOOKS = ["asgi_wrapper", "extra_template_vars", "handle_exception", "prepare_connection",
         "prepare_jinja2_environment", "register_routes", "render_cell", "startup"]


@pytest.mark.parametrize("first", ["broadsheet_site", "broadsheet_site.security", "broadsheet_site.config",
                                   "broadsheet_site.search", "datasette.app"])
def test_the_plugin_registers_every_hook_whichever_module_is_imported_first(first: str) -> None:
    """Datasette loads the plugin by its entry point while its own modules are first imported; a module of the
    plugin imported before Datasette must not leave a half-initialised plugin registered."""
    import subprocess
    import sys

    code = (f"import {first}\nfrom datasette.plugins import pm\n"
            "print(sorted(h.name for h in pm.get_hookcallers(pm.get_plugin('broadsheet'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split("\n")[0] == str(HOOKS)


def test_a_column_without_a_title_is_headed_by_its_name_in_words(tmp_path: Path) -> None:
    """A view's and a canned query's column headers: the title written in the documentation, else the name in
    words ("n_museums" -> "N museums"), never the bare name; on a phone too."""
    shutil.copytree(FIXTURES / "museums", tmp_path / "repo")
    layout = Layout(tmp_path / "repo")
    (layout.root / "schemas" / "views").mkdir(exist_ok=True)
    (layout.root / "schemas" / "views" / "per_city.sql").write_text(
        "-- Museums per city.\n-- Columns:\n--   city_id (City): The city.\n--   n_museums: How many.\n"
        "SELECT city_id, count(*) AS n_museums FROM museums GROUP BY city_id\n", encoding="utf-8")
    (layout.root / "site").mkdir()
    (layout.root / "site" / "metadata.yml").write_text(
        "database:\n  queries:\n    by_kind:\n      title: By kind\n      sql: |-\n        -- Columns:\n"
        "        --   kind (Kind of museum): What it shows.\n"
        "        select kind, count(*) as museums_counted from museums group by kind\n", encoding="utf-8")
    assert build(layout).built
    ds = serve.app(serve.prepare(layout, load_package(layout)))
    for path, expected in [(f"/{DB}/per_city", ["Link", "Row", "City", "N museums"]),
                           (f"/{DB}/by_kind", ["Kind of museum", "Museums counted"]),
                           (f"/{DB}/museums", ["ID", "Name en", "City ID", "Kind", "Founded", "Opened", "Visitors",
                                               "Budget", "Free entry", "Topics", "Registry code"])]:
        page = get(ds, path)
        assert page.status_code == 200, path
        assert (headers(page.text), phone_labels(page.text)) == (expected, expected), path
