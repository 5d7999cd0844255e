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
