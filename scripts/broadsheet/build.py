"""`broadsheet build`: validate, generate every output, verify it, and only then put it in place.

Repository outputs (committed): datapackage/<resource>.csv and the `resources` list of datapackage.json, plus
the README data dictionary. Each is written atomically (`broadsheet.atomic`) and only when its bytes change; CSVs
go first and datapackage.json (which holds their hashes) last. out/ is built in a fresh folder and swapped in as a
whole (`broadsheet.atomic` describes the transaction). The writers are in `broadsheet.export`; this module only
orders them.

A SIGKILL before the `current` swap leaves the previous build in place and complete; after it, the new one.
Stale folders are removed at the start and the end of every build, under the lock.

Test hook: with BROADSHEET_TEST_PAUSE=<stage> the build stops at that stage (touching the file named by
BROADSHEET_TEST_PAUSE_FILE, if set) and sleeps BROADSHEET_TEST_PAUSE_SECONDS (default 60), so a test can kill
it at a known point. Stages, in order: validate, tables, sqlite, downloads, verify, repository, swap, cleanup.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import marshal
import os
import re
import resource
import shutil
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from broadsheet import __version__, atomic, errors, history, reuse, splice, validate
from broadsheet.atomic import Content
from broadsheet.errors import ConfigError, Report
from broadsheet.export import descriptor, dictionary, sqlite
from broadsheet.export.csv import csv_lines
from broadsheet.export.downloads import Downloads, Views
from broadsheet.export.history import write_history_table
from broadsheet.export.json import rows_json_lines
from broadsheet.export.sqlite import SortedTable
from broadsheet.export.values import canonical_rows, dumps, sort_order
from broadsheet.layout import CSV_SUFFIX, SCHEMA_SUFFIX, VIEW_SUFFIX, Layout
from broadsheet.package import PackageSpec
from broadsheet.read.records import read_record_and_stat
from broadsheet.validate import Validated

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

STALE_HASH = "stale: inputs changed while the build read them"
DB_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
STAGES = ("validate", "tables", "sqlite", "downloads", "verify", "repository", "swap", "cleanup")
PAUSE_ENV, PAUSE_FILE_ENV = "BROADSHEET_TEST_PAUSE", "BROADSHEET_TEST_PAUSE_FILE"
PAUSE_SECONDS_ENV, PAUSE_SECONDS = "BROADSHEET_TEST_PAUSE_SECONDS", 60.0

Progress = Callable[[str], None]


class BuildError(Exception):
    """The outputs failed verification; nothing was moved into place."""


class WriteFailed(Exception):
    """Writing an output failed: a full disk, no permission, a read-only file system. `code` is stable, `path`
    (relative to the repository) names the file or folder, `outcome` says what the build left as it was."""

    def __init__(self, code: str, path: str, reason: str, outcome: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.code, self.path, self.reason, self.outcome = code, path, reason, outcome


# errno -> (code, reason). Other write errors are "write-failed" with the system's own words.
WRITE_FAULTS = {
    errno.ENOSPC: ("disk-full", "no space left on the device"),
    errno.EDQUOT: ("disk-full", "the disk quota is used up"),
    errno.EFBIG: ("file-size-limit", "the file would exceed the file size limit"),
    errno.EACCES: ("permission-denied", "permission denied"),
    errno.EPERM: ("permission-denied", "operation not permitted"),
    errno.EROFS: ("read-only-filesystem", "the file system is read-only"),
}
# SQLite reports the same faults with its own codes (it names no file: the database is the file).
SQLITE_FAULTS = {
    "SQLITE_FULL": WRITE_FAULTS[errno.ENOSPC],
    "SQLITE_READONLY": ("read-only-filesystem", "the database cannot be written"),
    "SQLITE_PERM": WRITE_FAULTS[errno.EACCES],
    "SQLITE_CANTOPEN": ("write-failed", "the database file cannot be created"),
}


WRITE_CODES = frozenset(code for code, _reason in [*WRITE_FAULTS.values(), *SQLITE_FAULTS.values()]) | {
    "write-failed"}


def write_fault(error: BaseException) -> tuple[str, str, str] | None:
    """(code, reason, the file named by the error or "") for an error that is a fault of the machine, not of
    Broadsheet or the data; None for anything else (which stays a bug, with its traceback)."""
    if isinstance(error, OSError) and error.errno is not None:
        code, reason = WRITE_FAULTS.get(error.errno, ("write-failed", error.strerror or str(error)))
        if error.errno not in WRITE_FAULTS and error.errno not in (errno.EIO, errno.ENOENT, errno.ENOTDIR):
            return None
        return code, reason, str(error.filename or "")
    name = getattr(error, "sqlite_errorname", "")
    if isinstance(error, sqlite3.Error) and name:
        if name in SQLITE_FAULTS:
            return (*SQLITE_FAULTS[name], "")
        if name.startswith("SQLITE_IOERR"):
            limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
            if limit != resource.RLIM_INFINITY:  # SQLite reports a write beyond the limit as an I/O error
                return (*WRITE_FAULTS[errno.EFBIG], "")
            return ("write-failed", "the database could not be written (an I/O error)", "")
    return None


@dataclass
class BuildResult:
    report: Report
    built: bool = False
    database: Path | None = None
    tables: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # committed files whose bytes changed
    out_bytes: dict[str, int] = field(default_factory=dict)  # artefact (relative to out/) → size
    kept: bool = False  # nothing changed since the last build, which stands (broadsheet.reuse)
    spliced: int = 0  # record files changed since the last build, which was updated (broadsheet.splice)


@dataclass
class CheckResult:
    report: Report
    stale: list[str] = field(default_factory=list)


@dataclass
class Generated:
    """Everything a build writes, in memory, keyed by path relative to the repository root or to out/."""

    committed: dict[str, bytes]
    removed: list[str]
    tables: dict[str, SortedTable]
    descriptor: bytes
    csv_lengths: dict[str, list[int]] = field(default_factory=dict)  # resource → each CSV line's length in bytes


def _pause(stage: str, progress: Progress | None) -> None:
    if progress:
        progress(stage)
    if os.environ.get(PAUSE_ENV) == stage:
        marker = os.environ.get(PAUSE_FILE_ENV)
        if marker:
            # In one rename, so a test that sees the file never reads it still empty.
            atomic.write_atomically(Path(marker), stage.encode("utf-8"), durable=False)
        time.sleep(float(os.environ.get(PAUSE_SECONDS_ENV) or PAUSE_SECONDS))


def db_name(package: PackageSpec) -> str:
    name = str(package.descriptor.get("name") or "")
    if not DB_NAME.match(name):
        raise ConfigError(f"datapackage.json `name` {name!r} must match {DB_NAME.pattern}: it names the database",
                          path="datapackage.json")
    return name


def sorted_tables(validated: Validated) -> dict[str, SortedTable]:
    result = {}
    for table in validated.tables:
        spec = table.spec
        indices = sort_order(spec, table.rows)
        record_ids, paths = table.record_ids(), table.paths()
        result[spec.name] = SortedTable(spec, canonical_rows(spec, [table.rows[i] for i in indices]),
                                        [record_ids[i] for i in indices], [paths[i] for i in indices])
    return result


def generate_repository(validated: Validated) -> Generated:
    """The committed files: CSVs, datapackage.json and README.md (when it has the dictionary or codes markers)."""
    package = validated.package
    layout = package.layout
    tables = sorted_tables(validated)
    data_dir = layout.relative(layout.data_dir)
    csv_files, lengths = {}, {}
    for name, table in tables.items():
        lines = csv_lines(table.spec.field_names, table.rows)
        lengths[name] = list(map(len, lines))
        csv_files[name] = (f"{data_dir}/{name}{CSV_SUFFIX}", b"".join(lines))
    return repository_files(package, csv_files, tables, lengths)


def repository_files(package: PackageSpec, csv_files: dict[str, tuple[str, bytes]], tables: dict[str, SortedTable],
                     csv_lengths: dict[str, list[int]]) -> Generated:
    """The committed files, given every table's CSV: datapackage.json (which holds their hashes) and README.md."""
    layout = package.layout
    package_json = dumps(descriptor.package_descriptor(package, csv_files)).encode("utf-8")
    committed = {path: data for path, data in csv_files.values()}
    committed[layout.relative(layout.descriptor)] = package_json
    if layout.readme.is_file():
        text = layout.readme.read_text(encoding="utf-8")
        readme = dictionary.with_dictionary(text, package)
        readme = errors.with_codes(readme or text) or readme  # the list of error codes, from the registry
        if readme is not None:
            committed[layout.relative(layout.readme)] = readme.encode("utf-8")
    removed = []
    if layout.data_dir.is_dir():
        removed = sorted(layout.relative(p) for p in layout.data_dir.glob(f"*{CSV_SUFFIX}")
                         if layout.relative(p) not in committed)
    return Generated(committed, removed, tables, package_json, csv_lengths)


