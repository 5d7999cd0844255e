"""The schema vouching of broadsheet.speed.schemas against frictionless, the authority on Table Schemas.

`vouched(descriptor)` lets validation skip frictionless' schema check (and its ~0.2 s import); it may say False for
a schema frictionless accepts (frictionless then checks it), never True for one frictionless rejects."""

from __future__ import annotations

import copy
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from frictionless import FrictionlessException, Schema

from broadsheet.speed.schemas import vouched
from conftest import REPO, copy_of_flagship


def frictionless_accepts(descriptor: object) -> bool:
    try:
        Schema.from_descriptor(descriptor)  # type: ignore[arg-type]
    except FrictionlessException:
        return False
    except Exception:  # noqa: BLE001 - frictionless crashes on some shapes (a field that is a number): not valid
        return False
    return True


def plain(path: Path) -> object:
    descriptor = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {k: v for k, v in descriptor.items() if k != "x-broadsheet"} if isinstance(descriptor, dict) else descriptor


def text_field(**more: object) -> dict[str, object]:
    return {"fields": [{"name": "a", "type": "string", **more}]}


# Schemas frictionless rejects, each with the part of its message that says why: none may be vouched for.
REJECTED = [
    ({}, "'fields' is a required property"),
    ({"fields": {"a": 1}}, "is not of type 'array'"),
    ({"fields": [{"name": 1, "type": "string"}]}, "is not of type 'string'"),
    ({"fields": [{"name": "a", "type": "weird"}]}, ""),
    ({"fields": [{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}]},
     "names of the fields are not unique"),
    (text_field(constraints={"required": "yes"}), "is not of type 'boolean'"),
    (text_field(constraints={"unique": "x"}), "is not of type 'boolean'"),
    (text_field(constraints={"minLength": True}), "is not of type 'integer'"),
    (text_field(constraints={"minimum": 1}), 'constraint "minimum" is not supported by type "string"'),
    ({"fields": [{"name": "a", "type": "integer", "constraints": {"pattern": "1"}}]}, "is not supported by type"),
    (text_field(title=1), "is not of type 'string' at property 'title'"),
    (text_field(description=[1]), "at property 'description'"),
    (text_field(format="weird"), "is not one of"),
    (text_field(required=True), 'should be set as "constraints.required"'),
    ({"fields": [{"name": "a", "type": "integer", "constraints": {"exclusiveMinimum": 1}}]}, "requires datapackage v2"),
    ({"fields": [{"name": "a", "type": "string"}], "primaryKey": ["b"]}, "does not match the fields"),
    ({"fields": [{"name": "a", "type": "string"}],
      "foreignKeys": [{"fields": ["c"], "reference": {"resource": "r", "fields": ["b"]}}]},
     "does not match the fields"),
    ({"fields": [{"name": "a", "type": "string"}],
      "foreignKeys": [{"fields": ["a"], "reference": {"resource": "r", "fields": ["b", "c"]}}]},
     "does not match the reference fields"),
]


@pytest.mark.parametrize(("descriptor", "because"), REJECTED)
def test_a_schema_frictionless_rejects_is_not_vouched_for(descriptor, because):
    with pytest.raises(FrictionlessException) as raised:
        Schema.from_descriptor(descriptor)
    assert because in "; ".join(r.message for r in raised.value.reasons) + raised.value.error.message
    assert vouched(descriptor) is False


# Schemas frictionless accepts that are left to it all the same: parts this module does not reproduce.
LEFT_TO_FRICTIONLESS = [
    {"fields": [{"name": "a"}]},  # no type: `any`
    text_field(missingValues=[""]),
    text_field(example="x"),
    {"fields": [{"name": "a", "type": "datetime"}]},
    {"fields": [{"name": "a", "type": "string"}], "missingValues": ["", "NA"]},
    {"fields": [{"name": "a", "type": "string"}], "primaryKey": []},
    text_field(unknown=1),
]


@pytest.mark.parametrize("descriptor", LEFT_TO_FRICTIONLESS)
def test_parts_not_reproduced_here_are_left_to_frictionless(descriptor):
    assert frictionless_accepts(descriptor) and vouched(descriptor) is False


SCHEMA_FILES = sorted([*REPO.glob("schemas/*.yaml"), *REPO.glob("benchmarks/package/schemas/*.yaml"),
                       *REPO.glob("tests/fixtures/**/schemas/*.yaml")])


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_schema_in_the_repository_gets_frictionless_verdict(path):
    descriptor = plain(path)
    assert not vouched(descriptor) or frictionless_accepts(descriptor)


def test_the_flagship_and_benchmark_schemas_are_all_vouched_for():
    # what makes the fast path worth having: a cold validate of either never imports frictionless for its schemas
    paths = [*REPO.glob("schemas/*.yaml"), *REPO.glob("benchmarks/package/schemas/*.yaml")]
    assert paths and [str(p.relative_to(REPO)) for p in paths if not vouched(plain(p))] == []


