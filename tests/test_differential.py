"""Frictionless stays the authority: Broadsheet's fast path (frictionless only on the rows it cannot vouch for,
keys reproduced in plain Python, the plain-lines reader, workers) must report exactly what the reference path
(`validate.REFERENCE`: no accelerator, frictionless on every row) reports —
the same problems at the same file:line:column with the same words.

Two sources of inputs: every case of the bad-input table, and random records from hypothesis, which mixes valid
values with near misses of every type and constraint the fast path claims to reproduce.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet import validate
from broadsheet.layout import Layout
from broadsheet.records import decode_record, parse_text
from broadsheet.speed import plainlines
from broadsheet.speed.workers import PARALLEL_FROM
from conftest import FIXTURES, write
from test_validate_bad_inputs import CASES


def problems(layout: Layout, speed: validate.Speed = validate.FAST, rows: bool = False) -> list[tuple]:
    report = validate.rows(layout, speed).report if rows else validate.report(layout, speed)
    return sorted((p.path, p.line, p.column, p.code, p.field, p.message, p.found, p.expected, p.hint)
                  for p in report.problems)


@pytest.mark.parametrize(("case", "relative", "content", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fast_path_reports_what_frictionless_reports(museums, case, relative, content, expected):
    write(museums, relative, content)
    reference = problems(museums, validate.REFERENCE)
    assert {(path, line, code) for path, line, _c, code, *_ in reference} == expected  # the reference is right
    assert problems(museums) == reference
    assert problems(museums, validate.CACHED, rows=True) == reference  # cold cache
    assert problems(museums, validate.CACHED, rows=True) == reference  # warm cache
    assert problems(museums, validate.CACHED) == reference  # the incremental index, when it may answer


# --- random records ----------------------------------------------------------------------------------------
# A record is valid except, sometimes, for one field: then that field's value alone decides the verdict, which
# is what catches a fast path that vouches for a value frictionless rejects.

TOKENS = [*"aZ 0-=+@é\tЖқ中,.'", "Алматы", "卢浮宫", "Tate"]
TEXT = st.lists(st.sampled_from(TOKENS), max_size=6).map("".join)
NAME = st.lists(st.sampled_from(["Tate", "Жаңа", "卢浮宫", "museum", " ", "d'Orsay"]), min_size=1, max_size=4).map(
    " ".join)
VALID = {
    "name_en": NAME,
    "city_id": st.sampled_from(["paris", "almaty"]),
    "kind": st.sampled_from(["art", "history", "science"]),
    "founded": st.sampled_from(["2025", "2025-05", "2024-02-29", "1793-08"]),
    "opened": st.dates().map(str),
    "visitors": st.integers(0, 2_000_000).map(str),
    "budget": st.decimals(0, 1e9, allow_nan=False, places=2).map(str),
    "free_entry": st.sampled_from(["true", "false", "True", "FALSE", "1", "0"]),
    "topics": st.lists(NAME, max_size=3),
    "registry_code": st.sampled_from(["000000000001", "000000000002", "000000000003"]),
}
NEAR_MISSES = {
    "name_en": st.one_of(TEXT, st.text(min_size=79, max_size=82, alphabet="Tt"), st.sampled_from(["", "   "])),
    "city_id": st.sampled_from(["london", "Paris", "paris ", ""]),
    "kind": st.sampled_from(["painting", "Art", "art ", ""]),
    "founded": st.sampled_from(["2025-13", "2025-02-29", "May 2000", "99", "2025-5", "20250521", "2025-05-32"]),
    "opened": st.sampled_from(["2000-02-30", "2000-5-1", "20000511", "2023-02-29", "0000-01-01", "2025", "x"]),
    "visitors": st.sampled_from(["007", "1_000", "1.5", "1e3", "+5", "١٢٣", "-0", "-5", "NaN", "10 000"]),
    "budget": st.sampled_from(["1.5e8", "NaN", "-Infinity", "1,500", ".5", "5.", "1E3", "-0.5", "0x10", "1e400"]),
    "free_entry": st.sampled_from(["NO", "yes", "on", "t", "TRUE ", "2"]),
    "topics": st.lists(st.sampled_from(["", "~", "=x"]), min_size=1, max_size=2),
    "registry_code": st.sampled_from(["050540004455", "012345", "12345678901x", "0000000000011"]),
}
NAMES = st.lists(st.fixed_dictionaries({"language": st.sampled_from(["en", "kk", "zh-Hans"]), "name": NAME}),
                 max_size=2)
CITATIONS = st.lists(st.fixed_dictionaries({
    "field": st.sampled_from(["city_id", "founded", "visitors", "names"]), "source_id": st.just("guide-2024"),
    "locator": NAME}), max_size=3)
CHILD_MISSES = st.sampled_from([("names", [{"language": "EN", "name": "x"}]), ("names", [{"language": "en"}]),
                                ("citations", [{"field": "vistors", "source_id": "guide-2024", "locator": "p"}]),
                                ("citations", [{"field": "city_id", "source_id": "nowhere", "locator": "p"}])])
MISS = st.one_of(st.none(), CHILD_MISSES, st.sampled_from(sorted(NEAR_MISSES)).flatmap(
    lambda name: st.tuples(st.just(name), NEAR_MISSES[name])))


@st.composite
def records(draw: st.DrawFn) -> dict:
    record = draw(st.fixed_dictionaries({}, optional={**VALID, "names": NAMES, "citations": CITATIONS}))
    miss = draw(MISS)
    if miss is not None:
        record[miss[0]] = miss[1]
    return record


def yaml_record(record_id: str, record: dict) -> str:
    """Every value double-quoted (JSON string syntax is valid YAML), so the text reaches validation unchanged."""
    lines = [f"id: {record_id}"]
    for key, value in record.items():
        if isinstance(value, str):
            lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
        elif key == "topics":
            lines.append(f"{key}: [{', '.join(json.dumps(v, ensure_ascii=False) for v in value)}]")
        else:
            lines.append(f"{key}:")
            for entry in value:
                body = [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items()] or ["locator: ~"]
                lines += [f"  - {body[0]}", *(f"    {line}" for line in body[1:])]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(many=st.lists(records(), min_size=1, max_size=4))
def test_random_records_get_the_same_verdict_both_ways(tmp_path_factory, many):
    root = Path(tmp_path_factory.mktemp("random")) / "museums"
    shutil.copytree(FIXTURES / "museums", root)
    layout = Layout(root)
    for number, record in enumerate(many):
        write(layout, f"datapackage/museums/m{number}.yaml", yaml_record(f"m{number}", record))
    assert problems(layout) == problems(layout, validate.REFERENCE)


# --- the plain-lines reader reads what the exact reader reads ------------------------------------------------

def exact_and_plain(layout: Layout, relative: str) -> tuple[object, object | None]:
    """(the exact reader's Entry tree, the plain-lines reader's or None when it declines). Where the plain reader
    answers, the exact reader must find no problem and the same tree: the one row builder does the rest."""
    text, failed = decode_record((layout.root / relative).read_bytes(), relative)
    if text is None:
        assert failed is not None and failed.problems  # a file-level problem: no reader gets to it
        return failed, None
    exact = parse_text(text, relative)
    plain = plainlines.read(text)
    if plain is not None:
        assert exact.problems == [], relative
    return exact.entry, plain


def test_plain_reader_on_the_fixture_and_generated_records(museums, tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from generate import generate

    synthetic = Layout(generate(tmp_path / "synthetic", 200))
    flagship = Layout(Path(__file__).parent.parent)  # hand-written records: block scalars, quotes, comments
    read_by_lines = 0
    for layout in (museums, synthetic, flagship):
        for path in sorted(layout.data_dir.glob("*/*.yaml")):
            exact, plain = exact_and_plain(layout, layout.relative(path))
            assert plain in (None, exact), path
            read_by_lines += plain is not None
    assert read_by_lines >= 200  # the plain-lines reader is the one that runs on ordinary records


RECORD_CASES = [c for c in CASES if c[1].endswith(".yaml") and c[1].split("/")[1] in ("museums", "cities")]


@pytest.mark.parametrize(("case", "relative", "content", "expected"), RECORD_CASES, ids=[c[0] for c in RECORD_CASES])
def test_plain_reader_on_every_bad_record(museums, case, relative, content, expected):
    """Every bad input that is a record file (the two that are not, a folder without a schema and a wrong
    extension, never reach a reader)."""
    write(museums, relative, content)
    exact, plain = exact_and_plain(museums, relative)
    assert plain in (None, exact)
    if any(code not in ROW_CODES for _path, _line, code in expected):
        assert plain is None  # a reading problem: only the exact reader may say what it is


# problems found before reading (the size) or from the rows: the plain reader may read such a file
ROW_CODES = {"file-too-large", "unknown-field", "filled-field", "not-a-list", "not-a-mapping", "id-mismatch",
             "type-error",
             "constraint-error", "unique-error", "primary-key", "foreign-key", "formula-injection", "uncited-fact",
             "citation-unknown-field", "number-limit", "invisible-character", "not-nfc", "multiline-text",
             "surrounding-whitespace", "missing-value-word"}


LINE_VALUES = st.one_of(TEXT, NAME, st.sampled_from(
    ["a: b", "a:", "a #b", "a#b", "-5", "- x", "'q'", '"d"', "x ", " x", "[a]", "{a: 1}", "~", "null", "NO", "1:20",
     "ä", "中文: x", "a\\b", "#x", "%x", "@x", "`x", "|", ">", "!x", "&a", "*a", "?x", ":x", "a,b", "a, b"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(st.sampled_from(["name_en", "kind", "founded", "visitors", "topics", "names"]),
                                 LINE_VALUES, st.sampled_from(["plain", "double", "single", "flow", "block"])),
                       max_size=5))
def test_plain_reader_on_random_lines(tmp_path_factory, values):
    """Values written plain, quoted, in a flow list or as a block list: the plain reader agrees with the exact one."""
    root = Path(tmp_path_factory.mktemp("lines")) / "museums"
    shutil.copytree(FIXTURES / "museums", root)
    layout = Layout(root)
    lines = ["id: m1"]
    for key, value, style in values:
        if style == "plain":
            lines.append(f"{key}: {value}")
        elif style == "double":
            lines.append(f'{key}: "{value}"')
        elif style == "single":
            lines.append(f"{key}: '{value}'")
        elif style == "flow":
            lines.append(f"{key}: [{value}, {value}]")
        else:
            lines += [f"{key}:", f"  - language: {value}", f"    name: {value}"]
    write(layout, "datapackage/museums/m1.yaml", "\n".join(lines) + "\n")
    exact, plain = exact_and_plain(layout, "datapackage/museums/m1.yaml")
    assert plain in (None, exact)


KEY_CHARACTERS = st.sampled_from([*"aZ_-. 0:#'\"", "end-type", "x-", "-x", "a -b", "a- b"])


@settings(max_examples=300, deadline=None)
@given(keys=st.lists(st.lists(KEY_CHARACTERS, min_size=1, max_size=4).map("".join), min_size=1, max_size=4),
       value=LINE_VALUES)
def test_plain_reader_on_hyphenated_and_odd_keys(keys, value):
    """Field names Frictionless allows (hyphens, capitals, spaces, dots) as keys, in a record and in a list
    entry: the plain reader agrees with the exact one, or leaves the file to it."""
    text = "\n".join([*(f"{key}: {value}" for key in keys), "list-key:", *(f"  - {key}: {value}" for key in keys)])
    exact = parse_text(text + "\n", "x.yaml")
    plain = plainlines.read(text + "\n")
    assert plain is None or (not exact.problems and plain == exact.entry)


def test_plain_reader_on_the_layout_fixtures():
    for name in ("assembly", "roster"):
        for path in sorted((FIXTURES / name / "datapackage").rglob("*.y*ml")):
            text, _failed = decode_record(path.read_bytes(), path.name)
            assert text is not None
            plain = plainlines.read(text)
            if plain is not None:
                assert plain == parse_text(text, path.name).entry


def test_worker_processes_build_what_one_process_builds(tmp_path):
    """Enough files for the parallel path; some broken, so problems make the trip from the workers too."""
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from generate import generate

    layout = Layout(generate(tmp_path / "synthetic", PARALLEL_FROM + 100))
    write(layout, "datapackage/plants/plant-3.yaml", "id: plant-3\nname_en: X\nsector: toys\njobs: 1_000\n")
    write(layout, "datapackage/plants/plant-4.yaml", "id: plant-4\nname_en: [unclosed\n")
    write(layout, "datapackage/orgs/org-5.yaml", "id: org-5\nname_en: Y\ncountry: KZ\nbin: '000000000001'\n")
    one, many = validate.rows(layout, validate.Speed(workers=1)), validate.rows(layout, validate.Speed(workers=2))
    assert many.report.problems == one.report.problems
    assert {(p.path, p.line, p.code) for p in one.report.problems} >= {
        ("datapackage/plants/plant-3.yaml", 3, "constraint-error"),
        ("datapackage/plants/plant-3.yaml", 4, "type-error"),
        ("datapackage/plants/plant-4.yaml", 2, "yaml-syntax"),  # where the bracket opens
        ("datapackage/orgs/org-5.yaml", 4, "unique-error")}
    for name in one.package.resources:
        assert many.tables[name].rows == one.tables[name].rows
        assert many.tables[name].origins == one.tables[name].origins
