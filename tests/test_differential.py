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
from broadsheet.package import load_package
from broadsheet.read.discover import discover
from broadsheet.read.records import decode_record, parse_text
from broadsheet.read.tables import merge_files
from broadsheet.speed import plainlines
from broadsheet.speed.packing import pack, unpack
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


def line_by_line(text: str) -> object:
    """simple_lines without its shortcut (all lines matched at once by WHOLE_LINES): the same refusals, then
    one line at a time."""
    if plainlines.NOT_SIMPLE_CHARACTER.search(text) or plainlines.TWO_COLONS.search(text) or any(
            line.startswith(plainlines.DOCUMENT_MARKERS) for line in text.split("\n")):
        return None
    return plainlines._line_by_line(text)


LINE_STARTS = st.sampled_from(["", "  ", "    ", "- ", "  - ", "   "])
LINE_KEYS = st.sampled_from(["id", "name_en", "end-type", "x_1", "a b", "-x", "名"])


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(st.one_of(
    st.tuples(LINE_STARTS, LINE_KEYS, LINE_VALUES, st.sampled_from(["plain", "double", "single", "flow", "none"])),
    st.sampled_from(["", "# a comment", "  ", "---", "...", "%YAML", "key:  two spaces", "key: a: b"])),
    min_size=1, max_size=6), newline=st.booleans())
def test_plain_reader_reads_lines_at_once_as_one_by_one(lines, newline):
    """The shortcut that matches every line of a file with one expression gives what reading line by line gives
    (blank and comment lines, and every line the corner refuses, send a file the slow way)."""
    written = []
    for line in lines:
        if isinstance(line, str):
            written.append(line)
            continue
        start, key, value, style = line
        shown = {"plain": value, "double": f'"{value}"', "single": f"'{value}'", "flow": f"[{value}]"}.get(style)
        written.append(f"{start}{key}:" + (f" {shown}" if shown is not None else ""))
    text = "\n".join(written) + ("\n" if newline else "")
    assert plainlines.simple_lines(text) == line_by_line(text)


# one line per check the shortcut must make as the line-by-line reader makes it
EVERY_REFUSAL = ["a #b", "a: b", '"q"x', "'a'b'", "\"a\"b\"", "[a", "x ", "x:", "-x", '""', "''", "[]", "~", "null",
                 "a#b", "1:20", "中文", "@x", "`x", "'it''s'"]


@pytest.mark.parametrize("value", EVERY_REFUSAL)
@pytest.mark.parametrize("start", ["", "  - ", "    "])
def test_plain_reader_reads_every_kind_of_value_at_once_as_one_by_one(start, value):
    text = f"id: m1\nnames:\n{start}name: {value}\n"
    assert plainlines.simple_lines(text) == line_by_line(text)


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



@pytest.mark.parametrize("fixture", ["museums", "assembly", "roster"])  # files of one record, and of many
def test_origins_kept_packed_are_the_origins_the_builder_made(fixture):
    """After the trip (a worker, the cache) a file's origins stay packed (broadsheet.speed.packing.PackedOrigins)
    and a table's are the files' runs end to end (broadsheet.read.tables.Origins): each asked for, from either
    end, by slice or in bulk, is the one the builder made."""
    layout = Layout(FIXTURES / fixture)
    package = load_package(layout)
    files, _stray = discover(package)
    one = validate.one_file(package, validate.FAST)
    built = [one((resource, f"{folder}/{name}", f"{shown}/{name}"))[2]
             for resource, (folder, shown, names) in files.items() for name in names]
    made = {table.spec.name: list(table.origins) for table in merge_files(package, built)}
    packed = merge_files(package, [unpack(pack(result, package), package) for result in built])
    assert sum(map(len, made.values())) > 5
    for table in packed:
        origins, expected = table.origins, made[table.spec.name]
        assert len(origins) == len(expected)
        assert [origins[i] for i in range(len(expected))] == expected
        assert [origins[-i] for i in range(1, len(expected) + 1)] == expected[::-1]
        assert list(origins) == expected and origins[1:-1] == expected[1:-1]
        assert table.record_ids() == [o.record_id for o in expected]
        assert table.paths() == [o.path for o in expected]
        with pytest.raises(IndexError):
            origins[len(expected)]


