"""The flagship dataset: it validates, every fact is cited, every source exists, nothing is invented."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from broadsheet.layout import Layout
from broadsheet.validate import validate
from conftest import REPO

FACTS = REPO.parent / "shared" / "sources" / "FACTS.md"
URL = re.compile(r"https?://[^\s'\"<>)]+")


@pytest.fixture
def flagship(tmp_path: Path) -> Layout:
    """A writable copy of the repository's dataset (metadata, schemas, records)."""
    target = tmp_path / "flagship"
    target.mkdir()
    shutil.copy(REPO / "datapackage.json", target)
    shutil.copytree(REPO / "schemas", target / "schemas")
    shutil.copytree(REPO / "datapackage", target / "datapackage", ignore=shutil.ignore_patterns("*.csv"))
    return Layout(target)


def replace_in(layout: Layout, relative: str, old: str, new: str) -> None:
    path = layout.root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_flagship_validates():
    result = validate(Layout(REPO))
    assert [p for p in result.report.problems] == []
    assert result.report.stats["files"] >= 70


def test_an_uncited_fact_fails_validation(flagship):
    """Remove the only citation of the chip plant's sector: validation points at the sector line."""
    record = "datapackage/projects/suto-microchip-plant-semey.yaml"
    replace_in(flagship, record, "  - field: sector\n    source_id: trend-2025-06-02-microchip-plant\n"
               "    locator: opening paragraph\n", "")
    problems = validate(flagship).report.problems
    assert [(p.path, p.line, p.code, p.field) for p in problems] == [(record, 3, "uncited-fact", "sector")]


def test_a_citation_of_an_unknown_source_fails_validation(flagship):
    record = "datapackage/projects/suto-microchip-plant-semey.yaml"
    replace_in(flagship, record, "  - field: sector\n    source_id: trend-2025-06-02-microchip-plant",
               "  - field: sector\n    source_id: trend-2025-06-03-microchip-plant")
    problems = validate(flagship).report.problems
    assert [(p.path, p.code, p.found) for p in problems] == [
        (record, "foreign-key", "trend-2025-06-03-microchip-plant")]


def test_every_cited_source_exists():
    """Each source id used anywhere in the data names a file in datapackage/sources/."""
    result = validate(Layout(REPO))
    known = {row[0] for row in result.tables["sources"].rows}
    cited = set()
    for table in result.tables:
        for column, name in enumerate(table.spec.field_names):
            if name == "source_id":
                cited |= {row[column] for row in table.rows if row[column]}
    assert cited and cited <= known


@pytest.mark.skipif(not FACTS.is_file(), reason="shared/sources/FACTS.md is not beside this checkout")
def test_every_url_in_the_data_appears_in_the_facts_ledger():
    ledger = FACTS.read_text(encoding="utf-8")
    urls = {url.rstrip(".,") for path in (REPO / "datapackage").rglob("*.yaml")
            for url in URL.findall(path.read_text(encoding="utf-8"))}
    assert urls, "the sources carry their URLs"
    assert sorted(url for url in urls if url not in ledger) == []
