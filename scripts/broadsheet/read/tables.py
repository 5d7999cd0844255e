"""Records → rows: each parsed file becomes one row of its resource, and each list of mappings inside it becomes
rows of a child resource. Every row remembers where each of its values was typed."""

from __future__ import annotations

import difflib
import json
import sys
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from itertools import accumulate

from broadsheet.errors import Problem
from broadsheet.layout import FROM_FIELD, FROM_KEY, RecordLayout, record_id_of
from broadsheet.package import PackageSpec, ResourceSpec
from broadsheet.read.records import Cell, Entry, ParsedFile, Seq


class Origin:
    """Where a row came from: the file, the record it belongs to, and the position of each value.

    The row builder gives it one tuple of ints, (line, column) per field in the schema's field order (0 where
    absent), next to the schema's shared tuple of names: at 100k records that is ~400 MB less than a dict of
    tuples per row. `cells`, the dict field -> (line, column), is made only when asked for."""

    __slots__ = ("path", "record_id", "line", "column", "_cells", "_names", "_positions")

    def __init__(self, path: str, record_id: str, line: int, column: int,
                 cells: dict[str, tuple[int, int]] | None = None, names: tuple[str, ...] = (),
                 positions: tuple[int, ...] = ()) -> None:
        self.path = path
        self.record_id = record_id
        self.line = line
        self.column = column
        self._names = names
        self._positions = positions
        self._cells = None if names else ({} if cells is None else cells)

    @property
    def cells(self) -> dict[str, tuple[int, int]]:
        if self._cells is None:
            positions = self._positions
            self._cells = {name: (positions[2 * i], positions[2 * i + 1]) for i, name in enumerate(self._names)
                           if positions[2 * i]}
        return self._cells

    def positions(self, names: tuple[str, ...]) -> tuple[int, ...]:
        if self._cells is None and self._names is names:
            return self._positions
        flat: list[int] = []
        for name in names:
            flat += self.cells.get(name, NO_POSITION)
        return tuple(flat)

    def position(self, field_name: str | None) -> tuple[int, int]:
        if field_name and field_name in self.cells:
            return self.cells[field_name]
        return self.line, self.column

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Origin) and (self.path, self.record_id, self.line, self.column, self.cells) == (
            other.path, other.record_id, other.line, other.column, other.cells)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Origin({self.path!r}, {self.record_id!r}, {self.line}, {self.column}, {self.cells!r})"

    def __reduce__(self) -> tuple[type, tuple]:
        return Origin, (self.path, self.record_id, self.line, self.column, dict(self.cells))


class KeptOrigins(Sequence[Origin]):
    """Origins kept in a form other than a list of Origin objects, each made only when asked for: a clean run
    asks for none. Record ids and paths come in bulk without making any. broadsheet.speed.packing keeps a
    file's as they travel; Origins keeps a table's as its files' runs."""

    __slots__ = ()

    def record_ids(self) -> list[str]:
        return [origin.record_id for origin in self]

    def paths(self) -> list[str]:
        return [origin.path for origin in self]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and len(self) == len(other) and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class Origins(KeptOrigins):
    """A table's origins, file after file: each file's run is kept as it came (a list, or KeptOrigins), so
    merging the files copies no origin and makes none (~83k at 10k records)."""

    __slots__ = ("_runs", "_ends")

    def __init__(self, runs: list[Sequence[Origin]], ends: list[int] | None = None) -> None:
        """`ends`: the index just past each run, when the caller knows them (their lengths summed up)."""
        self._runs = runs
        self._ends = list(accumulate(map(len, runs))) if ends is None else ends

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"origin {index} of {len(self)}")
        run = bisect_right(self._ends, index)
        return self._runs[run][index - (self._ends[run - 1] if run else 0)]

    def __iter__(self) -> Iterator[Origin]:
        for run in self._runs:
            yield from run

    def record_ids(self) -> list[str]:
        return [record_id for run in self._runs for record_id in _record_ids(run)]

    def paths(self) -> list[str]:
        return [path for run in self._runs for path in _paths(run)]


