"""Validation, as a pipeline that reads as the reference semantics:

    discover the record files  →  read each (broadsheet.read.records)  →  build its rows (broadsheet.read.tables)
    →  Broadsheet's cell rules (broadsheet.check.rules)  →  frictionless on the rows (broadsheet.check.frictionless)
    →  the record rules across files (citations)  →  one Report, every problem located in the file that holds it.

This is the only module that picks an accelerator (broadsheet.speed), each held equal to the step it replaces by
the test its docstring names. `Speed` says which ones a run may use; `REFERENCE` uses none.

Two entry points, by what they return: `report()` (the Report only: a later run may answer from the incremental
index without building a row) and `rows()` (the Report and every table's rows, for the writers)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from broadsheet.check import frictionless
from broadsheet.check.rules import cell_problems, record_problems
from broadsheet.errors import BroadsheetError, Problem, Report
from broadsheet.layout import ONE, Layout, RecordLayout
from broadsheet.package import PackageSpec, check_schemas, load_package
from broadsheet.read.discover import discover
from broadsheet.read.records import ParsedFile, decode_record, parse_file, parse_text, read_record_and_stat
from broadsheet.read.signatures import Taken
from broadsheet.read.tables import FileRows, Table, Tables, build_file, merge_files
from broadsheet.speed import incremental, keys, later, plainlines, schemas, vouch, workers
from broadsheet.speed.cache import Cache
from broadsheet.speed.packing import unpack


@dataclass(frozen=True)
class Speed:
    """Which accelerators a run may use. Each gives the same report as the reference (see broadsheet.speed)."""

    vouch: bool = True  # frictionless judges only the rows broadsheet.speed.vouch cannot vouch for; keys rebuilt
    plain_reader: bool = True  # broadsheet.speed.plainlines reads the files it can, records the others
    cache: bool = False  # per-file results from .broadsheet-cache/ (broadsheet.speed.cache); with report(),
    #                      the incremental index (broadsheet.speed.incremental)
    workers: int | None = None  # parsing processes (broadsheet.speed.workers); None: one per core


FAST = Speed()
CACHED = Speed(cache=True)
REFERENCE = Speed(vouch=False, plain_reader=False, workers=1)  # frictionless on every row: `--full`


@dataclass
class Validated:
    """The outcome of rows(): the report, and the rows the writers use when it is valid."""

    package: PackageSpec
    tables: Tables
    report: Report
    # with the cache: what was read, per record file as shown (stat signature or None when racy, sha256 of the
    # bytes), and the key of everything else that decided the answer (configuration_key)
    read: dict[str, tuple[tuple[int, int, int, int] | None, str]] | None = None
    key: str = ""
    horizon: int = 0  # the cache's (broadsheet.read.horizon), taken before the record folders were listed


def configuration(layout: Layout) -> tuple[PackageSpec, str]:
    """The package (its schema checks remembered by the cache) and the key of everything besides the record
    files that decides validation's answer: what a later build compares to know its inputs are unchanged."""
    cache = Cache.open(layout, "vouched")
    return cache.package(), cache.key


def report(layout: Layout, speed: Speed = FAST, taken: Taken | None = None) -> Report:
    """Validate every record; the report only. With `taken` (a build's comparison with its last build), the
    incremental index compares those signatures instead of taking its own: the files as that walk found them."""
    return _frozen_after(lambda: _validate(layout, speed, need_rows=False, taken=taken))[1]


def rows(layout: Layout, speed: Speed = FAST) -> Validated:
    """Validate every record; the report and every table's rows."""
    seen: list[Cache] = []
    package, answer, tables = _frozen_after(lambda: _validate(layout, speed, need_rows=True, seen=seen))
    assert tables is not None
    if not seen:
        return Validated(package, tables, answer)
    return Validated(package, tables, answer, seen[0].read(), seen[0].key, seen[0].horizon)


def deferred() -> contextlib.AbstractContextManager[None]:
    """A block (a build) within which what validation leaves for the next run (the per-file cache, the
    incremental index: written by a forked child) waits, to be written once the block ends
    (broadsheet.speed.later.deferred)."""
    return later.deferred()


