"""FileRows as builtins only, for the trip from a worker process and for the cache: marshal is ~4x faster than
pickle here. Every origin of a file shares the file's path, so only positions and the record id travel (a
file may hold many records).

Equivalence test: tests/test_differential.py::test_worker_processes_build_what_one_process_builds (rows and
origins after the trip equal those built in one process), tests/test_layouts.py (files of many records, their
record ids) and tests/test_cache.py (cached runs answer as cold)."""

from __future__ import annotations

from dataclasses import fields

from broadsheet.errors import Problem
from broadsheet.package import PackageSpec
from broadsheet.read.tables import FileRows, Origin, shape_of

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
                    {name: (table_rows, [Origin(path, record_id, line, column, None, names, positions)
                                         for line, column, positions, record_id in origins])
                     for name, (table_rows, origins) in rows.items()
                     for names in (shape_of(package.resources[name]).field_names,)},
                    [tuple(f) for f in flagged], suspects, entries)  # type: ignore[misc]


def pack_problem(problem: Problem) -> tuple:
    return tuple(getattr(problem, name) for name in PROBLEM_FIELDS)
