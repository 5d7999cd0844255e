"""Work a run leaves for after its report: writing the per-file cache and the incremental index in a forked
child, so that the run which makes them does not wait for them (a first, cold run then leaves everything the
next run needs at no cost to itself).

The child holds an exclusive flock on `.broadsheet-cache/.lock` from before the fork until it exits; every run
that opens the cache first takes the same lock shared (`settle`), so it reads what the child wrote, whole,
instead of what it was still writing. What the child writes is exactly what the run would have written itself
(the same function, on the same objects, copied by fork); where fork is missing, or the folder cannot be written,
the work is done in the run itself. A child that dies leaves what broadsheet.speed.cache and
broadsheet.speed.incremental already survive: shards written atomically, an index whose main file is written
last.

Inside a `deferred()` block (a build) the work waits until the block ends, then goes to one child: the build
forks once its outputs are in place, so the child neither competes with it for the cores nor copies the pages the
build is still touching. A run that opens the cache meanwhile (`settle`) starts the waiting work first, as if it
had not waited. The child never starts another child: it holds the lock, and a second exclusive flock on the same
file from the same process would wait for itself.

Equivalence test: tests/test_cache.py::test_the_first_run_leaves_the_index_for_the_next (the run after a cold
one is answered by the index and reports what a run without the cache reports),
tests/test_cache.py::test_any_sequence_of_edits_gives_the_uncached_answer (every run leaves its work to a child),
and tests/test_cache.py::test_a_first_build_leaves_the_index_for_the_spliced_build (a build's work, deferred).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

LOCK_NAME = ".lock"

# Each child this process started → the work handed to it. The work is kept alive here until the child is
# reaped: freeing what it holds (at 100k records ~800 MB of rows, in millions of objects) took the parent ~3 s
# after the report, and since freeing writes to every page, made the child copy each one: both processes
# together peaked at ~1.5 GB. A command line run exits right after its report (os._exit), never paying for it.
_children: dict[int, tuple[object, ...]] = {}

# Inside deferred(): per folder, the work handed to run_after and what to keep for it, in order. None outside.
_waiting: dict[Path, list[tuple[Callable[[], None], object]]] | None = None

# True in a child run_after started: it holds the lock, so work it is handed is done at once (see the docstring).
_in_child = False


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Work handed to run_after inside the block starts when the block ends (a nested block: when the outer one
    ends), in one child per folder."""
    global _waiting
    if _waiting is not None or _in_child:
        yield
        return
    _waiting = {}
    try:
        yield
    finally:
        waiting, _waiting = _waiting, None
        for folder, works in waiting.items():
            _start(folder, works)


def settle(folder: Path) -> None:
    """Wait until no child of an earlier run is still writing under `folder` (work waiting for the end of a
    deferred() block is started first)."""
    if _in_child:
        return  # this process holds the lock: nothing else writes here
    if _waiting is not None and folder in _waiting:
        _start(folder, _waiting.pop(folder))
    _reap()
    try:
        descriptor = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return  # no lock file: nothing was ever left to a child here
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH)
    except OSError:
        pass
    finally:
        os.close(descriptor)  # releases the shared lock


def run_after(folder: Path, work: Callable[[], None], keep: object = None) -> None:
    """`work()` in a forked child holding the folder's lock; here, at once, where that cannot be done. `keep`:
    more of the parent's objects not to free while the child runs (see `_children`). Inside deferred(): when the
    block ends."""
    if _in_child:
        work()  # this child holds the folder's lock already
        return
    if _waiting is not None:
        _waiting.setdefault(folder, []).append((work, keep))
        return
    _start(folder, [(work, keep)])


def _start(folder: Path, works: list[tuple[Callable[[], None], object]]) -> None:
    """Each work, in order, in one forked child holding the folder's lock (here, where that cannot be done)."""
    global _in_child

    def work() -> None:
        for each, _kept in works:
            each()

    _reap()
    if not hasattr(os, "fork"):
        work()
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        work()  # a read-only checkout: work() itself writes nothing it cannot
        return
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # an earlier child still writing: after it
        child = os.fork()
    except OSError:
        os.close(descriptor)
        work()
        return
    if child == 0:  # pragma: no cover - the child process (coverage does not follow it)
        _in_child = True
        code = 1
        try:
            quiet = os.open(os.devnull, os.O_RDWR)
            for stream in (0, 1, 2):  # nothing to say, and a caller reading our output need not wait for us
                os.dup2(quiet, stream)
            work()
            code = 0
        finally:
            os._exit(code)  # no cleanup of the parent's state: it is the parent's
    os.close(descriptor)  # the child's copy keeps the lock until it exits
    _children[child] = (work, *(kept for _each, kept in works))


def wait_all() -> None:
    """Wait for every child this process started (tests, and a caller about to delete the cache)."""
    while _children:
        child, _kept = _children.popitem()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)


def _reap() -> None:
    """Collect children that have finished, so none is left a zombie in a long-lived process."""
    for child in list(_children):
        try:
            done, _status = os.waitpid(child, os.WNOHANG)
        except ChildProcessError:
            done = child
        if done:
            del _children[child]
