"""A build after a small edit updates the last build instead of making every output anew, and writes exactly what a
cold build of the same inputs writes.

It applies when the last build stands but for a few record files (at most MAX_FILES) whose rows keep their shape:
every table has the same rows' primary keys and record ids coming from those files as before, no searched value
appears or disappears, no numeric value needs its column declared otherwise in SQLite. Anything else (a record added
or removed, a schema, view, README or datapackage.json change, a commit, a hand edit of an output, a table without a
primary key) takes the full build: `plan` returns None.

The last build leaves `splice.marshal` in its folder: per table, the record id and the file (an index into `paths`)
of each row in primary-key order, and each row's length in bytes in the CSV and the JSON; and where every piece of
every entry of the zip is. With that, a changed row's CSV line and JSON line are replaced in the last build's bytes;
the database is a copy of the last one with the changed rows UPDATEd by primary key (the table's rows keep their
order), the search rows of the changed records UPDATEd in place, their full-text entries deleted and inserted again
and their word rows moved (broadsheet.words.update_index); views are materialised again; the zip reuses the
compressed bytes of every piece that did not change (broadsheet.export.bundle).

What is identical to a cold build: the committed files and every file of out/ byte for byte (this manifest too),
and the database's `iterdump` but for the FTS5 index's segment tables (`<fts>_data`, `<fts>_idx`). Those record
how the index was written (segments, their ids, a write counter), not what it holds: after a delete and an insert
they differ from a fresh build's whatever is done short of rebuilding the index ('rebuild' gives a fresh build's
bytes but costs what the cold build's index costs, 16 s of the 3 s a one-record build may take at 100k records;
'optimize' merges the segments but leaves other ids and counters). What the index holds is the same: every term,
document, column and offset (fts5vocab's `instance` table) and its integrity check. Equivalence test:
tests/test_build_reuse.py::test_one_record_edits_splice_what_a_cold_build_builds.
"""

from __future__ import annotations

import csv
import marshal
import os
import shutil
import sqlite3
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path
from typing import Any

from broadsheet import reuse, validate, words
from broadsheet.export.bundle import Previous
from broadsheet.export.csv import csv_lines
from broadsheet.export.json import row_json
from broadsheet.export.sqlite import (
    SEARCH,
    TABLES,
    SortedTable,
    _exact_in_sqlite,
    _materialise_views,
    quote,
    record_labels,
    searched_columns,
    top_level_of,
)
from broadsheet.export.values import canonical_rows, sort_order, typed_columns
from broadsheet.layout import CSV_SUFFIX, Layout
from broadsheet.package import PackageSpec
from broadsheet.read import horizon
from broadsheet.read.tables import merge_files

FORMAT = 1
MANIFEST = "splice.marshal"
MAX_FILES = 50  # more changed files than this: the full build (it is then about as fast)
FTS_TABLES = (f"{SEARCH}_fts", f"{SEARCH}_trigram")


def manifest(tables: dict[str, SortedTable], csv_lengths: dict[str, list[int]], json_lengths: dict[str, list[int]],
             zip_entries: dict[str, tuple[int, int, int, int, list[tuple[int, int]]]]) -> bytes:
    """What the next build needs to update this one (see the module docstring)."""
    paths = sorted({path for table in tables.values() for path in table.paths})
    index = {path: i for i, path in enumerate(paths)}
    return _manifest(paths, {name: (table.record_ids, [index[p] for p in table.paths])
                             for name, table in tables.items()}, csv_lengths, json_lengths, zip_entries)


def _manifest(paths: list[str], rows: dict[str, tuple[list[str], list[int] | bytes]], csv_lengths: dict[str, list[int]],
              json_lengths: dict[str, list[int]],
              zip_entries: dict[str, tuple[int, int, int, int, list[tuple[int, int]]]]) -> bytes:
    return marshal.dumps({
        "format": FORMAT, "paths": paths, "zip": zip_entries,
        "tables": {name: {"ids": ids, "files": files if isinstance(files, bytes) else array("i", files).tobytes(),
                          "csv": csv_lengths[name], "json": json_lengths[name]}
                   for name, (ids, files) in rows.items()}})