# --- formats: vouched for exactly as frictionless reads them -------------------------------------------------
# (field descriptor, value, does frictionless accept it). The verdicts are frictionless' own (fields/string.py
# and date.py), written here by hand; the test asserts frictionless gives them and the vouch agrees exactly.

URI = {"type": "string", "format": "uri"}
EMAIL = {"type": "string", "format": "email"}
UUID = {"type": "string", "format": "uuid"}
BINARY = {"type": "string", "format": "binary"}
DAY_FIRST = {"type": "date", "format": "%d.%m.%Y"}
ANY_DATE = {"type": "date", "format": "any"}
TAGS = {"type": "array", "arrayItem": {"type": "string", "constraints": {"enum": ["art", "war"]}}}
LINKS = {"type": "array", "arrayItem": {"type": "string", "format": "uri"}}
FORMAT_CASES: list[tuple[dict, str, bool]] = [
    (URI, "https://example.org/a?b=c#d", True),
    (URI, "mailto:curator@example.org", True),
    (URI, "urn:isbn:0451450523", True),
    (URI, "a:b", True),  # a scheme is all rfc3986 is asked to require
    (URI, "http://", True),
    (URI, "example.org/page", False),  # no scheme
    (URI, "//example.org/page", False),
    (URI, "/relative/path", False),
    (URI, "www.example.org", False),
    (URI, "1http://example.org", False),  # a scheme starts with a letter
    (URI, "ht tp://example.org", False),
    (URI, ":no-scheme", False),
    (EMAIL, "curator@example.org", True),
    (EMAIL, "first.last+tag@sub.example.co.uk", True),
    (EMAIL, "curator@example", False),  # no top-level domain
    (EMAIL, "curator@@example.org", False),
    (EMAIL, "curator.example.org", False),
    (EMAIL, "@example.org", False),
    (EMAIL, "curator@example..org", False),
    (EMAIL, "cu rator@example.org", False),
    (EMAIL, "curator@-example.org", False),
    (UUID, "2bc1c94f-0deb-43e9-92a1-4775189ec9f8", True),
    (UUID, "2BC1C94F-0DEB-43E9-92A1-4775189EC9F8", True),
    (UUID, "2bc1c94f0deb43e992a14775189ec9f8", True),  # Python's UUID() reads it without hyphens
    (UUID, "{2bc1c94f-0deb-43e9-92a1-4775189ec9f8}", True),
    (UUID, "urn:uuid:2bc1c94f-0deb-43e9-92a1-4775189ec9f8", True),
    (UUID, "2bc1c94f-0deb-43e9-92a1-4775189ec9f", False),  # one digit short
    (UUID, "2bc1c94f-0deb-43e9-92a1-4775189ec9fg", False),
    (UUID, "2bc1c94f 0deb-43e9-92a1-4775189ec9f8", False),
    (UUID, "not-a-uuid", False),
    (BINARY, "aGVsbG8=", True),
    (BINARY, "aGVsbG8", False),  # padding missing
    (BINARY, "a", False),
    (BINARY, "aGVs bG8=", True),  # b64decode drops what is not of the alphabet
    (BINARY, "ЖЖЖЖ", False),  # not ASCII
    (DAY_FIRST, "21.05.2025", True),
    (DAY_FIRST, "21.5.2025", True),  # strptime reads one digit
    (DAY_FIRST, "31.02.2025", False),
    (DAY_FIRST, "2025-05-21", False),
    (ANY_DATE, "2025-05-21", True),
    (ANY_DATE, "21 May 2025", True),
    (ANY_DATE, "2025-02-30", False),
    (ANY_DATE, "the day after", False),
    (TAGS, '["art", "war"]', True),
    (TAGS, "[]", True),
    (TAGS, '["art", "peace"]', False),
    (TAGS, '["Art"]', False),
    (LINKS, '["https://example.org", "urn:x:y"]', True),
    (LINKS, '["example.org"]', False),
]


