"""Validation: parse every record, build rows, run frictionless and Broadsheet's own checks, and map every
error back to the file, line and column where the curator typed the value.

How it stays fast (numbers in BENCHMARKS.md): files are read, parsed and turned into rows by worker processes on
every core; frictionless judges only the rows Broadsheet's conservative per-row check cannot vouch for, while
unique, primary and foreign keys are reproduced over whole tables exactly as frictionless computes them
(`full=True` runs frictionless on every row instead: the reference tests/test_differential.py compares against);
and with `use_cache` unchanged files are not parsed again (see broadsheet.cache)."""

from __future__ import annotations

import gc
import hashlib
import marshal
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadsheet import checks
from broadsheet.errors import Problem, Report
from broadsheet.layout import CSV_SUFFIX, RECORD_SUFFIX, Layout
from broadsheet.package import PackageSpec, load_package
from broadsheet.records import compose_text, decode_record, open_record, parse_file, simple_lines, walk
from broadsheet.tables import (
    FileRows,
    Packed,
    Table,
    Tables,
    build_file,
    fast_file,
    merge_files,
    pack,
    text_file,
    unpack,
)

# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_FROM = 400
# Codes that depend on other rows: frictionless reports them from the whole table, so does the fast path.
CROSS_ROW_CODES = frozenset({"primary-key", "unique-error", "foreign-key"})


@dataclass
class Validated:
    """The outcome of one validation: the report, and the rows the writers use when it is valid."""

    package: PackageSpec
    tables: Tables | None  # None when rows=False and the incremental path answered
    report: Report


def validate(layout: Layout, *, full: bool = False, use_cache: bool = False, workers: int | None = None,
             rows: bool = True) -> Validated:
    """Validate every record.

    `full` runs frictionless over every row (the reference; slow) instead of only over the rows the fast path
    cannot vouch for. `use_cache` reuses per-file results from `.broadsheet-cache/` for files whose bytes are
    unchanged (see broadsheet.cache); with `rows=False` as well (the caller wants only the report), a run after
    a clean one re-reads only the changed files and rechecks only the key values they touch (see
    broadsheet.incremental), and `tables` may be None. `workers` caps the parsing processes (default: one per
    core).
    """
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: the cyclic collector would rescan them again and again
    try:
        return _validate(layout, full=full, use_cache=use_cache, workers=workers, rows=rows)
    finally:
        if collecting:
            gc.freeze()  # what we made stays out of later collections (a full one would cost ~0.2 s at 10k)
            gc.enable()


def _validate(layout: Layout, *, full: bool, use_cache: bool, workers: int | None, rows: bool) -> Validated:
    cache = None
    if use_cache:
        from broadsheet.cache import Cache

        cache = Cache.open(layout)
        package = cache.package()
    else:
        package = load_package(layout)
    report = Report()
    incremental = cache is not None and not rows and not full
    if incremental:
        answer = _warm(package, cache, workers)
        if answer is not None:
            return Validated(package, None, answer)
    folders: dict[str, tuple[Any, list[str]]] = {}
    files, stray = discover(package, folders=folders if incremental else None,
                            started=cache.started if cache is not None else 0,
                            racy_window_ns=cache.racy_window_ns if cache is not None else 0)
    report.extend(stray)
    jobs = [(name, f"{folder}/{file}", f"{shown}/{file}") for name, (folder, shown, names) in files.items()
            for file in names]
    if cache is not None:
        results = cache.file_rows(package, jobs, lambda todo: build_all(package, todo, workers))
    else:
        results = [unpack(packed, package) for _digest, _signature, packed in build_all(package, jobs, workers)]
    for result in results:
        report.extend(result.parse_problems)
    tables = merge_files(package, results)
    report.extend(tables.problems)
    seen: dict[str, bool] = {}
    report.extend(check_tables(package, tables, full=full, seen=seen))
    report.stats = {"files": len(jobs), **{f"rows.{t.spec.name}": len(t.rows) for t in tables}}
    if cache is not None:
        cache.save()
        if incremental:
            from broadsheet import incremental as index

            if not cache.hits:
                # A first run: the index (~2 s at 100k records) is left to the next run, which reads every row
                # from the per-file cache anyway; a one-off cold run (CI) does not pay for it.
                index.forget(layout.cache_dir)
                return Validated(package, tables, report)
            listing = {shown: names for _folder, shown, names in files.values()}
            index.write_full(layout.cache_dir, cache.key, package, seen.get("clean", False), listing, folders,
                             cache.signatures, cache.digests, ((r.path, r) for r in results), report.problems,
                             report.stats, cache.started, cache.racy_window_ns)
    return Validated(package, tables, report)


