"""Layouts declared per resource (issue 11): `.yml` records in nested folders with ids from a field holding a
slash (the assembly fixture), files holding a list of records and a mapping of id -> record (the roster
fixture), nested mappings as an object, flattened into columns and as key/value rows, and field names with
hyphens, capitals, spaces and an attempt at SQL injection.

The roster's file of 200 records is generated here, not committed: the generator writes each record's lines
itself, so it knows, independently of the reader under test, the line every value is on. Every case is checked
on the reference path (frictionless on every row) with exact (path, line, code), and the fast path, the cache
and the incremental index must say exactly the same."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from datasette.utils import tilde_encode

from broadsheet import serve, validate
from broadsheet.build import build
from broadsheet.errors import ConfigError
from broadsheet.fmt import format_record
from broadsheet.layout import Layout
from broadsheet.new import ScaffoldError, record_file, template
from broadsheet.package import load_package
from conftest import FIXTURES, write

FRICTIONLESS = Path(sys.executable).parent / "frictionless"
ADA = "datapackage/members/north/Ada-Quill-1a2b.yml"
BO = "datapackage/members/south/coast/Bo-Reed-3c4d.yml"
BIG = "datapackage/entrants/big.yaml"
FIRST = "datapackage/entrants/first.yaml"
TEAMS = "datapackage/teams/teams.yaml"


def copy(name: str, target: Path) -> Layout:
    shutil.copytree(FIXTURES / name, target / name)
    return Layout(target / name)


@pytest.fixture
def assembly(tmp_path: Path) -> Layout:
    return copy("assembly", tmp_path)


@pytest.fixture
def roster(tmp_path: Path) -> Layout:
    layout = copy("roster", tmp_path)
    write(layout, BIG, big_list())
    return layout


# --- the generated file of 200 records ---------------------------------------------------------------------
# Record n (1-based) is written on lines 5(n-1)+1 ... 5n: `- id`, name, team, end-type, score.

def big_list(changes: dict[int, dict[str, str]] | None = None) -> str:
    lines = []
    for n in range(1, 201):
        values = {"id": f"e:{1000 + n}", "name": f"Entrant {n}", "team_id": "red" if n % 2 else "blue",
                  "end-type": "finished", "score": str(n)}
        values.update((changes or {}).get(n, {}))
        lines += [f"- id: {values['id']}", *(f"  {key}: {values[key]}" for key in list(values)[1:])]
    return "\n".join(lines) + "\n"


def line_of(n: int, key: str) -> int:
    return 5 * (n - 1) + 1 + ["id", "name", "team_id", "end-type", "score"].index(key)


def problems(layout: Layout, speed: validate.Speed = validate.REFERENCE, rows: bool = False) -> list[tuple]:
    report = validate.rows(layout, speed).report if rows else validate.report(layout, speed)
    return sorted((p.path, p.line, p.column, p.code, p.field, p.record_id, p.message, p.found, p.expected, p.hint)
                  for p in report.problems)


def same_everywhere(layout: Layout) -> list[tuple]:
    """The reference's problems, after checking that every accelerator reports exactly the same."""
    reference = problems(layout)
    assert problems(layout, validate.FAST) == reference
    assert problems(layout, validate.Speed(workers=2)) == reference
    assert problems(layout, validate.CACHED, rows=True) == reference  # cold cache
    assert problems(layout, validate.CACHED, rows=True) == reference  # warm cache
    assert problems(layout, validate.CACHED) == reference  # the incremental index, when it may answer
    return reference