def frictionless_accepts(descriptor: dict, text: str) -> bool:
    from frictionless import Field

    return Field.from_descriptor({"name": "f", **descriptor}).read_cell(text)[1] is None


@pytest.mark.parametrize(("descriptor", "text", "valid"), FORMAT_CASES,
                         ids=[f"{d.get('format') or d['type']}-{t}" for d, t, _v in FORMAT_CASES])
def test_formats_are_vouched_for_as_frictionless_reads_them(descriptor, text, valid):
    from broadsheet.package import FieldSpec
    from broadsheet.speed.vouch import field_check

    assert frictionless_accepts(descriptor, text) is valid
    assert field_check(FieldSpec("f", descriptor["type"], {"name": "f", **descriptor}))(text) is valid


FORMATTED = {  # museum fields with a format: (descriptor, valid values, near misses)
    "homepage": (URI, ["https://example.org/tate", "http://example.org", "urn:isbn:0451450523"],
                 ["example.org", "www.example.org/x", "/tate", "1x:y", "ht tp://x"]),
    "contact": (EMAIL, ["curator@example.org", "a.b+c@d.example.co.uk"],
                ["curator@example", "curator@@example.org", "curator@", "curator@example..org"]),
    "record_uuid": (UUID, ["2bc1c94f-0deb-43e9-92a1-4775189ec9f8", "2BC1C94F0DEB43E992A14775189EC9F8"],
                    ["2bc1c94f-0deb-43e9-92a1-4775189ec9f", "2bc1c94f-0deb-43e9-92a1-4775189ec9fg", "x"]),
    "logo": (BINARY, ["aGVsbG8=", "QUJD"], ["aGVsbG8", "a", "ЖЖЖЖ"]),
    "tags": (TAGS, [["art"], ["art", "war"]], [["peace"], ["art", "Art"]]),
}


