"""Search that forgives, measured on a real build of the flagship through the real site (Datasette in process):
Russian case forms (Snowball stems), Kazakh forms and transliterations (prefix and typo tolerance: there is no
maintained Kazakh Snowball stemmer), typos, old and alternative names from the *_names tables, and names a source
spells two ways. Each search must put the intended record among the first results of the page."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

import pytest

from test_site_flagship import flagship  # noqa: F401  (the built flagship site, a module fixture)

FIRST_PAGE = 10

# (what a journalist types, the record it should find)
SEARCHES = [
    # the issue's own searches
    ("Семея", "places/semey"), ("Семее", "places/semey"), ("Semy", "places/semey"),
    ("Shuttu", "organizations/xinjiang-shutu-tecnology-co"),
    ("Xinjiang Shutu Technology", "organizations/xinjiang-shutu-tecnology-co"),
    # Russian case forms
    ("Астане", "places/astana"), ("Павлодара", "places/pavlodar"), ("Актогая", "places/aktogay"),
    ("Усть-Каменогорска", "places/ust-kamenogorsk"), ("Хоргоса", "places/khorgos"),
    ("Туркестанской области", "places/turkestan-region"), ("КазМунайГаза", "organizations/kazmunaygas"),
    ("Казправды", "organizations/kazakhstanskaya-pravda"),
    # Kazakh forms and transliterations
    ("Korgas", "places/khorgos"), ("Zhetisu", "places/zhetysu-region"), ("Shyngzhang", "places/xinjiang"),
    # typos
    ("Pavlodr", "places/pavlodar"), ("Karagandy", "places/karaganda"),
    ("Jiaxin Internatonal", "organizations/jiaxin-international-resources-investment"),
    ("Fujian Hengwan", "organizations/fujian-hengwang-investment"),
    # old and alternative names
    ("Нур-Султан", "places/astana"), ("ArcelorMittal Temirtau", "organizations/qarmet"),
    ("Boguty", "places/boguta-tungsten-deposit"), ("Abay Oblast", "places/abai-region"),
    # names sources spell two ways
    ("Aktogai", "places/aktogay"), ("Allure Group", "organizations/allur-group"),
    ("Kazmunaigaz", "organizations/kazmunaygas"),
]


@pytest.fixture(scope="module")
def site(flagship):  # type: ignore[no-untyped-def]  # noqa: F811
    """(database name, the real site in process) of a built copy of the flagship."""
    return flagship


def results(site, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    db, ds = site
    response = asyncio.run(ds.client.get("/-/search?q=" + quote(query)))
    assert response.status_code == 200
    return [href.removeprefix(f"/{db}/") for href in re.findall(r'<li class="bs-hit"><a href="([^"]+)"',
                                                                    response.text)]


@pytest.mark.parametrize(("query", "record"), SEARCHES)
def test_each_search_finds_its_record_on_the_first_page(site, query: str, record: str) -> None:  # type: ignore[no-untyped-def]
    found = results(site, query)
    assert record in found[:FIRST_PAGE], found[:FIRST_PAGE]


def test_a_record_whose_title_matches_comes_before_one_that_only_mentions_it(site) -> None:  # type: ignore[no-untyped-def]
    found = results(site, "Semey")
    assert found[0] == "places/semey"


def test_nonsense_finds_nothing(site) -> None:  # type: ignore[no-untyped-def]
    assert results(site, "qqqxxzzv") == []