def _warm(package: PackageSpec, cache: Any, workers: int | None) -> Report | None:
    """The report from the incremental index (broadsheet.incremental), or None when it cannot answer."""
    from broadsheet import incremental

    layout = package.layout
    warm = incremental.Warm(layout.root, layout.cache_dir, cache.key, cache.racy_window_ns)
    try:
        warm.index.load()
        folders: dict[str, tuple[Any, list[str]]] = dict(warm.index.meta["folders"])
        files, stray = discover(package, folders=folders, listing=warm.index.meta["listing"],
                                started=warm.started, racy_window_ns=cache.racy_window_ns)
        resources = {shown: name for name, (_folder, shown, _names) in files.items()}
        changed, removed = warm.changes({shown: names for _folder, shown, names in files.values()})
        built = []
        local: dict[str, list[Problem]] = {}
        if changed:
            jobs = [(resources[shown.rsplit("/", 1)[0]], str(layout.root / shown), shown) for shown in changed]
            for (digest, signature, packed), shown in zip(build_all(package, jobs, workers, True), changed,
                                                          strict=True):
                result = unpack(packed, package)
                built.append((digest, signature, result))
                local[shown] = local_problems(package, result)
        if changed or removed or warm.new_listing != warm.index.meta["listing"] \
                or folders != warm.index.meta["folders"]:
            warm.update(package, changed, removed, built, local)
            warm.index.meta["folders"] = folders
            warm.save()
    except incremental.Unusable:
        return None
    meta = warm.index.meta
    report = Report()
    report.extend(stray)
    for packed_problems in meta["local"].values():
        report.extend([Problem(*p) for p in packed_problems])
    report.stats = dict(meta["stats"])
    return report


def local_problems(package: PackageSpec, result: FileRows) -> list[Problem]:
    """What one file yields on its own, as a full run reports it: parse problems, the cell rules, frictionless'
    verdicts on its doubtful rows, citations naming no field. (Keys and citations across files: not here.)"""
    tables = merge_files(package, [result])
    problems = [*result.parse_problems, *tables.problems]
    problems += _suspect_problems(tables, set(tables.flagged))
    problems += [p for p in checks.citation_problems(package, tables) if p.code == "citation-unknown-field"]
    return problems


Folder = tuple[str, str, list[str]]  # (folder path, folder as shown to people, sorted record file names)


def discover(package: PackageSpec, *, folders: dict[str, tuple[Any, list[str]]] | None = None,
             listing: dict[str, tuple[list[str], bytes]] | None = None, started: int = 0,
             racy_window_ns: int = 0) -> tuple[dict[str, Folder], list[Problem]]:
    """The record files of each top-level resource, and a problem for anything in datapackage/ we would ignore.
    Names, not a Path object per file: those cost ~0.15 s at 100k files.

    `folders` (shown folder -> (its stat signature, names other than records)) is filled in for the index; given
    with `listing` (shown folder -> (record names, ...)) from the index, a folder whose signature is unchanged is
    not listed again: adding, removing or renaming an entry changes a directory's mtime and ctime (ctime cannot
    be set by users), the way git's untracked cache relies on it. A folder changed within the racy window of
    `started` gets no signature, so it is listed next time."""
    layout = package.layout
    data_dir = layout.data_dir
    shown_data = layout.relative(data_dir)
    files: dict[str, Folder] = {spec.name: (str(data_dir / spec.name), f"{shown_data}/{spec.name}", [])
                                for spec in package.top_level}
    problems = []
    if not data_dir.is_dir():
        return files, problems
    known = {spec.name for spec in package.top_level}
    for entry in sorted(data_dir.iterdir()):
        if entry.is_symlink() and entry.suffix != CSV_SUFFIX:  # a link may point anywhere on the host: never
            # followed. (A linked CSV is an output: the build replaces it with the file it generates.)
            problems.append(Problem(
                "symlink", f"{entry.name!r} is a symbolic link: records are read only from the repository, and "
                "the link is not followed", path=layout.relative(entry), found="a symbolic link",
                expected="a folder of records" if entry.name in known else "nothing else in this folder",
                hint="replace the link with the folder itself"))
        elif entry.is_dir() and entry.name not in known:
            problems.append(Problem(
                "unknown-resource", f"folder {entry.name!r} matches no schema in schemas/",
                path=layout.relative(entry), found=entry.name, expected=f"one of {', '.join(sorted(known))}",
                hint="rename the folder or add schemas/<name>.yaml"))
        elif entry.is_dir():
            shown_folder = layout.relative(entry)
            stat = entry.stat()
            signature = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
            before = folders.get(shown_folder) if folders is not None and listing is not None else None
            if before is not None and before[0] == signature and shown_folder in listing:
                records, others = listing[shown_folder][0], before[1]
            else:
                names = sorted(os.listdir(entry))  # one listing; Path.glob + resolve() per file cost seconds
                records = [n for n in names if n.endswith(RECORD_SUFFIX)]
                others = [n for n in names if not n.endswith(RECORD_SUFFIX)]
            if folders is not None:
                trusted = stat.st_ctime_ns < started - racy_window_ns
                folders[shown_folder] = (signature if trusted else None, others)
            files[entry.name] = (str(entry), shown_folder, records)
            for name in others:
                if not name.startswith("."):
                    stem, dot, suffix = name.rpartition(".")
                    stem, suffix = (stem, dot + suffix) if dot else (name, "")
                    problems.append(Problem(
                        "wrong-extension", f"{name!r} is not read: records end in {RECORD_SUFFIX}",
                        path=f"{shown_folder}/{name}", resource=entry.name, found=suffix or name,
                        expected=RECORD_SUFFIX, hint=f"rename it to {stem}{RECORD_SUFFIX}"))
    if folders is not None:
        present = {shown for _folder, shown, _names in files.values()}
        for name in [name for name in folders if name not in present]:
            del folders[name]  # a record folder that is gone
    return files, problems