def _positions(files: bytes, wanted: set[int]) -> list[int]:
    """The rows (ascending) whose file index, in `files` (int32s), is one of `wanted`: found by bytes.find, the
    common case being one file among hundreds of thousands of rows."""
    found = []
    for index in wanted:
        pattern = array("i", [index]).tobytes()
        at = files.find(pattern)
        while at >= 0:
            if at % 4 == 0:
                found.append(at // 4)
                at = files.find(pattern, at + 4)
            else:
                at = files.find(pattern, at + 1)
    return sorted(found)


@dataclass
class Change:
    """One table's changed rows: positions (in primary-key order) and their new cells, CSV and JSON lines."""

    positions: list[int] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    typed: list[list[Any]] = field(default_factory=list)
    csv: list[bytes] = field(default_factory=list)
    json: list[bytes] = field(default_factory=list)


@dataclass
class Plan:
    """Everything the spliced build writes, but the database (made by `database`) and the downloads."""

    package: PackageSpec
    key: str
    read: dict[str, tuple[Any, str]]  # as validate's Validated.read: per record file, (signature or None, sha256)
    folder: Path  # the last build
    layout_before: dict[str, Any]  # its splice.marshal
    build_before: dict[str, Any]  # its build.json
    committed_before: dict[str, bytes]
    csv_files: dict[str, tuple[str, bytes]]
    csv_lengths: dict[str, list[int]]
    json_arrays: dict[str, bytes | memoryview]  # an unchanged table's: a view of `json_before`'s, not a copy
    json_lengths: dict[str, list[int]]
    json_before: dict[str, bytes]  # the last build's downloads/json/<table>.json
    changes: dict[str, Change]
    records: list[tuple[str, str]]  # (top-level resource, record id) of every changed record
    search: dict[tuple[str, str], list[tuple[str, str | None, str, str]]]  # new search items per changed record
    tables: dict[str, SortedTable]  # rows as before (only spec, record_ids and paths are filled in)
    stale: bool  # a record file was written after the build started: build.json says STALE_HASH
    horizon: int  # the comparison's, taken before the record folders were listed (broadsheet.reuse.MadeFrom)
    report: Any  # validation's (valid) report
    files: int  # record files changed

    def manifest(self, zip_entries: dict[str, tuple[int, int, int, int, list[tuple[int, int]]]]) -> bytes:
        """This build's splice.marshal: the last one's rows (the same shape), the new lengths and zip pieces."""
        before = self.layout_before
        return _manifest(before["paths"], {name: (entry["ids"], entry["files"])
                                           for name, entry in before["tables"].items()},
                         self.csv_lengths, self.json_lengths, zip_entries)

    def previous_bundle(self) -> Previous:
        """The last zip, its pieces and the data of its tables' CSV and JSON entries (the whole-package document
        takes its tables' pieces from their own entries: Writer.write_again)."""
        data_dir = self.package.layout.relative(self.package.layout.data_dir)
        data: dict[str, bytes] = {}
        downloads = self.folder / "downloads"
        for name in self.tables:
            data[f"{data_dir}/{name}{CSV_SUFFIX}"] = self.committed_before[f"{data_dir}/{name}{CSV_SUFFIX}"]
            data[f"json/{name}.json"] = self.json_before[name]
        return Previous((downloads / f"{self.build_before['database'].removesuffix('.db')}.zip").read_bytes(),
                        self.layout_before["zip"], data)


def plan(layout: Layout, compared: reuse.Compared, started_ns: int) -> Plan | None:
    """The spliced build of what changed since the last one (reuse.compare), or None when it does not apply."""
    folder = compared.folder
    try:
        before = marshal.loads((folder / MANIFEST).read_bytes())
    except Exception:  # noqa: BLE001 - a build from before: build in full
        return None
    if not isinstance(before, dict) or before.get("format") != FORMAT:
        return None
    try:
        return _plan(layout, compared, started_ns, before)
    except (OSError, ValueError, KeyError, TypeError, IndexError, sqlite3.Error):
        return None  # whatever is wrong, the full build finds and reports it


def _plan(layout: Layout, compared: reuse.Compared, started_ns: int, before: dict[str, Any]) -> Plan | None:
    folder, package, build_before = compared.folder, compared.package, compared.build
    committed_before, changed, read = compared.committed, compared.changed, dict(compared.read)
    stale = compared.written_after
    if not changed or len(changed) > MAX_FILES:
        return None
    report = validate.report(layout, validate.CACHED, taken=compared.taken)  # the files as compared
    if not report.valid:
        return None  # the full build reports it (and writes nothing)
    one = validate.one_file(package, validate.CACHED)
    trust = horizon.take(layout.cache_dir, layout.root)  # before the changed files are read again below
    results = []
    for job in changed:
        digest, signature, result = one(job)
        if read[job[2]][1] != digest:
            return None  # changed again since it was compared: take the full build
        stale = stale or signature is None or signature[1] >= started_ns
        read[job[2]] = (horizon.kept(signature, trust), digest)
        results.append(result)
    new = merge_files(package, results)
    paths: list[str] = before["paths"]  # sorted
    files = set()
    for job in changed:
        at = bisect_left(paths, job[2])
        files.add(at if at < len(paths) and paths[at] == job[2] else -1)
    data_dir = layout.relative(layout.data_dir)
    tables: dict[str, SortedTable] = {}
    changes: dict[str, Change] = {}
    csv_files: dict[str, tuple[str, bytes]] = {}
    csv_lengths: dict[str, list[int]] = {}
    json_arrays: dict[str, bytes | memoryview] = {}
    json_lengths: dict[str, list[int]] = {}
    json_before: dict[str, bytes] = {}
    declared = _declared_types(folder / str(build_before["database"]))
    records: dict[tuple[str, str], None] = {}
    new_tables = {table.spec.name: table for table in new}
    for name, spec in package.resources.items():
        entry = before["tables"][name]
        tables[name] = SortedTable(spec, [], entry["ids"], [])
        table = new_tables[name]
        positions = _positions(entry["files"], files)
        order = sort_order(spec, table.rows)
        rows = canonical_rows(spec, [table.rows[i] for i in order])
        record_ids = table.record_ids()
        ids = [record_ids[i] for i in order]
        csv_path = f"{data_dir}/{name}{CSV_SUFFIX}"
        old_csv = committed_before[csv_path]
        json_before[name] = (folder / "downloads" / "json" / f"{name}.json").read_bytes()
        old_json = memoryview(json_before[name])[:-1]  # without its last line end (116 MB of tables at 100k: no copy)
        csv_lengths[name], json_lengths[name] = list(entry["csv"]), list(entry["json"])
        if len(positions) != len(rows) or (rows and not spec.primary_key):
            return None
        if not rows:
            csv_files[name], json_arrays[name] = (csv_path, old_csv), old_json
            continue
        csv_ends = list(accumulate(entry["csv"]))  # line i ends at csv_ends[i] (line 0: the header)
        json_starts = list(accumulate(entry["json"], initial=0))
        keys = [spec.field_names.index(k) for k in spec.primary_key]
        searched = [i for i, f in enumerate(spec.fields) if f.flag("search")]
        typed = [list(row) for row in zip(*typed_columns(spec, rows), strict=True)]
        new_csv = csv_lines(spec.field_names, rows)[1:]
        change = Change()
        for position, row, record_id, values, line in zip(positions, rows, ids, typed, new_csv, strict=True):
            if entry["ids"][position] != record_id:
                return None
            old_line = old_csv[csv_ends[position]:csv_ends[position + 1]]
            old = next(csv.reader([old_line.decode("utf-8")[:-2]])) if old_line != b"\r\n" else [""]
            if len(old) != len(row) or any(old[k] != (row[k] or "") for k in keys):
                return None
            if any((old[i] == "") != (row[i] is None) or row[i] == "" for i in searched):
                return None  # a searched value appears or disappears: the search rows' places move
            start = 2 + json_starts[position] + 2 * position
            json_line = row_json(spec.field_names, values)
            if line == old_line and json_line == old_json[start:start + entry["json"][position]]:
                continue
            if not _fits(spec, declared.get(name, {}), values):
                return None
            change.positions.append(position)
            change.rows.append(row)
            change.typed.append(values)
            change.csv.append(line)
            change.json.append(json_line)
            records[(top_level_of(package, spec).name, record_id)] = None
        csv_files[name] = (csv_path, _spliced(old_csv, [(csv_ends[p], csv_ends[p + 1]) for p in change.positions],
                                              change.csv))
        json_arrays[name] = _spliced(old_json, [(2 + json_starts[p] + 2 * p, 2 + json_starts[p + 1] + 2 * p)
                                                for p in change.positions], change.json)
        for position, line, json_line in zip(change.positions, change.csv, change.json, strict=True):
            csv_lengths[name][position + 1] = len(line)
            json_lengths[name][position] = len(json_line)
        if change.positions:
            changes[name] = change
    search = _search_items(package, new_tables, list(records))
    return Plan(package, compared.key, read, folder, before, build_before, committed_before, csv_files, csv_lengths,
                json_arrays, json_lengths, json_before, changes, list(records), search, tables, stale,
                compared.taken.horizon, report, len(changed))


def _spliced(data: bytes | memoryview, spans: list[tuple[int, int]], lines: list[bytes]) -> bytes:
    """`data` with each (start, end) span (ascending) replaced by its line."""
    parts, at = [], 0
    for (start, end), line in zip(spans, lines, strict=True):
        parts += [data[at:start], line]
        at = end
    parts.append(data[at:])
    return b"".join(parts)


def _declared_types(database: Path) -> dict[str, dict[str, str]]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        names = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {name: {row[1]: row[2] for row in connection.execute(f"PRAGMA table_info({quote(name)})")}
                for name in names}
    finally:
        connection.close()


def _fits(spec: Any, declared: dict[str, str], values: list[Any]) -> bool:
    """Whether the row's numbers leave every column declared as a cold build declares it (sqlite.column_type)."""
    for field_spec, value in zip(spec.fields, values, strict=True):
        if field_spec.type in ("integer", "year", "number"):
            wanted = "INTEGER" if field_spec.type != "number" else "NUMERIC"
            if declared.get(field_spec.name) != wanted or (value is not None and not _exact_in_sqlite(value)):
                return False
    return True


def _search_items(package: PackageSpec, tables: dict[str, Any],
                  records: list[tuple[str, str]]) -> dict[tuple[str, str], list[tuple[str, str | None, str, str]]]:
    """Each changed record's search rows as sqlite.search_rows makes them, in their order: (resource, label,
    field, text)."""
    wanted = set(records)
    labels = record_labels(package, tables)
    found: dict[tuple[str, str], list[tuple[str, str | None, str, str]]] = {key: [] for key in records}
    for spec in package.resources.values():
        searched = searched_columns(spec)
        if not searched:
            continue
        top = top_level_of(package, spec)
        table = tables[spec.name]
        order = sort_order(spec, table.rows)
        rows = canonical_rows(spec, [table.rows[i] for i in order])
        record_ids = table.record_ids()
        for row, index in zip(rows, order, strict=True):
            key = (top.name, record_ids[index])
            if key in wanted:
                found[key] += [(top.name, labels[top.name].get(key[1]), field, row[column])
                               for column, field in searched if row[column] is not None]
    return found


def database(plan: Plan, path: Path) -> list[str] | None:
    """The last build's database copied to `path` and updated; the materialised views' names. None when the
    search rows do not fit (the caller takes the full build)."""
    if not plan.changes:  # the files changed but not their rows (a comment): the same database
        os.link(plan.folder / str(plan.build_before["database"]), path)
        return list(plan.package.views)
    shutil.copyfile(plan.folder / str(plan.build_before["database"]), path)
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA journal_mode = OFF")  # a copy in the build's own folder, as build_database
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("BEGIN")
        for name, change in plan.changes.items():
            _update_rows(connection, plan.package.resources[name], change)
        if not _update_search(connection, plan):
            return None
        views = []
        if plan.package.views:
            for view in plan.package.views:
                connection.execute(f"DROP TABLE IF EXISTS {quote(view)}")
            views = _materialise_views(connection, plan.package.views)
            for view in views:
                count = connection.execute(f"SELECT count(*) FROM {quote(view)}").fetchone()[0]
                connection.execute(f"UPDATE {TABLES} SET row_count = ? WHERE table_name = ?", (count, view))
        connection.execute("COMMIT")
    finally:
        connection.close()
    return views


def _update_rows(connection: sqlite3.Connection, spec: Any, change: Change) -> None:
    types = {row[1]: row[2] for row in connection.execute(f"PRAGMA table_info({quote(spec.name)})")}
    stored_columns = []
    for field_spec in spec.fields:
        declared = types[field_spec.name]
        stored_columns.append((declared == "TEXT" or field_spec.type in ("array", "object"),
                               field_spec.type == "boolean"))
    names = spec.field_names
    keys = [names.index(k) for k in spec.primary_key]
    assignments = ", ".join(f"{quote(n)} = ?" for n in names)
    where = " AND ".join(f"{quote(k)} = ?" for k in spec.primary_key)
    for row, values in zip(change.rows, change.typed, strict=True):
        stored = [text if as_text else (int(value) if boolean and isinstance(value, bool) else value)
                  for text, value, (as_text, boolean) in zip(row, values, stored_columns, strict=True)]
        cursor = connection.execute(f"UPDATE {quote(spec.name)} SET {assignments} WHERE {where}",
                                    [*stored, *(stored[k] for k in keys)])
        if cursor.rowcount != 1:
            raise sqlite3.DatabaseError(f"{spec.name}: the row to update is not in the last build's database")


def _update_search(connection: sqlite3.Connection, plan: Plan) -> bool:
    fts = [name for name in FTS_TABLES if connection.execute(
        "SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone()]
    for (resource, record_id), items in plan.search.items():
        old = connection.execute(f"SELECT rowid, resource, label, field, text FROM {SEARCH} WHERE resource = ? AND "
                                 "record_id = ? ORDER BY rowid", (resource, record_id)).fetchall()
        if [row[3] for row in old] != [item[2] for item in items]:
            return False
        for (rowid, _resource, label, _field, text), (_r, new_label, _f, new_text) in zip(old, items, strict=True):
            if label == new_label and text == new_text:
                continue
            if text != new_text:
                for name in fts:
                    connection.execute(f"INSERT INTO {name} ({name}, rowid, text) VALUES ('delete', ?, ?)",
                                       (rowid, text))
            connection.execute(f"UPDATE {SEARCH} SET label = ?, text = ? WHERE rowid = ?", (new_label, new_text, rowid))
            if text != new_text:
                for name in fts:
                    connection.execute(f"INSERT INTO {name} (rowid, text) VALUES (?, ?)", (rowid, new_text))
                if not words.update_index(connection, rowid, text, new_text):
                    return False
    return True