def _frozen_after(run: Any) -> Any:
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic objects: the cyclic collector would rescan them again and again
    try:
        return run()
    finally:
        if collecting:
            gc.freeze()  # what we made stays out of later collections (a full one would cost ~0.2 s at 10k)
            gc.enable()


def _validate(layout: Layout, speed: Speed, need_rows: bool, seen: list[Cache] | None = None,
              taken: Taken | None = None) -> tuple[PackageSpec, Report, Tables | None]:
    cache = Cache.open(layout, "vouched" if speed.vouch else "reference") if speed.cache else None
    if cache is not None and seen is not None:
        seen.append(cache)
    # frictionless' schema checks (and its import, ~0.5 s) are left to run while the workers read the records
    package = cache.package(check=False) if cache is not None else load_package(layout, check=False)
    try:
        return _validate_package(layout, package, cache, speed, need_rows, taken)
    except BroadsheetError:
        raise
    except Exception:
        check_schemas(package)  # a broken schema says so, whatever it broke on the way (as a checked load would)
        raise


def _checked(package: PackageSpec, cache: Cache | None, speed: Speed) -> None:
    """The schema checks load_package left undone (ConfigError for a broken schema); a passed package is kept."""
    if package.unchecked:
        check_schemas(package, schemas.vouched if speed.vouch else None)
        if cache is not None:
            cache.keep(package)


def _validate_package(layout: Layout, package: PackageSpec, cache: Cache | None, speed: Speed,
                      need_rows: bool, taken: Taken | None = None) -> tuple[PackageSpec, Report, Tables | None]:
    one = _one_file(package, speed)
    indexed = cache is not None and speed.vouch and not need_rows
    if indexed:
        assert cache is not None
        warm = incremental.answer(package, cache, one, lambda result: local_problems(package, result),
                                  speed.workers, taken, checked=lambda: _checked(package, cache, speed))
        if warm is not None:
            return package, warm, None
    folders: dict[str, tuple[Any, list[str]]] = {}
    files, stray = discover(package, folders=folders if cache is not None else None,
                            horizon=cache.horizon if cache is not None else 0)
    jobs = [(name, f"{folder}/{file}", f"{shown}/{file}") for name, (folder, shown, names) in files.items()
            for file in names]

    def check() -> None:
        _checked(package, cache, speed)

    if cache is not None:
        results = cache.file_rows(package, jobs, lambda todo: _build_all(package, todo, one, speed, check))
    else:
        results = [unpack(packed, package) for _d, _s, packed in _build_all(package, jobs, one, speed, check)]
    _checked(package, cache, speed)
    answer = Report()
    answer.extend(stray)
    for result in results:
        answer.extend(result.parse_problems)
    tables = merge_files(package, results)
    answer.extend(tables.problems)
    clean = _check_tables(package, tables, answer, speed)
    answer.stats = {"files": len(jobs), **{f"rows.{t.spec.name}": len(t.rows) for t in tables}}
    if cache is not None:
        listing = {shown: names for _folder, shown, names in files.values()}

        def leave() -> None:  # what the next run needs: written after this run's report (or build) is out
            cache.save()
            cache.release()
            if indexed or (speed.vouch and not _index_stands(layout, cache.key)):
                incremental.write_full(layout.cache_dir, cache.key, package, clean, listing, folders,
                                       cache.signatures, cache.digests, ((r.path, r) for r in results),
                                       answer.problems, answer.stats, cache.horizon)

        if indexed:
            incremental.forget(layout.cache_dir)  # now: the index must not answer for files read before
        # rows: a build defers this until its outputs are in place (later.deferred), so no child holds a copy
        # of the rows while the writers use them
        later.run_after(layout.cache_dir, leave, keep=tables)
    return package, answer, tables


def _index_stands(layout: Layout, key: str) -> bool:
    """Whether a clean index of this configuration is there. A run that needs the rows (a build) leaves it as it
    is: it may describe files as they were before this run, but a warm run takes every file whose stat
    signature differs from the one it records for changed (broadsheet.speed.incremental), so it answers as a
    rewritten one would; rewriting it would only make the next run wait for the child."""
    try:
        incremental.Index(layout.cache_dir, key).load()
    except incremental.Unusable:
        return False
    return True