def _record_ids(origins: Sequence[Origin]) -> list[str]:
    if isinstance(origins, KeptOrigins):
        return origins.record_ids()
    return [origin.record_id for origin in origins]


def _paths(origins: Sequence[Origin]) -> list[str]:
    if isinstance(origins, KeptOrigins):
        return origins.paths()
    return [origin.path for origin in origins]


@dataclass
class Table:
    spec: ResourceSpec
    rows: list[tuple[str | None, ...]] = field(default_factory=list)
    # a list while a file's rows are built; merged tables hold Origins
    origins: Sequence[Origin] = field(default_factory=list)

    def column(self, name: str) -> int:
        return self.spec.field_names.index(name)

    def record_ids(self) -> list[str]:
        """The record id of each row, in row order."""
        return _record_ids(self.origins)

    def paths(self) -> list[str]:
        """The file of each row, in row order."""
        return _paths(self.origins)


@dataclass
class Tables:
    by_name: dict[str, Table]
    problems: list[Problem]
    # (resource, row index, field) of cells already reported, so later checks do not report them again
    flagged: set[tuple[str, int, str]] = field(default_factory=set)
    # Set when the per-row checks ran file by file (validate does that): rows frictionless must judge, per table.
    suspects: dict[str, list[int]] | None = None

    def __getitem__(self, name: str) -> Table:
        return self.by_name[name]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.by_name.values())


@dataclass(slots=True)
class FileRows:
    """What one record file contributes: its rows per resource (row indices local to the file), the problems found
    while turning it into rows, and the cells already reported (so later checks do not report them again).

    A file's FileRows depends only on its bytes, its path and the schemas, which is what makes it cacheable and
    lets worker processes build it in parallel."""

    path: str
    parse_problems: list[Problem]  # from records.parse_file
    problems: list[Problem]  # from turning the parsed record into rows
    rows: dict[str, tuple[list[tuple[str | None, ...]], Sequence[Origin]]]
    flagged: list[tuple[str, int, str]]
    suspects: dict[str, list[int]] = field(default_factory=dict)  # rows frictionless must judge (see checks)
    # the file's key entries for broadsheet.speed.incremental when asked for (flat: kind, value, ...; None: not made;
    # False: the index cannot take this file)
    entries: list[object] | bool | None = None


def build_tables(package: PackageSpec, files: dict[str, list[ParsedFile]]) -> Tables:
    """`files` maps each top-level resource to its parsed record files."""
    return merge_files(package, [build_file(package, resource, parsed) for resource in package.top_level
                                 for parsed in files.get(resource.name, [])])


def build_file(package: PackageSpec, spec: ResourceSpec, parsed: ParsedFile) -> FileRows:
    """One file's rows; a file that could not be parsed contributes its parse problems and no rows. Every
    problem met on the way is recorded and the builder goes on: there is no other path to bail out to."""
    builder = _Builder(package)
    form = spec.records or RecordLayout("")
    records = parsed.many if parsed.many is not None else [parsed.entry] if parsed.entry is not None else []
    starts = [(entry.line, builder.record(spec, parsed.path, entry, form)) for entry in records]
    located = [p if p.resource else replace(p, resource=spec.name, record_id=_holder(form, parsed.path, starts,
                                                                                      p.line))
               for p in parsed.problems]  # the parser knows only the file: name the record that holds each
    rows = {name: (table.rows, table.origins) for name, table in builder.tables.items() if table.rows}
    return FileRows(parsed.path, located, builder.problems, rows, sorted(builder.flagged))


def _holder(form: RecordLayout, path: str, starts: list[tuple[int, str]], line: int) -> str:
    """The id of the record holding `line` of a file: the file name's, or that of the last record starting at
    or before the line (a file of many records)."""
    if form.ids_from_names:
        return form.stem(path)
    found = ""
    for start, record_id in starts:
        if start > line:
            break
        found = record_id
    return found


def _shared(text: str) -> str:
    """Short values repeat (enums, ids, positions, dates): one string object per distinct value instead of one
    per cell, here and after marshal's round trip (it writes interned strings once). ~15% less memory."""
    return intern(text) if len(text) <= SHARED_UP_TO else text


