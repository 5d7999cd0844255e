"""No raw code and no unformatted amount on any page of the flagship site (in process, a real build).

What counts as raw comes from the schemas, not from a list written here: every code of a field's `categories`
whose label says something else than the code (`mining_metallurgy` → "Mining and metallurgy"); an amount is
unformatted when a currency the data uses (the values of every `x-currency-field`) stands before the full digits
("USD 1,568,000,000", "USD 1568000000") or a cell holds nothing but a long bare number ("1568000000"). The text
a reader sees is scanned: not attributes, scripts, styles, `<code>`, form options, nor the column descriptions
(which document the codes a download holds)."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.layout import Layout
from broadsheet.package import load_package
from conftest import REPO, copy_of_flagship

HIDDEN_TAGS = {"script", "style", "code", "pre", "textarea", "option", "select", "title", "head"}
HIDDEN_CLASSES = {"column-descriptions"}
VOID = {"br", "img", "input", "meta", "link", "hr", "wbr", "source", "area", "col", "embed", "param", "track"}
# A bare long number that ends in thousands: an amount in whole units (an identifier such as a GeoNames id
# seldom ends so, and is not an amount).
LONG_NUMBER = re.compile(r"^\d{3,}000$")


class VisibleText(HTMLParser):
    """The text nodes a reader sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[bool] = []  # per open element: is it hidden?
        self.nodes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        classes = set((dict(attrs).get("class") or "").split())
        self.stack.append(tag in HIDDEN_TAGS or bool(classes & HIDDEN_CLASSES) or (bool(self.stack) and self.stack[-1]))

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and not (self.stack and self.stack[-1]):
            self.nodes.append(data.strip())


def raw_codes(package) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Code → "resource.field" for every code whose label is more than the code capitalised, leaving out codes
    that are themselves field names (a citation's `field` names the field it cites: column names, not values)."""
    names = {f.name for spec in package.resources.values() for f in spec.fields}
    found = {}
    for spec in package.resources.values():
        for field in spec.fields:
            for code, label in field.labels.items():
                if code.lower() != label.lower() and code not in names:
                    found.setdefault(code, f"{spec.name}.{field.name}")
    return found


def currencies(package, database: Path) -> set[str]:  # type: ignore[no-untyped-def]
    """Every currency the data names, from the fields that `x-currency-field` points at."""
    found: set[str] = set()
    with sqlite3.connect(f"{database.resolve().as_uri()}?immutable=1", uri=True) as conn:
        for spec in package.resources.values():
            for field in spec.fields:
                column = field.flag("currency-field")
                if column:
                    found |= {row[0] for row in conn.execute(f'select distinct "{column}" from "{spec.name}"')
                              if row[0]}
    return found


def findings(html: str, codes: dict[str, str], money: set[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    spelled = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, money))) + r")\s?\d{1,3}(?:,?\d{3}){2,}(?![\d,])")
    found = []
    for text in parser.nodes:
        core = text.strip("()[]{}.,;:·- ")
        words = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+", text) if w in codes]
        words += [w for w in re.findall(r'"([^"]+)"', text) if w in codes]  # a code quoted in a sentence
        # a list of codes as text ("CN,KZ", '["CN", "KZ"]'): every item a code
        items = [item for item in re.split(r"[\s,;\"\[\]]+", core) if item]
        if len(items) > 1 and all(item in codes for item in items):
            words = words or items
        if core in codes or words:
            found.append(f"code {core if core in codes else words[0]!r} ({codes.get(core) or codes[words[0]]}) "
                         f"in {text[:80]!r}")
        if spelled.search(text) or LONG_NUMBER.match(core):
            found.append(f"amount in {text[:80]!r}")
    return found


