"""Records → rows: each parsed file becomes one row of its resource, and each list of mappings inside it becomes
rows of a child resource. Every row remembers where each of its values was typed."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field

from broadsheet.errors import Problem
from broadsheet.package import PackageSpec, ResourceSpec
from broadsheet.records import Cell, Entry, ParsedFile, Seq


@dataclass(slots=True)
class Origin:
    """Where a row came from: the file, the record it belongs to, and the position of each value."""

    path: str
    record_id: str
    line: int
    column: int
    cells: dict[str, tuple[int, int]] = field(default_factory=dict)

    def position(self, field_name: str | None) -> tuple[int, int]:
        if field_name and field_name in self.cells:
            return self.cells[field_name]
        return self.line, self.column


@dataclass
class Table:
    spec: ResourceSpec
    rows: list[list[str | None]] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)

    def column(self, name: str) -> int:
        return self.spec.field_names.index(name)


@dataclass
class Tables:
    by_name: dict[str, Table]
    problems: list[Problem]
    # (resource, row index, field) of cells already reported, so later checks do not report them again
    flagged: set[tuple[str, int, str]] = field(default_factory=set)

    def __getitem__(self, name: str) -> Table:
        return self.by_name[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_name.values())


def build_tables(package: PackageSpec, files: dict[str, list[ParsedFile]]) -> Tables:
    """`files` maps each top-level resource to its parsed record files."""
    builder = _Builder(package)
    for resource in package.top_level:
        for parsed in files.get(resource.name, []):
            if parsed.entry is not None:
                builder.record(resource, parsed)
    return Tables(builder.tables, builder.problems, builder.flagged)


def record_id_from_path(path: str) -> str:
    return path.rsplit("/", 1)[-1].removesuffix(".yaml")


class _Builder:
    def __init__(self, package: PackageSpec) -> None:
        self.package = package
        self.tables = {name: Table(spec) for name, spec in package.resources.items()}
        self.problems: list[Problem] = []
        self.flagged: set[tuple[str, int, str]] = set()

    def record(self, spec: ResourceSpec, parsed: ParsedFile) -> None:
        entry = parsed.entry
        assert entry is not None
        expected_id = record_id_from_path(parsed.path)
        id_cell = entry.values.get(spec.id_field)
        found_id = id_cell.text if isinstance(id_cell, Cell) else None
        if found_id != expected_id:
            line, column = (id_cell.line, id_cell.column) if isinstance(id_cell, Cell) else (entry.line, 1)
            self.problems.append(Problem(
                "id-mismatch", f"{spec.id_field} must equal the file name {expected_id!r}", path=parsed.path,
                line=line, column=column, resource=spec.name, record_id=expected_id, field=spec.id_field,
                found=found_id or "(missing)", expected=expected_id,
                hint=f"set `{spec.id_field}: {expected_id}` or rename the file; ids never change once published"))
            self.flagged.add((spec.name, len(self.tables[spec.name].rows), spec.id_field))
        self.row(spec, entry, parsed.path, expected_id, filled={})

    def row(self, spec: ResourceSpec, entry: Entry, path: str, record_id: str, filled: dict[str, str]) -> None:
        values: dict[str, str | None] = dict(filled)
        origin = Origin(path, record_id, entry.line, entry.column)
        where = {"path": path, "resource": spec.name, "record_id": record_id}
        for key, value in entry.values.items():
            line, column = _position_of(value, entry.key_positions[key])
            at = {**where, "line": line, "column": column, "field": key}
            if key in spec.children:
                self.children(spec, key, value, values, path, record_id, at)
            elif key in spec.typed_fields:
                origin.cells[key] = (line, column)
                reported = len(self.problems)
                values[key] = self.cell_text(spec, key, value, at)
                if len(self.problems) > reported:
                    self.flagged.add((spec.name, len(self.tables[spec.name].rows), key))
            elif key in spec.field_map:
                self.problems.append(Problem(
                    "filled-field", f"{key!r} is filled in from the enclosing record; do not type it",
                    **at, found=key, expected="no such key here", hint=f"delete the `{key}:` line"))
            else:
                self.problems.append(_unknown_field(spec, key, at))
        table = self.tables[spec.name]
        table.rows.append([values.get(name) for name in spec.field_names])
        table.origins.append(origin)

    def children(self, spec: ResourceSpec, key: str, value: object, values: dict[str, str | None],
                 path: str, record_id: str, at: dict) -> None:
        child = self.package.resources[spec.children[key]]
        if not isinstance(value, Seq):
            self.problems.append(Problem("not-a-list", f"{key!r} must be a list of entries", **at,
                                         found=_kind(value), expected="a list (`- field: value` items)"))
            return
        for index, item in enumerate(value.items, start=1):
            if not isinstance(item, Entry):
                self.problems.append(Problem(
                    "not-a-mapping", f"item {index} of {key!r} must be a mapping of field: value",
                    **{**at, "line": getattr(item, "line", at["line"]), "column": getattr(item, "column", 0)},
                    found=_kind(item), expected="`- field: value`"))
                continue
            filled = {child_field: values.get(parent_field) for child_field, parent_field in
                      child.parent_link.items()}
            if child.position:
                filled[child.position] = str(index)
            self.row(child, item, path, record_id, filled)

    def cell_text(self, spec: ResourceSpec, key: str, value: object, at: dict) -> str | None:
        field_type = spec.field_map[key].type
        if isinstance(value, Cell):
            return _present(value.text)
        if isinstance(value, Seq) and field_type == "array":
            items = []
            for item in value.items:
                if not isinstance(item, Cell) or _present(item.text) is None:
                    self.problems.append(Problem(
                        "type-error", f"every item of {key!r} must be a non-empty value",
                        **{**at, "line": getattr(item, "line", at["line"]),
                           "column": getattr(item, "column", at["column"])},
                        found=_kind(item), expected="a plain value"))
                    continue
                items.append(item.text)
            return json.dumps(items, ensure_ascii=False) if items else None
        self.problems.append(Problem(
            "type-error", f"{key!r} must be a single value", **at, found=_kind(value),
            expected=f"a {field_type}", hint="write the value on the same line as the key"))
        return None


def _present(text: str | None) -> str | None:
    """Whitespace-only text is not a value: a required field must not pass on a stray space."""
    if text is None or not text.strip():
        return None
    return text


def _position_of(value: object, key_position: tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, Cell):
        return value.line, value.column
    return key_position


def _kind(value: object) -> str:
    if isinstance(value, Entry):
        return "a mapping"
    if isinstance(value, Seq):
        return "a list"
    if isinstance(value, Cell):
        return f"the value {value.text!r}"
    return "nothing"


def _unknown_field(spec: ResourceSpec, key: str, at: dict) -> Problem:
    known = sorted(spec.typed_fields | set(spec.children))
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean `{close[0]}`?" if close else f"known fields: {', '.join(known)}"
    return Problem("unknown-field", f"{spec.name} has no field {key!r}", **at, found=key,
                   expected="a field of the schema", hint=hint)
