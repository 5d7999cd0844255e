"""Every kind of mistake a curator can make, each with the exact (path, line, code) Broadsheet must report.

Each case writes one file into a fresh copy of the museums fixture (which is valid on its own) and expects
exactly the listed problems: nothing missing, nothing extra.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

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
    ("syntax error", TATE, "id: tate\nname_en: [Tate\n", {(TATE, 2, "yaml-syntax")}),
    # --- lines as git and GitHub count them (a line ends at LF) ------------------------------------------------
    ("lone carriage return", TATE, b"id: tate\rname_en: Tate\ncity_id: paris\nkind: painting\n",
     {(TATE, 1, "stray-line-break")}),
    ("line separator U+2028 in a plain value", TATE, tate("name_en: Ta\u2028te\ncity_id: paris\nkind: painting\n"),
     {(TATE, 2, "stray-line-break")}),
    ("paragraph separator U+2029 in a quoted value", TATE,
     tate("name_en: \"Ta\u2029te\"\ncity_id: paris\nkind: painting\n"), {(TATE, 2, "stray-line-break")}),
    ("an error after CRLF line ends is on its own line", TATE,
     tate("name_en: Tate\ncity_id: paris\nkind: painting\n").replace("\n", "\r\n"), {(TATE, 4, "constraint-error")}),
    ("unclosed double quote", TATE, "id: tate\nname_en: \"Tate\ncity_id: paris\nkind: art\n",
     {(TATE, 2, "yaml-syntax")}),
    ("unclosed single quote", TATE, "id: tate\nname_en: 'Tate\ncity_id: paris\nkind: art\n",
     {(TATE, 2, "yaml-syntax")}),
    ("unclosed list mid-file", TATE, "id: tate\nname_en: Tate\ntopics: [art\ncity_id: paris\n",
     {(TATE, 3, "yaml-syntax")}),
    ("a key without its colon", TATE, "id: tate\nname_en Tate\ncity_id: paris\n", {(TATE, 2, "yaml-syntax")}),
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
    # --- numbers within the documented limits (docs/dataset-format.md, "Numbers") -----------------------------
    ("number with a huge exponent", TATE, tate("name_en: Tate\ncity_id: paris\nbudget: 1e9999999\n"),
     {(TATE, 4, "number-limit")}),
    ("number beyond the magnitude limit", TATE, tate("name_en: Tate\ncity_id: paris\nbudget: 1e5000\n"),
     {(TATE, 4, "number-limit")}),
    ("number of 19 integral digits", TATE,
     tate("name_en: Tate\ncity_id: paris\nbudget: 1234567890123456789\n"), {(TATE, 4, "number-limit")}),
    ("number with 16 significant digits", TATE,
     tate("name_en: Tate\ncity_id: paris\nbudget: 0.1234567890123456\n"), {(TATE, 4, "number-limit")}),
    ("number too small to store", TATE, tate("name_en: Tate\ncity_id: paris\nbudget: 1e-400\n"),
     {(TATE, 4, "number-limit")}),
    ("integer of 4,301 digits", "datapackage/cities/oslo.yaml",
     "id: oslo\nname_en: Oslo\ncountry: NO\npopulation: " + "1" * 4301 + "\n",
     {("datapackage/cities/oslo.yaml", 4, "number-limit")}),
    ("integer of 19 digits", "datapackage/cities/oslo.yaml",
     "id: oslo\nname_en: Oslo\ncountry: NO\npopulation: 1234567890123456789\n",
     {("datapackage/cities/oslo.yaml", 4, "number-limit")}),
    # --- text as decoded from its escapes ------------------------------------------------------------------------
    ("NUL from an escape", TATE, tate("name_en: \"Ta\\0te\"\ncity_id: paris\n"), {(TATE, 2, "control-character")}),
    ("bell from an escape", TATE, tate("name_en: \"Ta\\ate\"\ncity_id: paris\n"), {(TATE, 2, "control-character")}),
    ("zero-width space from an escape", TATE, tate("name_en: \"Ta\\u200bte\"\ncity_id: paris\n"),
     {(TATE, 2, "invisible-character")}),
    ("line separator from an escape", TATE, tate("name_en: \"Ta\\u2028te\"\ncity_id: paris\n"),
     {(TATE, 2, "invisible-character")}),
    ("right-to-left override from an escape", TATE, tate("name_en: \"Ta\\u202ete\"\ncity_id: paris\n"),
     {(TATE, 2, "invisible-character")}),
    ("accent as a combining mark (NFD)", TATE, tate("name_en: Muse\u0301e\ncity_id: paris\n"),
     {(TATE, 2, "not-nfc")}),
    ("newline from a block scalar", TATE, tate("name_en: |\n  Tate\n  Modern\ncity_id: paris\n"),
     {(TATE, 2, "multiline-text")}),
    ("newline from an escape", TATE, tate("name_en: \"Tate\\nModern\"\ncity_id: paris\n"),
     {(TATE, 2, "multiline-text")}),
    ("newline in a child list's text", TATE,
     tate("name_en: Tate\ncity_id: paris\nnames:\n  - language: en\n    name: \"Tate\\nModern\"\n"),
     {(TATE, 6, "multiline-text")}),
    ("leading space", TATE, tate("name_en: ' Tate'\ncity_id: paris\n"), {(TATE, 2, "surrounding-whitespace")}),
    ("trailing space", TATE, tate("name_en: 'Tate '\ncity_id: paris\n"), {(TATE, 2, "surrounding-whitespace")}),
    ("trailing no-break space", TATE, tate("name_en: \"Tate\\u00a0\"\ncity_id: paris\n"),
     {(TATE, 2, "surrounding-whitespace")}),
    # --- missing-value words -----------------------------------------------------------------------------------
    ("NA in a required text field", TATE, tate("name_en: NA\ncity_id: paris\n"), {(TATE, 2, "missing-value-word")}),
    ("N/A in a required text field", TATE, tate("name_en: N/A\ncity_id: paris\n"),
     {(TATE, 2, "missing-value-word")}),
    ("#N/A in a required text field", TATE, tate("name_en: '#N/A'\ncity_id: paris\n"),
     {(TATE, 2, "missing-value-word")}),
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


# --- files outside the repository ------------------------------------------------------------------------------
# A record file or folder that is a symbolic link is a located error wherever it points, and what it points to
# is never read: not printed in a problem, not published. (case, link inside the repository, what it points to,
# expected problems). Targets: "secret" a host file outside the repository, "record" valid YAML outside it,
# "inside" another record of the repository, "fifo" a named pipe (a read would wait forever), "folder" a folder
# of valid records outside the repository.
SECRET = "root:x:0:0:SECRET-LINE-NEVER-SHOWN"
LINK_CASES: list[tuple[str, str, str, set[tuple[str, int, str]]]] = [
    ("record linked to a host file", TATE, "secret", {(TATE, 0, "symlink")}),
    ("record linked to YAML outside the repository", TATE, "record", {(TATE, 0, "symlink")}),
    ("record moved outside the repository and linked", TATE, "moved", {(TATE, 0, "symlink")}),
    ("record linked to another record", "datapackage/cities/lyon.yaml", "inside",
     {("datapackage/cities/lyon.yaml", 0, "symlink")}),
    ("record linked to a named pipe", TATE, "fifo", {(TATE, 0, "symlink")}),
    ("record folder linked outside the repository", "datapackage/sources", "folder",
     {("datapackage/sources", 0, "symlink"), ("datapackage/museums/central-state.yaml", 13, "foreign-key"),
      ("datapackage/museums/central-state.yaml", 16, "foreign-key"),
      ("datapackage/museums/louvre.yaml", 19, "foreign-key"), ("datapackage/museums/louvre.yaml", 22, "foreign-key"),
      ("datapackage/museums/louvre.yaml", 25, "foreign-key")}),
]


@pytest.mark.parametrize(("case", "relative", "target", "expected"), LINK_CASES, ids=[c[0] for c in LINK_CASES])
@pytest.mark.parametrize("cached", [False, True], ids=["cold", "cached"])
def test_a_link_is_an_error_and_its_target_is_never_read(museums, tmp_path, case, relative, target, expected,
                                                         cached):
    from broadsheet.report import render_json, render_text

    outside = tmp_path / "outside"
    outside.mkdir()
    if target == "secret":
        (outside / "passwd").write_text(SECRET + "\n", encoding="utf-8")
        points_to = outside / "passwd"
    elif target == "record":
        (outside / "tate.yaml").write_text(tate(f"name_en: {SECRET}\ncity_id: paris\n"), encoding="utf-8")
        points_to = outside / "tate.yaml"
    elif target == "moved":  # the same bytes as the cached record: only the link itself tells them apart
        write(museums, TATE, tate("name_en: Tate\ncity_id: paris\n"))
        points_to = outside / "tate.yaml"
    elif target == "inside":
        points_to = museums.root / "datapackage/cities/paris.yaml"
    elif target == "fifo":
        os.mkfifo(outside / "pipe")
        points_to = outside / "pipe"
    else:
        shutil.copytree(museums.root / relative, outside / "sources")
        (outside / "sources" / "guide-2024.yaml").write_text(
            f"id: guide-2024\ntitle: {SECRET}\n", encoding="utf-8")
        shutil.rmtree(museums.root / relative)
        points_to = outside / "sources"
    if cached:
        validate.report(museums, validate.CACHED)  # the index and cache know the folder as it was
    link = museums.root / relative
    if target == "moved":
        link.rename(points_to)
    link.unlink(missing_ok=True)
    link.symlink_to(points_to)
    report = validate.report(museums, validate.CACHED if cached else validate.FAST)
    assert {(p.path, p.line, p.code) for p in report.problems} == expected
    for shown in (render_text(report), render_json(report)):
        assert "SECRET" not in shown and str(outside) not in shown


def test_fmt_neither_reads_nor_replaces_a_linked_record(museums, tmp_path):
    secret = tmp_path / "passwd"
    secret.write_text(f"id: tate\nname_en:   {SECRET}\ncity_id: paris\n", encoding="utf-8")
    link = museums.root / TATE
    link.symlink_to(secret)
    run = subprocess.run([sys.executable, "-m", "broadsheet", "fmt", "--root", str(museums.root)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert f"{TATE}: error[symlink]" in run.stderr
    assert "SECRET" not in run.stdout + run.stderr
    assert link.is_symlink() and secret.read_text(encoding="utf-8").startswith("id: tate\nname_en:   ")


# --- per-field policies (docs/dataset-format.md, Field properties) -----------------------------------------------
# (case, the field property added to museums.name_en, the value, expected problems). The same value is refused
# without the property (the CASES above and the first rows here show it).
POLICY_CASES = [
    ("an E.164 phone number is formula text by default", "", "'+4412345678'", {(TATE, 2, "formula-injection")}),
    ("x-allow-formula-start lets a field start with +", "x-allow-formula-start: true", "'+4412345678'", set()),
    ("x-allow-formula-start still refuses a tab", "x-allow-formula-start: true", '"+44\\t12"',
     {(TATE, 2, "formula-injection")}),
    ("x-multiline lets a field hold line breaks", "x-multiline: true", "|-\n  Tate\n  Modern", set()),
    ("x-multiline still refuses a trailing line break", "x-multiline: true", "|\n  Tate\n  Modern",
     {(TATE, 2, "surrounding-whitespace")}),
    ("x-allow-missing-words lets a field hold NA", "x-allow-missing-words: true", "NA", set()),
]


@pytest.mark.parametrize(("case", "prop", "value", "expected"), POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_a_field_property_sets_the_policy(museums, case, prop, value, expected):
    schema = museums.root / "schemas/museums.yaml"
    text = schema.read_text(encoding="utf-8")
    if prop:
        text = text.replace("    x-label: true\n", f"    x-label: true\n    {prop}\n", 1)
    schema.write_text(text.replace("constraints: {required: true, maxLength: 80}",
                                   "constraints: {required: true, maxLength: 80, pattern: '[^=@]*'}"),
                      encoding="utf-8")
    write(museums, TATE, tate(f"name_en: {value}\ncity_id: paris\n"))
    assert {(p.path, p.line, p.code) for p in validate.report(museums).problems} == expected
    assert {(p.path, p.line, p.code) for p in validate.report(museums, validate.REFERENCE).problems} == expected


def test_a_control_character_is_shown_escaped_never_raw(museums):
    write(museums, TATE, tate('name_en: "Ta\\u202ete\\u0007"\ncity_id: paris\n'))
    [problem] = validate.report(museums).problems
    assert (problem.code, problem.found) == ("control-character", "Ta\\u202ete\\x07")


# --- the guard against mass deletion (docs/dataset-format.md) ---------------------------------------------------
# (case, museums deleted, commit message of the change (None: left uncommitted), max-deleted-share (None: the
# default 0.5), expected problems). The fixture has two museums; the base is main's last commit.
DELETION_CASES = [
    ("every record of a resource deleted", ["louvre", "central-state"], "Remove museums", None,
     {("datapackage/museums", 0, "mass-deletion")}),
    ("every record deleted, not yet committed", ["louvre", "central-state"], None, None,
     {("datapackage/museums", 0, "mass-deletion")}),
    ("half the records deleted is within the default share", ["louvre"], "Remove the Louvre", None, set()),
    ("the change says the deletion is intended", ["louvre", "central-state"],
     "Remove museums\n\nDeletes-records: museums\n", None, set()),
    ("the change names another resource", ["louvre", "central-state"], "Remove\n\nDeletes-records: cities\n", None,
     {("datapackage/museums", 0, "mass-deletion")}),
    ("a stricter share", ["louvre"], "Remove the Louvre", 0.25, {("datapackage/museums", 0, "mass-deletion")}),
    ("the guard turned off", ["louvre", "central-state"], "Remove museums", 1, set()),
]


@pytest.mark.parametrize(("case", "deleted", "message", "share", "expected"), DELETION_CASES,
                         ids=[c[0] for c in DELETION_CASES])
def test_a_mass_deletion_fails_unless_the_change_says_so(museums, case, deleted, message, share, expected):
    import json

    root = museums.root
    if share is not None:
        descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
        descriptor["x-broadsheet"] = {"max-deleted-share": share}
        (root / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")

    def git(*args: str) -> None:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=root,
                       check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", "-A")
    git("commit", "-q", "-m", "The museums")
    git("checkout", "-q", "-b", "change")
    for record in deleted:
        (root / f"datapackage/museums/{record}.yaml").unlink()
    if message is not None:
        git("commit", "-q", "-a", "-m", message)
    run = subprocess.run([sys.executable, "-m", "broadsheet", "validate", "--root", str(root), "--format", "json"],
                         capture_output=True, text=True, timeout=120)
    problems = json.loads(run.stdout)["problems"]
    assert {(p["path"], p["line"], p["code"]) for p in problems} == expected
    assert run.returncode == (1 if expected else 0)


def test_a_long_rejected_value_is_shown_by_its_start_and_length(museums):
    write(museums, "datapackage/cities/oslo.yaml",
          "id: oslo\nname_en: Oslo\ncountry: NO\npopulation: " + "1" * 4301 + "\n")
    [problem] = validate.report(museums).problems
    assert (problem.code, problem.found) == ("number-limit", "1" * 60 + "… (4301 characters)")
    assert len(problem.message) < 120
