"""`broadsheet build`: validate, generate every output, verify it, and only then put it in place.

Repository outputs (committed): datapackage/<resource>.csv and the `resources` list of datapackage.json, plus
the README data dictionary. Each file is written to a temporary file beside it and moved over the old one with
os.replace, and only when its bytes change; CSVs go first and datapackage.json (which holds their hashes) last.

out/ (git-ignored) is swapped as a whole, so a reader never sees half a build:

    out/.lock                       flock: a second build waits for the first
    out/.tmp-<random>/              a build in progress (deleted by the next build if this one died)
    out/.build-<random>/            a complete, verified build
    out/current -> .build-<random>  THE commit point: replaced atomically (os.replace of a symlink)
    out/<dbname>.db -> current/<dbname>.db, out/downloads -> current/downloads, out/build.json -> current/...

A SIGKILL before the `current` swap leaves the previous build in place and complete; after it, the new one.
Stale folders are removed at the start and the end of every build, under the lock.

Test hook: with BROADSHEET_TEST_PAUSE=<stage> the build stops at that stage (touching the file named by
BROADSHEET_TEST_PAUSE_FILE, if set) and sleeps BROADSHEET_TEST_PAUSE_SECONDS (default 60), so a test can kill
it at a known point. Stages, in order: validate, tables, sqlite, downloads, verify, repository, swap, cleanup.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import json
import os
import re
import secrets
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from broadsheet import __version__, dictionary, history
from broadsheet.errors import ConfigError, Report
from broadsheet.export import bundle, descriptor, sqlite
from broadsheet.export.csv import BOM, csv_bytes
from broadsheet.export.json import array_json, document_head, document_tail, rows_json
from broadsheet.export.sqlite import SortedTable
from broadsheet.export.values import dumps, sort_order
from broadsheet.layout import Layout
from broadsheet.package import PackageSpec
from broadsheet.records import read_record
from broadsheet.validate import Validated, validate

DB_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
STAGES = ("validate", "tables", "sqlite", "downloads", "verify", "repository", "swap", "cleanup")
PAUSE_ENV, PAUSE_FILE_ENV = "BROADSHEET_TEST_PAUSE", "BROADSHEET_TEST_PAUSE_FILE"
PAUSE_SECONDS_ENV, PAUSE_SECONDS = "BROADSHEET_TEST_PAUSE_SECONDS", 60.0
CURRENT = "current"

Progress = Callable[[str], None]


class BuildError(Exception):
    """The outputs failed verification; nothing was moved into place."""


@dataclass
class BuildResult:
    report: Report
    built: bool = False
    database: Path | None = None
    tables: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # committed files whose bytes changed
    out_bytes: dict[str, int] = field(default_factory=dict)  # artefact (relative to out/) → size


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


def _pause(stage: str, progress: Progress | None) -> None:
    if progress:
        progress(stage)
    if os.environ.get(PAUSE_ENV) == stage:
        marker = os.environ.get(PAUSE_FILE_ENV)
        if marker:
            Path(marker).write_text(stage, encoding="utf-8")
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
        result[spec.name] = SortedTable(spec, [table.rows[i] for i in indices],
                                        [table.origins[i].record_id for i in indices])
    return result


def generate_repository(validated: Validated) -> Generated:
    """The committed files: CSVs, datapackage.json and README.md (when it has the dictionary markers)."""
    package = validated.package
    layout = package.layout
    tables = sorted_tables(validated)
    data_dir = layout.relative(layout.data_dir)
    csv_files = {name: (f"{data_dir}/{name}.csv", csv_bytes(t.spec.field_names, t.rows))
                 for name, t in tables.items()}
    package_json = dumps(descriptor.package_descriptor(package, csv_files)).encode("utf-8")
    committed = {path: data for path, data in csv_files.values()}
    committed[layout.relative(layout.descriptor)] = package_json
    if layout.readme.is_file():
        readme = dictionary.with_dictionary(layout.readme.read_text(encoding="utf-8"), package)
        if readme is not None:
            committed[layout.relative(layout.readme)] = readme.encode("utf-8")
    removed = []
    if layout.data_dir.is_dir():
        removed = sorted(layout.relative(p) for p in layout.data_dir.glob("*.csv")
                         if layout.relative(p) not in committed)
    return Generated(committed, removed, tables, package_json)


def check(layout: Layout) -> CheckResult:
    """Which committed outputs differ from what a build would write. Writes nothing."""
    validated = validate(layout)
    if not validated.report.valid:
        return CheckResult(validated.report)
    generated = generate_repository(validated)
    stale = [path for path, data in generated.committed.items() if not _holds(layout.root / path, data)]
    return CheckResult(validated.report, sorted(stale + generated.removed))


def input_hash(layout: Layout) -> str:
    """A hash of everything a build reads (not what it writes), so `serve` can tell whether to rebuild."""
    digest = hashlib.sha256(__version__.encode())
    package = json.loads(layout.descriptor.read_text(encoding="utf-8"))
    package.pop("resources", None)
    digest.update(json.dumps(package, sort_keys=True).encode())
    files = [*layout.schemas_dir.rglob("*.yaml"), *layout.views_dir.glob("*.sql"),
             *layout.data_dir.glob("*/*.yaml")]
    # Every path was found under the root, so cutting the root off names it; Layout.relative would resolve
    # each one (a system call per path component: 0.5 s for 10k records).
    prefix = len(str(layout.root)) + 1
    for name, path in sorted((str(p)[prefix:].replace(os.sep, "/"), str(p)) for p in files):
        try:
            data = read_record(path)  # a linked record (which validate refuses) is not followed here either
        except OSError as error:
            data = f"\0unreadable: {error.strerror}".encode()
        digest.update(name.encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


Views = dict[str, tuple[list[str], list[tuple[object, ...]]]]


def _database(layout: Layout, package: PackageSpec, tables: dict[str, SortedTable], path: Path,
              send: Callable[[tuple[str, object]], None]) -> None:
    """Build the database with its history table, send ("views", each view's header and rows), verify it and
    send ("problems", what is wrong). Failures are sent as ("view-error", failures) or ("error", traceback)."""
    try:
        sqlite.build_database(path, package, tables)
        history.write_history_table(path, history.record_history(layout, package))  # dates from git
        views = {view: sqlite.read_table(path, view) for view in package.views}
        send(("views", views))
        counts = {name: len(table.rows) for name, table in tables.items()}
        counts.update((view, len(rows)) for view, (_, rows) in views.items())
        send(("problems", sqlite.verify_database(path, counts)))
    except sqlite.ViewError as error:
        send(("view-error", error.failures))
    except Exception:  # noqa: BLE001 - carried to the parent, which raises it
        send(("error", traceback.format_exc()))


class _DatabaseJob:
    """`_database` in a forked child process, so that it runs beside the JSON and zip work on the other core
    (in a thread it would not: binding every row to SQLite holds the GIL). The child shares the validated rows
    by fork, nothing is pickled but the views' rows. Where fork is unavailable or there is one core, it runs
    here, first. The child inherits out/.lock, so if this process is killed the next build waits for it."""

    def __init__(self, *args: object) -> None:
        self._messages: list[tuple[str, object]] = []
        self._process = None
        import multiprocessing  # here, not at the top: `broadsheet --help` stays fast

        if len(os.sched_getaffinity(0)) > 1 and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            self._receive, send = context.Pipe(duplex=False)
            self._process = context.Process(target=_database, args=(*args, send.send), daemon=True)
            self._process.start()
            send.close()
        else:
            _database(*args, self._messages.append)  # type: ignore[arg-type]

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
        if tag == "error":
            raise RuntimeError(f"building the database failed in its process:\n{value}")  # a bug, as before
        assert tag == kind, (tag, kind)
        if kind == "problems" and self._process is not None:
            self._process.join()
            self._receive.close()
        return value


class _Downloads:
    """Files under out/downloads/ keyed by their path there, and the zip, made in two steps: `tables` while the
    database is still being built (most of the deflating happens then), `views` once its views have run.
    Zip order: LICENSE.txt, README.txt, datapackage.json, the tables' CSV and JSON (sorted), the whole-package
    JSON, the views' JSON and CSV (sorted)."""

    def __init__(self, package: PackageSpec, name: str, generated: Generated, tables_json: dict[str, bytes]) -> None:
        self.name, self.tables_json = name, tables_json
        bom = BOM.encode("utf-8")
        data_dir = package.layout.relative(package.layout.data_dir)
        self.files: dict[str, bytes] = {"datapackage.json": generated.descriptor}
        entries: dict[str, bytes] = {}
        for resource in generated.tables:
            committed = generated.committed[f"{data_dir}/{resource}.csv"]
            self.files[f"json/{resource}.json"] = tables_json[resource] + b"\n"
            self.files[f"csv/{resource}.csv"] = bom + committed  # the committed CSV, with a BOM for spreadsheets
            entries[f"{data_dir}/{resource}.csv"] = committed
            entries[f"json/{resource}.json"] = self.files[f"json/{resource}.json"]
        listed = ["LICENSE.txt", "datapackage.json", *entries, f"json/{name}.json",
                  *(f"json/{view}.json" for view in package.views), *(f"views/{view}.csv" for view in package.views)]
        self.bundle = bundle.Bundle()
        self.bundle.add("LICENSE.txt", bundle.license_text(package.descriptor).encode("utf-8"))
        self.bundle.add("README.txt", bundle.readme_text(package.descriptor, sorted(listed)).encode("utf-8"))
        self.bundle.add("datapackage.json", generated.descriptor)
        for entry in sorted(entries):
            self.bundle.add(entry, entries[entry])
        self.head = document_head(name, tables_json)
        self.document = self.bundle.stream(f"json/{name}.json", large=len(self.head) > 2**30)
        self.document.write(self.head)

    def views(self, views: Views) -> tuple[dict[str, bytes], bytes]:
        """All files but the zip, and the zip."""
        bom = BOM.encode("utf-8")
        views_json: dict[str, bytes] = {}
        entries: dict[str, bytes] = {}
        for view, (header, rows) in views.items():
            views_json[view] = array_json(dict(zip(header, row, strict=True)) for row in rows)
            self.files[f"json/{view}.json"] = views_json[view] + b"\n"
            plain = csv_bytes(header, rows)
            self.files[f"csv/{view}.csv"] = bom + plain
            entries[f"json/{view}.json"] = self.files[f"json/{view}.json"]
            entries[f"views/{view}.csv"] = plain
        tail = document_tail(views_json)
        self.document.write(tail)
        self.document.close()
        self.files[f"json/{self.name}.json"] = self.head + tail
        for entry in sorted(entries):
            self.bundle.add(entry, entries[entry])
        return self.files, self.bundle.close()


def _holds(path: Path, data: bytes) -> bool:
    """Whether `path` is a regular file (not a link to one, wherever it points) with exactly `data`."""
    return path.is_file() and not path.is_symlink() and path.read_bytes() == data


def _write_atomically(path: Path, data: bytes) -> bool:
    """Replace `path` with `data` unless it already holds exactly that; True when written. A link is replaced by
    the file itself: what it pointed to is neither read nor written."""
    if _holds(path, data):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return True


@contextmanager
def locked(out_dir: Path) -> Iterator[None]:
    """Hold out/.lock for the whole build: a second build waits here until the first is done."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / ".lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _clean(out_dir: Path) -> None:
    """Remove what killed or superseded builds left: temp and unreferenced build folders, dangling links."""
    current = out_dir / CURRENT
    live = os.readlink(current) if current.is_symlink() else None
    for entry in out_dir.iterdir():
        if entry.name.startswith((".tmp-", ".build-")) and entry.name != live and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.is_symlink() and not entry.exists():
            entry.unlink()


def _link(path: Path, target: str) -> None:
    """Make `path` a symlink to `target`, replacing whatever is there in one atomic rename where possible."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.is_dir() and not path.is_symlink():  # an out/ from before symlinks: move it aside first
        path.rename(path.with_name(f".tmp-{secrets.token_hex(4)}"))
    temporary = path.with_name(f".link-{secrets.token_hex(4)}")
    os.symlink(target, temporary)
    os.replace(temporary, path)


def _sync(path: Path) -> None:
    """Flush a file's or a folder's contents to disk (a folder's fsync makes its entries durable)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _swap(out_dir: Path, build_dir: Path, entries: list[str]) -> None:
    # Everything the new build holds reaches the disk before `current` points at it, so a power loss right
    # after the swap cannot leave `current` naming half-written files.
    for path in sorted(build_dir.rglob("*"), reverse=True):
        _sync(path)
    _sync(build_dir)
    final = out_dir / f".build-{build_dir.name.removeprefix('.tmp-')}"
    build_dir.rename(final)
    _link(out_dir / CURRENT, final.name)  # the commit point
    for name in entries:
        _link(out_dir / name, f"{CURRENT}/{name}")
    _sync(out_dir)


def build(layout: Layout, progress: Progress | None = None) -> BuildResult:
    """Validate, then build every output. On invalid data nothing is written and the report is returned."""
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic objects (typed cells, row dicts): collections would rescan them all
    try:
        return _build(layout, progress)
    finally:
        if collecting:
            gc.enable()


def _build(layout: Layout, progress: Progress | None) -> BuildResult:
    _pause("validate", progress)
    validated = validate(layout)
    if not validated.report.valid:
        return BuildResult(validated.report)
    package = validated.package
    name = db_name(package)
    out_dir = layout.out_dir
    with locked(out_dir):
        _clean(out_dir)
        _pause("tables", progress)
        generated = generate_repository(validated)
        build_dir = out_dir / f".tmp-{secrets.token_hex(6)}"
        build_dir.mkdir()
        _pause("sqlite", progress)
        for table in generated.tables.values():
            _ = table.columns  # cast every cell once, before the fork, so both processes have the result
        database = build_dir / f"{name}.db"
        job = _DatabaseJob(layout, package, generated.tables, database)
        _pause("downloads", progress)
        tables_json = {resource: rows_json(table.spec.field_names, table.columns)
                       for resource, table in generated.tables.items()}
        hashed = input_hash(layout)
        downloads = _Downloads(package, name, generated, tables_json)  # deflates while the database is built
        try:
            views = cast(Views, job.get("views"))
        except sqlite.ViewError as error:
            shutil.rmtree(build_dir, ignore_errors=True)
            name_, reason = sorted(error.failures.items())[0]
            raise ConfigError(f"view does not run in SQLite: {reason}",
                              path=layout.relative(layout.views_dir / f"{name_}.sql")) from None
        files, archive = downloads.views(views)  # while the child verifies the database
        files[f"{name}.zip"] = archive
        counts = {t: len(s.rows) for t, s in generated.tables.items()}
        counts.update((view, len(rows)) for view, (_, rows) in views.items())
        files["../build.json"] = dumps({"input_hash": hashed,
                                        "package_hash": descriptor.sha256(generated.descriptor),
                                        "database": f"{name}.db", "tables": counts}).encode("utf-8")
        for relative, data in sorted(files.items()):
            target = (build_dir / "downloads" / relative).resolve()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        _pause("verify", progress)
        problems = cast(list[str], job.get("problems"))
        if problems:
            shutil.rmtree(build_dir, ignore_errors=True)
            raise BuildError("; ".join(problems))
        _pause("repository", progress)
        written = [path for path, data in generated.committed.items()
                   if _write_atomically(layout.root / path, data)]
        for path in generated.removed:
            (layout.root / path).unlink(missing_ok=True)
        _pause("swap", progress)
        _swap(out_dir, build_dir, [f"{name}.db", "downloads", "build.json"])
        _pause("cleanup", progress)
        _clean(out_dir)
    sizes = {p.relative_to(out_dir).as_posix(): p.stat().st_size
             for p in sorted((out_dir / CURRENT).resolve().rglob("*")) if p.is_file()}
    return BuildResult(validated.report, True, out_dir / f"{name}.db", counts, sorted(written + generated.removed),
                       {k.split("/", 1)[1]: v for k, v in sizes.items()})
