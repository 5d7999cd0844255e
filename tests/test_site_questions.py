"""The journalist's questions of issue 13, each answered within two clicks from the home page.

Each row: the question, the links clicked from the home page (each found by the text of its link on the page
reached so far, never by a typed address), and what the page reached must say. Walked in process on the real
Datasette with the flagship dataset built in a temporary copy. The expected facts are the sources' (the records
in datapackage/ cite them), not the site's output."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path
from urllib.parse import urljoin

import pytest
import yaml

from conftest import REPO
from test_site_flagship import flagship  # noqa: F401  (the built flagship site, a module fixture)

USD_50M = r"USD (50,000,000|50 ?m|50 ?M|50 million)"
USD_5M = r"USD (5,000,000|5 ?m|5 ?M|5 million)"
LAUNCH = r"[Ll]aunch[ _]ceremony[ _]held"
HEADLINE = r"15 memoranda announced"  # the text of the home page's headline link
SHUTU = r"Xinjiang Shutu electronics plant"

# (question, clicks from the home page: patterns of link texts, patterns the answer page must match)
QUESTIONS = [
    ("What did Abai sign with Chinese investors at Big Altai?", [HEADLINE],
     [r"Chinese investors", r"Big Altai", r"How many.*15", r"USD 1,568,000,000|USD 1\.568 ?bn"]),
    ("Which of the 15 are known?", [HEADLINE],
     [r"What the data itemises", r"Xinjiang Shutu", r"Linyi City Sanitation", r"Linked\s+Agreement\b"]),
    ("How much each?", [HEADLINE], [USD_50M, USD_5M]),
    ("Says who? (the source of each item, one click further)", [HEADLINE], [r"obvk\.kz, 21 May 2025"]),
    ("What is left unexplained of the USD 1.568 bn?", [HEADLINE],
     [r"Unexplained remainder", r"USD 1,513,000,000|USD 1\.513 ?bn"]),
    ("Do other sources report the same signing differently?", [HEADLINE],
     [r"Other sources' versions", r"Kazakhstanskaya Pravda", r"USD 1,500,000,000|USD 1\.5 ?bn", r"Spread"]),
    ("How is it counted?", [HEADLINE], [r"smallest is counted", r"possible links are listed here but never counted"]),
    ("What happened since to the Shutu plant?", [HEADLINE, SHUTU],
     [LAUNCH, r"2025-06-02", r"SUTO Kazakhstan microchip plant", r"probable same project", r"Last evidence"]),
    ("Chinese deals: how much, what status?", [r"Projects at a glance"],
     [r"investor_countries", r"Largest|amount_max", r"status"]),
]


def get(ds, path: str):  # type: ignore[no-untyped-def]
    return asyncio.run(ds.client.get(path))


def links(page: str) -> list[tuple[str, str]]:
    """(href, text) of every link of a page, the text without tags."""
    return [(html.unescape(href), html.unescape(re.sub(r"<[^>]+>", "", text)).strip())
            for href, text in re.findall(r'<a [^>]*?href="([^"]+)"[^>]*>(.*?)</a>', page, re.S)]


def click(ds, path: str, page: str, pattern: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    found = [href for href, text in links(page) if re.search(pattern, text)]
    assert found, f"no link matching {pattern!r} on {path}"
    target = urljoin("http://localhost" + path, found[0]).removeprefix("http://localhost")
    response = get(ds, target)
    assert response.status_code == 200, (target, response.status_code)
    return target, response.text


def visible_text(page: str) -> str:
    body = page[page.find("<body"):]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", body, flags=re.S)))
                    .split())


@pytest.mark.parametrize(("question", "clicks", "answers"), QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_each_question_is_answered_within_two_clicks(flagship, question: str, clicks: list[str],  # noqa: F811
                                                       answers: list[str]) -> None:  # type: ignore[no-untyped-def]
    _, ds = flagship
    assert len(clicks) <= 2
    path, page = "/", get(ds, "/").text
    for pattern in clicks:
        path, page = click(ds, path, page, pattern)
    text = visible_text(page)
    missing = [a for a in answers if not re.search(a, text)]
    assert missing == [], (question, path)


def newest_publication() -> str:
    """The newest publication date among the sources, read from their YAML records."""
    dates = []
    for path in sorted((REPO / "datapackage" / "sources").glob("*.yaml")):
        record = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if record.get("published"):
            dates.append(str(record["published"]))
    return max(dates)


def test_home_says_data_as_of_the_newest_source_and_labels_the_commit_date(flagship) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    _, ds = flagship
    page = get(ds, "/").text
    assert f'Data as of <strong data-testid="data-as-of">{newest_publication()}</strong>' in page
    assert re.search(r'last changed <span data-testid="updated">\d{4}-\d\d-\d\d</span>', page)
    assert "Last updated" not in page


def test_the_citation_names_url_year_version_and_a_records_permanent_address(flagship) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    db, ds = flagship
    home = get(ds, "/").text
    import json

    version = json.loads((REPO / "datapackage.json").read_text(encoding="utf-8"))["version"]
    cited = re.search(r'data-testid="citation">([^<]+)<', home)
    assert cited and re.search(rf"\(\d{{4}}\)\. .+\. Version {re.escape(version)}\. http://localhost/\. "
                               r"Licence CC-BY-4\.0\.", html.unescape(cited.group(1)))
    record = get(ds, f"/{db}/projects/shutu-electronics-plant-semey").text
    assert f"http://localhost/{db}/projects/shutu-electronics-plant-semey. Licence" in html.unescape(record)


def test_every_reconciliation_row_links_to_its_claim_page(flagship) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    db, ds = flagship
    rows = get(ds, f"/{db}/reconciliation.json?_shape=array&_size=max").json()
    page = get(ds, f"/{db}/reconciliation?_size=max").text
    for row in rows:
        assert f'href="/claims/{row["announcement_id"]}"' in page, row["announcement_id"]
        assert get(ds, f"/claims/{row['announcement_id']}").status_code == 200


@pytest.mark.parametrize(("path", "status"), [("/claims/no-such-claim", 404), ("/projects/no-such-project", 404),
                                              ("/projects/shutu-electronics-plant-semey", 200)])
def test_question_pages_answer_or_say_not_found(flagship, path: str, status: int) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    _, ds = flagship
    assert get(ds, path).status_code == status


def test_a_project_counted_in_the_15_is_never_listed_as_only_announced(flagship) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    """The Linyi memorandum counts (probable) as one of the 15 signed memoranda, so its project's status comes
    out as agreed, in the claim's list and in the canned question by status alike."""
    db, ds = flagship
    story = get(ds, f"/{db}/project_story_status.json?_shape=array&project_id=linyi-sanitation-semey").json()[0]
    assert story["status"] == "agreed"
    by_status = get(ds, f"/{db}/agreements_by_status.json?_shape=array").json()
    announced = [r for r in by_status if r["status"] == "announced"]
    assert all("Linyi" not in (r["titles"] or "") for r in announced)
    agreed = [r for r in by_status if r["status"] == "agreed"]
    assert "Linyi City Sanitation Group" in agreed[0]["titles"]


