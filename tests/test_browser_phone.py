"""Every page type of the flagship at 1280 and 390 px in Debian's Chromium: no horizontal scroll on a phone, and
axe-core (npm, injected into the page) finds no serious or critical accessibility violation. Screenshots go to
out/screenshots/ for a human to look at."""

from __future__ import annotations

import json
import os

import pytest

from broadsheet.layout import Layout
from broadsheet.package import load_package
from conftest import REPO
from test_browser import CHROMIUM, SHOTS, browser, flagship_server  # noqa: F401 (fixtures shared by name)

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif((not CHROMIUM.is_file() or not AXE.is_file()) and os.environ.get("CI") != "true",
                                reason="Debian's chromium or axe-core is not installed (make test installs them)")
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def flagship(flagship_server):  # type: ignore[no-untyped-def] # noqa: F811
    """The database name and the real server of test_browser's flagship build."""
    return load_package(Layout(REPO)).name, flagship_server


def pages(db: str) -> dict[str, str]:
    return {
        "home": "/",
        "table": f"/{db}/projects",
        "facet": f"/{db}/projects?_facet=sector&sector=energy",
        "record": f"/{db}/projects/shutu-electronics-plant-semey",
        "source": f"/{db}/sources/obvk-2025-05-21-15-memoranda",
        "claim": "/claims/obvk-2025-05-21-15-memoranda-usd-1568m",  # with its announced-vs-itemised chart
        "project": "/projects/shutu-electronics-plant-semey",  # with its timeline
        "view": f"/{db}/project_overview",
        "query": f"/{db}/announced_vs_itemised",  # a canned query: its columns' titles from its comment
        "search": "/-/search?q=%D0%A1%D0%B5%D0%BC%D0%B5%D1%8F",  # Семея
        "figures": f"/{db}/projects_figures?_facet=currency",
    }


def serious(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
            for v in violations if v.get("impact") in ("serious", "critical")]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(pages("db")))
def test_page_fits_the_screen_and_passes_axe(flagship, browser, name: str, width: int) -> None:  # type: ignore[no-untyped-def] # noqa: F811
    db, running = flagship
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        response = page.goto(running.url + pages(db)[name])
        assert response.status == 200
        scroll = page.evaluate("document.documentElement.scrollWidth")
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"phone-{name}-{width}.png"), full_page=True)
        assert scroll <= width, f"{name} is {scroll} px wide at {width} px"
        assert page.locator("a.bs-skip").count() == 1 and page.locator("main#main").count() == 1
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        (SHOTS / f"axe-{name}-{width}.json").write_text(json.dumps(result["violations"], indent=1), encoding="utf-8")
        assert serious(result["violations"]) == []
    finally:
        context.close()
