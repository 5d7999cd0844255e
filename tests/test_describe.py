"""`broadsheet describe`: the schemas it proposes for YAML records, written out by hand for small datasets kept
in each layout, and proposals the records validate against."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from broadsheet.describe import Quoted, describe, field_type

SLUG = "^[a-z0-9]+(-[a-z0-9]+)*$"

# (values of one field, the field proposed for them)
TYPE_CASES: list[tuple[list[str], dict]] = [
    (["1", "20", "-3"], {"type": "integer"}),
    (["1", "2.5", "1e3"], {"type": "number"}),
    (["007", "8"], {"type": "string"}),  # a leading zero is kept: text
    (["1", "1000000000000000000"], {"type": "string"}),  # 19 digits: beyond the limits of numbers
    (["2025-01-02", "2024-02-29"], {"type": "date"}),
    (["2025", "2025-05", "2025-05-21"], {"type": "string", "x-partial-date": True}),
    (["2023-02-29"], {"type": "string"}),  # no such day
    (["true", "False", "TRUE"], {"type": "boolean"}),
    (["1", "0"], {"type": "integer"}),
    (["https://example.org/a", "http://example.net"], {"type": "string", "format": "uri"}),
    (["https://example.org/a", "example.net"], {"type": "string"}),
    (["desk@example.org", "a.b@example.co.uk"], {"type": "string", "format": "email"}),
    (["desk@example"], {"type": "string"}),  # frictionless wants a top-level domain
    (["2bc1c94f-0deb-43e9-92a1-4775189ec9f8"], {"type": "string", "format": "uuid"}),
    (["first line\nsecond line", "one"], {"type": "string", "x-multiline": True}),
    (["red", "blue", "red", "blue"], {"type": "string", "constraints": {"enum": ["blue", "red"]}}),
    (["red", "blue", "green"], {"type": "string"}),  # each used once: not a closed set yet
    (["yes", "no", "yes", "no", "yes", "no"], {"type": "string", "constraints": {"enum": ["no", "yes"]}}),
    ([Quoted("12"), "13"], {"type": "string"}),  # typed in quotes once: the curator says it is text
]


@pytest.mark.parametrize(("values", "expected"), TYPE_CASES, ids=[",".join(v)[:40] for v, _e in TYPE_CASES])
def test_a_type_from_every_value(values, expected):
    assert field_type(values) == expected


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


BEACONS = {  # the default layout: datapackage/<resource>/<id>.yaml, id = file name
    "datapackage/beacons/north-point.yaml": "id: north-point\nname: North Point\nkind: tower\nlit: 1901\n"
                                            "height_m: 31.5\nactive: true\nsurveyed: 2024-06\n"
                                            "colours: [white, red]\nkeepers:\n  - name: A. Keeper\n"
                                            "    from: 1901-03-01\n  - name: B. Keeper\n",
    "datapackage/beacons/south-rock.yaml": "id: south-rock\nname: South Rock\nkind: tower\nlit: 1874\n"
                                           "height_m: 20\nactive: false\nsurveyed: 2023\nkeepers: []\n",
    "datapackage/beacons/east-spit.yaml": "id: east-spit\nname: East Spit\nkind: mast\nlit: 1950\n"
                                          "active: true\nkeepers:\n  - name: C. Keeper\n    from: 1950-01-15\n",
    "datapackage/beacons/west-bank.yaml": "id: west-bank\nname: West Bank\nkind: mast\nactive: ~\n",
}
BEACONS_SCHEMAS = {
    "beacons": {
        "title": "Beacons", "description": "Proposed by broadsheet describe from 4 records: say what one row is.",
        "fields": [
            {"name": "id", "type": "string", "constraints": {"required": True, "pattern": SLUG}},
            {"name": "name", "type": "string", "constraints": {"required": True}},
            {"name": "kind", "type": "string", "constraints": {"enum": ["mast", "tower"], "required": True}},
            {"name": "lit", "type": "integer"},
            {"name": "height_m", "type": "number"},
            {"name": "active", "type": "boolean"},
            {"name": "surveyed", "type": "string", "x-partial-date": True},
            {"name": "colours", "type": "array"}],
        "primaryKey": ["id"]},
    "beacons_keepers": {
        "title": "Beacons keepers",
        "description": "One row per item of the `keepers` list of beacons records (proposed by broadsheet describe "
                       "from 3 items).",
        "x-broadsheet": {"parent": "beacons", "key": "keepers", "position": "position"},
        "fields": [
            {"name": "beacons_id", "type": "string",
             "description": "The beacons row it belongs to (filled in by the loader)."},
            {"name": "position", "type": "integer", "description": "Order in the list (filled in by the loader).",
             "constraints": {"minimum": 1}},
            {"name": "name", "type": "string", "constraints": {"required": True}},
            {"name": "from", "type": "date"}],
        "primaryKey": ["beacons_id", "position"],
        "foreignKeys": [{"fields": ["beacons_id"], "reference": {"resource": "beacons", "fields": ["id"]}}]},
}

MEMBERS = {  # .yml in folders per region, ids from a field holding a slash, nested mappings, grandchildren
    "datapackage/members/north/Ann-Example-0001.yml": "id: member/0001\nname: Ann Example\nids: {handle: ann}\n"
                                              "roles:\n  - title: chair\n    offices:\n      - room: '12'\n",
    "datapackage/members/south/Bo-Example-0002.yml": "id: member/0002\nname: Bo Example\nids:\n  handle: bo\n"
                                             "roles:\n  - title: member\n",
}
MEMBERS_SCHEMAS = {
    "members": {
        "title": "Members", "description": "Proposed by broadsheet describe from 2 records: say what one row is.",
        "fields": [
            {"name": "id", "type": "string", "constraints": {"required": True}},
            {"name": "name", "type": "string", "constraints": {"required": True}},
            {"name": "ids", "type": "object", "constraints": {"required": True}}],
        "primaryKey": ["id"],
        "x-broadsheet": {"layout": {"recursive": True, "suffixes": [".yml"], "id": "field"}}},
    "members_roles": {
        "title": "Members roles",
        "description": "One row per item of the `roles` list of members records (proposed by broadsheet describe "
                       "from 2 items).",
        "x-broadsheet": {"parent": "members", "key": "roles", "position": "position"},
        "fields": [
            {"name": "members_id", "type": "string",
             "description": "The members row it belongs to (filled in by the loader)."},
            {"name": "position", "type": "integer", "description": "Order in the list (filled in by the loader).",
             "constraints": {"minimum": 1}},
            {"name": "title", "type": "string", "constraints": {"required": True}}],
        "primaryKey": ["members_id", "position"],
        "foreignKeys": [{"fields": ["members_id"], "reference": {"resource": "members", "fields": ["id"]}}]},
    "members_roles_offices": {
        "title": "Members roles offices",
        "description": "One row per item of the `offices` list of members_roles records (proposed by broadsheet "
                       "describe from 1 item).",
        "x-broadsheet": {"parent": "members_roles", "key": "offices", "position": "position"},
        "fields": [
            {"name": "members_id", "type": "string",
             "description": "The members_roles row it belongs to (filled in by the loader)."},
            {"name": "members_roles_position", "type": "integer",
             "description": "The members_roles row it belongs to (filled in by the loader)."},
            {"name": "position", "type": "integer", "description": "Order in the list (filled in by the loader).",
             "constraints": {"minimum": 1}},
            {"name": "room", "type": "string", "constraints": {"required": True}}],
        "primaryKey": ["members_id", "members_roles_position", "position"],
        "foreignKeys": [{"fields": ["members_id", "members_roles_position"],
                         "reference": {"resource": "members_roles", "fields": ["members_id", "position"]}}]},
}

TERMS = {"datapackage/legislature/terms.yaml": "".join(f"- term: t{n}\n  party: {'ab'[n % 2]}\n  end-type: {n % 3}\n"
                                    for n in range(200))}
TERMS_SCHEMAS = {"terms": {
    "title": "Terms", "description": "Proposed by broadsheet describe from 200 records: say what one row is.",
    "fields": [
        {"name": "term", "type": "string", "constraints": {"required": True, "pattern": SLUG}},
        {"name": "party", "type": "string", "constraints": {"enum": ["a", "b"], "required": True}},
        {"name": "end-type", "type": "integer", "constraints": {"required": True}}],
    "primaryKey": ["term"],
    "x-broadsheet": {"layout": {"folder": "legislature", "records": "list", "id": "field"}}}}

FILED = {"datapackage/codes/codes.yaml": "x1:\n  label: One\nx2:\n  label: Two\n"}
FILED_SCHEMAS = {"codes": {
    "title": "Codes", "description": "Proposed by broadsheet describe from 2 records: say what one row is.",
    "fields": [
        {"name": "id", "description": "The record's id.", "type": "string",
         "constraints": {"required": True, "pattern": SLUG}},
        {"name": "label", "type": "string", "constraints": {"required": True}}],
    "primaryKey": ["id"],
    "x-broadsheet": {"layout": {"records": "mapping"}}}}

# (case, files, path described, expected schemas, expected problems as (path, line, code, severity))
CASES = [
    ("one record per file, default layout", BEACONS, "datapackage/beacons", BEACONS_SCHEMAS, set()),
    ("yml in nested folders, ids from a field", MEMBERS, "datapackage/members", MEMBERS_SCHEMAS, set()),
    ("one file holding a list of 200 records", TERMS, "datapackage/legislature/terms.yaml", TERMS_SCHEMAS, set()),
    ("one file of records filed by id", FILED, "datapackage/codes/codes.yaml", FILED_SCHEMAS, set()),
    ("a broken file is left out", {**BEACONS, "datapackage/beacons/bad.yaml": "id: bad\nname: [open\n"},
     "datapackage/beacons", BEACONS_SCHEMAS, {("datapackage/beacons/bad.yaml", 3, "yaml-syntax", "warning")}),
    ("nothing to describe", {"data/notes.txt": "x"}, "data", {}, {("data", 0, "no-records", "error")}),
    ("no field identifies a record", {"data/x/a.yaml": "kind: a\n", "data/x/b.yaml": "kind: a\n"}, "data/x",
     {"x": {"title": "X", "description": "Proposed by broadsheet describe from 2 records: say what one row is.",
            "fields": [{"name": "id", "description": "The record's id.", "type": "string",
                        "constraints": {"required": True, "pattern": SLUG}},
                       {"name": "kind", "type": "string", "constraints": {"enum": ["a"], "required": True}}],
            "primaryKey": ["id"]}},
     {("data/x", 0, "no-id-field", "warning"), ("data/x", 0, "outside-data-folder", "warning")}),
    ("a field of two shapes", {"datapackage/y/a.yaml": "id: a\nv: text\n", "datapackage/y/b.yaml": "id: b\nv: [x]\n"},
     "datapackage/y",
     {"y": {"title": "Y", "description": "Proposed by broadsheet describe from 2 records: say what one row is.",
            "fields": [{"name": "id", "type": "string", "constraints": {"required": True, "pattern": SLUG}},
                       {"name": "v", "type": "string", "constraints": {"required": True}}],
            "primaryKey": ["id"]}},
     {("", 0, "mixed-shapes", "warning")}),
]


@pytest.mark.parametrize(("case", "files", "target", "schemas", "problems"), CASES, ids=[c[0] for c in CASES])
def test_describe_proposes(tmp_path, case, files, target, schemas, problems):
    write_files(tmp_path, files)
    (tmp_path / "datapackage.json").write_text("{}", encoding="utf-8")
    proposal = describe(tmp_path / target)
    assert proposal.schemas == schemas
    assert list(proposal.schemas) == list(schemas)  # parents first
    assert {(p.path, p.line, p.code, p.severity) for p in proposal.problems} == problems


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "broadsheet", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_describe_prints_writes_and_never_writes_over_a_schema(tmp_path):
    write_files(tmp_path, BEACONS)
    printed = run("describe", "datapackage/beacons", cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("# schemas/beacons.yaml\n")
    assert [yaml.safe_load(part) for part in printed.stdout.split("---\n")] == list(BEACONS_SCHEMAS.values())
    written = run("describe", "datapackage/beacons", "--out", "schemas", cwd=tmp_path)
    assert (written.returncode, written.stdout) == (
        0, "wrote schemas/beacons.yaml\nwrote schemas/beacons_keepers.yaml\n")
    (tmp_path / "schemas" / "beacons.yaml").write_text("# edited by hand\n", encoding="utf-8")
    (tmp_path / "schemas" / "beacons_keepers.yaml").unlink()
    again = run("describe", "datapackage/beacons", "--out", "schemas", cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr == ("schemas/beacons.yaml: error[exists] beacons.yaml already exists; describe never writes "
                            "over a schema — write the proposal to another folder (--out) or print it, and merge "
                            "by hand\n")
    assert (tmp_path / "schemas" / "beacons.yaml").read_text(encoding="utf-8") == "# edited by hand\n"
    assert not (tmp_path / "schemas" / "beacons_keepers.yaml").exists()  # nothing written at all
    nothing = run("describe", "datapackage/none", cwd=tmp_path)
    assert nothing.returncode == 2  # bad usage: no such path
    empty = run("describe", "schemas", "--name", "x", cwd=tmp_path)
    assert (empty.returncode, empty.stdout) == (1, "")
    assert "error[no-records]" in empty.stderr


LAYOUTS = [("one per file", BEACONS, "datapackage/beacons", 4),
           ("yml in nested folders, ids with a slash, objects, grandchildren", MEMBERS, "datapackage/members", 2),
           ("a list of 200 records in one file, a hyphenated field", TERMS, "datapackage/legislature/terms.yaml", 1),
           ("records filed by id in one file", FILED, "datapackage/codes/codes.yaml", 1)]


@pytest.mark.parametrize(("case", "files", "target", "count"), LAYOUTS, ids=[c[0] for c in LAYOUTS])
def test_the_proposal_validates_the_records_it_came_from(tmp_path, case, files, target, count):
    """Described, then validated and built as they are: no file renamed, no line of code."""
    write_files(tmp_path, files)
    (tmp_path / "datapackage.json").write_text('{"name": "described", "resources": []}', encoding="utf-8")
    described = run("describe", target, "--out", "schemas", cwd=tmp_path)
    assert (described.returncode, described.stderr) == (0, "")
    for speed in ([], ["--full"]):
        checked = run("validate", "--no-cache", *speed, cwd=tmp_path)
        assert (checked.returncode, checked.stdout) == (0, f"valid: {count} record files\n"), checked.stdout
    built = run("build", cwd=tmp_path)
    assert built.returncode == 0, built.stdout + built.stderr


def test_a_file_beyond_the_default_size_gets_a_limit_that_holds_it(tmp_path):
    records = "".join(f"- key: k{n}\n  text: {'x' * 80}\n" for n in range(12_000))  # ~1.2 MB
    write_files(tmp_path, {"datapackage/big/all.yaml": records})
    (tmp_path / "datapackage.json").write_text("{}", encoding="utf-8")
    layout = describe(tmp_path / "datapackage" / "big" / "all.yaml").schemas["all"]["x-broadsheet"]["layout"]
    assert layout == {"folder": "big", "records": "list", "id": "field", "max-file-bytes": 2_000_000}
