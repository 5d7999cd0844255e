"""Labels from the schema: Table Schema v2 `categories` label coded values, `x-currency-field` makes a number
money; the data dictionary, the downloads' README and the site's structure file say the same, and a schema whose
labels and enum disagree is refused. Real builds of the museums fixture."""

from __future__ import annotations

import json
import zipfile

import pytest

from broadsheet.build import build
from broadsheet.display import amount, items, label, money, number
from broadsheet.errors import ConfigError
from broadsheet.export import sitemeta
from broadsheet.layout import Layout
from broadsheet.package import load_package

KIND_ENUM = "    constraints: {enum: [art, history, science]}\n"
CATEGORIES = ("    categories:\n      - {value: art, label: Fine art}\n      - {value: history, label: History}\n"
              "      - {value: science, label: Science and technology}\n")


def labelled(layout: Layout, categories: str = CATEGORIES) -> Layout:
    schema = layout.root / "schemas/museums.yaml"
    text = schema.read_text(encoding="utf-8")
    assert KIND_ENUM in text
    text = text.replace(KIND_ENUM, categories + KIND_ENUM)
    text = text.replace("    x-unit: EUR\n", "    x-unit: EUR\n    x-currency-field: registry_code\n")
    schema.write_text(text, encoding="utf-8")
    return layout


def test_categories_reach_dictionary_readme_and_site_structure(museums):
    labelled(museums)
    (museums.root / "README.md").write_text("<!-- data-dictionary:start -->\n<!-- data-dictionary:end -->\n",
                                            encoding="utf-8")
    result = build(museums)
    assert result.built, result.report.to_dict()
    readme = (museums.root / "README.md").read_text(encoding="utf-8")
    assert ("| `kind` | string |  | What it shows. One of `art` (Fine art), `history` (History), "
            "`science` (Science and technology). |") in readme
    assert "Money: the currency is in `registry_code`." in readme
    with zipfile.ZipFile(museums.out_dir / "downloads/museums-fixture.zip") as archive:
        text = archive.read("README.txt").decode("utf-8")
    assert ("Codes\n-----\nCoded columns hold the value on the left; it means the label on the right.\n\n"
            "museums.kind\n  art      Fine art\n  history  History\n  science  Science and technology\n") in text
    structure = sitemeta.structure(load_package(museums))
    fields = {f["name"]: f for f in structure["museums"]["fields"]}
    assert fields["kind"]["labels"] == {"art": "Fine art", "history": "History", "science": "Science and technology"}
    assert fields["budget"]["currency_field"] == "registry_code"
    assert fields["name_en"]["labels"] == {} and fields["name_en"]["currency_field"] == ""
    descriptor = json.loads((museums.root / "datapackage.json").read_text(encoding="utf-8"))
    museum_fields = {f["name"]: f for r in descriptor["resources"] if r["name"] == "museums"
                     for f in r["schema"]["fields"]}
    assert museum_fields["kind"]["categories"][0] == {"value": "art", "label": "Fine art"}


@pytest.mark.parametrize(("categories", "message"), [
    ("    categories:\n      - {value: art, label: Art}\n", "categories and enum differ in history, science"),
    ("    categories:\n      - {value: art, label: A}\n      - {value: history, label: H}\n"
     "      - {value: science, label: S}\n      - {value: craft, label: C}\n", "categories and enum differ in craft"),
])
def test_categories_that_disagree_with_the_enum_are_refused(museums, categories, message):
    labelled(museums, categories)
    with pytest.raises(ConfigError) as error:
        load_package(museums)
    assert message in error.value.message
    assert error.value.path == "schemas/museums.yaml"


def test_a_currency_field_that_is_not_a_text_field_is_refused(museums):
    schema = museums.root / "schemas/museums.yaml"
    schema.write_text(schema.read_text(encoding="utf-8").replace(
        "    x-unit: EUR\n", "    x-unit: EUR\n    x-currency-field: visitors\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_package(museums)
    assert "x-currency-field names 'visitors'" in error.value.message


@pytest.mark.parametrize(("amount", "currency", "shown"), [
    (1568000000, "USD", "USD 1.568bn"),
    (336000000000, "KZT", "KZT 336bn"),
    (55000000, "USD", "USD 55m"),
    (1500000.0, "CNY", "CNY 1.5m"),
    (2500000000000, "USD", "USD 2.5tn"),
    (950, "EUR", "EUR 950"),
    (950, "", None),
    (None, "USD", None),
    (True, "USD", None),
    (20, "ha", None),  # a unit in a column that holds currency or unit is not a currency
    (500, "MW", None),
])
def test_money_is_compact_with_its_code(amount, currency, shown):
    assert money(amount, currency) == shown


@pytest.mark.parametrize(("value", "shown"), [(1568000000, "1,568,000,000"), (3.0, "3"), (12.25, "12.25"),
                                              (None, ""), ("x", "x")])
def test_numbers_are_grouped(value, shown):
    assert number(value) == shown


@pytest.mark.parametrize(("value", "found"), [('["copper", "gold"]', ["copper", "gold"]), (["a"], ["a"]),
                                              ("[not json", None), ("copper", None), ('{"a": 1}', None)])
def test_lists_are_lists(value, found):
    assert items(value) == found


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (1568000000, "USD", "USD 1.568bn"),
    (20, "ha", "20 hectares"),
    (300000, None, "300,000"),
    (1200, "MW", "1,200 MW"),
    (3.5, "km", "3.5 kilometres"),
])
def test_an_amount_is_money_or_a_number_with_its_units_label(value, unit, shown):
    assert amount(value, unit, {"ha": "hectares", "km": "kilometres"}) == shown


def test_labels_fall_back_to_the_code():
    assert label({"mw": "megawatts"}, "mw") == "megawatts"
    assert label({"mw": "megawatts"}, "km") == "km"
    assert label({}, None) == ""
