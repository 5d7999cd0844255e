"""SQLite: one table per resource with the schema's column order, types, primary and foreign keys; indexes on
foreign-key and facet columns; every view in schemas/views/ materialised as a table; a multilingual search table
with two FTS5 indexes; and the schemas' titles and descriptions as tables the site reads.

Column types: integer and boolean (0/1) → INTEGER; number → NUMERIC holding exact ints and floats that are
exactly their decimal text (see export.values); everything else → TEXT. A column whose values cannot all be held
exactly that way (an integer beyond 64 bits, a decimal no double represents) is declared TEXT and keeps the
validated text of every cell: exact first, arithmetic second.

Search: `_search` (resource, record_id, label, field, text) has one row per `x-search` value of every resource;
a child row points to its top-level record. `_search_fts` (unicode61, diacritics folded) finds whole words in
any script — Cyrillic, Kazakh letters, Latin, and a run of Chinese characters; `_search_trigram` finds any
substring of three characters or more, which is what Chinese (written without spaces) needs. `_search_words`
holds every word of those texts folded, with its stem, for the forgiving search of `broadsheet.words`.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from broadsheet import words
from broadsheet.export.values import INT64, Typed, typed_columns
from broadsheet.package import FieldSpec, PackageSpec, ResourceSpec
from broadsheet.viewdoc import view_doc

SEARCH = "_search"
COLUMNS = "_columns"
TABLES = "_tables"
INDEX_NAME = re.compile(r"[^a-z0-9_]")


@dataclass
class SortedTable:
    """A resource's rows in primary-key order, with the id of the top-level record each row belongs to."""

    spec: ResourceSpec
    rows: list[list[str | None]]
    record_ids: list[str]
    paths: list[str] = field(default_factory=list)  # the record file of each row (as shown)

    @cached_property
    def columns(self) -> list[list[Typed]]:
        """Every cell cast to its schema type once, column by column; JSON and SQLite both read these."""
        return typed_columns(self.spec, self.rows)


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _exact_in_sqlite(value: Typed) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return INT64[0] <= value <= INT64[1]
    return isinstance(value, float)


def column_type(field: FieldSpec, values: Sequence[Typed]) -> str:
    """The declared type of a column, from its typed values (see the module docstring)."""
    if field.type in ("integer", "year", "number"):
        if all(v is None or _exact_in_sqlite(v) for v in values):
            return "INTEGER" if field.type != "number" else "NUMERIC"
        return "TEXT"
    if field.type == "boolean":
        return "INTEGER"
    return "TEXT"


def _sql_column(field: FieldSpec, declared: str, texts: Sequence[str | None], values: list[Typed]) -> Sequence[object]:
    """What SQLite stores for one column: the validated text for TEXT columns and for arrays/objects (their cell
    already holds the JSON text), 0/1 for booleans, else the typed value."""
    if declared == "TEXT" or field.type in ("array", "object"):
        return texts
    if field.type == "boolean":
        return [int(v) if isinstance(v, bool) else v for v in values]
    return values


def _create_table(conn: sqlite3.Connection, table: SortedTable) -> list[str]:
    spec = table.spec
    types = [column_type(f, values) for f, values in zip(spec.fields, table.columns, strict=True)]
    lines = [f"{quote(f.name)} {t}{' NOT NULL' if f.required or f.name in spec.primary_key else ''}"
             for f, t in zip(spec.fields, types, strict=True)]
    if spec.primary_key:
        lines.append(f"PRIMARY KEY ({', '.join(map(quote, spec.primary_key))})")
    for fk in spec.foreign_keys:
        target = fk["reference"]["resource"] or spec.name  # "" is a reference to the same table
        lines.append(f"FOREIGN KEY ({', '.join(map(quote, fk['fields']))}) REFERENCES {quote(target)} "
                     f"({', '.join(map(quote, fk['reference']['fields']))})")
    conn.execute(f"CREATE TABLE {quote(spec.name)} (\n  " + ",\n  ".join(lines) + "\n)")
    return types


def _insert_rows(conn: sqlite3.Connection, table: SortedTable, types: list[str]) -> None:
    spec = table.spec
    if not table.rows:
        return
    texts = list(zip(*table.rows, strict=True))
    stored = [_sql_column(f, t, texts[i], table.columns[i])
              for i, (f, t) in enumerate(zip(spec.fields, types, strict=True))]
    marks = ", ".join("?" for _ in spec.fields)
    conn.executemany(f"INSERT INTO {quote(spec.name)} VALUES ({marks})", zip(*stored, strict=True))