def check(layout: Layout) -> CheckResult:
    """Which committed outputs differ from what a build would write. Writes nothing (but the validation cache
    and its index, in a child after the answer: validate.deferred)."""
    with validate.deferred():
        return _check(layout)


def _check(layout: Layout) -> CheckResult:
    if reuse.current(layout) is not None:
        return CheckResult(Report())  # the last build's inputs, and the committed files it wrote, as they were
    validated = validate.rows(layout, validate.CACHED)  # reuses what validate parsed (broadsheet.speed.cache)
    if not validated.report.valid:
        return CheckResult(validated.report)
    generated = generate_repository(validated)
    stale = [path for path, data in generated.committed.items() if not atomic.holds(layout.root / path, data)]
    return CheckResult(validated.report, sorted(stale + generated.removed))


def descriptor_basis(layout: Layout) -> str:
    """The part of datapackage.json a build reads (all but `resources`, which it writes)."""
    package = json.loads(layout.descriptor.read_text(encoding="utf-8"))
    package.pop("resources", None)
    return json.dumps(package, sort_keys=True)


def input_hash(layout: Layout, changed_after_ns: int | None = None, basis_before: str | None = None,
               read: dict[str, tuple[object, str]] | None = None, records: dict[str, str] | None = None) -> str:
    """A hash of everything a build reads (not what it writes), so `serve` can tell whether to rebuild.

    With `changed_after_ns`, a file modified after that moment (a curator's edit while the build was reading), or
    a datapackage.json whose read part is not `basis_before`, makes the hash STALE_HASH, which matches no inputs:
    the build's output is then never taken for current, since it may hold a file as it was before the edit while
    the hash would say after. (datapackage.json is compared by content: a concurrent build rewrites its
    `resources`.) `read` gives the sha256 of the bytes validation read per record file (Validated.read), so a
    build does not read every file a second time; any other file is read here. With `records` (every record file
    as shown → its sha256, each known unchanged since `changed_after_ns`: broadsheet.splice), only the schemas and
    views are looked for on the disk."""
    digest = hashlib.sha256(__version__.encode())
    basis = descriptor_basis(layout)
    digest.update(basis.encode())
    # Every path was found under the root, so cutting the root off names it; Layout.relative would resolve
    # each one (a system call per path component: 0.5 s for 10k records).
    prefix = len(str(layout.root)) + 1
    if records is None:
        named = [(str(p)[prefix:].replace(os.sep, "/"), str(p)) for p in layout.input_files()]
    else:
        named = [(str(p)[prefix:].replace(os.sep, "/"), str(p)) for p in
                 [*layout.schemas_dir.rglob(f"*{SCHEMA_SUFFIX}"), *layout.views_dir.glob(f"*{VIEW_SUFFIX}")]]
        named += [(name, "") for name in records]
    stale = False
    known = read or {}
    for name, path in sorted(named):
        if records is not None and name in records:
            digest.update(b"%s\0%s\0" % (name.encode(), records[name].encode()))
            continue
        if name in known and known[name][1]:
            try:
                if changed_after_ns is not None and os.stat(path, follow_symlinks=False).st_mtime_ns >= \
                        changed_after_ns:
                    stale = True
                digest.update(name.encode() + b"\0" + known[name][1].encode() + b"\0")
                continue
            except OSError:
                pass  # gone meanwhile: read it below, which says so
        try:  # as validate reads it: a linked record (which validate refuses) is not followed here either
            status, data = read_record_and_stat(path)
            if changed_after_ns is not None and status.st_mtime_ns >= changed_after_ns:
                stale = True
        except OSError as error:
            data = f"\0unreadable: {error.strerror}".encode()
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\0")
    if basis_before is not None and basis != basis_before:
        stale = True
    return STALE_HASH if stale else digest.hexdigest()