NO_POSITION = (0, 0)  # a field the row does not hold
SHARED_UP_TO = 24  # characters: ids, enums, dates and positions; longer texts rarely repeat
intern = sys.intern

_SHAPES: dict[int, tuple[ResourceSpec, _Shape]] = {}


def shape_of(spec: ResourceSpec) -> _Shape:
    known = _SHAPES.get(id(spec))
    if known is None or known[0] is not spec:
        known = _SHAPES[id(spec)] = (spec, _Shape(tuple(spec.field_names), frozenset(spec.typed_fields),
                                                  frozenset(spec.field_map), {f.name: f.type for f in spec.fields}))
    return known[1]


def _link_values(child: ResourceSpec, values: dict[str, str | None]) -> dict[str, str | None]:
    """The child's key to its parent, copied from the parent's values."""
    return {child_field: values.get(parent_field) for child_field, parent_field in child.parent_link.items()}


def merge_files(package: PackageSpec, results: list[FileRows]) -> Tables:
    """Concatenate per-file rows in the order given (resources parents first, files sorted), so row numbers are
    the same however the files were built."""
    tables = {name: Table(spec) for name, spec in package.resources.items()}
    runs: dict[str, tuple[list[Sequence[Origin]], list[int]]] = {name: ([], []) for name in package.resources}
    problems: list[Problem] = []
    flagged: set[tuple[str, int, str]] = set()
    suspects: dict[str, list[int]] = {}
    into = {name: (table.rows, *runs[name]) for name, table in tables.items()}
    for result in results:
        offsets = {}
        for name, (rows, run) in result.rows.items():
            table_rows, table_runs, ends = into[name]
            offsets[name] = len(table_rows)
            table_rows.extend(rows)
            table_runs.append(run)
            ends.append(len(table_rows))  # a file has as many origins as rows
        if result.flagged:  # (most files have none: no generator made for them)
            flagged.update((name, offsets[name] + index, field_name) for name, index, field_name in result.flagged)
        for name, indices in result.suspects.items():
            suspects.setdefault(name, []).extend(offsets[name] + index for index in indices)
        if result.problems:
            problems.extend(result.problems)
    for name, table in tables.items():
        table.origins = Origins(*runs[name])
    return Tables(tables, problems, flagged, suspects)


def record_id_from_path(path: str) -> str:
    """The id a one-record-per-file path names (the default layout)."""
    return record_id_of(path)


def plain_value(value: Cell | Entry | Seq) -> object:
    """A nested value as JSON data: every scalar the text typed (None where absent), mappings and lists kept."""
    if isinstance(value, Cell):
        return value.text
    if isinstance(value, Seq):
        return [plain_value(item) for item in value.items]
    return {key: plain_value(item) for key, item in value.values.items()}


