"""The key-check rebuild: unique, primary and foreign keys over whole tables, exactly as frictionless' row stream
reports them (the same rows, the same notes), in plain Python and set operations instead of frictionless on
every row.

Equivalence test: tests/test_differential.py (test_fast_path_reports_what_frictionless_reports,
test_random_records_get_the_same_verdict_both_ways) holds it to `--full`, which runs frictionless itself."""

from __future__ import annotations

from collections.abc import Iterator
from operator import itemgetter
from typing import Any

from broadsheet.package import PackageSpec
from broadsheet.read.tables import Table, Tables
from broadsheet.speed.vouch import UNKNOWN, key_value, suspect_rows


def fast_path_applies(package: PackageSpec, tables: Tables, columns: KeyColumns | None = None) -> bool:
    """The fast path reproduces key comparisons for string and integer keys, and frictionless' blank-row rule
    is left to frictionless; anything else sends the whole package to frictionless."""
    keys: dict[str, set[str]] = {name: set(spec.primary_key) | {f.name for f in spec.fields
                                                                 if f.constraints.get("unique")}
                                 for name, spec in package.resources.items()}
    for spec in package.resources.values():
        for fk in spec.foreign_keys:
            keys[spec.name] |= set(fk["fields"])
            target = fk["reference"]["resource"] or spec.name
            keys[target] |= set(fk["reference"]["fields"])
    for name, fields in keys.items():
        table = tables[name]
        for field_name in fields:
            field_spec = table.spec.field_map[field_name]
            if field_spec.type == "string" and field_spec.descriptor.get("format", "default") == "default":
                continue  # text compares as itself
            if UNKNOWN in (columns or KeyColumns(tables)).column(name, field_name):
                return False
        # a blank row is never vouched for, so it is among the suspects
        suspects = suspect_rows(table) if tables.suspects is None else tables.suspects.get(name, [])
        if any(all(cell is None for cell in table.rows[index]) for index in suspects):
            return False
    return True


def cross_row_errors(package: PackageSpec, tables: Tables,
                      keys: KeyColumns) -> Iterator[tuple[Table, dict[str, Any]]]:
    """unique-error, primary-key and foreign-key exactly as frictionless' row stream reports them: the same rows,
    the same notes (which name the previous row holding the value). Set operations in C answer "any problem?"
    first; the row-by-row walk that words each error runs only when there is one."""
    lookups: dict[tuple[str, tuple[str, ...]], set[tuple[object, ...]]] = {}
    for spec in package.resources.values():
        for fk in spec.foreign_keys:
            target = fk["reference"]["resource"] or spec.name
            fields = tuple(fk["reference"]["fields"])
            if (target, fields) not in lookups:
                lookup = set(keys.tuples(target, fields))
                lookup.discard((None,) * len(fields))
                lookups[target, fields] = lookup
    for spec in package.resources.values():
        table = tables[spec.name]
        for field_spec in spec.fields:
            if field_spec.constraints.get("unique"):
                yield from ((table, e) for e in _unique_errors(field_spec.name, keys.tuples(spec.name, (
                    field_spec.name,))))
        if spec.primary_key:
            yield from ((table, e) for e in _primary_key_errors(keys.tuples(spec.name, tuple(spec.primary_key))))
        for fk in spec.foreign_keys:
            target = fk["reference"]["resource"] or spec.name
            lookup = lookups[target, tuple(fk["reference"]["fields"])]
            yield from ((table, e) for e in _foreign_key_errors(fk, keys.tuples(spec.name, tuple(fk["fields"])),
                                                                 lookup))


class KeyColumns:
    """Key values per (table, fields), cast as frictionless casts them, computed once per run."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.columns: dict[tuple[str, str], list[object]] = {}

    def column(self, name: str, field_name: str) -> list[object]:
        known = self.columns.get((name, field_name))
        if known is None:
            table = self.tables[name]
            column = table.column(field_name)
            texts = list(map(itemgetter(column), table.rows))
            field_spec = table.spec.field_map[field_name]
            if field_spec.type == "string" and field_spec.descriptor.get("format", "default") == "default":
                known = texts  # text compares as itself; a formatted text only when frictionless reads it so
            else:
                # each distinct text cast once: a key column of numbers repeats a few (positions in a list)
                value_of = key_value(field_spec)
                casts = {text: value_of(text) for text in set(texts)}
                known = list(map(casts.__getitem__, texts))
            self.columns[name, field_name] = known
        return known

    def tuples(self, name: str, fields: tuple[str, ...]) -> list[tuple[object, ...]]:
        return list(zip(*(self.column(name, f) for f in fields), strict=True))


def _unique_errors(field_name: str, values: list[tuple[object, ...]]) -> Iterator[dict[str, Any]]:
    present = [v for v in values if v[0] is not None]
    if len(set(present)) == len(present):
        return
    seen: dict[object, int] = {}
    for index, value in enumerate(values):
        if value[0] is None:
            continue
        match = seen.get(value)
        seen[value] = index + 2
        if match:
            yield {"type": "unique-error", "rowNumber": index + 2, "fieldName": field_name,
                   "note": f"the same as in the row at position {match}"}


def _primary_key_errors(keys: list[tuple[object, ...]]) -> Iterator[dict[str, Any]]:
    empty = (None,) * (len(keys[0]) if keys else 0)
    if len(set(keys)) == len(keys) and empty not in keys:
        return
    seen: dict[tuple[object, ...], int] = {}
    for index, cells in enumerate(keys):
        if cells == empty:
            yield {"type": "primary-key", "rowNumber": index + 2,
                   "note": 'cells composing the primary keys are all "None"'}
            continue
        match = seen.get(cells)
        seen[cells] = index + 2
        if match:
            yield {"type": "primary-key", "rowNumber": index + 2,
                   "note": f"the same as in the row at position {match}"}


def _foreign_key_errors(fk: dict[str, Any], keys: list[tuple[object, ...]],
                        lookup: set[tuple[object, ...]]) -> Iterator[dict[str, Any]]:
    empty = (None,) * len(fk["fields"])
    missing = set(keys) - lookup
    missing.discard(empty)
    if not missing:
        return
    reference = fk["reference"]
    for index, cells in enumerate(keys):
        if cells in missing:
            yield {"type": "foreign-key", "rowNumber": index + 2, "fieldNames": list(fk["fields"]),
                   "fieldCells": list(cells), "referenceName": reference["resource"],
                   "referenceFieldNames": list(reference["fields"])}


