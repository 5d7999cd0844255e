"""A view column that holds a list of coded values (`[values: resource.field, list]`, a JSON array as SQLite's
json_group_array makes it) is shown item by item with the schema's labels: in table cells, row pages, facets
(counted per item, not per list), the zip's view resource and README. The museums fixture, built for real into a
temporary copy with country labels on `cities.country` and a view whose rows this file chooses, served by the
real Datasette in process."""

from __future__ import annotations

import asyncio
import html
import json
import re
import shutil
import zipfile

import pytest

from broadsheet import serve
from broadsheet.build import build
from broadsheet.layout import Layout
from broadsheet.package import load_package
from broadsheet_site.values import shown
from conftest import FIXTURES

DB = "museums-fixture"
COUNTRY = "    constraints: {required: true, pattern: \"^[A-Z]{2}$\"}\n"
LABELS = ("    categories:\n      - {value: FR, label: France}\n      - {value: KZ, label: Kazakhstan}\n")

# The view's rows: (name, the list its `countries` column holds, as JSON text or None).
ROWS = [
    ("both", '["KZ","FR"]'),
    ("kz only", '["KZ"]'),
    ("unlabelled", '["XX"]'),
    ("nothing known", None),
]
VIEW = """-- Test rows, each with a list of countries.
-- Columns:
--   name: The row's name.
--   countries: Its countries. [values: cities.country, list]
--   plain: A list of plain words. [list]
--   home: One country. [values: cities.country]
""" + "\nUNION ALL\n".join(
    f"SELECT '{name}' AS name, {'NULL' if value is None else repr(value)} AS countries, "
    f"'[\"a\",\"b\"]' AS plain, 'KZ' AS home" for name, value in ROWS) + "\n"
PROSE = "database:\n  tables:\n    row_countries:\n      facets: [countries]\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Layout:
    target = tmp_path_factory.mktemp("lists") / "museums"
    shutil.copytree(FIXTURES / "museums", target)
    schema = target / "schemas/cities.yaml"
    text = schema.read_text(encoding="utf-8")
    assert text.count(COUNTRY) == 1
    schema.write_text(text.replace(COUNTRY, LABELS + COUNTRY), encoding="utf-8")
    (target / "schemas/views").mkdir()
    (target / "schemas/views/row_countries.sql").write_text(VIEW, encoding="utf-8")
    (target / "site").mkdir()
    (target / "site/metadata.yml").write_text(PROSE, encoding="utf-8")
    (target / "README.md").write_text("<!-- data-dictionary:start -->\n<!-- data-dictionary:end -->\n",
                                      encoding="utf-8")
    layout = Layout(target)
    result = build(layout)
    assert result.built, [p.message for p in result.report.problems]
    return layout


@pytest.fixture(scope="module")
def ds(built: Layout):  # type: ignore[no-untyped-def]
    return serve.app(serve.prepare(built, load_package(built)))


def get(ds, path: str):  # type: ignore[no-untyped-def]
    response = asyncio.run(ds.client.get(path))
    assert response.status_code == 200, path
    return response


COUNTRY_FIELD = {"name": "c", "type": "array", "labels": {"FR": "France", "KZ": "Kazakhstan"}}


@pytest.mark.parametrize(("field", "value", "expected"), [
    (COUNTRY_FIELD, '["KZ","FR"]', {"text": "Kazakhstan, France", "list_items": ["Kazakhstan", "France"]}),
    (COUNTRY_FIELD, '["XX"]', {"text": "XX", "list_items": ["XX"]}),  # no label: the code itself
    (COUNTRY_FIELD, "[]", {"text": "", "list_items": []}),
    (COUNTRY_FIELD, None, {"text": ""}),
    ({"name": "p", "type": "array", "labels": {}}, '["a","b"]', {"text": "a, b", "list_items": ["a", "b"]}),
    ({"name": "c", "type": "string", "labels": {"KZ": "Kazakhstan"}}, "KZ", {"text": "Kazakhstan", "code": "KZ"}),
])
def test_a_list_of_codes_is_shown_item_by_item(field: dict, value: str | None, expected: dict) -> None:
    assert shown(field, value, {}) == expected


def cells(page: str, column: str) -> list[str]:
    """The text of each cell of one column of a table page, items joined by " | "."""
    found = re.findall(rf'<td class="col-{column} [^"]*">(.*?)</td>', page, re.S)
    return [" | ".join(re.findall(r"<li>([^<]*)</li>", cell)) if "<li>" in cell else cell.strip() for cell in found]


def test_table_cells_show_each_item_with_its_label(ds) -> None:  # type: ignore[no-untyped-def]
    page = get(ds, f"/{DB}/row_countries").text
    assert cells(page, "countries") == ["Kazakhstan | France", "Kazakhstan", "XX", "&nbsp;"]
    assert cells(page, "plain") == ["a | b"] * 4
    assert cells(page, "home") == ["Kazakhstan"] * 4


def test_a_row_page_shows_the_items_with_their_labels(ds) -> None:  # type: ignore[no-untyped-def]
    page = get(ds, f"/{DB}/row_countries/1").text
    assert cells(page, "countries") == ["Kazakhstan | France"]