def canonical_json(value: object) -> str:
    """The one text of a mapping in CSV and SQLite: keys sorted, no spaces, non-ASCII kept (RFC 8785 for text)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class _Shape:
    """What the builder asks of a schema for every value, computed once instead of per cell."""

    field_names: tuple[str, ...]
    typed: frozenset[str]
    known: frozenset[str]
    types: dict[str, str]


class _Builder:
    def __init__(self, package: PackageSpec) -> None:
        self.package = package
        self.tables: dict[str, Table] = {}
        self.problems: list[Problem] = []
        self.flagged: set[tuple[str, int, str]] = set()

    def table(self, name: str) -> Table:
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = Table(self.package.resources[name])
        return table

    def record(self, spec: ResourceSpec, path: str, entry: Entry, form: RecordLayout) -> str:
        """One record's rows; its id, from its file name, its id field or the key it is filed under."""
        id_cell = entry.values.get(spec.id_field)
        found_id = id_cell.text if isinstance(id_cell, Cell) else None
        if form.id_from == FROM_FIELD:
            record_id = found_id or ""
            self.row(spec, entry, path, record_id, filled={})
            return record_id
        if form.id_from == FROM_KEY:
            name = entry.name
            expected_id = (name.text if name is not None else None) or ""
            if id_cell is None or found_id == expected_id:
                self.row(spec, entry, path, expected_id, filled={}, keyed={spec.id_field: expected_id or None})
                return expected_id
            what, hint = f"the id {expected_id!r} it is filed under", f"delete the `{spec.id_field}:` line"
        else:
            expected_id = form.stem(path)
            if found_id == expected_id:
                self.row(spec, entry, path, expected_id, filled={})
                return expected_id
            what = f"the file name {expected_id!r}"
            hint = f"set `{spec.id_field}: {expected_id}` or rename the file; ids never change once published"
        line, column = (id_cell.line, id_cell.column) if isinstance(id_cell, Cell) else (entry.line, 1)
        self.problems.append(Problem(
            "id-mismatch", f"{spec.id_field} must equal {what}", path=path, line=line, column=column,
            resource=spec.name, record_id=expected_id, field=spec.id_field, found=found_id or "(missing)",
            expected=expected_id, hint=hint))
        self.flagged.add((spec.name, len(self.table(spec.name).rows), spec.id_field))
        # The record is known by its file name (or key) from here on, so other records' references to it do not
        # each fail as well: one mistake, one error.
        self.row(spec, entry, path, expected_id, filled={}, keyed={spec.id_field: expected_id})
        return expected_id

    def row(self, spec: ResourceSpec, entry: Entry, path: str, record_id: str, filled: dict[str, str],
            keyed: dict[str, str] | None = None) -> None:
        values: dict[str, str | None] = dict(filled)
        cells: dict[str, tuple[int, int]] = {}  # field -> (line, column), flattened into the Origin at the end
        shape = shape_of(spec)
        typed = shape.typed
        table = self.table(spec.name)
        pending: list[tuple[str, object, dict]] = []
        for key, value in entry.values.items():
            if isinstance(value, Cell):
                line, column = value.line, value.column
                if key in typed:  # the common case first: a plain value of a typed field (_present, _shared inlined)
                    cells[key] = (line, column)
                    text = value.text
                    values[key] = (None if not text or text.isspace() else
                                   intern(text) if len(text) <= SHARED_UP_TO else text)
                    continue
            else:
                line, column = entry.key_positions[key]
            at = {"path": path, "resource": spec.name, "record_id": record_id, "line": line, "column": column,
                  "field": key}
            if key in spec.children:
                pending.append((key, value, at))
            elif key in typed:
                cells[key] = (line, column)
                reported = len(self.problems)
                values[key] = self.cell_text(spec, key, value, at)
                if len(self.problems) > reported:
                    self.flagged.add((spec.name, len(table.rows), key))
            elif key in spec.flatten:
                self.flattened(spec, key, value, values, cells, at, len(table.rows))
            elif key in shape.known:
                self.problems.append(Problem(
                    "filled-field", f"{key!r} is filled in from the enclosing record; do not type it",
                    **at, found=key, expected="no such key here", hint=f"delete the `{key}:` line"))
            else:
                self.problems.append(_unknown_field(spec, key, at))
        if keyed:
            values.update(keyed)
        for key, value, at in pending:  # after the loop: the link may be typed below the list
            self.children(spec, key, value, values, path, record_id, at)
        table.rows.append(tuple(map(values.get, shape.field_names)))  # a tuple: ~40 bytes less a row
        names = shape.field_names
        flat: list[int] = []
        for name in names:  # the Origin's positions: (line, column) per field, in the schema's order
            flat += cells.get(name, NO_POSITION)
        table.origins.append(Origin(path, record_id, entry.line, entry.column, names=names,  # type: ignore[attr-defined]
                                    positions=tuple(flat)))  # (a list while built)

    def flattened(self, spec: ResourceSpec, key: str, value: object, values: dict[str, str | None],
                  cells: dict[str, tuple[int, int]], at: dict, row: int) -> None:
        """`key: {inner: value}` declared in `flatten`: each inner key fills the column `key.inner`."""
        if isinstance(value, Cell) and value.text is None:
            return  # `key:` with nothing: not known
        if not isinstance(value, Entry):
            self.problems.append(Problem(
                "type-error", f"{key!r} must be a mapping of name: value", **at, found=_kind(value),
                expected="a mapping", hint=f"write the names below `{key}:`, indented, one `name: value` a line"))
            return
        for inner, item in value.values.items():
            column = f"{key}.{inner}"
            line, col = (item.line, item.column) if isinstance(item, Cell) else value.key_positions[inner]
            where = {**at, "line": line, "column": col, "field": column}
            if column not in spec.field_map:
                self.problems.append(_unknown_field(spec, column, where))
                continue
            cells[column] = (line, col)
            reported = len(self.problems)
            values[column] = self.cell_text(spec, column, item, where)
            if len(self.problems) > reported:
                self.flagged.add((spec.name, row, column))

    def children(self, spec: ResourceSpec, key: str, value: object, values: dict[str, str | None],
                 path: str, record_id: str, at: dict) -> None:
        child = self.package.resources[spec.children[key]]
        if child.entries is not None:
            self.entries(child, key, value, values, path, record_id, at)
            return
        if not isinstance(value, Seq):
            self.problems.append(Problem("not-a-list", f"{key!r} must be a list of entries", **at,
                                         found=_kind(value), expected="a list (`- field: value` items)"))
            return
        link = _link_values(child, values)  # the same for every item: row() copies what it is given
        for index, item in enumerate(value.items, start=1):
            if not isinstance(item, Entry):
                self.problems.append(Problem(
                    "not-a-mapping", f"item {index} of {key!r} must be a mapping of field: value",
                    **{**at, "line": getattr(item, "line", at["line"]), "column": getattr(item, "column", 0)},
                    found=_kind(item), expected="`- field: value`"))
                continue
            self.row(child, item, path, record_id, {**link, child.position: _shared(str(index))}
                     if child.position else link)

    def entries(self, child: ResourceSpec, key: str, value: object, values: dict[str, str | None], path: str,
                record_id: str, at: dict) -> None:
        """`key: {name: value, ...}` held by a child of key/value rows: one row per name, in the order written."""
        assert child.entries is not None
        key_field, value_field = child.entries
        if not isinstance(value, Entry):
            self.problems.append(Problem("not-a-mapping", f"{key!r} must be a mapping of name: value", **at,
                                         found=_kind(value), expected="`name: value` lines indented below it"))
            return
        link = _link_values(child, values)  # the same for every name: row() copies what it is given
        for index, (name, item) in enumerate(value.values.items(), start=1):
            line, column = value.key_positions[name]
            pair = Entry(line, column, {key_field: Cell(name, line, column), value_field: item},
                         {key_field: (line, column), value_field: (line, column)})
            self.row(child, pair, path, record_id, {**link, child.position: _shared(str(index))}
                     if child.position else link)

    def cell_text(self, spec: ResourceSpec, key: str, value: object, at: dict) -> str | None:
        field_type = spec.field_map[key].type
        if isinstance(value, Cell):
            text = _present(value.text)
            return text if text is None else _shared(text)
        if isinstance(value, Entry) and field_type == "object":
            return canonical_json(plain_value(value))
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
        if field_type == "object":
            hint = f"an object is a mapping: `{key}:` and below it, indented, one `name: value` a line"
        elif isinstance(value, Entry):
            hint = (f"{key} holds one value ({field_type}), written after `{key}:`; a mapping needs a field of "
                    "type object (or x-broadsheet.flatten, or a child of entries)")
        else:
            hint = f"{key} holds one value ({field_type}), written after `{key}:`; a list needs a field of type array"
        self.problems.append(Problem(
            "type-error", f"{key!r} must be {'a mapping' if field_type == 'object' else 'a single value'}", **at,
            found=_kind(value), expected=f"a {field_type}", hint=hint))
        return None


def _present(text: str | None) -> str | None:
    """Whitespace-only text is not a value: a required field must not pass on a stray space."""
    if text is None or not text.strip():
        return None
    return text


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