def test_the_overview_has_one_row_per_project_and_facets(flagship) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    db, ds = flagship
    projects = len(list((REPO / "datapackage" / "projects").glob("*.yaml")))
    data = get(ds, f"/{db}/project_overview.json?_size=0").json()
    assert data["filtered_table_rows_count"] == projects
    assert set(data["facet_results"]) >= {"status", "sector", "region", "investor_countries"}
    china = get(ds, f"/{db}/project_overview.json?_shape=array&_size=max&investor_countries__arraycontains=CN").json()
    assert any(r["project_id"] == "shutu-electronics-plant-semey" for r in china)


def test_record_pages_link_to_their_question_page(flagship) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    db, ds = flagship
    page = get(ds, f"/{db}/announcements/obvk-2025-05-21-15-memoranda-usd-1568m").text
    assert 'href="/claims/obvk-2025-05-21-15-memoranda-usd-1568m"' in page
    page = get(ds, f"/{db}/projects/shutu-electronics-plant-semey").text
    assert 'href="/projects/shutu-electronics-plant-semey"' in page


def test_question_pages_name_no_table_in_the_toolkit() -> None:
    """The page kinds are the dataset's: no module or template of the site package names one of its tables (as a
    string literal, or as an attribute in a template)."""
    names = {Path(p).stem for p in (REPO / "schemas").glob("*.yaml")} | {
        Path(p).stem for p in (REPO / "schemas" / "views").glob("*.sql")}
    package = REPO / "scripts" / "broadsheet_site"
    for path in [*package.glob("*.py"), *package.glob("templates/*.html")]:
        text = path.read_text(encoding="utf-8")
        named = sorted(n for n in names if re.search(rf"[\"']{re.escape(n)}[\"']|\.{re.escape(n)}\b", text))
        assert named == [], path.name


def test_the_overview_counts_projects_per_investor_country_by_name(flagship) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    """"Chinese deals": the facet on investors' countries counts each country once per project that has an investor
    from it (a project with Chinese and Kazakh investors counts under both), named as ISO 3166-1 names it."""
    import json

    import pycountry

    db, ds = flagship
    rows = get(ds, f"/{db}/project_overview.json?_shape=array&_size=max&_col=investor_countries").json()
    expected: dict[str, int] = {}
    for row in rows:
        for code in json.loads(row["investor_countries"] or "[]"):
            name = pycountry.countries.get(alpha_2=code).name
            expected[name] = expected.get(name, 0) + 1
    assert expected.get("China", 0) > 1
    page = get(ds, f"/{db}/project_overview").text
    box = page.split('id="facet-investor_countries"', 1)[1].split("</div>", 1)[0]
    shown = {html.unescape(label): int(count) for label, count in re.findall(r'<a href="[^"]+">([^<]+)</a> (\d+)', box)}
    assert shown == expected