def _indexes(conn: sqlite3.Connection, spec: ResourceSpec) -> None:
    """An index per foreign key and per facet column, named by those columns, then the primary key's, then the
    other facet columns: a page that selects by the column lists its rows in key order (the site's default)
    straight from the index, and its later pages seek into it, instead of sorting the whole selection for every
    page (benchmark, 70k rows, one sector: 5.6 → 0.13 ms for a page of 101 rows); the selection's counts by the
    other facets read the index alone, not each selected row of the table (by org_id within a sector: 6.5 → 3.5
    ms). Counts and facets by the column itself read only the index, whose first column it is."""
    facets = [f.name for f in spec.fields if f.flag("facet")]
    wanted: list[list[str]] = [fk["fields"] for fk in spec.foreign_keys]
    wanted += [[name] for name in facets]
    done: set[tuple[str, ...]] = set()
    for columns in wanted:
        key = tuple(columns)
        if key in done or list(key) == spec.primary_key[: len(key)]:
            continue  # the primary key's own index already serves a prefix of it
        done.add(key)
        name = INDEX_NAME.sub("_", f"idx_{spec.name}_{'_'.join(columns)}")
        indexed = [*columns, *(c for c in spec.primary_key if c not in columns)]
        indexed += [c for c in facets if c not in indexed]
        conn.execute(f"CREATE INDEX {quote(name)} ON {quote(spec.name)} ({', '.join(map(quote, indexed))})")


def _materialise_views(conn: sqlite3.Connection, views: dict[str, str]) -> list[str]:
    """Create each view as a table; a view may read another, so retry until no pass makes progress."""
    pending = dict(sorted(views.items()))
    done: list[str] = []
    while pending:
        failures: dict[str, str] = {}
        for name, sql in pending.items():
            try:
                conn.execute(f"CREATE TABLE {quote(name)} AS {sql.strip().rstrip(';')}")
                done.append(name)
            except sqlite3.OperationalError as error:
                failures[name] = str(error)
        if len(failures) == len(pending):
            raise ViewError(failures)
        pending = {name: views[name] for name in failures}
    return done


class ViewError(Exception):
    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {error}" for name, error in sorted(failures.items())))
        self.failures = failures


def top_level_of(package: PackageSpec, spec: ResourceSpec) -> ResourceSpec:
    while spec.parent:
        spec = package.resources[spec.parent]
    return spec


def label_field(spec: ResourceSpec) -> str:
    return spec.label_field or spec.id_field


def record_labels(package: PackageSpec, tables: dict[str, Any]) -> dict[str, dict[str, str | None]]:
    """Each top-level resource's records: id -> label (the label field's value, else the id's), as searched."""
    labels: dict[str, dict[str, str | None]] = {}
    for spec in package.top_level:
        id_col, label_col = spec.field_names.index(spec.id_field), spec.field_names.index(label_field(spec))
        labels[spec.name] = {row[id_col] or "": row[label_col] for row in tables[spec.name].rows}
    return labels


def searched_columns(spec: ResourceSpec) -> list[tuple[int, str]]:
    """(column, field as the search table names it: a child's as `child.field`) of each field flagged `search`."""
    return [(i, f.name if spec.is_top_level else f"{spec.name}.{f.name}") for i, f in enumerate(spec.fields)
            if f.flag("search")]


def search_rows(package: PackageSpec, tables: dict[str, SortedTable]) -> list[tuple[str, str, str | None, str, str]]:
    """The search table's rows: (resource, record id, label, field, text) of every searched value, in order."""
    labels = record_labels(package, tables)
    rows = []
    for spec in package.resources.values():
        searched = searched_columns(spec)
        if not searched:
            continue
        top = top_level_of(package, spec)
        table = tables[spec.name]
        for row, record_id in zip(table.rows, table.record_ids, strict=True):
            rows += [(top.name, record_id, labels[top.name].get(record_id), field, row[column])
                     for column, field in searched if row[column] is not None]
    return rows


def word_rows(package: PackageSpec, tables: dict[str, SortedTable]) -> list[tuple[str, str, int]]:
    """The word table's rows (broadsheet.words.ordered_rows) of the search table `build_database` writes, whose
    rows it numbers 1, 2, ... in `search_rows` order: what a build makes in its other process. (That process
    makes `search_rows` again, ~0.5 s at 100k records, rather than making them before the fork, where the child
    would wait for them.)"""
    return words.ordered_rows(enumerate((row[4] for row in search_rows(package, tables)), start=1))


