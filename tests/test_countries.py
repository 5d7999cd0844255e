"""The flagship's country codes are labelled from a maintained list: each `categories` label of a country field is
the ISO 3166-1 short name pycountry ships for the code, and every code the data holds has its category (a code
without one would be shown raw on the site)."""

from __future__ import annotations

import pycountry
import pytest

from broadsheet.layout import Layout
from broadsheet.package import load_package
from broadsheet.read.tables import Tables
from broadsheet.validate import rows as validate
from conftest import REPO

COUNTRY_FIELDS = [("organizations", "country"), ("places", "country")]


@pytest.fixture(scope="module")
def tables() -> Tables:
    result = validate(Layout(REPO)).tables
    assert result is not None
    return result


@pytest.mark.parametrize(("resource", "name"), COUNTRY_FIELDS, ids=[".".join(f) for f in COUNTRY_FIELDS])
def test_every_country_label_is_pycountrys_name_for_its_code(resource: str, name: str) -> None:
    labels = load_package(Layout(REPO)).resources[resource].field_map[name].labels
    assert labels
    wrong = {code: (label, getattr(pycountry.countries.get(alpha_2=code), "name", None))
             for code, label in labels.items() if getattr(pycountry.countries.get(alpha_2=code), "name", None) != label}
    assert wrong == {}


@pytest.mark.parametrize(("resource", "name"), COUNTRY_FIELDS, ids=[".".join(f) for f in COUNTRY_FIELDS])
def test_every_country_code_in_the_data_has_its_category(tables: Tables, resource: str, name: str) -> None:
    table = tables[resource]
    labels = table.spec.field_map[name].labels
    column = table.spec.field_names.index(name)
    unlabelled = [(origin.path, origin.line, row[column]) for row, origin in zip(table.rows, table.origins, strict=True)
                  if row[column] not in (None, "") and row[column] not in labels]
    assert unlabelled == []