def _build_all(package: PackageSpec, jobs: list[workers.Job], one: workers.OneFile,
               speed: Speed, meanwhile: Callable[[], None] | None = None) -> list[workers.Built]:
    if speed.vouch and len(jobs) >= workers.PARALLEL_FROM:
        for spec in package.resources.values():
            vouch.prepare(spec)  # compiled once here, inherited by every worker
    return workers.build_all(package, jobs, one, speed.workers, meanwhile)


# --- one file: read, build rows, cell rules ------------------------------------------------------------------

def one_file(package: PackageSpec, speed: Speed) -> workers.OneFile:
    """What validation does with one record file (a job: resource, path, path shown): (sha256 of its bytes, stat
    signature, FileRows). broadsheet.splice reads the files that changed since the last build with it."""
    return _one_file(package, speed)


def _one_file(package: PackageSpec, speed: Speed) -> workers.OneFile:
    def one(job: workers.Job) -> tuple[str, workers.Signature | None, FileRows]:
        """(sha256 of the bytes, stat signature taken before reading them, FileRows with the cell rules' problems
        and the rows frictionless must judge). The signature comes from the open handle (fstat)."""
        resource, path, shown = job
        spec = package.resources[resource]
        form = spec.records or RecordLayout("")
        limit = form.max_file_bytes
        signature, raw = None, None
        try:
            stat, raw = read_record_and_stat(path, limit + 1)  # no link followed, no pipe waited on
            signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        except OSError:
            pass
        if raw is None or len(raw) > limit:
            return "", signature, build_file(package, spec, parse_file(Path(path), shown, form=form))  # says why
        text, failed = decode_record(raw, shown)
        parsed: ParsedFile | None = failed
        if text is not None:
            entry = plainlines.read(text, form.max_depth) if speed.plain_reader and form.records == ONE else None
            parsed = ParsedFile(shown, entry, []) if entry is not None else parse_text(text, shown, form)
        assert parsed is not None
        result = build_file(package, spec, parsed)
        _row_checks(package, result, speed)
        return hashlib.sha256(raw).hexdigest(), signature, result

    return one


def _row_checks(package: PackageSpec, result: FileRows, speed: Speed) -> None:
    """The cell rules on every row of the file (the problems, and the cells they flag), and which rows
    frictionless must judge (all, or those broadsheet.speed.vouch cannot vouch for)."""
    flagged = set(result.flagged)
    for name, (table_rows, origins) in result.rows.items():
        table = Table(package.resources[name], table_rows, origins)
        if speed.vouch:
            found, suspects = vouch.row_checks(table)
        else:
            found, suspects = list(cell_problems(table)), list(range(len(table_rows)))
        for index, field_name, problem in found:
            flagged.add((name, index, field_name))
            result.problems.append(problem)
        if suspects:
            result.suspects[name] = suspects
    result.flagged = sorted(flagged)


def local_problems(package: PackageSpec, result: FileRows) -> list[Problem]:
    """What one file yields on its own, as a full run reports it: parse problems, the cell rules, frictionless'
    verdicts on its doubtful rows, the record rules of file scope. (Keys and rules across files: not here.)"""
    tables = merge_files(package, [result])
    problems = [*result.parse_problems, *tables.problems]
    problems += frictionless.row_problems(tables, tables.suspects or {}, set(tables.flagged))
    problems += record_problems(package, tables, scope="file")
    return problems


# --- checks over all rows ------------------------------------------------------------------------------------

def _check_tables(package: PackageSpec, tables: Tables, answer: Report, speed: Speed) -> bool:
    """Frictionless' verdicts (types, constraints, keys) and the record rules. True when no rule across files
    was broken at all, even where the broken cell was already reported, and the fast path applied (the
    incremental index may then be written)."""
    flagged = set(tables.flagged)
    columns = keys.KeyColumns(tables)
    clean = False
    if not speed.vouch or not keys.fast_path_applies(package, tables, columns):
        answer.extend(frictionless.frictionless_problems(package, tables, flagged))
    else:
        cross = list(keys.cross_row_errors(package, tables, columns))
        clean = not cross
        answer.extend(frictionless.located(cross, flagged))
        answer.extend(frictionless.row_problems(tables, tables.suspects or {}, flagged))
    across = list(record_problems(package, tables, scope="package"))
    answer.extend(across)
    answer.extend(record_problems(package, tables, scope="file"))
    return clean and not across
