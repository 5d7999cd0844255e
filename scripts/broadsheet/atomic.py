"""Every write that must never be seen half done: one file (`write_atomically`), and out/ as a whole.

out/ is swapped as a whole, so a reader never sees half a build:

    out/.lock                       flock: a second build waits for the first
    out/.tmp-<random>/              a build in progress (deleted by the next build if this one died)
    out/.build-<random>/            a complete, verified build
    out/.trash-<random>/            a superseded or dead build being deleted (after the build that replaced it)
    out/current -> .build-<random>  THE commit point: replaced atomically (os.replace of a symlink)
    out/<dbname>.db -> current/<dbname>.db, out/downloads -> current/downloads, out/build.json -> current/...

`broadsheet.build` makes the folder (`new_build_dir`), fills it, and commits it with `swap`, under `locked`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

Bytes = bytes | memoryview  # a spliced build's table JSON is a view of the last build's file, not a copy
# A file's bytes, or its parts in order: the whole-package JSON (116 MB at 100k records) is written part after
# part, never joined into one more copy of every table's rows.
Content = Bytes | tuple[Bytes, ...]

CURRENT = "current"


def write_atomically(path: Path, data: bytes, durable: bool = True) -> None:
    """Replace `path` with `data` in one rename, so a reader sees the old bytes or the new, never a part.
    `durable` flushes the bytes to disk before the rename (outputs); caches, which are rebuilt when lost, skip it.
    A failure (disk full, read-only folder) leaves `path` as it was and raises OSError."""
    _install(_staged(path, data, durable), path)


def write_cache_file(path: Path, data: bytes) -> None:
    """Replace a cache file (rebuilt when lost, so never flushed): a reader sees the old bytes, the new, or for a
    moment no file, which every cache reader takes as an empty one; never a part. The old file is removed before
    the new one is renamed into place rather than renamed over: on ext4 a rename over an existing file first
    forces the new file's unwritten data to disk (auto_da_alloc), measured here 3.5 ms per 4 kB file against
    0.45 ms, and a warm validate writes a dozen such files, the index a thousand. A failure leaves no temporary
    file and raises OSError."""
    _install(_staged(path, data, durable=False), path, remove_first=True)


def _install(temporary: Path, path: Path, remove_first: bool = False) -> None:
    """Rename a staged file to `path` (removing the old one first when asked); the temporary never stays."""
    try:
        if remove_first:
            path.unlink(missing_ok=True)
        os.replace(temporary, path)
    except OSError as error:
        raise _naming(error, path) from None
    finally:
        temporary.unlink(missing_ok=True)


def _naming(error: OSError, path: Path) -> OSError:
    """The error, naming `path` (the file being replaced) rather than a temporary file beside it."""
    return OSError(error.errno, error.strerror, str(path))


def _staged(path: Path, data: bytes, durable: bool) -> Path:
    """A temporary file beside `path` holding `data`, to be renamed over it; nothing is left if this fails."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise _naming(error, path) from None
    return temporary


def replace_all_if_changed(files: list[tuple[Path, bytes]]) -> list[Path]:
    """Write every file that does not already hold its bytes, all or none: each new file is written in full
    beside its target first, and only then are they renamed over the targets, in the order given. A full disk
    or a missing permission meets the first step, and leaves every target as it was. The paths written."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            if not holds(path, data):
                staged.append((_staged(path, data, durable=True), path))
        for temporary, path in staged:
            try:
                os.replace(temporary, path)
            except OSError as error:
                raise _naming(error, path) from None
    finally:
        for temporary, _path in staged:
            temporary.unlink(missing_ok=True)
    return [path for _temporary, path in staged]


def holds(path: Path, data: Content) -> bool:
    """Whether `path` is a regular file (not a link to one, wherever it points) with exactly `data`; parts are
    read one at a time, and the first that differs ends the reading."""
    if not path.is_file() or path.is_symlink():
        return False
    with path.open("rb") as held:
        return all(held.read(len(part)) == part for part in parts_of(data)) and held.read(1) == b""


def parts_of(data: Content) -> tuple[Bytes, ...]:
    return data if isinstance(data, tuple) else (data,)


def replace_if_changed(path: Path, data: bytes) -> bool:
    """Write `path` atomically unless it already holds exactly `data`; True when written. A link is replaced by
    the file itself: what it pointed to is neither read nor written."""
    if holds(path, data):
        return False
    write_atomically(path, data)
    return True


def new_build_dir(out_dir: Path) -> Path:
    """A fresh folder for a build in progress (removed by `clean` if the build never commits it)."""
    build_dir = out_dir / f".tmp-{secrets.token_hex(6)}"
    build_dir.mkdir()
    return build_dir


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


def held(folder: Path) -> bool:
    """True while a running site answers from this build: it holds a shared flock on the build's folder (see
    broadsheet_site.builds), so the folder is kept until the site has moved on to a newer build."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(descriptor)  # closing releases the lock just taken
    return False


