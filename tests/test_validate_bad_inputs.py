"""Every kind of mistake a curator can make, each with the exact (path, line, code) Broadsheet must report.

Each case writes one file into a fresh copy of the museums fixture (which is valid on its own) and expects
exactly the listed problems: nothing missing, nothing extra.
"""

from __future__ import annotations

import pytest

from broadsheet import validate
from conftest import write

TATE = "datapackage/museums/tate.yaml"
CITED = "citations:\n  - field: city_id\n    source_id: guide-2024\n    locator: p. 1\n"


def tate(body: str) -> str:
    """A museum record: `id: tate` on line 1, then `body`, then a citation for city_id."""
    return f"id: tate\n{body}{CITED}"


# (case, file, content, expected problems as (path, line, code))
CASES: list[tuple[str, str, str | bytes, set[tuple[str, int, str]]]] = [
    # --- strict YAML -----------------------------------------------------------------------------------------
    ("duplicate key", TATE, tate("name_en: Tate\nname_en: Tate Modern\ncity_id: paris\n"),
     {(TATE, 3, "duplicate-key")}),
    ("duplicate key in a child entry", TATE,
     tate("name_en: Tate\ncity_id: paris\nnames:\n  - language: en\n    language: fr\n    name: Tate\n"),
     {(TATE, 6, "duplicate-key")}),
    ("anchor", TATE, tate("name_en: &n Tate\ncity_id: paris\n"), {(TATE, 2, "yaml-anchor")}),
    ("anchor and alias", TATE, tate("name_en: &n Tate\ncity_id: paris\nkind: *n\n"),
     {(TATE, 2, "yaml-anchor"), (TATE, 4, "yaml-alias")}),
    ("python tag", TATE, tate("name_en: !!python/object:os.system Tate\ncity_id: paris\n"),
     {(TATE, 2, "yaml-tag")}),
    ("custom tag", TATE, tate("name_en: !include other.yaml\ncity_id: paris\n"), {(TATE, 2, "yaml-tag")}),
    ("standard tag still changes meaning", TATE, tate("name_en: !!str Tate\ncity_id: paris\n"),
     {(TATE, 2, "yaml-tag")}),
    ("two documents", TATE, tate("name_en: Tate\ncity_id: paris\n") + "---\nid: other\n",
     {(TATE, 8, "multiple-documents")}),
    ("tab in indentation", TATE, "id: tate\nname_en: Tate\nnames:\n\t- language: en\n",
     {(TATE, 4, "tab-indentation")}),
    ("invalid UTF-8", TATE, b"id: tate\nname_en: Tat\xe9\n", {(TATE, 2, "invalid-utf8")}),
    ("byte-order mark mid-file", TATE, tate("name_en: \ufeffTate\ncity_id: paris\n"), {(TATE, 2, "bom-in-file")}),
    ("control character", TATE, tate("name_en: \"Ta\x07te\"\ncity_id: paris\n"),
     {(TATE, 2, "control-character")}),
    ("empty file", TATE, "", {(TATE, 1, "empty-file")}),
    ("only comments", TATE, "# to do\n", {(TATE, 1, "empty-file")}),
    ("top level is a list", TATE, "- id: tate\n", {(TATE, 1, "not-a-mapping")}),
    ("top level is a scalar", TATE, "tate\n", {(TATE, 1, "not-a-mapping")}),
    ("complex key", TATE, tate("name_en: Tate\ncity_id: paris\n? [a, b]\n: c\n"), {(TATE, 4, "complex-key")}),
    ("syntax error", TATE, "id: tate\nname_en: [Tate\n", {(TATE, 3, "yaml-syntax")}),
    ("unknown key (typo)", TATE, tate("name_en: Tate\ncity_id: paris\nvistors: 10\n"),
     {(TATE, 4, "unknown-field")}),
    ("unknown key in a child entry", TATE, tate("name_en: Tate\ncity_id: paris\nnames:\n  - langauge: en\n"
                                                "    name: Tate\n"),
     {(TATE, 5, "unknown-field"), (TATE, 5, "constraint-error")}),
    ("id differs from the file name", TATE, "id: tate-modern\nname_en: Tate\ncity_id: paris\n" + CITED,
     {(TATE, 1, "id-mismatch")}),
    ("id missing", TATE, "name_en: Tate\ncity_id: paris\n" + CITED,
     {(TATE, 1, "id-mismatch")}),
    ("file too large", TATE, tate("name_en: Tate\ncity_id: paris\n") + "# " + "x" * 1_000_000 + "\n",
     {(TATE, 0, "file-too-large")}),
    ("nesting too deep", TATE, tate("name_en: Tate\ncity_id: paris\ntopics: [[[[[[[[[x]]]]]]]]]\n"),
     {(TATE, 4, "too-deep"), (TATE, 4, "type-error")}),
    ("a value typed where the loader fills it", TATE,
     tate("name_en: Tate\ncity_id: paris\nnames:\n  - museum_id: louvre\n    language: en\n    name: Tate\n"),
     {(TATE, 5, "filled-field")}),
    ("a child list that is not a list", TATE, tate("name_en: Tate\ncity_id: paris\nnames: Tate\n"),
     {(TATE, 4, "not-a-list")}),
    ("a child item that is not a mapping", TATE, tate("name_en: Tate\ncity_id: paris\nnames:\n  - Tate\n"),
     {(TATE, 5, "not-a-mapping")}),
    ("a mapping where a value belongs", TATE, tate("name_en:\n  en: Tate\ncity_id: paris\n"),
     {(TATE, 2, "type-error")}),
    ("records in a folder without a schema", "datapackage/musems/tate.yaml", "id: tate\n",
     {("datapackage/musems", 0, "unknown-resource")}),
    ("a record with the wrong extension", "datapackage/museums/tate.yml", "id: tate\n",
     {("datapackage/museums/tate.yml", 0, "wrong-extension")}),
    # --- types, stricter than frictionless' defaults ---------------------------------------------------------
    ("integer with underscore", TATE, tate("name_en: Tate\ncity_id: paris\nvisitors: 1_000\n"),
     {(TATE, 4, "type-error"), (TATE, 4, "uncited-fact")}),
    ("integer with a leading zero", "datapackage/cities/oslo.yaml",
     "id: oslo\nname_en: Oslo\ncountry: NO\npopulation: 007\n", {("datapackage/cities/oslo.yaml", 4, "type-error")}),
    ("integer in non-ASCII digits", "datapackage/cities/oslo.yaml",
     "id: oslo\nname_en: Oslo\ncountry: NO\npopulation: ١٢٣\n", {("datapackage/cities/oslo.yaml", 4, "type-error")}),
    ("integer with an exponent", "datapackage/cities/oslo.yaml",
     "id: oslo\nname_en: Oslo\ncountry: NO\npopulation: 1.568e9\n",
     {("datapackage/cities/oslo.yaml", 4, "type-error")}),
    ("number NaN", TATE, tate("name_en: Tate\ncity_id: paris\nbudget: NaN\n"), {(TATE, 4, "type-error")}),
    ("number Infinity", TATE, tate("name_en: Tate\ncity_id: paris\nbudget: -Infinity\n"), {(TATE, 4, "type-error")}),
    ("number with a thousands separator", TATE, tate("name_en: Tate\ncity_id: paris\nbudget: 1,500\n"),
     {(TATE, 4, "type-error")}),
    ("date without leading zeros", TATE, tate("name_en: Tate\ncity_id: paris\nopened: 2000-5-1\n"),
     {(TATE, 4, "type-error")}),
    ("date without dashes", TATE, tate("name_en: Tate\ncity_id: paris\nopened: 20000511\n"),
     {(TATE, 4, "type-error")}),
    ("date not in the calendar", TATE, tate("name_en: Tate\ncity_id: paris\nopened: 2000-02-30\n"),
     {(TATE, 4, "type-error")}),
    ("partial date with month 13", TATE, tate("name_en: Tate\ncity_id: paris\nfounded: 2000-13\n"),
     {(TATE, 4, "type-error"), (TATE, 4, "uncited-fact")}),
    ("partial date in words", TATE, tate("name_en: Tate\ncity_id: paris\nfounded: May 2000\n"),
     {(TATE, 4, "type-error"), (TATE, 4, "uncited-fact")}),
    ("boolean written as NO", TATE, tate("name_en: Tate\ncity_id: paris\nfree_entry: NO\n"),
     {(TATE, 4, "type-error")}),
    ("array written as a mapping", TATE, tate("name_en: Tate\ncity_id: paris\ntopics:\n  art: yes\n"),
     {(TATE, 4, "type-error")}),
    # --- constraints -----------------------------------------------------------------------------------------
    ("required field missing", TATE, tate("city_id: paris\n"), {(TATE, 1, "constraint-error")}),
    ("required field only whitespace", TATE, tate("name_en: '   '\ncity_id: paris\n"),
     {(TATE, 2, "constraint-error")}),
    ("enum", TATE, tate("name_en: Tate\ncity_id: paris\nkind: painting\n"), {(TATE, 4, "constraint-error")}),
    ("pattern", "datapackage/cities/oslo.yaml", "id: oslo\nname_en: Oslo\ncountry: no\n",
     {("datapackage/cities/oslo.yaml", 3, "constraint-error")}),
    ("a 12-digit code typed with too few digits stays text", TATE,
     tate("name_en: Tate\ncity_id: paris\nregistry_code: 012345\n"), {(TATE, 4, "constraint-error")}),
    ("minimum", "datapackage/cities/oslo.yaml", "id: oslo\nname_en: Oslo\ncountry: NO\npopulation: -5\n",
     {("datapackage/cities/oslo.yaml", 4, "constraint-error")}),
    ("maximum length", TATE, tate(f"name_en: {'T' * 81}\ncity_id: paris\n"), {(TATE, 2, "constraint-error")}),
    ("unique", TATE, tate("name_en: Tate\ncity_id: paris\nregistry_code: '050540004455'\n"),
     {(TATE, 4, "unique-error")}),
    ("foreign key", TATE, tate("name_en: Tate\ncity_id: london\n"), {(TATE, 3, "foreign-key")}),
    ("foreign key in a child table", TATE,
     "id: tate\nname_en: Tate\ncity_id: paris\ncitations:\n  - field: city_id\n    source_id: nowhere\n"
     "    locator: p. 1\n", {(TATE, 6, "foreign-key")}),
    ("formula in text", TATE, tate("name_en: '=HYPERLINK(\"http://x\")'\ncity_id: paris\n"),
     {(TATE, 2, "formula-injection")}),
    ("tab inside text", TATE, tate("name_en: \"Tate\\tModern\"\ncity_id: paris\n"),
     {(TATE, 2, "formula-injection")}),
    # --- citations -------------------------------------------------------------------------------------------
    ("uncited fact", TATE, tate("name_en: Tate\ncity_id: paris\nvisitors: 10\n"), {(TATE, 4, "uncited-fact")}),
    ("citation of a field the table lacks", TATE,
     tate("name_en: Tate\ncity_id: paris\n") + "  - field: vistors\n    source_id: guide-2024\n    locator: p. 2\n",
     {(TATE, 8, "citation-unknown-field")}),
]