def test_the_fixtures_are_valid_and_every_row_is_where_it_was_typed(assembly, roster):
    assert same_everywhere(assembly) == []
    assert same_everywhere(roster) == []
    validated = validate.rows(assembly, validate.REFERENCE)
    assert validated.report.stats == {"files": 2, "rows.members": 2, "rows.members_terms": 3,
                                      "rows.members_terms_roles": 2, "rows.members_extras": 2}
    members = validated.tables["members"]
    ada = dict(zip(members.spec.field_names, members.rows[0], strict=True))
    assert ada == {"id": "member/1a2b", "given-name": "Ada", "Family Name": "Quill", "seat-count": "2",
                   "handles.chat": "adaquill", "handles.video": "quill-talks",
                   "details": '{"committees":["budget","rules"],"district":"North",'
                              '"office":{"floor":"2","room":"12"}}',
                   'odd"name; DROP TABLE members; --': "harmless"}
    origin = members.origins[0]
    assert (origin.path, origin.record_id, origin.position("handles.video"), origin.position("details")) == (
        ADA, "member/1a2b", (7, 10), (8, 1))
    extras = validated.tables["members_extras"]
    assert extras.rows == [("member/1a2b", "1", "nickname", "Ada Q"), ("member/1a2b", "2", "desk", "7")]
    assert extras.origins[1].position("extra_value") == (15, 9)
    roles = validated.tables["members_terms_roles"]
    assert roles.rows == [("member/1a2b", "1", "1", "whip"), ("member/1a2b", "1", "2", "budget chair")]
    entrants = validate.rows(roster, validate.FAST).tables["entrants"]
    assert len(entrants.rows) == 202
    assert [(o.path, o.record_id, o.line) for o in entrants.origins[116:118]] == [
        (BIG, "e:1117", line_of(117, "id")), (BIG, "e:1118", line_of(118, "id"))]
    teams = validate.rows(roster, validate.FAST).tables["teams"]
    assert teams.rows == [("red", "Red Team"), ("blue", "Blue Team")]


ASSEMBLY_CASES = [
    ("the same id in another folder", "datapackage/members/south/Cy-Other.yml", "id: member/1a2b\ngiven-name: Cy\n",
     {("datapackage/members/south/Cy-Other.yml", 1, "primary-key")}),
    ("an id against the pattern", ADA, None, {(ADA, 1, "constraint-error")}),
    ("a flattened name without a column", ADA, ("  video: quill-talks\n", "  video: quill-talks\n  fax: 12\n"),
     {(ADA, 8, "unknown-field")}),
    ("a file without an accepted suffix", "datapackage/members/north/Eve-5e6f.yaml", "id: member/5e6f\n",
     {("datapackage/members/north/Eve-5e6f.yaml", 0, "wrong-extension")}),
    ("an object given a list", BO, ("details: {district: South Coast}\n", "details:\n  - South\n"),
     {(BO, 4, "type-error")}),
    ("an object given text", BO, ("details: {district: South Coast}\n", "details: South Coast\n"),
     {(BO, 4, "type-error")}),
    ("a hyphenated integer field", ADA, ("seat-count: 2\n", "seat-count: two\n"), {(ADA, 4, "type-error")}),
    ("key/value rows given a list", BO, ("details: {district: South Coast}\n",
                                         "details: {district: South Coast}\nextras: [a, b]\n"),
     {(BO, 5, "not-a-mapping")}),
    ("a grandchild without its value", ADA, ("      - role: whip\n", "      - role:\n"),
     {(ADA, 20, "constraint-error")}),
    ("a missing id", BO, ("id: member/3c4d\n", ""), {(BO, 1, "constraint-error"), (BO, 1, "primary-key")}),
]


@pytest.mark.parametrize(("case", "relative", "change", "expected"), ASSEMBLY_CASES, ids=[c[0] for c in ASSEMBLY_CASES])
def test_assembly_errors_are_located(assembly, case, relative, change, expected):
    if change is None:
        path = assembly.root / relative
        path.write_text(path.read_text(encoding="utf-8").replace("member/1a2b", "member/XYZ"), encoding="utf-8")
    elif isinstance(change, tuple):
        path = assembly.root / relative
        text = path.read_text(encoding="utf-8")
        assert change[0] in text
        path.write_text(text.replace(change[0], change[1], 1), encoding="utf-8")
    else:
        write(assembly, relative, change)
    found = same_everywhere(assembly)
    assert {(path, line, code) for path, line, _c, code, *_ in found} == expected


def test_a_duplicate_id_names_both_files_and_lines(assembly):
    write(assembly, "datapackage/members/south/Cy-Other.yml", "given-name: Cy\nid: member/1a2b\n")
    [problem] = validate.report(assembly).problems
    assert (problem.path, problem.line, problem.code, problem.record_id) == (
        "datapackage/members/south/Cy-Other.yml", 2, "primary-key", "member/1a2b")
    assert problem.message == f"id 'member/1a2b' is used twice (first at {ADA}:1)"


def test_pattern_errors_say_the_whole_value_must_match(assembly):
    path = assembly.root / BO
    path.write_text(path.read_text(encoding="utf-8").replace("member/3c4d", "member/3c4d5"), encoding="utf-8")
    [problem] = validate.report(assembly).problems
    assert problem.message == "id 'member/3c4d5' is not text matching `^member/[0-9a-f]{4}$` as a whole"
    schema = assembly.root / "schemas/members.yaml"  # a pattern without ^ and $ applies to the whole value too
    schema.write_text(schema.read_text(encoding="utf-8").replace('"^member/[0-9a-f]{4}$"', '"member/[0-9a-f]{4}"'),
                      encoding="utf-8")
    [problem] = validate.report(assembly).problems
    assert problem.message == "id 'member/3c4d5' is not text matching `member/[0-9a-f]{4}` as a whole"