def _database(layout: Layout, package: PackageSpec, tables: dict[str, SortedTable], path: Path,
              send: Callable[[tuple[str, object]], None],
              made_words: Callable[[], list[tuple[str, str, int]] | None] | None = None) -> None:
    """Build the database with its history table, send ("views", each view's header and rows), verify it and
    send ("problems", what is wrong). Failures are sent as ("view-error", failures) or ("error", traceback).
    `made_words`: the search's word rows made by the parent (sqlite.build_database)."""
    try:
        sqlite.build_database(path, package, tables, made_words)
        write_history_table(path, history.record_history(layout, package))  # dates from git
        views = {view: sqlite.read_table(path, view) for view in package.views}
        send(("views", views))
        counts = {name: len(table.rows) for name, table in tables.items()}
        counts.update((view, len(rows)) for view, (_, rows) in views.items())
        send(("problems", sqlite.verify_database(path, counts)))
    except sqlite.ViewError as error:
        send(("view-error", error.failures))
    except Exception as error:  # noqa: BLE001 - carried to the parent, which raises it
        fault = write_fault(error)
        if fault is not None:
            code, reason, named = fault
            send(("write-fault", (code, reason, named or str(path))))
        else:
            send(("error", traceback.format_exc()))


class _DatabaseJob:
    """`_database` in a forked child process, so that it runs beside the JSON and zip work on the other core
    (in a thread it would not: binding every row to SQLite holds the GIL). The child shares the validated rows
    by fork, nothing is pickled but the views' rows and the search's word rows. Where fork is unavailable or
    there is one core, it runs here, first. The child inherits out/.lock, so if this process is killed the next
    build waits for it.

    The search's word rows (folding and stemming every word: ~3.8 s of Python at 100k records) are made here,
    first, and sent to the child, which needs them only once its tables and full-text indexes are written: the
    child is the cold build's critical path, and this process used to wait ~8 s for it once its own writers were
    done (timed at 100k). A child that cannot read them makes them itself."""

    def __init__(self, layout: Layout, package: PackageSpec, tables: dict[str, SortedTable], path: Path) -> None:
        self._messages: list[tuple[str, object]] = []
        self._process = None
        self._sending: threading.Thread | None = None
        import multiprocessing  # here, not at the top: `broadsheet --help` stays fast

        if len(os.sched_getaffinity(0)) > 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._receive, send = context.Pipe(duplex=False)
            words_in, words_out = context.Pipe(duplex=False)
            self._process = context.Process(target=_database, daemon=True, args=(
                layout, package, tables, path, send.send, lambda: _received_words(words_in)))
            self._process.start()
            send.close()
            words_in.close()
            try:
                made = marshal.dumps(sqlite.word_rows(package, tables))
            except BaseException:
                words_out.close()  # the child, told nothing comes, makes them itself
                raise
            # sent from a thread: the pipe takes the 30+ MB only as fast as the child reads, once it needs them
            self._sending = threading.Thread(target=_send_words, args=(words_out, made), daemon=True)
            self._sending.start()
        else:
            _database(layout, package, tables, path, self._messages.append)

    def _next(self) -> tuple[str, object]:
        if self._process is None:
            return self._messages.pop(0)
        try:
            return self._receive.recv()
        except EOFError:
            self._process.join()
            return ("error", f"the database process ended with exit code {self._process.exitcode}")

    def get(self, kind: str) -> object:
        """The next message, which must be `kind`; failures are raised."""
        tag, value = self._next()
        if tag != kind and self._process is not None:
            self._process.join()  # a failure is the child's last message
        if tag == "view-error":
            raise sqlite.ViewError(value)  # type: ignore[arg-type]
        if tag == "write-fault":
            code, reason, named = value  # type: ignore[misc]
            raise _Fault(code, reason, named)
        if tag == "error":
            raise RuntimeError(f"building the database failed in its process:\n{value}")  # a bug, as before
        assert tag == kind, (tag, kind)
        if kind == "problems" and self._process is not None:
            self._process.join()
            self._receive.close()
            if self._sending is not None:
                self._sending.join()  # the child has read the word rows, or is gone: the pipe is closed either way
        return value