CASES = [
    ("a code as a cell", "<td>mining_metallurgy</td>", ["code 'mining_metallurgy'"]),
    ("a code in brackets", "<dd>15 <span>(more_than)</span></dd>", ["code 'more_than'"]),
    ("a code inside a sentence", "<p>Status: launch_ceremony_held since May</p>", ["code 'launch_ceremony_held'"]),
    ("a short code whose label is a word", "<td>ha</td>", ["code 'ha'"]),
    ("a label", "<td>Mining and metallurgy</td>", []),
    ("a code only capitalised by its label", "<td>energy</td>", []),
    ("a code in an attribute", '<td title="mining_metallurgy">Mining and metallurgy</td>', []),
    ("a code in a column description", '<dl class="column-descriptions"><dd>exact, more_than</dd></dl>', []),
    ("a code in code", "<p>id <code>more_than</code></p>", []),
    ("grouped full digits", "<dd>USD 1,568,000,000</dd>", ["amount"]),
    ("bare digits after a currency", "<dd>KZT 564000000000</dd>", ["amount"]),
    ("a bare long number", "<td>1568000000</td>", ["amount"]),
    ("an identifier", "<td>1526384</td>", []),
    ("compact money", "<dd>USD 1.568bn</dd>", []),
    ("a grouped count", "<td>300,000</td>", []),
    ("a headline in millions", "<p>USD 55 m of USD 1,568 m itemised</p>", []),
    ("a date", "<td>2025-05-21</td>", []),
    ("a country code", "<td>CN</td>", ["code 'CN'"]),
    ("a list of country codes", "<td>CN,KZ</td>", ["code 'CN'"]),
    ("a JSON list of country codes", '<td>["KZ", "CN"]</td>', ["code 'KZ'"]),
    ("a list item that is a code", "<td><ul><li>CN</li></ul></td>", ["code 'CN'"]),
    ("a list of country names", "<td><ul><li>China</li><li>Kazakhstan</li></ul></td>", []),
    ("a word that is no code beside a code", "<td>CN and friends</td>", []),
    ("a quoted code in a sentence", '<h3>3 rows where country = "CN"</h3>', ["code 'CN'"]),
    ("a quoted label in a sentence", '<h3>3 rows where country = "China"</h3>', []),
]


@pytest.mark.parametrize(("name", "html", "expected"), CASES, ids=[c[0] for c in CASES])
def test_the_scan_finds_raw_codes_and_amounts(name: str, html: str, expected: list[str]) -> None:
    package = load_package(Layout(REPO))
    found = findings(html, raw_codes(package), {"USD", "KZT"})
    assert [f.split(" in ")[0].split(" (")[0] for f in found] == expected


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The flagship built in a copy and served in process, with the codes and currencies to look for."""
    layout = copy_of_flagship(tmp_path_factory.mktemp("words"))
    result = build(layout)
    assert result.built, [p.message for p in result.report.problems][:5]
    package = load_package(layout)
    ds = serve.app(serve.prepare(layout, package))
    database = next(layout.out_dir.glob("*.db"))
    return package.name, ds, raw_codes(package), currencies(package, database)


def get(ds, path: str) -> str:  # type: ignore[no-untyped-def]
    response = asyncio.run(ds.client.get(path))
    assert response.status_code == 200, path
    return response.text


def ids(ds, db: str, table: str, column: str = "id") -> list[str]:  # type: ignore[no-untyped-def]
    return [row[column] for row in asyncio.run(
        ds.client.get(f"/{db}/{table}.json?_shape=array&_col={column}&_size=max")).json()]


def page_paths(ds, db: str, kind: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page of one type, from what the site declares: its resources, views and page kinds."""
    conf = ds.plugin_config("broadsheet") or {}
    from broadsheet_site.config import config

    resources = config(ds).get("resources") or {}
    top = sorted(name for name, spec in resources.items() if spec.get("top_level"))
    if kind == "home":
        return ["/"]
    if kind == "table":
        return [f"/{db}/{name}" for name in sorted(resources)]
    if kind == "view":
        return [f"/{db}/{name}" for name in conf.get("views") or []]
    if kind == "facet":  # every labelled field and marked view column; a list is counted by item
        views = config(ds).get("view_fields") or {}
        return [f"/{db}/{name}?_facet{'_array' if field.get('type') == 'array' else ''}={field['name']}"
                for name in top for field in resources[name]["fields"] if field.get("labels")] + [
            f"/{db}/{view}?_facet={column}" for view, fields in views.items()
            for column, field in fields.items() if field.get("labels")]
    if kind == "filtered":  # each facet's first value chosen: the page says its filter
        found = []
        for path in page_paths(ds, db, "facet"):
            table, query = path.split("?", 1)
            data = asyncio.run(ds.client.get(f"{table}.json?{query}&_size=0")).json()
            column = query.split("=", 1)[1]
            for facet in data["facet_results"].values():
                if facet["name"] == column and facet["results"]:
                    chosen = urlsplit(facet["results"][0]["toggle_url"])
                    args = [(k, v) for k, v in parse_qsl(chosen.query, keep_blank_values=True) if k != "_size"]
                    found.append(f"{chosen.path.removesuffix('.json')}?{urlencode(args)}")
        return found
    if kind == "record":
        return [f"/{db}/{name}/{record}" for name in top for record in ids(ds, db, name)[:12]] + [
            f"/{db}/projects/{record}" for record in ids(ds, db, "figure_disagreements", "project_id_a") if record]
    if kind == "question page":
        kinds = conf.get("pages") or {}
        return [f"/{spec.get('path') or name}/{record}" for name, spec in kinds.items()
                for record in ids(ds, db, spec["resource"])]
    if kind == "canned query":
        queries = ds.metadata("queries", database=db, fallback=False) or {}
        return [f"/{db}/{name}" for name, query in queries.items() if ":" not in re.sub(r"--.*", "", query["sql"])]
    if kind == "search":
        return [f"/-/search?q={q}" for q in ["Semey", "%D0%90%D0%B1%D0%B0%D0%B9", "tungsten", "copper"]]
    raise AssertionError(kind)


