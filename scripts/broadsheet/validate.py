"""Validation: parse every record, build rows, run frictionless and Broadsheet's own checks, and map every
error back to the file, line and column where the curator typed the value."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadsheet import checks
from broadsheet.errors import Problem, Report
from broadsheet.layout import Layout
from broadsheet.package import PackageSpec, load_package
from broadsheet.records import parse_file
from broadsheet.tables import Table, Tables, build_tables

RECORD_SUFFIX = ".yaml"


@dataclass
class Validated:
    """The outcome of one validation: the report, and the rows the writers use when it is valid."""

    package: PackageSpec
    tables: Tables
    report: Report


def validate(layout: Layout) -> Validated:
    package = load_package(layout)
    report = Report()
    files, stray = discover(package)
    report.extend(stray)
    parsed = {name: [parse_file(path, layout.relative(path)) for path in paths] for name, paths in files.items()}
    for results in parsed.values():
        for result in results:
            report.extend(result.problems)
    tables = build_tables(package, parsed)
    report.extend(tables.problems)
    report.extend(check_tables(package, tables))
    report.stats = {"files": sum(len(p) for p in files.values()),
                    **{f"rows.{t.spec.name}": len(t.rows) for t in tables}}
    return Validated(package, tables, report)


def discover(package: PackageSpec) -> tuple[dict[str, list[Path]], list[Problem]]:
    """Record files per top-level resource, and a problem for anything in datapackage/ we would ignore."""
    layout = package.layout
    files: dict[str, list[Path]] = {}
    problems = []
    for spec in package.top_level:
        folder = layout.records_dir(spec.name)
        files[spec.name] = sorted(folder.glob(f"*{RECORD_SUFFIX}")) if folder.is_dir() else []
    if layout.data_dir.is_dir():
        known = {spec.name for spec in package.top_level}
        for entry in sorted(layout.data_dir.iterdir()):
            if entry.is_dir() and entry.name not in known:
                problems.append(Problem(
                    "unknown-resource", f"folder {entry.name!r} matches no schema in schemas/",
                    path=layout.relative(entry), found=entry.name,
                    expected=f"one of {', '.join(sorted(known))}",
                    hint="rename the folder or add schemas/<name>.yaml"))
            elif entry.is_dir():
                for stray in sorted(entry.iterdir()):
                    if stray.suffix != RECORD_SUFFIX and not stray.name.startswith("."):
                        problems.append(Problem(
                            "wrong-extension", f"{stray.name!r} is not read: records end in {RECORD_SUFFIX}",
                            path=layout.relative(stray), resource=entry.name, found=stray.suffix or stray.name,
                            expected=RECORD_SUFFIX, hint=f"rename it to {stray.stem}{RECORD_SUFFIX}"))
    return files, problems


def check_tables(package: PackageSpec, tables: Tables) -> list[Problem]:
    problems: list[Problem] = []
    flagged = set(tables.flagged)
    for table in tables:
        for index, field_name, problem in checks.cell_problems(table):
            flagged.add((table.spec.name, index, field_name))
            problems.append(problem)
    problems += frictionless_problems(package, tables, flagged)
    problems += checks.citation_problems(package, tables)
    return problems


def frictionless_problems(package: PackageSpec, tables: Tables,
                          already: set[tuple[str, int, str]]) -> list[Problem]:
    """Run the reference validator over every table at once (so foreign keys are checked) and locate its errors.

    A cell a stricter Broadsheet rule has already rejected is not reported twice.
    """
    from frictionless import Package, Resource, Schema

    resources = []
    for table in tables:
        header = table.spec.field_names
        resources.append(Resource(name=table.spec.name, data=[header, *table.rows],
                                  schema=Schema.from_descriptor(table.spec.frictionless_schema())))
    report = Package(resources=resources).validate()
    problems = []
    for task in report.tasks:
        table = tables[task.name]
        for error in task.errors:
            problem = _locate(table, error.to_descriptor())
            if problem is None:
                continue
            key = (table.spec.name, _row_index(error.to_descriptor()), problem.field)
            if key not in already:
                problems.append(problem)
    return problems


def _row_index(error: dict[str, Any]) -> int:
    return int(error.get("rowNumber") or 0) - 2  # frictionless counts the header as row 1


def _locate(table: Table, error: dict[str, Any]) -> Problem | None:
    code = error["type"]
    index = _row_index(error)
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
        message = f"{'/'.join(key_fields)} {found!r} is used twice ({error.get('note', '')})"
        hint = "each record needs its own id" if code == "primary-key" else "make the value unique"
    elif code == "constraint-error" and "required" in expected:
        found, expected = "(missing)", "a value"
        message = f"{field_name} is required"
        hint = f"add `{field_name}: ...` to the record"
    elif code in ("type-error", "constraint-error"):
        field_spec = spec.field_map.get(field_name)
        described = _describe_expectation(field_spec.descriptor if field_spec else {}, expected)
        message = f"{field_name} {found!r} is not {described}"
        expected = described
    else:
        message = error.get("message", code)
    line, column = origin.position(field_name)
    return Problem(code, message, path=origin.path, line=line, column=column, resource=spec.name,
                   record_id=origin.record_id, field=field_name, found=str(found), expected=expected, hint=hint)


def _first_typed(typed: set[str], candidates: list[str]) -> str:
    """Point at a value the curator typed, not one the loader filled in."""
    for name in candidates:
        if name in typed:
            return name
    return candidates[0] if candidates else ""


def _describe_expectation(field: dict[str, Any], note: str) -> str:
    constraints = field.get("constraints") or {}
    if "enum" in note and "enum" in constraints:
        return "one of " + ", ".join(str(v) for v in constraints["enum"])
    if "pattern" in note and "pattern" in constraints:
        return f"text matching {constraints['pattern']}"
    for bound, word in (("minimum", "at least"), ("maximum", "at most"), ("minLength", "at least"),
                        ("maxLength", "at most")):
        if bound in note and bound in constraints:
            unit = " characters" if "Length" in bound else ""
            return f"{word} {constraints[bound]}{unit}"
    if note.startswith("type is"):
        return f"a valid {field.get('type', 'value')}" + (f" ({field['format']})" if field.get("format") else "")
    return note
