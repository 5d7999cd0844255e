"""The boundary to frictionless, the authority on types and constraints: run it over tables or over some rows,
and turn each of its errors into a located Problem in Broadsheet's words (constraints are worded by
`broadsheet.constraints`, as in the data dictionary and the record template). Frictionless itself is imported
where it runs (0.35 s): a warm run never needs it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from broadsheet.constraints import expectations
from broadsheet.errors import Problem
from broadsheet.package import FieldSpec, PackageSpec
from broadsheet.read.tables import Table, Tables

# Codes that depend on other rows: frictionless reports them from the whole table.
CROSS_ROW_CODES = frozenset({"primary-key", "unique-error", "foreign-key"})
SAME_AS_ROW = re.compile(r"the same as in the row at position (\d+)")  # frictionless' note on a repeated key


def row_problems(tables: Tables, rows: dict[str, list[int]], already: set[tuple[str, int, str]]) -> list[Problem]:
    """Frictionless' own errors on some rows of each table (each row judged on its own)."""
    found = []
    for table in tables:
        indices = rows.get(table.spec.name)
        if indices:
            found += [(table, d) for d in frictionless_rows(table, indices)]
    return located(found, already)


def located(found: list[tuple[Table, dict[str, Any]]], already: set[tuple[str, int, str]]) -> list[Problem]:
    problems = []
    for table, descriptor in found:
        problem = locate(table, descriptor)
        if problem is not None and (table.spec.name, row_index(descriptor), problem.field) not in already:
            problems.append(problem)
    return problems


def frictionless_rows(table: Table, indices: list[int], batch: int = 50) -> Iterator[dict[str, Any]]:
    """Frictionless' cell errors for some rows of a table, with row numbers of the whole table.

    Batches stay far below frictionless' limit of 1000 errors per validation. Key errors are left out: they
    depend on the other rows and come from the whole-table pass."""
    from frictionless import Resource, Schema

    descriptor = {k: v for k, v in table.spec.frictionless_schema().items() if k != "foreignKeys"}
    header = table.spec.field_names
    for start in range(0, len(indices), batch):
        part = indices[start:start + batch]
        resource = Resource(name=table.spec.name, data=[header, *(list(table.rows[i]) for i in part)],
                            schema=Schema.from_descriptor(descriptor))
        for task in resource.validate().tasks:
            for error in task.errors:
                found = error.to_descriptor()
                if found["type"] in CROSS_ROW_CODES or not found.get("rowNumber"):
                    continue
                found["rowNumber"] = part[found["rowNumber"] - 2] + 2
                yield found


def frictionless_problems(package: PackageSpec, tables: Tables,
                          already: set[tuple[str, int, str]]) -> list[Problem]:
    """Run the reference validator over every table at once (so foreign keys are checked) and locate its errors.

    A cell a stricter Broadsheet rule has already rejected is not reported twice.
    """
    from frictionless import Package, Resource, Schema

    resources = []
    for table in tables:
        header = table.spec.field_names
        resources.append(Resource(name=table.spec.name, data=[header, *map(list, table.rows)],
                                  schema=Schema.from_descriptor(table.spec.frictionless_schema())))
    report = Package(resources=resources).validate()
    problems = []
    for task in report.tasks:
        table = tables[task.name]
        for error in task.errors:
            problem = locate(table, error.to_descriptor())
            if problem is None:
                continue
            key = (table.spec.name, row_index(error.to_descriptor()), problem.field)
            if key not in already:
                problems.append(problem)
    return problems


def row_index(error: dict[str, Any]) -> int:
    return int(error.get("rowNumber") or 0) - 2  # frictionless counts the header as row 1


def locate(table: Table, error: dict[str, Any]) -> Problem | None:
    code = error["type"]
    index = row_index(error)
    if index < 0 or index >= len(table.rows):
        return Problem(code, error.get("message", code), path=table.spec.schema_path, resource=table.spec.name)
    origin = table.origins[index]
    spec = table.spec
    field_name = error.get("fieldName") or ""
    found = error.get("cell", "")
    expected = error.get("note", "")
    hint = ""
    if code == "foreign-key":
        field_name = _first_typed(spec.typed_fields, error.get("fieldNames") or [])
        found = ", ".join(str(v) for v in error.get("fieldCells") or [])
        target = error.get("referenceName") or spec.name
        expected = f"an existing {target}.{', '.join(error.get('referenceFieldNames') or [])}"
        hint = f"check the spelling, or add datapackage/{target}/{found}.yaml" if target else ""
        message = f"{field_name} {found!r} refers to no record in {target}"
    elif code in ("primary-key", "unique-error"):
        key_fields = spec.primary_key if code == "primary-key" else [field_name]
        field_name = _first_typed(spec.typed_fields, key_fields) or field_name
        found = ", ".join(str(table.rows[index][table.column(f)]) for f in key_fields)
        expected = "a value no other row has"
        first = _first_holder(table, error.get("note", ""), field_name)
        message = f"{'/'.join(key_fields)} {found!r} is used twice ({first})"
        hint = "each record needs its own id" if code == "primary-key" else "make the value unique"
    elif code == "constraint-error" and "required" in expected:
        found, expected = "(missing)", "a value"
        message = f"{field_name} is required"  # the phrase of `expectations`
        hint = f"add `{field_name}: ...` to the record"
    elif code in ("type-error", "constraint-error"):
        field_spec = spec.field_map.get(field_name)
        described = describe_expectation(field_spec, expected)
        message = f"{field_name} {found!r} is not {described}"
        expected = described
        if field_spec and field_spec.type == "object" and code == "type-error":
            hint = f"an object is a mapping: `{field_name}:` and below it, indented, one `name: value` a line"
        elif field_spec and field_spec.description:  # the schema says in words what a pattern says in symbols
            hint = f"{field_name}: {field_spec.description}"
    else:
        message = error.get("message", code)
    line, column = origin.position(field_name)
    return Problem(code, message, path=origin.path, line=line, column=column, resource=spec.name,
                   record_id=origin.record_id, field=field_name, found=str(found), expected=expected, hint=hint)


def _first_holder(table: Table, note: str, field_name: str) -> str:
    """Frictionless' "the same as in the row at position N", said as the file and line of that row."""
    match = SAME_AS_ROW.fullmatch(note)
    index = int(match.group(1)) - 2 if match else -1
    if not 0 <= index < len(table.origins):
        return note
    first = table.origins[index]
    return f"first at {first.path}:{first.position(field_name)[0]}"


def _first_typed(typed: set[str], candidates: list[str]) -> str:
    """Point at a value the curator typed, not one the loader filled in."""
    for name in candidates:
        if name in typed:
            return name
    return candidates[0] if candidates else ""


def describe_expectation(field: FieldSpec | None, note: str) -> str:
    """What frictionless' note says was expected, in Broadsheet's words: the phrase of the constraint it names."""
    phrases = expectations(field) if field else {}
    for name in ("enum", "pattern", "minimum", "maximum", "minLength", "maxLength"):
        if f'"{name}"' in note and name in phrases:
            return phrases[name]
    if note.startswith("type is") and "type" in phrases:
        return phrases["type"]
    return note
