"""A constraint is worded once (broadsheet.constraints): the same words in the error a curator gets, the README
data dictionary and the `broadsheet new` template. Each row adds one field to the museums fixture, breaks its
constraint in a real record and pins all three texts, written out by hand."""

from __future__ import annotations

import json

import pytest

from broadsheet import validate
from broadsheet.export.dictionary import resource_section
from broadsheet.new import field_hint
from broadsheet.package import load_package
from conftest import write

SCHEMA = "schemas/museums.yaml"
RECORD = "datapackage/museums/louvre.yaml"

# (case, the field's type and constraints, the value typed into one record (None: left out), the error's message
# and expected, the data dictionary's row, the template's comment line)
CASES = [
    ("enum with labels", {"type": "string", "constraints": {"enum": ["low", "high"]},
                          "categories": [{"value": "low", "label": "Low tide"}, {"value": "high", "label": "High"}]},
     "mid", ("probe 'mid' is not one of low, high", "one of low, high"),
     "| `probe` | string |  | A probe. One of `low` (Low tide), `high` (High). |",
     "A probe. One of low, high."),
    ("pattern", {"type": "string", "constraints": {"pattern": "^[A-Z]{2}$"}},
     "abc", ("probe 'abc' is not text matching `^[A-Z]{2}$` as a whole", "text matching `^[A-Z]{2}$` as a whole"),
     "| `probe` | string |  | A probe. Text matching `^[A-Z]{2}$` as a whole. |",
     "A probe. Text matching `^[A-Z]{2}$` as a whole."),
    ("a pattern without ^ and $ applies to the whole value all the same", {
        "type": "string", "constraints": {"pattern": "[A-Z]+"}},
     "abc", ("probe 'abc' is not text matching `[A-Z]+` as a whole",
             "text matching `[A-Z]+` as a whole"),
     "| `probe` | string |  | A probe. Text matching `[A-Z]+` as a whole. |",
     "A probe. Text matching `[A-Z]+` as a whole."),
    ("minimum of a whole number", {"type": "integer", "constraints": {"minimum": 1}},
     "0", ("probe '0' is not at least 1", "at least 1"),
     "| `probe` | integer |  | A probe. At least 1. |",
     "A probe. A whole number. At least 1."),
    ("maximum of a number", {"type": "number", "constraints": {"maximum": 2.5}},
     "3", ("probe '3' is not at most 2.5", "at most 2.5"),
     "| `probe` | number |  | A probe. At most 2.5. |",
     "A probe. A number. At most 2.5."),
    ("minLength", {"type": "string", "constraints": {"minLength": 3}},
     "ab", ("probe 'ab' is not at least 3 characters", "at least 3 characters"),
     "| `probe` | string |  | A probe. At least 3 characters. |",
     "A probe. At least 3 characters."),
    ("maxLength of one: a character, not characters", {"type": "string", "constraints": {"maxLength": 1}},
     "ab", ("probe 'ab' is not at most 1 character", "at most 1 character"),
     "| `probe` | string |  | A probe. At most 1 character. |",
     "A probe. At most 1 character."),
    ("required (the dictionary has a column for it)", {"type": "string", "constraints": {"required": True}},
     None, ("probe is required", "a value"),
     "| `probe` | string | yes | A probe. |",
     "A probe. Required."),
    ("a format", {"type": "string", "format": "email"},
     "louvre.fr", ("probe 'louvre.fr' is not an email address", "an email address"),
     "| `probe` | string (email) |  | A probe. |",
     "A probe. An email address."),
    ("a partial date: its pattern is said by the type's words", {
        "type": "string", "x-partial-date": True, "constraints": {"pattern": "^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$"}},
     "May 1793", ("probe 'May 1793' is not valid", "a date YYYY, YYYY-MM or YYYY-MM-DD"),
     "| `probe` | partial date |  | A probe. |",
     "A probe. A date YYYY, YYYY-MM or YYYY-MM-DD."),
    ("several at once, in one order", {"type": "string", "constraints": {
        "minLength": 2, "maxLength": 4, "pattern": "^[a-z]+$"}},
     "abcdef", ("probe 'abcdef' is not at most 4 characters", "at most 4 characters"),
     "| `probe` | string |  | A probe. Text matching `^[a-z]+$` as a whole. At least 2 characters. "
     "At most 4 characters. |",
     "A probe. Text matching `^[a-z]+$` as a whole. At least 2 characters. At most 4 characters."),
]


@pytest.mark.parametrize(("case", "descriptor", "typed", "error", "dictionary_row", "hint"), CASES,
                         ids=[c[0] for c in CASES])
def test_one_wording_in_errors_dictionary_and_template(museums, case, descriptor, typed, error, dictionary_row,
                                                       hint):
    schema = (museums.root / SCHEMA).read_text(encoding="utf-8")
    field = json.dumps({"name": "probe", "description": "A probe.", **descriptor})
    write(museums, SCHEMA, schema.replace("primaryKey:", f"  - {field}\nprimaryKey:", 1))
    if typed is not None:
        record = (museums.root / RECORD).read_text(encoding="utf-8")
        write(museums, RECORD, record.replace("names:", f"probe: {typed}\nnames:", 1))
    package = load_package(museums)
    spec = package.resources["museums"]

    problems = [(p.path, p.field, p.message, p.expected) for p in validate.report(museums).problems]
    assert problems == [(RECORD if typed is not None else "datapackage/museums/central-state.yaml", "probe",
                         *error)] + ([] if typed is not None else [(RECORD, "probe", *error)])
    assert [line for line in resource_section(spec).splitlines() if line.startswith("| `probe`")] == [
        dictionary_row]
    assert field_hint(spec.field_map["probe"], package, spec) == hint
