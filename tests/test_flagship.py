"""The flagship dataset: it validates, every fact is cited, every source exists, nothing is invented."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from broadsheet import validate
from broadsheet.layout import Layout
from conftest import REPO


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
    result = validate.rows(Layout(REPO))
    assert [p for p in result.report.problems] == []
    assert result.report.stats["files"] >= 70


def test_an_uncited_fact_fails_validation(flagship):
    """Remove the only citation of the chip plant's sector: validation points at the sector line."""
    record = "datapackage/projects/suto-microchip-plant-semey.yaml"
    replace_in(flagship, record, "  - field: sector\n    source_id: trend-2025-06-02-microchip-plant\n"
               "    locator: opening paragraph\n", "")
    problems = validate.report(flagship).problems
    assert [(p.path, p.line, p.code, p.field) for p in problems] == [(record, 3, "uncited-fact", "sector")]


def test_a_citation_of_an_unknown_source_fails_validation(flagship):
    record = "datapackage/projects/suto-microchip-plant-semey.yaml"
    replace_in(flagship, record, "  - field: sector\n    source_id: trend-2025-06-02-microchip-plant",
               "  - field: sector\n    source_id: trend-2025-06-03-microchip-plant")
    problems = validate.report(flagship).problems
    assert [(p.path, p.code, p.found) for p in problems] == [
        (record, "foreign-key", "trend-2025-06-03-microchip-plant")]


def test_every_cited_source_exists():
    """Each source id used anywhere in the data names a file in datapackage/sources/."""
    result = validate.rows(Layout(REPO))
    known = {row[0] for row in result.tables["sources"].rows}
    cited = set()
    for table in result.tables:
        for column, name in enumerate(table.spec.field_names):
            if name == "source_id":
                cited |= {row[column] for row in table.rows if row[column]}
    assert cited and cited <= known


# Every URL in the data is a library file's, in FACTS.md or a gazetteer's: tests/test_provenance.py checks it,
# with every figure, name and date that cites a source (required in CI, where ../shared is beside the clone).


def test_the_seed_reconciliation_is_computed_from_the_records(flagship):
    """S1 announced 15 memoranda worth USD 1,568 m; the dataset itemises two of them (Linyi USD 5 m and
    Xinjiang Shutu USD 50 m). The figures come from the reconciliation view, never typed by hand."""
    import sqlite3

    from broadsheet.build import build

    result = build(flagship)
    assert result.built
    with sqlite3.connect(result.database) as db:
        db.row_factory = sqlite3.Row
        seed = db.execute("SELECT * FROM reconciliation WHERE announcement_id = ?",
                          ["obvk-2025-05-21-15-memoranda-usd-1568m"]).fetchone()
    assert (seed["announced_count"], seed["agreements_itemised"], seed["agreements_not_itemised"]) == (15, 2, 13)
    assert (seed["itemised_total"], seed["announced_total"], seed["currency"]) == (55_000_000, 1_568_000_000, "USD")
    assert seed["residual_total"] == 1_513_000_000
    assert seed["agreements_possible"] == 1  # the Smart City deal is linked only as "possible": never counted
    # three sources report the same signing: USD 1.568 bn (S1), more than 1.5 bn (S2), 1.5 bn (S6)
    assert (seed["claim_sources"], seed["claim_min_total"], seed["claim_max_total"]) == (3, 1_500_000_000,
                                                                                          1_568_000_000)


def test_the_local_fifteen_are_not_confused_with_the_chinese_fifteen(flagship):
    import sqlite3

    from broadsheet.build import build

    database = build(flagship).database
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT currency, announced_total, claim_id FROM reconciliation "
                          "WHERE announced_count = 15 ORDER BY currency").fetchall()
    claims = {claim for _currency, _total, claim in rows}
    assert ("KZT", 336_000_000_000) in {(currency, total) for currency, total, _claim in rows}
    assert len(claims) == 2


# A claim that counts projects, added to a copy of the flagship: three projects linked to it directly (one only
# "possible"), one of them also through an agreement, and one with money only in another currency.
CLAIM = """\
id: test-claim-3-projects
label: Three projects worth USD 100 (test)
counted: projects
count: 3
count_qualifier: exact
total: 100
currency: USD
total_qualifier: exact
source_id: obvk-2025-05-21-15-memoranda
locator: paragraph 10
"""
SECOND_REPORT = CLAIM.replace("id: test-claim-3-projects", "id: test-claim-3-projects-again").replace(
    "total: 100\n", "total: 120\n").replace("locator: paragraph 10\n",
                                            "locator: paragraph 10\nsame_claim_as: test-claim-3-projects\n")


def a_project(name: str, amount: int, currency: str, confidence: str) -> str:
    return (f"id: {name}\nname_en: {name}\nfigures:\n  - metric: investment\n    amount: {amount}\n"
            f"    currency: {currency}\n    qualifier: exact\n    source_id: obvk-2025-05-21-15-memoranda\n"
            f"    locator: paragraph 10\nannouncements:\n  - announcement_id: test-claim-3-projects\n"
            f"    confidence: {confidence}\n    basis: test\n    source_id: obvk-2025-05-21-15-memoranda\n"
            f"    locator: paragraph 10\n")


def test_a_claim_that_counts_projects_is_reconciled_with_the_projects_linked_to_it(flagship):
    import sqlite3

    from broadsheet.build import build

    records = {
        "announcements/test-claim-3-projects.yaml": CLAIM,
        "announcements/test-claim-3-projects-again.yaml": SECOND_REPORT,
        "projects/test-plant-a.yaml": a_project("test-plant-a", 60, "USD", "confirmed"),
        "projects/test-plant-b.yaml": a_project("test-plant-b", 30, "KZT", "probable"),
        "projects/test-plant-c.yaml": a_project("test-plant-c", 10, "USD", "possible"),
        "agreements/test-agreement.yaml": (
            "id: test-agreement\ntitle_en: test\nprojects:\n  - project_id: test-plant-a\n    confidence: confirmed\n"
            "    basis: test\n    source_id: obvk-2025-05-21-15-memoranda\n    locator: paragraph 10\n"
            "announcements:\n  - announcement_id: test-claim-3-projects-again\n    confidence: confirmed\n"
            "    basis: test\n    source_id: obvk-2025-05-21-15-memoranda\n    locator: paragraph 10\n"),
    }
    for relative, text in records.items():
        (flagship.root / "datapackage" / relative).write_text(text, encoding="utf-8")
    assert validate.report(flagship).problems == []
    result = build(flagship)
    assert result.built
    with sqlite3.connect(result.database) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM reconciliation WHERE claim_id = 'test-claim-3-projects' "
                          "ORDER BY announcement_id").fetchall()
        pairs = db.execute("SELECT measure, announcement_id_a, amount_a, announcement_id_b, amount_b, difference "
                           "FROM figure_disagreements WHERE announcement_id_a LIKE 'test-%'").fetchall()
    assert [(r["announcement_id"], r["agreements_itemised"], r["projects_itemised"], r["projects_linked"],
             r["projects_possible"], r["items_itemised"], r["items_not_itemised"], r["projects_other_currency"],
             r["itemised_total"], r["residual_total"]) for r in rows] == [
        ("test-claim-3-projects", 1, 2, 2, 1, 2, 1, 1, 60, 40),
        ("test-claim-3-projects-again", 1, 2, 2, 1, 2, 1, 1, 60, 60)]
    assert [tuple(p) for p in pairs] == [
        ("announced_total", "test-claim-3-projects", 100, "test-claim-3-projects-again", 120, 20)]