def formatted_museums(root: Path) -> Layout:
    """The museums fixture with formatted fields added to its museums schema."""
    import yaml

    shutil.copytree(FIXTURES / "museums", root)
    layout = Layout(root)
    path = layout.root / "schemas" / "museums.yaml"
    schema = yaml.safe_load(path.read_text(encoding="utf-8"))
    schema["fields"] += [{"name": name, **descriptor} for name, (descriptor, _v, _m) in FORMATTED.items()]
    schema["fields"][-2]["constraints"] = {"unique": True}  # a formatted key: compared as frictionless does
    path.write_text(yaml.safe_dump(schema, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return layout


def formatted_record(record_id: str, values: dict) -> str:
    lines = [f"id: {record_id}", "name_en: Tate"]
    for key, value in values.items():
        rendered = f"[{', '.join(json.dumps(v) for v in value)}]" if isinstance(value, list) else json.dumps(value)
        lines.append(f"{key}: {rendered}")
    return "\n".join(lines) + "\n"


FORMAT_RECORD_CASES = [(name, miss) for name, (_d, _valid, misses) in FORMATTED.items() for miss in misses]


@pytest.mark.parametrize(("name", "miss"), FORMAT_RECORD_CASES, ids=[f"{n}-{m}" for n, m in FORMAT_RECORD_CASES])
def test_a_near_miss_of_each_format_is_reported_at_its_line(tmp_path, name, miss):
    layout = formatted_museums(tmp_path / "museums")
    values = {n: valid[0] for n, (_d, valid, _m) in FORMATTED.items()}
    values[name] = miss
    write(layout, TATE_PATH, formatted_record("tate", values))
    line = 3 + list(FORMATTED).index(name)
    code = "constraint-error" if name == "tags" else "type-error"
    reference = problems(layout, validate.REFERENCE)
    assert {(path, line_, code_) for path, line_, _c, code_, *_ in reference} == {(TATE_PATH, line, code)}
    assert problems(layout) == reference
    write(layout, "datapackage/museums/tate-2.yaml", formatted_record("tate-2", values))  # the same again
    assert problems(layout) == problems(layout, validate.REFERENCE)  # a key frictionless does not read as given
    (layout.root / "datapackage/museums/tate-2.yaml").unlink()
    write(layout, TATE_PATH, formatted_record("tate", {n: valid[-1] for n, (_d, valid, _m) in FORMATTED.items()}))
    assert problems(layout) == problems(layout, validate.REFERENCE) == []


TATE_PATH = "datapackage/museums/tate.yaml"


@st.composite
def formatted_records(draw: st.DrawFn) -> dict:
    values = {}
    for name, (_descriptor, valid, misses) in FORMATTED.items():
        if draw(st.booleans()):
            values[name] = draw(st.sampled_from(valid + misses if draw(st.booleans()) else valid))
    return values


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(many=st.lists(formatted_records(), min_size=1, max_size=4))
def test_random_formatted_records_get_the_same_verdict_both_ways(tmp_path_factory, many):
    """Valid values and near misses of every format, repeated values of the unique formatted field included."""
    layout = formatted_museums(Path(tmp_path_factory.mktemp("formats")) / "museums")
    for number, values in enumerate(many):
        write(layout, f"datapackage/museums/f{number}.yaml", formatted_record(f"f{number}", values))
    assert problems(layout) == problems(layout, validate.REFERENCE)


# --- texts remembered by the compiled row check ----------------------------------------------------------
# The fast path remembers, per column, texts that passed every condition (broadsheet.speed.vouch.REMEMBERED),
# and never one that failed: each repetition of a bad text is reported, whatever is remembered.

REPEATED = """id: louvre
name_en: Louvre
city_id: paris
kind: art
names:
  - language: fr
    name: Musée
  - language: fr
    name: " Musée"
  - language: fr
    name: Musée
  - language: fr
    name: " Musée"
  - language: fr
    name: "=Musée"
citations:
  - field: city_id
    source_id: guide-2024
    locator: page 3
"""


@pytest.mark.parametrize("remembered", [0, 1, 16_384])
def test_a_remembered_text_is_one_that_passed(museums, monkeypatch, remembered):
    from broadsheet.speed import vouch

    monkeypatch.setattr(vouch, "REMEMBERED", remembered)
    vouch._COMPILED.clear()  # compiled again, with this bound
    write(museums, "datapackage/museums/louvre.yaml", REPEATED)
    reference = problems(museums, validate.REFERENCE)
    assert {(path, line, code) for path, line, _c, code, *_ in reference} == {
        ("datapackage/museums/louvre.yaml", 9, "surrounding-whitespace"),
        ("datapackage/museums/louvre.yaml", 13, "surrounding-whitespace"),
        ("datapackage/museums/louvre.yaml", 15, "formula-injection")}
    assert problems(museums) == reference


def test_a_text_without_a_scanned_character_needs_no_scan():
    """decode_record skips its four character scans when SCANNED_CHARACTER finds nothing: every character any
    of them reports is one it finds (each code point of the Basic Multilingual Plane and a few beyond, where a
    scan would see it: inside a line, after an indent, alone)."""
    from broadsheet.read import records

    missed = []
    for point in [*range(0x10000), 0x1F600, 0xE0001, 0x10FFFD]:
        character = chr(point)
        if 0xD800 <= point <= 0xDFFF:
            continue  # a lone surrogate: no UTF-8 file decodes to one
        for text in (f"a: b{character}c\n", f"a:\n  {character}b: c\n", character):
            if records._scan_each_character(text, "x.yaml") and not records.SCANNED_CHARACTER.search(text):
                missed.append(hex(point))
    assert missed == []
