"""What a person sees: Debian's Chromium (never a downloaded browser) driven by Playwright against a real
`datasette` server process. Screenshots go to out/screenshots/ for a human to look at."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import REPO, copy_of_flagship
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
    from broadsheet.package import load_package

    root = tmp_path / "flagship"
    root.mkdir()
    layout = copy_of_flagship(root)
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


@pytest.fixture(scope="module")
def flagship_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The real dataset, built in a copy and served by a real `datasette` process."""
    from broadsheet import serve
    from broadsheet.build import build
    from broadsheet.package import load_package

    root = tmp_path_factory.mktemp("flagship-questions") / "flagship"
    root.mkdir()
    layout = copy_of_flagship(root)
    assert build(layout).built
    running = Server(serve.prepare(layout, load_package(layout)))
    yield running
    running.stop()


WIDTHS = [(1280, 900), (390, 844)]


def overflow(page) -> int:  # type: ignore[no-untyped-def]
    """How many CSS pixels the page is wider than the window (0: no horizontal scroll)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def question_ids() -> list[str]:
    from test_site_questions import QUESTIONS

    return [q[0] for q in QUESTIONS]


@pytest.mark.parametrize("width", [w for w, _ in WIDTHS])
@pytest.mark.parametrize("question", question_ids())
def test_journalist_questions_by_clicking(flagship_server: Server, browser, question: str, width: int) -> None:  # type: ignore[no-untyped-def]
    """Each question of tests/test_site_questions.py, clicked through from the home page in Chromium: the links
    are found by their visible text, and the page reached shows the answers."""
    import re

    from test_site_questions import QUESTIONS

    _, clicks, answers = next(q for q in QUESTIONS if q[0] == question)
    height = dict(WIDTHS)[width]
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(flagship_server.url + "/")
        for pattern in clicks:
            page.get_by_role("link", name=re.compile(pattern)).first.click()
            page.wait_for_load_state()
        text = page.locator("body").inner_text()
        assert [a for a in answers if not re.search(a, text, re.S)] == [], page.url
    finally:
        context.close()


@pytest.mark.parametrize(("width", "height"), WIDTHS)
def test_claim_and_project_pages_fit_the_screen(flagship_server: Server, browser, width: int, height: int) -> None:  # type: ignore[no-untyped-def]
    """The claim page (from the home page's headline) and a project's story (from the claim page), at a desktop
    and a phone width, with screenshots for the closing note."""
    import re

    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        page = context.new_page()
        page.goto(flagship_server.url + "/")
        shot(page, f"flagship-home-{width}")
        page.locator("[data-testid=headline]").click()
        page.wait_for_url("**/claims/**")
        assert page.locator("h2", has_text="What the data itemises").is_visible()
        assert page.locator(".bs-item").count() >= 3
        chart = page.locator("#chart svg.bs-chart[role=img]")
        assert chart.is_visible() and chart.get_attribute("aria-labelledby")
        assert chart.bounding_box()["width"] <= width
        assert overflow(page) <= 0, f"claim page {overflow(page)} px too wide at {width}"
        shot(page, f"flagship-claim-{width}")
        page.get_by_role("link", name=re.compile("Xinjiang Shutu electronics plant")).first.click()
        page.wait_for_url("**/projects/**")
        assert page.locator("h2", has_text="Timeline").is_visible()
        dates = page.locator("ol.bs-timeline > li time").all_inner_texts()
        assert len(dates) >= 3 and dates == sorted(dates), dates  # oldest first, from the story
        assert overflow(page) <= 0, f"project page {overflow(page)} px too wide at {width}"
        shot(page, f"flagship-project-{width}")
    finally:
        context.close()