def _send_words(out: Connection, made: bytes) -> None:
    try:
        out.send_bytes(made)
    except OSError:
        pass  # the child ended before it read them: it reports why through its own pipe
    finally:
        out.close()


def _received_words(words_in: Connection) -> list[tuple[str, str, int]] | None:
    """The word rows the parent sent, or None (the child then makes them itself) when it sent nothing usable."""
    try:
        made = marshal.loads(words_in.recv_bytes())
    except (EOFError, OSError, ValueError, TypeError):
        return None
    finally:
        words_in.close()
    return made if isinstance(made, list) else None


class _Fault(Exception):
    """A write fault met in the database process, carried to the build."""

    def __init__(self, code: str, reason: str, named: str) -> None:
        super().__init__(reason)
        self.code, self.reason, self.named = code, reason, named


def build(layout: Layout, progress: Progress | None = None) -> BuildResult:
    """Validate, then build every output. On invalid data nothing is written and the report is returned."""
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic objects (typed cells, row dicts): collections would rescan them all
    trash: list[Path] = []  # superseded builds, renamed under the lock (atomic.clean)
    try:
        # what validation leaves for the next run (the cache, the index) is written by a child forked once the
        # build is in place and out/ unlocked: it then takes no core from the build and copies no page it uses
        with validate.deferred():
            return _build(layout, progress, trash)
    finally:
        atomic.remove_later(trash)  # deleted by a detached process: the build does not wait for it
        if collecting:
            gc.enable()