# --- random descriptors: a valid schema, then a few changes, some of which break it -------------------------------

BASE = {
    "title": "Things", "description": "Test things.", "primaryKey": ["id"],
    "foreignKeys": [{"fields": ["parent"], "reference": {"resource": "", "fields": ["id"]}}],
    "fields": [
        {"name": "id", "type": "string", "constraints": {"required": True, "pattern": "[a-z]+"}},
        {"name": "parent", "type": "string", "title": "Parent", "x-facet": True},
        {"name": "count", "type": "integer", "constraints": {"minimum": 0, "maximum": 10}},
        {"name": "share", "type": "number", "constraints": {"minimum": 0.5}},
        {"name": "kind", "type": "string", "categories": [{"value": "a", "label": "A"}, "b"],
         "constraints": {"enum": ["a", "b"]}},
        {"name": "tags", "type": "array", "arrayItem": {"type": "string", "constraints": {"enum": ["x"]}}},
        {"name": "on", "type": "date"}, {"name": "yes", "type": "boolean"}, {"name": "blob", "type": "object"},
        {"name": "site", "type": "string", "format": "uri"},
    ],
}
VALUES = [None, True, False, 0, 1, -1, 1.5, "", "x", "id", "a", "[", [], ["id"], ["x", 1], [1], {}, {"a": 1},
          {"value": "a", "label": "A"}, {"value": 1}, {"type": "string"}, {"type": "weird"}]
FIELD_KEYS = ["name", "type", "format", "title", "description", "constraints", "categories", "arrayItem", "x-cite",
              "required", "example", "missingValues", "rdfType"]
CONSTRAINT_KEYS = ["required", "unique", "minLength", "maxLength", "pattern", "enum", "minimum", "maximum",
                   "exclusiveMinimum", "format"]
TOP_KEYS = ["fields", "primaryKey", "foreignKeys", "title", "description", "missingValues", "x-extra", "name"]
TYPES = ["string", "integer", "number", "boolean", "date", "array", "object", "any", "datetime", "weird"]


def value(chance: random.Random) -> object:
    return copy.deepcopy(chance.choice(VALUES))


def mutate(descriptor: dict, chance: random.Random) -> None:
    fields = descriptor.get("fields")
    field = chance.choice(fields) if isinstance(fields, list) and fields else None
    field = field if isinstance(field, dict) else None
    move = chance.randrange(9)
    if move == 0 and field is not None:
        field[chance.choice(FIELD_KEYS)] = value(chance)
    elif move == 1 and field is not None:
        field["type"] = chance.choice(TYPES)
    elif move == 2 and field is not None and isinstance(field.setdefault("constraints", {}), dict):
        field["constraints"][chance.choice(CONSTRAINT_KEYS)] = value(chance)
    elif move == 3 and field is not None:
        field.pop(chance.choice(FIELD_KEYS), None)
    elif move == 4:
        descriptor[chance.choice(TOP_KEYS)] = value(chance)
    elif move == 5:
        descriptor.pop(chance.choice(TOP_KEYS), None)
    elif move == 6 and field is not None:
        field["name"] = chance.choice(["id", "parent", "new", "count"])
    elif move == 7 and isinstance(descriptor.get("foreignKeys"), list) and descriptor["foreignKeys"]:
        descriptor["foreignKeys"][0][chance.choice(["fields", "reference"])] = value(chance)
    elif move == 8 and field is not None and isinstance(field.get("arrayItem"), dict):
        field["arrayItem"][chance.choice(["type", "categories", "constraints", "format"])] = value(chance)


def test_a_vouched_schema_is_one_frictionless_accepts():
    chance = random.Random(20261205)
    seen = {"vouched": 0, "rejected": 0}
    for _ in range(1500):
        descriptor = copy.deepcopy(BASE)
        for _ in range(chance.randrange(1, 4)):
            mutate(descriptor, chance)
        accepted = frictionless_accepts(descriptor)
        if vouched(descriptor):
            assert accepted, descriptor
            seen["vouched"] += 1
        seen["rejected"] += not accepted
    # both verdicts are common, so the property was tried on both sides of the line
    assert seen["vouched"] > 300 and seen["rejected"] > 300, seen


def test_a_cold_validate_of_the_flagship_never_imports_frictionless(tmp_path):
    # every schema and every row of the flagship is vouched for: frictionless is not even imported
    layout = copy_of_flagship(tmp_path)
    code = ("import sys; from pathlib import Path; from broadsheet.layout import Layout; "
            "from broadsheet import validate; report = validate.report(Layout(Path(sys.argv[1]))); "
            "print(report.valid, 'frictionless' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(layout.root)], capture_output=True, text=True, check=True,
                          cwd=tmp_path, timeout=120)
    assert done.stdout.split() == ["True", "False"]