# --- Parsing and row building, in parallel ------------------------------------------------------------------

Job = tuple[str, str, str]  # (top-level resource, file path, path shown to people)
Signature = tuple[int, int, int, int]  # size, mtime, ctime, inode: see broadsheet.cache
Built = tuple[str, Signature | None, Packed]
_WORKER_PACKAGE: PackageSpec | None = None
_WORKER_ENTRIES = False


def build_all(package: PackageSpec, jobs: list[Job], workers: int | None = None, entries: bool = False) -> list[Built]:
    """(sha256 of the bytes, stat signature, packed FileRows) per job, in job order. Uses every core when there
    is enough to do: each worker parses a slice of the files and returns compact rows, never YAML node trees.
    With `entries`, each FileRows also carries its key entries for broadsheet.incremental."""
    global _WORKER_ENTRIES
    _WORKER_ENTRIES = entries
    count = workers or len(os.sched_getaffinity(0))
    if count < 2 or len(jobs) < PARALLEL_FROM:
        return [(digest, signature, pack(rows, package))
                for digest, signature, rows in (_build_one(package, job) for job in jobs)]
    import multiprocessing

    global _WORKER_PACKAGE
    _WORKER_PACKAGE = package  # inherited by the forked workers: no need to pickle the schemas
    chunk = max(50, len(jobs) // (count * 8))
    slices = [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(count, initializer=gc.disable) as pool:
            return [item for part in pool.imap(_build_slice, slices) for item in marshal.loads(part)]
    except (ValueError, AssertionError, OSError):
        # no fork on this platform, or we are ourselves a daemonic worker: do the same work in this process
        return [(digest, signature, pack(rows, package))
                for digest, signature, rows in (_build_one(package, job) for job in jobs)]
    finally:
        _WORKER_PACKAGE = None


def _build_slice(jobs: list[Job]) -> bytes:
    assert _WORKER_PACKAGE is not None
    return marshal.dumps([(digest, signature, pack(rows, _WORKER_PACKAGE))
                          for digest, signature, rows in (_build_one(_WORKER_PACKAGE, job)
                                                                    for job in jobs)])


def _build_one(package: PackageSpec, job: Job) -> tuple[str, Signature | None, FileRows]:
    """(sha256 of the bytes, stat signature taken before reading them, FileRows). The signature comes from the
    open handle (fstat: no second path lookup), here in the worker rather than in the main process."""
    resource, path, shown = job
    signature = None
    try:
        with os.fdopen(open_record(path), "rb") as handle:  # no link followed, no pipe waited on
            stat = os.fstat(handle.fileno())
            signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
            raw = handle.read(records_limit() + 1)
    except OSError:
        raw = None
    if raw is None or len(raw) > records_limit():
        parsed = parse_file(Path(path), shown)  # reports the unreadable or oversized file
        digest = ""
    else:
        digest = hashlib.sha256(raw).hexdigest()
        spec = package.resources[resource]
        text, failed = decode_record(raw, shown)
        if text is not None:
            lines = simple_lines(text)
            rows = text_file(package, spec, lines, shown, cell_checks=True) if lines else None
            if rows is not None:
                return digest, signature, _with_entries(package, rows)
            root, failed = compose_text(text, shown)
            if root is not None:
                rows = fast_file(package, spec, root, shown, cell_checks=True)
                if rows is not None:
                    return digest, signature, _with_entries(package, rows)
                failed = walk(root, shown)
        assert failed is not None
        parsed = failed
    return digest, signature, _with_entries(package, build_file(package, package.resources[resource], parsed,
                                                                cell_checks=True))


def _with_entries(package: PackageSpec, rows: FileRows) -> FileRows:
    """Key entries are made where the rows are made: in the workers, on both cores."""
    if _WORKER_ENTRIES:
        from broadsheet import incremental

        rows.entries = incremental.entries_or_none(package, rows)
    return rows


def records_limit() -> int:
    from broadsheet.records import MAX_FILE_BYTES

    return MAX_FILE_BYTES


# --- Checks over the rows -----------------------------------------------------------------------------------

def check_tables(package: PackageSpec, tables: Tables, *, full: bool = False,
                 seen: dict[str, bool] | None = None) -> list[Problem]:
    """Every problem that needs more than one file. `seen["clean"]` tells whether the fast path applied and no
    cross-record rule was broken at all, even where the broken cell was already reported (for the index)."""
    problems: list[Problem] = []
    flagged = set(tables.flagged)
    if tables.suspects is None:  # rows built without their per-row checks (build_tables): run them now
        for table in tables:
            for index, field_name, problem in checks.cell_problems(table):
                flagged.add((table.spec.name, index, field_name))
                problems.append(problem)
    keys = _KeyColumns(tables)
    clean = False
    if full or not fast_path_applies(package, tables, keys):
        problems += frictionless_problems(package, tables, flagged)
    else:
        cross = list(_cross_row_errors(package, tables, keys))
        clean = not cross
        problems += fast_problems(package, tables, flagged, keys, cross)
    citations = list(checks.citation_problems(package, tables))
    problems += citations
    if seen is not None:
        seen["clean"] = clean and not any(p.code == "uncited-fact" for p in citations)
    return problems


def fast_path_applies(package: PackageSpec, tables: Tables, columns: _KeyColumns | None = None) -> bool:
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
            if checks.UNKNOWN in (columns or _KeyColumns(tables)).column(name, field_name):
                return False
        # a blank row is never vouched for, so it is among the suspects
        suspects = checks.suspect_rows(table) if tables.suspects is None else tables.suspects.get(name, [])
        if any(all(cell is None for cell in table.rows[index]) for index in suspects):
            return False
    return True


def fast_problems(package: PackageSpec, tables: Tables, already: set[tuple[str, int, str]],
                  keys: _KeyColumns | None = None, cross: list[tuple[Table, dict[str, Any]]] | None = None,
                  ) -> list[Problem]:
    """Frictionless' errors, found by frictionless itself on the rows the fast path cannot vouch for, plus the
    cross-row errors (keys), reproduced here over whole tables exactly as frictionless computes them."""
    if cross is None:
        cross = list(_cross_row_errors(package, tables, keys or _KeyColumns(tables)))
    return _located(cross, already) + _suspect_problems(tables, already)


def _suspect_problems(tables: Tables, already: set[tuple[str, int, str]]) -> list[Problem]:
    """Frictionless' own errors on the rows the fast path cannot vouch for (each row judged on its own)."""
    found = []
    for table in tables:
        suspects = checks.suspect_rows(table) if tables.suspects is None else tables.suspects.get(table.spec.name)
        if suspects:
            found += [(table, d) for d in _frictionless_rows(table, suspects)]
    return _located(found, already)


def _located(found: list[tuple[Table, dict[str, Any]]], already: set[tuple[str, int, str]]) -> list[Problem]:
    problems = []
    for table, descriptor in found:
        problem = _locate(table, descriptor)
        if problem is not None and (table.spec.name, _row_index(descriptor), problem.field) not in already:
            problems.append(problem)
    return problems


def _frictionless_rows(table: Table, indices: list[int], batch: int = 50) -> Iterator[dict[str, Any]]:
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


def _cross_row_errors(package: PackageSpec, tables: Tables,
                      keys: _KeyColumns) -> Iterator[tuple[Table, dict[str, Any]]]:
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


class _KeyColumns:
    """Key values per (table, fields), cast as frictionless casts them, computed once per run."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.columns: dict[tuple[str, str], list[object]] = {}

    def column(self, name: str, field_name: str) -> list[object]:
        known = self.columns.get((name, field_name))
        if known is None:
            table = self.tables[name]
            column = table.column(field_name)
            texts = [row[column] for row in table.rows]
            if table.spec.field_map[field_name].type == "string":
                known = texts
            else:
                value_of = checks.key_value(table.spec.field_map[field_name])
                known = [value_of(text) for text in texts]
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
        if field_spec and field_spec.description:  # the schema says in words what a pattern says in symbols
            hint = f"{field_name}: {field_spec.description}"
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