def test_object_hints_say_what_an_object_is(assembly):
    path = assembly.root / BO
    path.write_text(path.read_text(encoding="utf-8").replace("details: {district: South Coast}\n",
                                                              "details:\n  - South\nseat-count:\n  a: 1\n"),
                    encoding="utf-8")
    found = {p.field: (p.message, p.hint) for p in validate.report(assembly, validate.REFERENCE).problems}
    assert found == {
        "details": ("'details' must be a mapping",
                    "an object is a mapping: `details:` and below it, indented, one `name: value` a line"),
        "seat-count": ("'seat-count' must be a single value",
                       "seat-count holds one value (integer), written after `seat-count:`; a mapping needs a field "
                       "of type object (or x-broadsheet.flatten, or a child of entries)")}


def test_a_bad_record_in_the_middle_of_a_big_list_is_reported_at_its_own_line(roster):
    write(roster, BIG, big_list({117: {"score": "-3"}, 150: {"end-type": "quit"}, 180: {"id": "e:1005"}}))
    found = same_everywhere(roster)
    assert [(path, line, code, field, record_id) for path, line, _c, code, field, record_id, *_ in found] == [
        (BIG, line_of(117, "score"), "constraint-error", "score", "e:1117"),
        (BIG, line_of(150, "end-type"), "constraint-error", "end-type", "e:1150"),
        (BIG, line_of(180, "id"), "primary-key", "id", "e:1005"),
    ]
    assert found[2][6] == f"id 'e:1005' is used twice (first at {BIG}:{line_of(5, 'id')})"


def test_parse_problems_inside_a_big_list_name_their_record(roster):
    text = big_list().replace("  name: Entrant 60\n", "  name: Entrant 60\n  name: again\n")
    write(roster, BIG, text)
    found = same_everywhere(roster)
    assert [(path, line, code, record_id) for path, line, _c, code, _f, record_id, *_ in found] == [
        (BIG, line_of(60, "team_id"), "duplicate-key", "e:1060")]


ROSTER_CASES = [
    ("a list item that is not a record", FIRST, "- id: e:1\n  name: One\n- just text\n", {(FIRST, 3, "not-a-mapping")}),
    ("a list file holding a mapping", FIRST, "id: e:1\nname: One\n", {(FIRST, 1, "not-a-list")}),
    ("a mapping file holding a list", "datapackage/teams/more.yaml", "- green\n",
     {("datapackage/teams/more.yaml", 1, "not-a-mapping")}),
    ("a record whose id differs from its key", TEAMS, "red:\n  id: green\n  title: Red\nblue:\n  title: Blue\n",
     {(TEAMS, 2, "id-mismatch")}),
    ("an id twice in a mapping", TEAMS, "red:\n  title: Red\nred:\n  title: Again\nblue:\n  title: Blue\n",
     {(TEAMS, 3, "duplicate-key")}),
    ("a reference to no team", FIRST, "- id: e:1\n  name: One\n  team_id: green\n", {(FIRST, 3, "foreign-key")}),
]


@pytest.mark.parametrize(("case", "relative", "content", "expected"), ROSTER_CASES, ids=[c[0] for c in ROSTER_CASES])
def test_roster_errors_are_located(roster, case, relative, content, expected):
    write(roster, relative, content)
    found = same_everywhere(roster)
    assert {(path, line, code) for path, line, _c, code, *_ in found} == expected


def test_limits_are_settings_and_their_errors_name_them(roster):
    schema = roster.root / "schemas/entrants.yaml"
    text = schema.read_text(encoding="utf-8")
    schema.write_text(text.replace("{records: list, id: field}", "{records: list, id: field, max-file-bytes: 1000}"),
                      encoding="utf-8")
    found = same_everywhere(roster)
    assert [(path, line, code) for path, line, _c, code, *_ in found] == [(BIG, 0, "file-too-large")]
    assert "max-file-bytes" in found[0][6] and "max-file-bytes" in found[0][9]
    schema.write_text(text.replace("{records: list, id: field}", "{records: list, id: field, max-depth: 2}"),
                      encoding="utf-8")
    found = same_everywhere(roster)
    assert [(path, line, code, record_id) for path, line, _c, code, _f, record_id, *_ in found] == [
        (FIRST, 7, "too-deep", "e:1"), (FIRST, 8, "too-deep", "e:1")]
    assert found[0][6] == "nesting deeper than 2 levels (layout setting max-depth)"
    schema.write_text(text.replace("{records: list, id: field}", "{records: list, id: field, max-file-bytes: 2000000}"),
                      encoding="utf-8")
    write(roster, BIG, big_list() + "".join(f"# {'x' * 98}\n" for _ in range(11_000)))  # 1.1 MB
    assert same_everywhere(roster) == []