KINDS = ["home", "table", "view", "facet", "filtered", "record", "question page", "canned query", "search"]


@pytest.mark.parametrize("kind", KINDS)
def test_no_raw_code_or_unformatted_amount_on_any_page(site, kind: str) -> None:  # type: ignore[no-untyped-def]
    db, ds, codes, money = site
    get(ds, "/")  # the site's settings are read on the first request
    assert codes and money
    paths = sorted(set(page_paths(ds, db, kind)))
    assert paths, kind
    found = [f"{path}: {finding}" for path in paths for finding in findings(get(ds, path), codes, money)]
    assert found == [], f"{len(found)} on {len(paths)} pages:\n" + "\n".join(found[:25])


def test_each_claim_page_draws_announced_against_itemised(site) -> None:  # type: ignore[no-untyped-def]
    """Every claim with a total gets the chart, an SVG with a title and its figures as a table, whose bars say what
    the reconciliation says; a claim without a total gets none (nothing is drawn from nothing)."""
    from broadsheet.display import money

    db, ds, _, _ = site
    rows = asyncio.run(ds.client.get(f"/{db}/reconciliation.json?_shape=array&_size=max")).json()
    assert rows
    wrong = []
    for row in rows:
        html = get(ds, f"/claims/{row['announcement_id']}")
        section = html.split('id="chart"', 1)[1].split("</section>", 1)[0] if 'id="chart"' in html else ""
        figures = dict(re.findall(r'<th scope="row">([^<]+)</th><td>([^<]+)</td>', section))
        if row["announced_total"] is None:
            expected: dict[str, str] = {}
        else:
            expected = {"Announced": money(row["announced_total"], row["currency"]),
                        "Unexplained remainder": money(row["residual_total"], row["currency"])}
            if row["itemised_total"]:
                expected["Itemised"] = money(row["itemised_total"], row["currency"])
        if figures != expected or (expected and not re.search(r'<svg class="bs-chart"[^>]*role="img"', section)):
            wrong.append((row["announcement_id"], figures, expected))
    assert wrong == []


def test_a_project_page_draws_its_story_as_a_timeline(site) -> None:  # type: ignore[no-untyped-def]
    """The Shutu plant's story: its own signing and announcement and the launch ceremony of the record linked to
    it as probably the same plant, oldest first, each dated item a <time>."""
    _, ds, _, _ = site
    html = get(ds, "/projects/shutu-electronics-plant-semey")
    timeline = html.split('<ol class="bs-timeline"', 1)[1].split("</ol>", 1)[0]
    dates = re.findall(r'<time datetime="([^"]+)">', timeline)
    assert dates == ["2025-05-20", "2025-05-21", "2025-05-21", "2025-06-02"]
    assert timeline.count('<li class="bs-when">') == len(dates)  # every item here is dated
    assert "Launch ceremony held" in timeline.split('datetime="2025-06-02"', 1)[1]


def test_a_canned_query_page_is_titled_by_its_title_not_its_sql(site) -> None:  # type: ignore[no-untyped-def]
    db, ds, _, _ = site
    queries = ds.metadata("queries", database=db, fallback=False) or {}
    titles = {name: re.search(r"<title>([^<]*)</title>", get(ds, f"/{db}/{name}")).group(1)  # type: ignore[union-attr]
              for name in queries if ":" not in re.sub(r"--.*", "", queries[name]["sql"])}
    assert titles and titles == {name: queries[name]["title"] for name in titles}


@pytest.mark.parametrize(("dates", "when"), [
    (["2025-05-20", "2025"], ["2025-05-20", "2025"]),
    ([None, "2025-06"], ["", "2025-06"]),  # an undated item keeps its place and says it has no date
])
def test_a_timeline_item_is_headed_by_its_date(dates: list[str | None], when: list[str]) -> None:
    from broadsheet_site.labels import Labels
    from broadsheet_site.pages import section

    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("create table t (position integer, date text, status text)")
    conn.executemany("insert into t values (?, ?, 'agreed')", list(enumerate(dates)))
    found = section(Labels(None, "db", {}, conn), {"kind": "list", "timeline": "date", "columns": ["date", "status"],
                                                   "sql": "select date, status from t order by position"}, "key")
    assert [r["when"] for r in found["rows"]] == when
    assert [[c["title"] for c in r["cells"]] for r in found["rows"]] == [["Status"]] * len(dates)