def _build(layout: Layout, progress: Progress | None, trash: list[Path]) -> BuildResult:
    # Inputs written from here on may or may not be in what this build reads: input_hash then says stale.
    started_ns = time.time_ns()
    compared = None
    if (layout.out_dir / atomic.CURRENT).exists():  # (no out/ yet: nothing to keep, and nothing is created)
        try:
            with atomic.locked(layout.out_dir):
                compared = reuse.compare(layout, started_ns)
                if compared is not None and not compared.changed:
                    atomic.clean(layout.out_dir, trash)  # what a killed or superseded build left, as every build
                    # removes
        except OSError:
            compared = None  # out/ cannot be locked (nor written): the full build says so, as one located line
    if compared is not None and not compared.changed:  # nothing changed: the last build stands
        return BuildResult(Report(), True, layout.out_dir / str(compared.build["database"]),
                           dict(compared.build["tables"]), [], _sizes(layout.out_dir), kept=True)
    commit = reuse.head(layout)  # before reading: a commit made meanwhile makes the next build a full one
    try:
        basis: str | None = descriptor_basis(layout)
    except (OSError, ValueError):  # validation reports what is wrong with it
        basis = None
    writing = _Writing(trash=trash)
    try:
        if compared is not None and compared.known["head"] == commit:
            spliced = _splice(layout, progress, writing, (started_ns, basis), commit, compared)
            if spliced is not None:
                return spliced
        _pause("validate", progress)
        validated = validate.rows(layout, validate.CACHED)  # reuses what validate parsed (broadsheet.speed.cache)
        if not validated.report.valid:
            return BuildResult(validated.report)
        name = db_name(package=validated.package)
        return _write(layout, progress, validated, name, writing, (started_ns, basis), commit)
    except (OSError, sqlite3.Error, _Fault) as error:
        fault = (error.code, error.reason, error.named) if isinstance(error, _Fault) else write_fault(error)
        if fault is None:
            raise
        code, reason, named = fault
        if writing.build_dir is not None:
            shutil.rmtree(writing.build_dir, ignore_errors=True)  # a half build would only take space
        outcome = ("the committed files are updated but out/ still holds the previous build: free the space or "
                   "fix the permission and build again" if writing.replaced else
                   "out/ and the committed files are as they were")
        where = _shown(layout, Path(named) if named else layout.out_dir, writing.build_dir)
        raise WriteFailed(code, where, reason, outcome) from None


@dataclass
class _Writing:
    """What a build in progress has done, for the report of a failed one."""

    build_dir: Path | None = None  # the half build, until the swap commits it
    replaced: bool = False  # the committed files were replaced: the one step a failure cannot take back
    trash: list[Path] = field(default_factory=list)  # folders to delete once out/ is unlocked (atomic.clean)