CONFIG_CASES = [
    ("{records: list}", "x-broadsheet.layout.id must be field when records is list (found 'file')"),
    ("{records: many, id: field}", "x-broadsheet.layout.records must be one, list or mapping (found 'many')"),
    ("{records: list, id: field, suffixes: [.json]}",
     "x-broadsheet.layout.suffixes must list one or both of .yaml, .yml (found ['.json'])"),
    ("{records: list, id: field, folder: ../elsewhere}",
     "x-broadsheet.layout.folder '../elsewhere' must be a folder inside datapackage/"),
    ("{records: list, id: field, max-depth: 0}",
     "x-broadsheet.layout.max-depth must be a positive whole number (found 0)"),
    ("{records: list, id: field, folder: teams}",
     "x-broadsheet.layout: records of teams and entrants would share the folder datapackage/teams"),
    ("{records: list, id: field, recurse: true}", "x-broadsheet.layout has no setting 'recurse'"),
]


@pytest.mark.parametrize(("block", "message"), CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_a_bad_layout_is_a_configuration_error(roster, block, message):
    schema = roster.root / "schemas/entrants.yaml"
    schema.write_text(schema.read_text(encoding="utf-8").replace("{records: list, id: field}", block),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_package(roster)


def test_field_names_frictionless_allows_but_a_line_cannot_hold_are_refused(assembly):
    schema = assembly.root / "schemas/members.yaml"
    schema.write_text(schema.read_text(encoding="utf-8").replace("name: seat-count", 'name: "seat\\ncount"'),
                      encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape("field name 'seat\\ncount' must be non-empty text without "
                                                    "control characters")):
        load_package(assembly)


def test_new_applies_the_id_pattern_and_writes_a_file_validate_accepts(assembly, roster):
    package = load_package(assembly)
    refused = "id 'member/zz' of members.id is not text matching `^member/[0-9a-f]{4}$` as a whole"
    with pytest.raises(ScaffoldError, match=re.escape(refused)):
        template(package, "members", "member/zz")
    assert "\n# extras:\n#   <extra_name>: <extra_value>  # The name. Required. The value.\n" in template(
        package, "members")  # key/value rows are written as a mapping
    path = record_file(package, "members", "member/9a9a")
    assert path == assembly.root / "datapackage/members/member-9a9a.yml"
    path.write_text(template(package, "members", "member/9a9a").replace("\ngiven-name:\n", "\ngiven-name: Di\n"),
                    encoding="utf-8")
    assert validate.report(assembly).problems == []
    package = load_package(roster)
    for resource, record_id, fill in [("entrants", "e:77", ("\n  name:\n", "\n  name: Seventy\n")),
                                      ("teams", "green", ("\n  title:\n", "\n  title: Green\n"))]:
        text = template(package, resource, record_id)
        assert fill[0] in text
        record_file(package, resource, record_id).write_text(text.replace(*fill), encoding="utf-8")
    assert validate.report(roster).problems == []
    assert validate.report(roster).stats["rows.teams"] == 3


def test_fmt_keeps_every_file_validate_accepts(assembly, roster):
    for layout in (assembly, roster):
        package = load_package(layout)
        for path in sorted(p for p in (layout.root / "datapackage").rglob("*") if p.suffix in (".yml", ".yaml")):
            shown = layout.relative(path)
            result = format_record(package, shown, path.read_bytes())
            assert (result.problems, result.changed) == ([], False), shown


def frictionless_validate(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FRICTIONLESS), "validate", "datapackage.json"], cwd=folder, capture_output=True,
                          text=True, timeout=300)


