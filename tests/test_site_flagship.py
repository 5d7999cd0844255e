"""The flagship dataset on the site (built in a temporary copy): the headline, spelling-insensitive search, the
canned queries and a record page with sources, in process."""

from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.package import load_package
from conftest import copy_of_flagship, headers, phone_labels


@pytest.fixture(scope="module")
def flagship(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("flagship")
    layout = copy_of_flagship(root)
    result = build(layout)
    assert result.built, [p.message for p in result.report.problems][:5]
    package = load_package(layout)
    site = serve.prepare(layout, package)
    return package.name, serve.app(site)


def get(ds, path: str):  # type: ignore[no-untyped-def]
    return asyncio.run(ds.client.get(path))


def search_links(ds, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    response = get(ds, "/-/search?q=" + query)
    assert response.status_code == 200
    return sorted(re.findall(r'<li class="bs-hit"><a href="([^"]+)"', response.text))


def test_home_page_headline_reads_from_the_reconciliation(flagship) -> None:  # type: ignore[no-untyped-def]
    _, ds = flagship
    text = get(ds, "/").text
    assert re.search(r'data-testid="headline">\d+ memoranda announced, \d+ identified, USD [\d,]+ m of '
                     r"USD [\d,]+ m itemised<", text), "headline missing"
    assert "Broadsheet contributors (20" in text
    assert ". Kazakhstan&#39;s regions and Chinese investors: agreements, projects" in text
    assert "Version 0.2.0" in text


def test_home_page_points_to_the_citation_file(flagship) -> None:  # type: ignore[no-untyped-def]
    _db, ds = flagship
    assert "The same citation is in CITATION.cff in the repository." in get(ds, "/").text


def test_abai_abay_and_cyrillic_find_the_same_records(flagship) -> None:  # type: ignore[no-untyped-def]
    _, ds = flagship
    cyrillic = search_links(ds, "%D0%90%D0%B1%D0%B0%D0%B9")  # Абай
    assert cyrillic != []
    assert search_links(ds, "Abai") == cyrillic
    assert search_links(ds, "Abay") == cyrillic


@pytest.mark.parametrize("query", ["agreements_by_status", "announced_vs_itemised", "projects_by_sector_and_place",
                                   "supported_by_sources?id=obvk-2025-05-21-15-memoranda"])
def test_canned_queries_answer(flagship, query: str) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    response = get(ds, f"/{db}/{query.replace('?', '.json?') if '?' in query else query + '.json'}")
    assert response.status_code == 200, response.text[:500]
    assert response.json()["rows"] != []


def test_every_top_level_record_page_answers(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    for resource in ("agreements", "projects", "organizations", "events", "sources", "announcements"):
        rows = get(ds, f"/{db}/{resource}.json?_shape=array&_col=id").json()
        for row in rows[:5]:
            response = get(ds, f"/{db}/{resource}/{row['id']}")
            assert response.status_code == 200, (resource, row["id"])
            assert "<h2>Facts" in response.text


def test_a_figure_disagreement_is_shown_side_by_side(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    pairs = get(ds, f"/{db}/figure_disagreements.json?_shape=array").json()
    within = [p["project_id_a"] for p in pairs if p["project_id_a"] and p["project_id_a"] == p["project_id_b"]]
    assert within, "the flagship keeps disagreeing figures within one record (the copper smelter's cost)"
    project = within[0]
    page = get(ds, f"/{db}/projects/{project}").text
    assert "Sources disagree" in page
    assert page.count('class="bs-claim"') >= 2


def test_serve_refuses_invalid_data_with_the_report(tmp_path: Path) -> None:
    import subprocess
    import sys

    from conftest import FIXTURES

    shutil.copytree(FIXTURES / "museums", tmp_path / "m")
    (tmp_path / "m" / "datapackage" / "cities" / "paris.yaml").write_text("id: paris\nname_en: Paris\ncountry: fr\n",
                                                                         encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "broadsheet", "serve", "--root", str(tmp_path / "m")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "datapackage/cities/paris.yaml:3" in result.stderr
    assert "nothing was built or served" in result.stderr


def test_disagreements_across_linked_records_are_shown_on_both_records(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    pairs = get(ds, f"/{db}/figure_disagreements.json?_shape=array").json()
    across = [p for p in pairs if p["project_id_a"] and p["project_id_b"] and p["project_id_a"] != p["project_id_b"]]
    assert across, "the flagship's Shutu and SUTO plants are linked and disagree on jobs (500 vs more than 500)"
    pair = across[0]
    for own, other in ((pair["project_id_a"], pair["project_id_b"]), (pair["project_id_b"], pair["project_id_a"])):
        page = get(ds, f"/{db}/projects/{own}").text
        section = page[page.index("Sources disagree across linked records"):page.index("<h2>Facts")]
        assert f'href="/{db}/projects/{other}"' in section  # the other record, linked
        assert "(this record)" in section
        assert f'href="/{db}/sources/{pair["source_id_a"]}"' in section
        assert f'href="/{db}/sources/{pair["source_id_b"]}"' in section
        assert section.count('class="bs-claim"') == 2 * sum(own in (p["project_id_a"], p["project_id_b"])
                                                             for p in across)


def test_table_headers_and_breadcrumbs_use_the_schema_titles(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    page = get(ds, f"/{db}/projects").text
    headers = dict(re.findall(r'<th [^>]*data-column="([^"]*)"[^>]*>(?:<a [^>]*>)?([^<]*)', page))
    assert headers["name_en"] == "Name (English)&nbsp;▼"  # the default sort, by the label
    assert headers["place_id"] == "Place"
    assert headers["event_id"] == "Presented at"
    assert f'<a href="/{db}">Kazakhstan&#39;s regions and Chinese investors' in page
    facets = re.findall(r'data-column="([^"]*)">\s*<p class="facet-info-name"><strong>([^<]*?)\s*<span', page)
    assert dict(facets)["place_id"] == "Place"
    assert dict(facets)["sector"] == "Sector"
    assert "CREATE TABLE" in page  # still in the page for programmers; site.css hides it


def test_a_source_page_lists_what_it_supports_and_links_its_address(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    text = get(ds, f"/{db}/sources/obvk-2025-05-21-15-memoranda").text
    section = text[text.index('<section class="bs-supports">'):]
    section = section[:section.index("</section>")]
    assert f'<a href="/{db}/agreements/abai-shutu-electronics-memorandum-2025">' in section
    assert f'<a href="/{db}/projects/shutu-electronics-plant-semey">' in section
    assert '<a href="https://obvk.kz/2025/05/21/' in text and 'rel="noopener noreferrer"' in text


def test_codes_lists_and_money_are_shown_as_words(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    record = get(ds, f"/{db}/projects/shutu-electronics-plant-semey").text
    assert "<td>Electronics" in record and "<td>electronics" not in record  # the schema's label of the code
    assert '<ul class="bs-items"><li>' in record and '[&#34;' not in record  # a list, not JSON
    assert re.search(r'<span title="USD [\d,]+">USD [\d.]+[mbn]+</span>', record), "money not compact"
    table = get(ds, f"/{db}/projects?_facet=sector").text
    assert ">Mining and metallurgy</a>" in table  # the facet shows labels
    assert ">mining_metallurgy<" not in table


def test_home_page_chart_is_an_accessible_svg_with_its_figures_as_a_table(flagship) -> None:  # type: ignore[no-untyped-def]
    _db, ds = flagship
    text = get(ds, "/").text
    svg = text[text.index('<svg class="bs-chart"'):text.index("</svg>")]
    assert 'role="img" aria-labelledby="bs-chart-0"' in svg
    assert '<title id="bs-chart-0">Announced investment by region and sector (USD)</title>' in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from the network
    table = text[text.index('<table class="bs-chart-table">'):]
    table = table[:table.index("</table>")]
    assert re.search(r'<th scope="row">Abai region</th><td>USD [\d.]+(m|bn)</td>', table)
    assert svg.count('<text x="164"') == table.count('<th scope="row">')  # one bar per row of the table
    assert "mining_metallurgy" not in svg and "Mining and metallurgy" in svg  # series named by the schema's labels


def test_home_page_map_shows_only_places_with_coordinates(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    text = get(ds, "/").text
    svg = text[text.index('<svg class="bs-map"'):]
    svg = svg[:svg.index("</svg>")]
    rows = get(ds, f"/{db}/places.json?_shape=array&_size=max&_col=latitude&_col=kind").json()
    expected = sum(1 for r in rows if r["latitude"] is not None and r["kind"] != "country")
    assert svg.count("<circle") == expected > 0
    assert f'<a href="/{db}/places/semey">' in svg
    assert "<image" not in svg  # no tiles fetched from elsewhere


# --- column titles of views and canned queries (a view's documentation: `name (Title): description`) ----------
# (page, the headers a reader sees)
HEADERS = [
    ("project_overview?_sort_desc=amount_max",
     ["Link", "Row", "Project ID", "Project", "Sector", "Place ID", "Place", "Region ID", "Region", "Country",
      "Investors", "Investors' countries", "Latest status", "Status as of", "Last evidence", "Currency",
      "Largest amount", "Smallest amount", "Investment figures", "Sources"]),
    ("project_status_current",
     ["Link", "Row", "Project ID", "Project", "Sector", "Place ID", "Current status", "Evidence", "Status as of",
      "Source", "Where in the source", "Rows of status history"]),
    ("agreements_by_status", ["Status", "Agreements", "Their titles"]),
    ("projects_by_sector_and_place", ["Sector", "Place", "Status", "Projects", "Project names"]),
    ("supported_by_sources?id=obvk-2025-05-21-15-memoranda",
     ["Table", "Record ID", "Record", "Fact", "Where in the source"]),
]


@pytest.mark.parametrize(("page", "expected"), HEADERS, ids=[h[0].split("?")[0] for h in HEADERS])
def test_views_and_canned_queries_are_headed_by_their_titles(flagship, page: str, expected: list[str]) -> None:
    db, ds = flagship
    response = get(ds, f"/{db}/{page}")
    assert response.status_code == 200
    assert (headers(response.text), phone_labels(response.text)) == (expected, expected)


def test_a_views_facets_and_sort_are_called_by_their_titles(flagship) -> None:  # type: ignore[no-untyped-def]
    db, ds = flagship
    text = get(ds, f"/{db}/project_overview?_sort_desc=amount_max").text
    facets = re.findall(r'<p class="facet-info-name"><strong>([^<]+?)\s*<span', text)
    assert sorted(f.replace("&#39;", "'") for f in facets) == [  # (Datasette orders them by their counts)
        "Currency", "Investors' countries", "Latest status", "Region", "Sector"]
    assert re.search(r"<title>Projects at a glance: [\d,]+ rows sorted by Largest amount descending</title>", text)
    # a selection in words: each column by its title, a code compared exactly by its label
    text = get(ds, f"/{db}/project_overview?status=agreed&sector__contains=energy&_sort=amount_min").text
    assert re.search(r"<title>Projects at a glance: [\d,]+ rows? where Sector contains &#34;Energy&#34; and "
                     r"Latest status = &#34;Agreed&#34; sorted by Smallest amount</title>", text)