FACETS = [
    # (the address, the facet's type, (label, count) of each value in order)
    ("?_facet=countries", "array", [("Kazakhstan", 2), ("France", 1), ("XX", 1)]),
    ("?_facet_array=countries", "array", [("Kazakhstan", 2), ("France", 1), ("XX", 1)]),
    ("?_facet=countries&countries__arraycontains=FR", "array", [("France", 1), ("Kazakhstan", 1)]),
    ("?_facet=home", "column", [("Kazakhstan", 4)]),
    ("", "array", [("Kazakhstan", 2), ("France", 1), ("XX", 1)]),  # the facet the prose declares
]


@pytest.mark.parametrize(("query", "kind", "expected"), FACETS, ids=[f[0] or "declared" for f in FACETS])
def test_a_facet_on_a_list_counts_each_item_with_its_label(ds, query: str, kind: str,  # type: ignore[no-untyped-def]
                                                           expected: list[tuple[str, int]]) -> None:
    column = re.search(r"_facet(?:_array)?=(\w+)", query)
    name = column.group(1) if column else "countries"
    data = get(ds, f"/{DB}/row_countries.json{query or '?'}&_size=0").json()
    facet = data["facet_results"][name]
    assert facet["type"] == kind
    page = get(ds, f"/{DB}/row_countries{query}").text
    box = page.split(f'id="facet-{name}"', 1)[1].split("</div>", 1)[0]
    item = re.compile(r"<li>(.*?)(?:&middot;)?\s*(\d[\d,]*)\s*(?:<a [^>]*class=\"cross\".*?)?</li>", re.S)
    shown_values = [(re.sub(r"<[^>]+>", "", label).strip(), int(count.replace(",", "")))
                    for label, count in item.findall(box)]
    assert shown_values == expected
    assert "(array)" not in box


def test_the_zip_describes_the_list_and_its_codes(built: Layout) -> None:
    archive = zipfile.ZipFile(next((built.out_dir / "downloads").glob("*.zip")))
    descriptor = json.loads(archive.read("datapackage.json"))
    fields = {f["name"]: f for r in descriptor["resources"] if r["name"] == "row_countries"
              for f in r["schema"]["fields"]}
    labels = [{"value": "FR", "label": "France"}, {"value": "KZ", "label": "Kazakhstan"}]
    assert fields["countries"] == {"name": "countries", "type": "array", "description": "Its countries.",
                                   "arrayItem": {"type": "string", "categories": labels}}
    assert fields["plain"] == {"name": "plain", "type": "array", "description": "A list of plain words.",
                               "arrayItem": {"type": "string"}}
    assert fields["home"] == {"name": "home", "type": "string", "description": "One country.", "categories": labels}
    readme = archive.read("README.txt").decode("utf-8")
    assert "\nrow_countries.countries (each item of the list)\n  FR  France\n  KZ  Kazakhstan\n" in readme
    assert "\nrow_countries.home\n  FR  France\n  KZ  Kazakhstan\n" in readme


def test_the_data_dictionary_lists_labelled_codes_without_an_enum(built: Layout) -> None:
    readme = (built.root / "README.md").read_text(encoding="utf-8")
    assert ("| `country` | string | yes | ISO 3166-1 alpha-2 code. Codes: `FR` (France), `KZ` (Kazakhstan). "
            "Text matching `^[A-Z]{2}$` as a whole. |") in readme


def test_the_site_structure_marks_the_list(built: Layout) -> None:
    from broadsheet.export import sitemeta

    fields = sitemeta.view_fields(load_package(built))["row_countries"]
    assert fields == {
        "countries": {"name": "countries", "type": "array", "labels": {"FR": "France", "KZ": "Kazakhstan"},
                      "currency_field": ""},
        "plain": {"name": "plain", "type": "array", "labels": {}, "currency_field": ""},
        "home": {"name": "home", "type": "string", "labels": {"FR": "France", "KZ": "Kazakhstan"},
                 "currency_field": ""},
    }


def test_csv_and_json_keep_the_codes(ds) -> None:  # type: ignore[no-untyped-def]
    """Downloads hold the data as it is: the codes, the list as JSON text (the labels are in the descriptor)."""
    rows = get(ds, f"/{DB}/row_countries.json?_shape=array").json()
    assert [r["countries"] for r in rows] == [value for _, value in ROWS]


FILTERED = [
    # (the fixture's columns have no title: each is called by its name in words)
    ("?countries__arraycontains=FR", 'where Countries contains "France"'),
    ("?home=KZ", 'where Home = "Kazakhstan"'),
    ("?home__exact=KZ&name=both", 'where Home = "Kazakhstan" and Name = "both"'),
    ("?home__in=KZ,FR", 'where Home in ["Kazakhstan", "France"]'),
    ("?countries__arraycontains=XX", 'where Countries contains "XX"'),  # no label: the code
]


@pytest.mark.parametrize(("query", "description"), FILTERED, ids=[f[0] for f in FILTERED])
def test_a_filtered_page_says_its_filters_with_labels(ds, query: str, description: str) -> None:  # type: ignore[no-untyped-def]
    page = get(ds, f"/{DB}/row_countries{query}").text
    heading = re.search(r"<h3>\s*\d+ rows?\s+(.*?)\s*</h3>", page, re.S)
    assert heading is not None
    assert html.unescape(heading.group(1)) == description
    title = re.search(r"<title>(.*?)</title>", page, re.S)
    assert title is not None and html.unescape(title.group(1)).endswith(description)
