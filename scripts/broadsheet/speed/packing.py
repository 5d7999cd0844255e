"""FileRows as builtins only, for the trip from a worker process and for the cache: marshal is ~4x faster than
pickle here. Every origin of a file shares the file's path, so only positions and the record id travel (a
file may hold many records); unpacked, they stay in that form (PackedOrigins) until a check or writer asks for
one of them.

Equivalence test: tests/test_differential.py::test_worker_processes_build_what_one_process_builds (rows and
origins after the trip equal those built in one process), tests/test_layouts.py (files of many records, their
record ids) and tests/test_cache.py (cached runs answer as cold)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields

from broadsheet.errors import Problem
from broadsheet.package import PackageSpec
from broadsheet.read.tables import FileRows, KeptOrigins, Origin, shape_of

Packed = tuple  # FileRows as plain tuples, dicts, lists, str and int: what `marshal` stores fastest
PROBLEM_FIELDS = tuple(f.name for f in fields(Problem))


def pack(result: FileRows, package: PackageSpec) -> Packed:
    rows = {}
    for name, (table_rows, origins) in result.rows.items():
        names = shape_of(package.resources[name]).field_names
        rows[name] = (table_rows, [(o.line, o.column, o.positions(names), o.record_id) for o in origins])
    return (result.path, [pack_problem(p) for p in result.parse_problems],
            [pack_problem(p) for p in result.problems], rows, result.flagged, result.suspects, result.entries)


def unpack(packed: Packed, package: PackageSpec) -> FileRows:
    path, parse_problems, problems, rows, flagged, suspects, entries = packed
    return FileRows(path, [Problem(*p) for p in parse_problems], [Problem(*p) for p in problems],
                    {name: (table_rows, PackedOrigins(path, names[name], origins))
                     for names in (_field_names(package),) for name, (table_rows, origins) in rows.items()},
                    [tuple(f) for f in flagged], suspects, entries)  # type: ignore[misc]


_last_names: list = [None, {}]  # the last package unpacked for, and its tables' field names (shape_of's tuples)


def _field_names(package: PackageSpec) -> dict[str, tuple[str, ...]]:
    """Each table's field names, looked up once a package instead of once a file and table (~35k at 10k)."""
    if _last_names[0] is not package:
        _last_names[:] = package, {name: shape_of(spec).field_names for name, spec in package.resources.items()}
    return _last_names[1]


def pack_problem(problem: Problem) -> tuple:
    return tuple(getattr(problem, name) for name in PROBLEM_FIELDS)


class PackedOrigins(KeptOrigins):
    """One file's origins as `pack` left them: (line, column, positions, record id) each."""

    __slots__ = ("path", "names", "packed")

    def __init__(self, path: str, names: tuple[str, ...], packed: list[tuple[int, int, tuple[int, ...], str]]) -> None:
        self.path, self.names, self.packed = path, names, packed

    def __len__(self) -> int:
        return len(self.packed)

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        if isinstance(index, slice):
            return [self._origin(packed) for packed in self.packed[index]]
        return self._origin(self.packed[index])

    def __iter__(self) -> Iterator[Origin]:
        return map(self._origin, self.packed)

    def _origin(self, packed: tuple[int, int, tuple[int, ...], str]) -> Origin:
        line, column, positions, record_id = packed
        return Origin(self.path, record_id, line, column, None, self.names, positions)

    def record_ids(self) -> list[str]:
        return [packed[3] for packed in self.packed]

    def paths(self) -> list[str]:
        return [self.path] * len(self.packed)
