"""Frictionless stays the authority: Broadsheet's fast path (frictionless only on the rows it cannot vouch for,
keys reproduced in plain Python) must report exactly what the reference path (frictionless on every row,
`validate(..., full=True)`) reports — the same problems at the same file:line:column with the same words.

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

from broadsheet.layout import Layout
from broadsheet.validate import validate
from conftest import FIXTURES, write
from test_validate_bad_inputs import CASES


def problems(layout: Layout, **options: bool) -> list[tuple]:
    report = validate(layout, **options).report
    return sorted((p.path, p.line, p.column, p.code, p.field, p.message, p.found, p.expected, p.hint)
                  for p in report.problems)


@pytest.mark.parametrize(("case", "relative", "content", "expected"), CASES, ids=[c[0] for c in CASES])
def test_fast_path_reports_what_frictionless_reports(museums, case, relative, content, expected):
    write(museums, relative, content)
    reference = problems(museums, full=True)
    assert {(path, line, code) for path, line, _c, code, *_ in reference} == expected  # the reference is right
    assert problems(museums) == reference
    assert problems(museums, use_cache=True) == reference  # cold cache
    assert problems(museums, use_cache=True) == reference  # warm cache


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
    assert problems(layout) == problems(layout, full=True)


# --- the two quick readers build what the exact reader builds ------------------------------------------------

def exact_and_quick(layout: Layout, relative: str) -> tuple[object, object | None, object | None]:
    """(exact path, plain-lines reader or None, libyaml-nodes reader or None), each as packed FileRows."""
    from broadsheet.package import load_package
    from broadsheet.records import compose_text, decode_record, parse_bytes, simple_lines
    from broadsheet.tables import build_file, fast_file, pack, text_file

    package = load_package(layout)
    spec = package.resources[relative.split("/")[1]]
    raw = (layout.root / relative).read_bytes()
    exact = pack(build_file(package, spec, parse_bytes(raw, relative), cell_checks=True), package)
    text, _failed = decode_record(raw, relative)
    if text is None:
        return exact, None, None
    lines = simple_lines(text)
    by_lines = text_file(package, spec, lines, relative, cell_checks=True) if lines else None
    root, _failed = compose_text(text, relative)
    by_nodes = fast_file(package, spec, root, relative, cell_checks=True) if root is not None else None
    return exact, by_lines and pack(by_lines, package), by_nodes and pack(by_nodes, package)


def test_quick_readers_on_the_fixture_and_generated_records(museums, tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from generate import generate

    synthetic = Layout(generate(tmp_path / "synthetic", 200))
    flagship = Layout(Path(__file__).parent.parent)  # hand-written records: block scalars, quotes, comments
    read_by_lines = 0
    for layout in (museums, synthetic, flagship):
        for path in sorted(layout.data_dir.glob("*/*.yaml")):
            relative = layout.relative(path)
            exact, by_lines, by_nodes = exact_and_quick(layout, relative)
            assert by_nodes == exact, relative
            assert by_lines in (None, exact), relative
            read_by_lines += by_lines is not None
    assert read_by_lines >= 200  # the plain-lines reader is the one that runs on ordinary records


@pytest.mark.parametrize(("case", "relative", "content", "expected"), CASES, ids=[c[0] for c in CASES])
def test_quick_readers_on_every_bad_input(museums, case, relative, content, expected):
    write(museums, relative, content)
    if relative.startswith("datapackage/museums/") and relative.endswith(".yaml"):
        exact, by_lines, by_nodes = exact_and_quick(museums, relative)
        assert by_lines in (None, exact)
        assert by_nodes in (None, exact)


LINE_VALUES = st.one_of(TEXT, NAME, st.sampled_from(
    ["a: b", "a:", "a #b", "a#b", "-5", "- x", "'q'", '"d"', "x ", " x", "[a]", "{a: 1}", "~", "null", "NO", "1:20",
     "ä", "中文: x", "a\\b", "#x", "%x", "@x", "`x", "|", ">", "!x", "&a", "*a", "?x", ":x", "a,b", "a, b"]))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.tuples(st.sampled_from(["name_en", "kind", "founded", "visitors", "topics", "names"]),
                                 LINE_VALUES, st.sampled_from(["plain", "double", "single", "flow", "block"])),
                       max_size=5))
def test_quick_readers_on_random_lines(tmp_path_factory, values):
    """Values written plain, quoted, in a flow list or as a block list: the readers agree with the exact path."""
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
    exact, by_lines, by_nodes = exact_and_quick(layout, "datapackage/museums/m1.yaml")
    assert by_lines in (None, exact)
    assert by_nodes in (None, exact)


def test_worker_processes_build_what_one_process_builds(tmp_path):
    """Enough files for the parallel path; some broken, so problems make the trip from the workers too."""
    import sys

    from broadsheet.validate import PARALLEL_FROM

    sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
    from generate import generate

    layout = Layout(generate(tmp_path / "synthetic", PARALLEL_FROM + 100))
    write(layout, "datapackage/plants/plant-3.yaml", "id: plant-3\nname_en: X\nsector: toys\njobs: 1_000\n")
    write(layout, "datapackage/plants/plant-4.yaml", "id: plant-4\nname_en: [unclosed\n")
    write(layout, "datapackage/orgs/org-5.yaml", "id: org-5\nname_en: Y\ncountry: KZ\nbin: '000000000001'\n")
    one, many = validate(layout, workers=1), validate(layout, workers=2)
    assert many.report.problems == one.report.problems
    assert {(p.path, p.line, p.code) for p in one.report.problems} >= {
        ("datapackage/plants/plant-3.yaml", 3, "constraint-error"),
        ("datapackage/plants/plant-3.yaml", 4, "type-error"),
        ("datapackage/plants/plant-4.yaml", 2, "yaml-syntax"),  # where the bracket opens
        ("datapackage/orgs/org-5.yaml", 4, "unique-error")}
    for name in one.package.resources:
        assert many.tables[name].rows == one.tables[name].rows
        assert many.tables[name].origins == one.tables[name].origins
