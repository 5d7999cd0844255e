"""Worker processes: the same per-file work (read, parse, build rows, per-row checks) on every core. Each worker
takes a slice of the files and returns compact rows (broadsheet.speed.packing), never YAML node trees. The
work itself is the caller's function, unchanged: this module only decides where it runs.

Equivalence test: tests/test_differential.py::test_worker_processes_build_what_one_process_builds, and
tests/test_layouts.py::test_worker_processes_build_files_of_many_records_as_one_process_does."""

from __future__ import annotations

import gc
import marshal
import os
from collections.abc import Callable

from broadsheet.package import PackageSpec
from broadsheet.read.tables import FileRows
from broadsheet.speed.packing import Packed, pack

# Below this many files to parse, starting worker processes costs more than it saves.
PARALLEL_FROM = 400

Job = tuple[str, str, str]  # (top-level resource, file path, path shown to people)
Signature = tuple[int, int, int, int]  # size, mtime, ctime, inode: see broadsheet.speed.cache
Built = tuple[str, Signature | None, Packed]  # (sha256 of the bytes, stat signature, packed FileRows)
OneFile = Callable[[Job], tuple[str, Signature | None, FileRows]]

_WORK: tuple[PackageSpec, OneFile] | None = None


def build_all(package: PackageSpec, jobs: list[Job], one: OneFile, workers: int | None = None,
              meanwhile: Callable[[], None] | None = None) -> list[Built]:
    """`one(job)` for every job, packed, in job order; in forked workers when there is enough to do. `meanwhile()`
    runs in this process while the workers work (before the work, when there are none); what it raises is
    raised before anything of the work is returned."""
    count = workers or len(os.sched_getaffinity(0))
    if count < 2 or len(jobs) < PARALLEL_FROM:
        if meanwhile is not None:
            meanwhile()
        return _here(package, jobs, one)
    import multiprocessing  # deferred (~50 ms): most runs stay in one process

    global _WORK
    _WORK = (package, one)  # inherited by the forked workers: no need to pickle the schemas
    chunk = max(50, len(jobs) // (count * 8))
    slices = [jobs[i:i + chunk] for i in range(0, len(jobs), chunk)]
    try:
        context = multiprocessing.get_context("fork")
        with context.Pool(count, initializer=gc.disable) as pool:
            parts = pool.imap(_build_slice, slices)
            if meanwhile is not None:
                meanwhile, run = None, meanwhile
                run()
            return [item for part in parts for item in marshal.loads(part)]
    except (ValueError, AssertionError, OSError):
        # no fork on this platform, or we are ourselves a daemonic worker: do the same work in this process
        if meanwhile is not None:
            meanwhile()
        return _here(package, jobs, one)
    finally:
        _WORK = None


def _here(package: PackageSpec, jobs: list[Job], one: OneFile) -> list[Built]:
    return [(digest, signature, pack(rows, package)) for digest, signature, rows in map(one, jobs)]


def _build_slice(jobs: list[Job]) -> bytes:
    assert _WORK is not None
    return marshal.dumps(_here(*_WORK[:1], jobs, _WORK[1]))