TRASH = ".trash-"  # a folder on its way out: renamed so under the lock, removed after it (see `clean`)


def clean(out_dir: Path, trash: list[Path] | None = None) -> None:
    """Remove what killed or superseded builds left: temp and unreferenced build folders (unless a running site
    still answers from one), dangling links. With `trash`, each folder is only renamed out/.trash-<random> (one
    rename; no name a build or the site looks for) and added to the list, for `remove_later` to delete once the
    lock is released: deleting a superseded build (hundreds of MB) took ~0.4 s of a one-record build at 100k."""
    current = out_dir / CURRENT
    live = os.readlink(current) if current.is_symlink() else None
    for entry in out_dir.iterdir():
        if entry.name.startswith(".build-") and entry.name != live and not entry.is_symlink() and held(entry):
            continue
        if entry.name.startswith((".tmp-", ".build-", TRASH)) and entry.name != live and not entry.is_symlink():
            _discard(entry, trash)
        elif entry.is_symlink() and not entry.exists():
            entry.unlink()


def _discard(folder: Path, trash: list[Path] | None) -> None:
    if trash is None:
        shutil.rmtree(folder, ignore_errors=True)
        return
    if not folder.name.startswith(TRASH):
        try:
            moved = folder.with_name(f"{TRASH}{secrets.token_hex(6)}")
            folder.rename(moved)
            folder = moved
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            return
    trash.append(folder)


def remove_later(folders: list[Path]) -> None:
    """Delete `folders` (out/.trash-* from `clean`) in a detached process, so the build returns without waiting
    for it: a grandchild, which nobody waits for and which leaves no zombie; it keeps no descriptor of ours (no
    lock, no pipe a caller reads our output from). Here, where fork is missing or fails. One that dies leaves
    .trash-* folders, which the next `clean` removes."""
    if not folders:
        return
    try:
        child = os.fork() if hasattr(os, "fork") else -1
    except OSError:
        child = -1
    if child < 0:
        _remove(folders)
        return
    if child == 0:  # pragma: no cover - the child process (coverage does not follow it)
        try:
            if os.fork() == 0:
                quiet = os.open(os.devnull, os.O_RDWR)
                for stream in (0, 1, 2):
                    os.dup2(quiet, stream)
                os.closerange(3, os.sysconf("SC_OPEN_MAX"))
                _remove(folders)
        finally:
            os._exit(0)
    os.waitpid(child, 0)  # at once: the child only starts the grandchild


def _remove(folders: list[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def link(path: Path, target: str) -> None:
    """Make `path` a symlink to `target`, replacing whatever is there in one atomic rename where possible."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.is_dir() and not path.is_symlink():  # an out/ from before symlinks: move it aside first
        path.rename(path.with_name(f".tmp-{secrets.token_hex(4)}"))
    temporary = path.with_name(f".link-{secrets.token_hex(4)}")
    os.symlink(target, temporary)
    os.replace(temporary, path)


def sync(path: Path) -> None:
    """Flush a file's or a folder's contents to disk (a folder's fsync makes its entries durable)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def sync_soon(path: Path) -> threading.Thread:
    """Start flushing a finished file to disk in a thread (fsync lets go of the GIL), so that the work which
    follows overlaps it: the database of a spliced build, ~280 MB at 100k records, took ~0.4 s to flush in `swap`.
    `swap` still syncs it, and then finds nothing left to write (and raises what fails)."""
    thread = threading.Thread(target=_sync_quietly, args=(path,), daemon=True)
    thread.start()
    return thread


def _sync_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):  # swap syncs it again, and says what is wrong
        sync(path)


def swap(out_dir: Path, build_dir: Path, entries: list[str]) -> None:
    # Everything the new build holds reaches the disk before `current` points at it, so a power loss right
    # after the swap cannot leave `current` naming half-written files.
    for path in sorted(build_dir.rglob("*"), reverse=True):
        sync(path)
    sync(build_dir)
    final = out_dir / f".build-{build_dir.name.removeprefix('.tmp-')}"
    build_dir.rename(final)
    link(out_dir / CURRENT, final.name)  # the commit point
    for name in entries:
        link(out_dir / name, f"{CURRENT}/{name}")
    sync(out_dir)