def test_build_the_reference_validator_sqlite_json_and_the_record_pages(assembly, roster):
    for layout in (assembly, roster):
        result = build(layout)
        assert result.built, [p.message for p in result.report.problems]
        checked = frictionless_validate(layout.root)
        assert checked.returncode == 0, checked.stdout
    db = sqlite3.connect(assembly.out_dir / "current" / "assembly-fixture.db")
    columns = [row[1] for row in db.execute('PRAGMA table_info("members")')]
    assert columns == ["id", "given-name", "Family Name", "seat-count", "handles.chat", "handles.video", "details",
                       'odd"name; DROP TABLE members; --']
    assert db.execute('select "odd""name; DROP TABLE members; --", details from members order by id').fetchall() == [
        ("harmless", '{"committees":["budget","rules"],"district":"North","office":{"floor":"2","room":"12"}}'),
        (None, '{"district":"South Coast"}')]
    downloads = json.loads((assembly.out_dir / "current/downloads/json/members.json").read_text(encoding="utf-8"))
    assert downloads[1]["details"] == {"district": "South Coast"}  # a real object, not JSON text
    csv = (assembly.root / "datapackage/members.csv").read_text(encoding="utf-8").splitlines()[0]
    assert csv == ('id,given-name,Family Name,seat-count,handles.chat,handles.video,details,'
                   '"odd""name; DROP TABLE members; --"')

    ds = serve.app(serve.prepare(assembly, load_package(assembly)))
    page = asyncio.run(ds.client.get(f"/assembly-fixture/members/{tilde_encode('member/1a2b')}"))
    assert page.status_code == 200
    for shown in ["Ada", "adaquill", "Ada Q", "budget chair", "whip", "Term roles", "Odd&#34;name; DROP TABLE members",
                  "harmless", "2021-01-04"]:
        assert shown in page.text, shown
    table = asyncio.run(ds.client.get("/assembly-fixture/members.json?_shape=array"))
    assert [row["given-name"] for row in table.json()] == ["Ada", "Bo"]
    assert 'odd"name; DROP TABLE members; --' in table.json()[0]

    ds = serve.app(serve.prepare(roster, load_package(roster)))
    page = asyncio.run(ds.client.get(f"/roster-fixture/entrants/{tilde_encode('e:1117')}"))
    assert page.status_code == 200 and "Entrant 117" in page.text
    page = asyncio.run(ds.client.get("/roster-fixture/teams/blue"))
    assert page.status_code == 200 and "Blue Team" in page.text


def test_worker_processes_build_files_of_many_records_as_one_process_does(roster):
    from broadsheet.speed.workers import PARALLEL_FROM

    for n in range(PARALLEL_FROM + 50):
        write(roster, f"datapackage/entrants/part-{n:04}.yaml",
              f"- id: e:{5000 + 2 * n}\n  name: Part {n}\n- id: e:{5001 + 2 * n}\n  name: Other {n}\n"
              + ("  score: -1\n" if n == 333 else ""))
    one = validate.rows(roster, validate.Speed(workers=1))
    many = validate.rows(roster, validate.Speed(workers=2))
    assert many.report.problems == one.report.problems
    assert [(p.path, p.line, p.record_id) for p in one.report.problems] == [
        ("datapackage/entrants/part-0333.yaml", 5, "e:5667")]
    for name in ("entrants", "entrants_results"):
        assert many.tables[name].rows == one.tables[name].rows
        assert many.tables[name].origins == one.tables[name].origins
    assert len({o.record_id for o in many.tables["entrants"].origins}) == 202 + 2 * (PARALLEL_FROM + 50)


@pytest.mark.parametrize(("case", "relative", "content"), [
    ("an id twice in one list file", BIG, big_list({120: {"id": "e:1119"}})),
    ("an id of another file", BIG, big_list({3: {"id": "e:1"}})),
    ("a team removed from the mapping", TEAMS, "red:\n  title: Red Team\n"),
    ("a record moved between files", FIRST, "- id: e:1\n  name: First Entrant\n"),
])
def test_a_warm_run_after_an_edit_answers_as_a_cold_one(roster, case, relative, content):
    for _ in range(3):  # a clean index, written by a run that found the per-file cache warm
        assert problems(roster, validate.CACHED) == []
    write(roster, relative, content)
    assert problems(roster, validate.CACHED) == problems(roster)
    assert problems(roster, validate.CACHED) == problems(roster)