@pytest.mark.parametrize(("case", "relative", "content", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_mistake_is_reported_where_it_was_made(museums, case, relative, content, expected):
    write(museums, relative, content)
    report = validate.report(museums)
    assert {(p.path, p.line, p.code) for p in report.problems} == expected


def test_the_table_covers_at_least_forty_mistakes():
    assert len(CASES) >= 40


def test_values_reach_the_schema_exactly_as_typed(museums):
    write(museums, "datapackage/cities/oslo.yaml", "id: oslo\nname_en: NO\ncountry: 'NO'\npopulation: 700000\n")
    write(museums, TATE, tate("name_en: 1:20\ncity_id: paris\nregistry_code: 000000000001\nfounded: 2025\n"
                              "budget: 1.568e9\n")
          + "  - field: founded\n    source_id: guide-2024\n    locator: p. 2\n")
    result = validate.rows(museums)
    assert result.report.problems == []
    tate_row = result.tables["museums"].rows[-1]
    spec = result.package.resources["museums"]
    as_typed = dict(zip(spec.field_names, tate_row, strict=True))
    assert (as_typed["name_en"], as_typed["registry_code"], as_typed["founded"], as_typed["budget"]) == (
        "1:20", "000000000001", "2025", "1.568e9")
    oslo = dict(zip(result.package.resources["cities"].field_names, result.tables["cities"].rows[1], strict=True))
    assert oslo["name_en"] == "NO"


def test_each_problem_says_record_field_found_and_expected(museums):
    write(museums, TATE, tate("name_en: Tate\ncity_id: paris\nkind: painting\n"))
    [problem] = validate.report(museums).problems
    assert (problem.resource, problem.record_id, problem.field, problem.found) == ("museums", "tate", "kind",
                                                                                   "painting")
    assert problem.expected == "one of art, history, science"
    assert problem.column == 7


def test_child_lists_may_come_before_the_fields_they_link_to(museums):
    """The link from a child row to its record is the record's key, wherever in the file the key is written."""
    write(museums, TATE, "citations:\n  - field: city_id\n    source_id: guide-2024\n    locator: p. 1\n"
                         "names:\n  - language: en\n    name: Tate\nid: tate\nname_en: Tate\ncity_id: paris\n")
    result = validate.rows(museums)
    assert result.report.problems == []
    names = result.tables["museum_names"]
    assert ("tate", "1", "en", "Tate") in {tuple(row) for row in names.rows}


def test_a_wrong_id_is_one_error_not_one_per_reference(museums):
    """Records that refer to a city by its file name still find it when the city's id: line is mistyped."""
    write(museums, "datapackage/cities/paris.yaml", "id: pariss\nname_en: Paris\ncountry: FR\n")
    problems = validate.report(museums).problems
    assert [(p.path, p.line, p.code) for p in problems] == [("datapackage/cities/paris.yaml", 1, "id-mismatch")]


def test_yaml_problems_name_their_resource_and_record(museums):
    write(museums, TATE, "id: tate\nname_en: Tate\nname_en: Tate Modern\n")
    [problem] = validate.report(museums).problems
    assert (problem.code, problem.resource, problem.record_id) == ("duplicate-key", "museums", "tate")
