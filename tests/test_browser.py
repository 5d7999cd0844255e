"""What a person sees: Debian's Chromium (never a downloaded browser) driven by Playwright against a real
`datasette` server process. Screenshots go to out/screenshots/ for a human to look at."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from conftest import REPO
from test_site import DB, Server, make_site

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "out" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]

sync_api = pytest.importorskip("playwright.sync_api")
# A developer without Debian's chromium may skip these; CI never may (.ci/run installs it).
pytestmark = pytest.mark.skipif(not CHROMIUM.is_file() and os.environ.get("CI") != "true",
                                reason="Debian's chromium is not installed (make system-deps)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    running = Server(make_site(tmp_path_factory.mktemp("browser") / "museums"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, tmp_path: Path):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_home_page(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(server.url + "/")
    assert response.status == 200
    assert page.locator("h1").inner_text() == "Museums of two cities"
    assert page.locator("[data-testid=headline]").inner_text() == "2 museums, 8,700,000 visitors a year"
    assert page.locator("#downloads").is_visible()
    assert page.locator("table.bs-counts").first.locator("tr", has_text="Museums").inner_text().split() == [
        "Museums", "2"]
    shot(page, "museums-home")


def test_table_with_a_facet_applied(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + f"/{DB}/museums")
    page.locator(".facet-info[data-column=kind]").get_by_role("link", name="art").click()
    page.wait_for_url("**kind=art**")
    assert page.locator("table.rows-and-columns tbody tr").count() == 1
    assert "Louvre" in page.locator("table.rows-and-columns").inner_text()
    shot(page, "museums-table-facet")


@pytest.mark.parametrize(("query", "found", "name"), [
    ("Центральный", "Central State Museum", "search-russian"),
    ("卢浮宫", "Louvre", "search-chinese"),
])
def test_search_from_the_header_box(server: Server, page, query: str, found: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    page.fill("#bs-q", query)
    page.press("#bs-q", "Enter")
    page.wait_for_url("**/-/search?q=**")
    results = page.locator(".bs-results a")
    assert results.all_inner_texts() == [found]
    shot(page, name)
    results.first.click()
    assert page.locator("h1").inner_text() == found


def test_record_page(server: Server, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + f"/{DB}/museums/louvre")
    assert page.locator("h1").inner_text() == "Louvre"
    visitors = page.locator(".bs-facts-table tr", has_text="visitors")
    assert "8,700,000" in visitors.inner_text() and "A guide to museums, page 4" in visitors.inner_text()
    assert page.locator(".bs-disagreements .bs-claim").count() == 2
    assert "卢浮宫" in page.locator(".bs-list").first.inner_text()
    shot(page, "museums-record")
    page.get_by_role("link", name="Paris").first.click()
    assert page.locator("h1").inner_text() == "Paris"
    assert page.locator(".bs-related").get_by_role("link", name="Louvre").is_visible()


def test_csv_download(server: Server, page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(server.url + "/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="museum_names.csv").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    assert download.suggested_filename == "museum_names.csv"
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfmuseum_id,position,language,name")
    assert "卢浮宫" in data.decode("utf-8-sig") and "Центральный государственный музей" in data.decode("utf-8-sig")


def test_flagship_pages_for_a_journalist(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    """The real dataset, built in a copy: the home page headline, a Cyrillic search and a record page."""
    from broadsheet import serve
    from broadsheet.build import build
    from broadsheet.layout import Layout
    from broadsheet.package import load_package

    root = tmp_path / "flagship"
    root.mkdir()
    for name in ("datapackage.json", "schemas", "datapackage", "site"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    layout = Layout(root)
    assert build(layout).built
    package = load_package(layout)
    running = Server(serve.prepare(layout, package))
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.goto(running.url + "/")
        assert " announced, " in page.locator("[data-testid=headline]").inner_text()
        shot(page, "flagship-home")
        page.fill("#bs-q", "Абай")
        page.press("#bs-q", "Enter")
        page.wait_for_url("**/-/search?q=**")
        assert page.locator(".bs-results a").count() > 0
        shot(page, "flagship-search-abai")
        first_project = page.locator(".bs-hit", has_text="Projects").locator("a").first
        first_project.click()
        assert page.locator(".bs-facts-table").is_visible()
        shot(page, "flagship-record")
        page.goto(running.url + f"/{package.name}/projects")
        assert page.title().startswith("Projects: ")  # the schema's title, not the table's name
        shot(page, "flagship-table")
        paired = page.request.get(running.url + f"/{package.name}/figure_disagreements.json?_shape=array").json()
        across = [p for p in paired if p["project_id_a"] != p["project_id_b"]]
        if across:  # the curated data may have none at the moment
            page.goto(running.url + f"/{package.name}/projects/{across[0]['project_id_a']}")
            assert page.locator(".bs-paired .bs-claim").count() >= 2
            shot(page, "flagship-record-paired")
    finally:
        context.close()
        running.stop()