def test_diff_and_history_compare_each_record_of_a_big_file(tmp_path):
    from broadsheet.diff import diff_revisions
    from broadsheet.history import record_history
    from test_diff import commit, git

    layout = copy("roster", tmp_path)
    root = layout.root
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Curator")
    git(root, "config", "user.email", "curator@example.org")
    first = commit(root, "Roster", "2025-01-01T10:00:00+00:00", {BIG: big_list()})
    second = commit(root, "Scores", "2025-02-01T10:00:00+00:00", {
        BIG: big_list({117: {"score": "118"}}), TEAMS: "red:\n  title: Red Team\nblue:\n  title: Blue Team\n"
                                                      "green:\n  title: Green Team\n"})
    broken = commit(root, "Broken", "2025-03-01T10:00:00+00:00", {BIG: big_list() + "- id: [\n"})
    commit(root, "Fixed", "2025-04-01T10:00:00+00:00", {BIG: big_list({117: {"score": "118"}, 3: {"name": "Third"}})})
    package = load_package(layout)
    found = diff_revisions(package, first, second)
    changes = [(r.resource, r.record_id, r.change, [(f.field, f.old, f.new) for f in r.fields]) for r in found.records]
    assert changes == [
        ("entrants", "e:1117", "changed", [("score", "117", "118")]),
        ("teams", "green", "added", [("id", None, "green"), ("title", None, "Green Team")])]
    history = [(r["record_id"], r["date"], r["change"], r["fields_changed"]) for r in record_history(layout, package)
               if r["date"] > "2025-01-01"]
    assert history == [("e:1117", "2025-02-01", "changed", ["score"]),
                       ("green", "2025-02-01", "added", ["id", "title"]), ("e:1003", "2025-04-01", "changed", ["name"])]
    assert broken


@pytest.mark.parametrize(("edit", "expected"), [
    (("seat-count: 2", "seat-count: 3"), set()),  # still valid: the index takes the new value
    (("seat-count: 2", "seat-count: two"), {(ADA, 4, 13, "type-error")}),
])
def test_an_edit_in_a_sub_folder_is_answered_by_the_index(assembly, monkeypatch, edit, expected):
    """A recursive layout's record, edited in its sub-folder, is re-read by the incremental index (which once
    looked its resource up by the file's own folder and failed with a KeyError there)."""
    from broadsheet.speed import cache, later
    from test_rules import answered_by_the_index

    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
    assert validate.report(assembly, validate.CACHED).valid  # leaves the index, in a child
    later.wait_all()
    write(assembly, ADA, (assembly.root / ADA).read_text(encoding="utf-8").replace(*edit))
    assert {(path, line, code) for path, line, _c, code, *_ in problems(assembly)} == {
        (path, line, code) for path, line, _c, code in expected}
    assert answered_by_the_index(assembly) == (True, expected)


@pytest.mark.parametrize(("case", "changes", "expected"), [
    ("one score", {117: {"score": "118"}}, set()),
    ("an id another record holds", {180: {"id": "e:1005"}}, {(BIG, line_of(180, "id"), "primary-key")}),
    ("a team that is not there", {60: {"team_id": "green"}}, {(BIG, line_of(60, "team_id"), "foreign-key")}),
    ("two ids swapped", {3: {"id": "e:1004"}, 4: {"id": "e:1003"}}, set()),
])
def test_an_edit_inside_a_big_list_is_answered_by_the_index_as_a_full_run_answers(roster, monkeypatch, case,
                                                                                    changes, expected):
    """The index compares the edited file's key entries before and after and rechecks only those that changed
    (incremental._entry_changes): what it answers is what the reference path reports, or it leaves the run to
    the full path (a key problem found: the index never reports one itself)."""
    from broadsheet.speed import cache, later
    from test_rules import answered_by_the_index

    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
    assert validate.report(roster, validate.CACHED).valid  # leaves the index, in a child
    later.wait_all()
    write(roster, BIG, big_list(changes))
    assert {(path, line, code) for path, line, _c, code, *_ in problems(roster)} == expected
    answered, found = answered_by_the_index(roster)
    assert (answered, {(path, line, code) for path, line, _c, code in found}) == (not expected, expected)


def test_an_id_freed_inside_a_big_list_may_be_taken_by_another_file(roster, monkeypatch):
    """The entry an edit removes leaves its value shard: the id is free for another file at once."""
    from broadsheet.speed import cache, later
    from test_rules import answered_by_the_index

    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
    assert validate.report(roster, validate.CACHED).valid
    later.wait_all()
    write(roster, BIG, big_list({117: {"id": "e:9117"}}))
    assert answered_by_the_index(roster) == (True, set())
    write(roster, "datapackage/entrants/again.yaml", "- id: e:1117\n  name: Again\n  team_id: red\n")
    assert problems(roster) == []
    assert answered_by_the_index(roster) == (True, set())