def _search(conn: sqlite3.Connection, rows: list[tuple[str, str, str | None, str, str]],
            made_words: Callable[[], list[tuple[str, str, int]] | None] | None = None) -> None:
    conn.execute(f"CREATE TABLE {SEARCH} (resource TEXT NOT NULL, record_id TEXT NOT NULL, label TEXT, "
                 "field TEXT NOT NULL, text TEXT NOT NULL)")
    conn.executemany(f"INSERT INTO {SEARCH} VALUES (?, ?, ?, ?, ?)", rows)
    conn.execute(f"CREATE INDEX idx_search_record ON {SEARCH} (resource, record_id)")
    # The word index: named <table>_fts with content=[<table>], which is what Datasette looks for.
    conn.execute(f"CREATE VIRTUAL TABLE {SEARCH}_fts USING FTS5 (text, content=[{SEARCH}], "
                 "tokenize='unicode61 remove_diacritics 2')")
    conn.execute(f"INSERT INTO {SEARCH}_fts (rowid, text) SELECT rowid, text FROM {SEARCH}")
    conn.execute(f"CREATE VIRTUAL TABLE {SEARCH}_trigram USING FTS5 (text, content='{SEARCH}', "
                 "tokenize='trigram case_sensitive 0')")
    conn.execute(f"INSERT INTO {SEARCH}_trigram (rowid, text) SELECT rowid, text FROM {SEARCH}")
    words.create_index(conn, SEARCH, made_words() if made_words is not None else None)


def view_comment(sql: str) -> str:
    """The `--` comment lines a view file starts with, up to its `Columns:` list: its description."""
    return view_doc(sql).description


def _describe(conn: sqlite3.Connection, package: PackageSpec, views: list[str]) -> None:
    conn.execute(f"CREATE TABLE {TABLES} (table_name TEXT PRIMARY KEY, title TEXT, description TEXT, "
                 "parent TEXT, row_count INTEGER NOT NULL)")
    conn.execute(f"CREATE TABLE {COLUMNS} (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
                 "position INTEGER NOT NULL, type TEXT, title TEXT, description TEXT, unit TEXT, "
                 "PRIMARY KEY (table_name, column_name))")

    def count(name: str) -> int:
        return conn.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]

    for spec in package.resources.values():
        conn.execute(f"INSERT INTO {TABLES} VALUES (?, ?, ?, ?, ?)",
                     (spec.name, spec.title, spec.description, spec.parent, count(spec.name)))
        conn.executemany(f"INSERT INTO {COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)", [
            (spec.name, f.name, position, "partial date" if f.flag("partial-date") else f.type,
             f.title or None, f.description or None, f.flag("unit"))
            for position, f in enumerate(spec.fields, start=1)])
    for name in views:
        conn.execute(f"INSERT INTO {TABLES} VALUES (?, ?, ?, ?, ?)",
                     (name, name, view_comment(package.views[name]) or None, None, count(name)))
        info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
        doc = view_doc(package.views[name])
        conn.executemany(f"INSERT INTO {COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?)",
                         [(name, column[1], column[0] + 1, (column[2] or "any").lower(), doc.titles.get(column[1]),
                           doc.columns.get(column[1]), None) for column in info])


def build_database(path: Path, package: PackageSpec, tables: dict[str, SortedTable],
                   made_words: Callable[[], list[tuple[str, str, int]] | None] | None = None) -> list[str]:
    """Write the database at `path` (which must not exist). Returns the materialised view names. `made_words`:
    the word table's rows (`word_rows`) when another process made them, or None to make them here; asked for
    once the search table and its full-text indexes are written."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = OFF")  # a fresh file in a temporary folder: nothing to roll back to
        conn.execute("PRAGMA synchronous = OFF")  # nor to sync: readers only see it after the swap, and a killed
        # build leaves a folder the next one deletes; atomic.swap fsyncs every file before the swap
        conn.execute("BEGIN")
        for spec in package.resources.values():
            types = _create_table(conn, tables[spec.name])
            _insert_rows(conn, tables[spec.name], types)
            _indexes(conn, spec)
        views = _materialise_views(conn, package.views)
        _search(conn, search_rows(package, tables), made_words)
        _describe(conn, package, views)
        conn.execute("COMMIT")
    finally:
        conn.close()
    return views


def read_table(path: Path, name: str) -> tuple[list[str], list[tuple[object, ...]]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cursor = conn.execute(f"SELECT * FROM {quote(name)} ORDER BY rowid")
        return [d[0] for d in cursor.description], cursor.fetchall()
    finally:
        conn.close()


def verify_database(path: Path, expected: dict[str, int], thorough: bool = True) -> list[str]:
    """What is wrong with a freshly built database: integrity, foreign keys, row counts. Empty when sound.
    Not `thorough`: the row counts only (a database updated in a few rows, broadsheet.splice)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = []
        if not thorough:
            return [f"{name}: {found} rows in SQLite, {rows} validated" for name, rows in expected.items()
                    if (found := conn.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]) != rows]
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"integrity_check: {'; '.join(integrity[:5])}")
        for table, rowid, parent, _fk in conn.execute("PRAGMA foreign_key_check").fetchall()[:20]:
            problems.append(f"foreign_key_check: {table} row {rowid} refers to a missing {parent} row")
        for name, rows in expected.items():
            found = conn.execute(f"SELECT count(*) FROM {quote(name)}").fetchone()[0]
            if found != rows:
                problems.append(f"{name}: {found} rows in SQLite, {rows} validated")
        return problems
    finally:
        conn.close()