def _shown(layout: Layout, path: Path, build_dir: Path | None) -> str:
    """A path as people know it; inside the build in progress, as where it would be under out/."""
    if build_dir is not None:
        try:
            inside = Path(os.path.abspath(path)).relative_to(build_dir)
        except ValueError:
            pass
        else:
            return "/".join([layout.relative(layout.out_dir), *inside.parts])
    return layout.relative(path)


def _write(layout: Layout, progress: Progress | None, validated: Validated, name: str,
           writing: _Writing, read_from: tuple[int, str | None], commit: str) -> BuildResult:
    """Write every output; `read_from` is when the build started reading, and datapackage.json's read part then."""
    package = validated.package
    out_dir = layout.out_dir
    with atomic.locked(out_dir):
        atomic.clean(out_dir, writing.trash)
        _pause("tables", progress)
        generated = generate_repository(validated)
        build_dir = atomic.new_build_dir(out_dir)
        writing.build_dir = build_dir
        _pause("sqlite", progress)
        for table in generated.tables.values():
            _ = table.columns  # cast every cell once, before the fork, so both processes have the result
        database = build_dir / f"{name}.db"
        job = _DatabaseJob(layout, package, generated.tables, database)
        _pause("downloads", progress)
        tables_json, json_lengths = {}, {}
        for resource, table in generated.tables.items():
            tables_json[resource], json_lengths[resource] = rows_json_lines(table.spec.field_names, table.columns)
        hashed = input_hash(layout, changed_after_ns=read_from[0], basis_before=read_from[1], read=validated.read)
        downloads = Downloads(package, name, generated, tables_json, json_lengths)  # deflates while the database
        # is built
        try:
            views = cast(Views, job.get("views"))
        except sqlite.ViewError as error:
            shutil.rmtree(build_dir, ignore_errors=True)
            name_, reason = sorted(error.failures.items())[0]
            raise ConfigError(f"view does not run in SQLite: {reason}",
                              path=layout.relative(layout.view_path(name_))) from None
        files, archive = downloads.views(views)  # while the child verifies the database
        files[f"{name}.zip"] = archive
        counts = {t: len(s.rows) for t, s in generated.tables.items()}
        counts.update((view, len(rows)) for view, (_, rows) in views.items())
        files["../build.json"] = _build_json(hashed, generated, name, counts)
        _write_files(build_dir, files)
        (build_dir / splice.MANIFEST).write_bytes(splice.manifest(generated.tables, generated.csv_lengths, json_lengths,
                                                                  downloads.bundle.layout()))
        made_from = None
        if validated.read is not None and hashed != STALE_HASH:  # what it was made from, for the next build
            made_from = reuse.MadeFrom(package, validated.key, validated.read, validated.horizon)
        written = _land(layout, progress, writing, build_dir, name, generated, lambda: cast(
            list[str], job.get("problems")), commit, made_from)
    return BuildResult(validated.report, True, out_dir / f"{name}.db", counts, sorted(written + generated.removed),
                       _sizes(out_dir))


def _build_json(hashed: str, generated: Generated, name: str, counts: dict[str, int]) -> bytes:
    """out/build.json: what the build was made from and what it holds (the site and the next build read it)."""
    return dumps({"input_hash": hashed, "package_hash": descriptor.sha256(generated.descriptor),
                  "database": f"{name}.db", "tables": counts}).encode("utf-8")


def _land(layout: Layout, progress: Progress | None, writing: _Writing, build_dir: Path, name: str,
          generated: Generated, verify: Callable[[], list[str]], commit: str,
          made_from: reuse.MadeFrom | None) -> list[str]:
    """The stages every build ends with, cold or spliced: verify the database, write the committed files (all, or
    none), record what the build was made from (`made_from`, for the next build; None when it cannot be
    trusted), swap it in, clean up. The repository paths written."""
    out_dir = layout.out_dir
    _pause("verify", progress)
    problems = verify()
    if problems:
        shutil.rmtree(build_dir, ignore_errors=True)
        raise BuildError("; ".join(problems))
    _pause("repository", progress)
    written = [layout.relative(path) for path in atomic.replace_all_if_changed(
        [(layout.root / path, data) for path, data in generated.committed.items()])]  # all, or none
    writing.replaced = bool(written)
    for path in generated.removed:
        (layout.root / path).unlink(missing_ok=True)
    if made_from is not None:
        (build_dir / reuse.MANIFEST).write_bytes(reuse.manifest(made_from, commit, generated.committed, build_dir))
    _pause("swap", progress)
    atomic.swap(out_dir, build_dir, [f"{name}.db", "downloads", "build.json"])
    writing.build_dir = None  # committed: no longer ours to remove
    _pause("cleanup", progress)
    atomic.clean(out_dir, writing.trash)
    return written


def _write_files(build_dir: Path, files: dict[str, Content], previous: Path | None = None,
                 same: frozenset[str] = frozenset()) -> None:
    """Each file under the build's downloads/ (keyed relative to it). A file that holds exactly what the same
    file of the `previous` build holds (compared, or known: `same`) is linked to it: it is on the disk already."""
    for relative, content in sorted(files.items()):
        parts = atomic.parts_of(content)
        target = (build_dir / "downloads" / relative).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        if previous is not None:
            before = (previous / "downloads" / relative).resolve()
            try:
                size = before.stat().st_size
                if size == sum(map(len, parts)) and (relative in same or atomic.holds(before, content)):
                    os.link(before, target)
                    continue
            except OSError:
                pass
        with target.open("wb") as written:
            for part in parts:
                written.write(part)


def _splice(layout: Layout, progress: Progress | None, writing: _Writing, read_from: tuple[int, str | None],
            commit: str, compared: reuse.Compared) -> BuildResult | None:
    """The build after a small edit, updating the last build (broadsheet.splice); None when that does not apply."""
    out_dir = layout.out_dir
    with atomic.locked(out_dir):
        if (out_dir / atomic.CURRENT).resolve() != compared.folder:
            return None  # another build came in between
        plan = splice.plan(layout, compared, read_from[0])
        if plan is None:
            return None
        package = plan.package
        name = db_name(package)
        atomic.clean(out_dir, writing.trash)
        _pause("tables", progress)
        generated = repository_files(package, plan.csv_files, plan.tables, plan.csv_lengths)
        build_dir = atomic.new_build_dir(out_dir)
        writing.build_dir = build_dir
        _pause("sqlite", progress)
        database = build_dir / f"{name}.db"
        try:
            made = splice.database(plan, database)
        except sqlite.ViewError:
            made = None  # the full build reports it
        if made is None:
            shutil.rmtree(build_dir, ignore_errors=True)
            writing.build_dir = None
            return None
        flushing = atomic.sync_soon(database)  # while the downloads are made
        views = {view: sqlite.read_table(database, view) for view in package.views}
        _pause("downloads", progress)
        records = {shown: digest for shown, (_signature, digest) in plan.read.items()}
        hashed = STALE_HASH if plan.stale else input_hash(layout, read_from[0], read_from[1], records=records)
        downloads = Downloads(package, name, generated, plan.json_arrays, plan.json_lengths, plan.previous_bundle(),
                              {table: plan.json_before[table] for table in plan.tables if table not in plan.changes})
        files, archive = downloads.views(views)
        files[f"{name}.zip"] = archive
        counts = {t: len(lengths) for t, lengths in plan.json_lengths.items()}
        counts.update((view, len(rows)) for view, (_, rows) in views.items())
        files["../build.json"] = _build_json(hashed, generated, name, counts)
        _write_files(build_dir, files, plan.folder, frozenset(
            f"{kind}/{table}.{kind}" for table in plan.tables if table not in plan.changes for kind in ("csv", "json")))
        (build_dir / splice.MANIFEST).write_bytes(plan.manifest(downloads.bundle.layout()))
        flushing.join()
        written = _land(layout, progress, writing, build_dir, name, generated, lambda: sqlite.verify_database(
            database, counts, thorough=False), commit,
            reuse.MadeFrom(package, plan.key, plan.read, plan.horizon) if hashed != STALE_HASH else None)
    return BuildResult(plan.report, True, out_dir / f"{name}.db", counts, sorted(written), _sizes(out_dir),
                       spliced=plan.files)


def _sizes(out_dir: Path) -> dict[str, int]:
    """Each file of the current build (relative to out/) and its size."""
    current = (out_dir / atomic.CURRENT).resolve()
    return {p.relative_to(current).as_posix(): p.stat().st_size for p in sorted(current.rglob("*")) if p.is_file()
            and p.name not in (reuse.MANIFEST, splice.MANIFEST)}
