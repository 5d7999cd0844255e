"""Every record file's stat signature, in one walk: (size, mtime, ctime, inode) per file, flat in an array.

The incremental index (broadsheet.speed.incremental) compares a folder's signatures with those it recorded, and a
build (broadsheet.reuse) with those of the last build's inputs: both take them here, so a stat is taken one way.
A file that vanished meanwhile gets -1s. Which signatures may be trusted is broadsheet.read.horizon's rule.
A build compares its inputs with the last build's first and validates after: `Taken` hands the walk of the first
to the second (one stat per file, not two: ~0.15 s at 100k files)."""

from __future__ import annotations

import os
from array import array
from dataclasses import dataclass, field
from pathlib import Path

FORK_FROM = 10_000  # files for the child: below this, forking costs more than a second core saves


@dataclass
class Taken:
    """The signatures one step took and the horizon taken before them (broadsheet.read.horizon), for a later
    step of the same run. The later step then answers for the files as they stood at that walk, judged by that
    older horizon: a file written after it has another signature, so the next run reads it again."""

    horizon: int
    folders: dict[str, tuple[list[str], array]] = field(default_factory=dict)

    def take(self, folders: list[tuple[Path, list[str]]]) -> list[array]:
        """stat_folders, remembered."""
        walked = stat_folders(folders)
        for (folder, names), flat in zip(folders, walked, strict=True):
            self.folders[str(folder)] = (list(names), array("q", flat))
        return walked

    def again(self, folder: Path, names: list[str]) -> array:
        """A copy of what `take` found for exactly these names in this folder; a walk now otherwise."""
        before = self.folders.get(str(folder))
        if before is None or before[0] != names:
            return stat_all(folder, names)
        return array("q", before[1])


def stat_all(folder: Path, names: list[str]) -> array:
    """size, mtime, ctime, inode of every file, flat; -1s for a file that vanished meanwhile."""
    return stat_folders([(folder, names)])[0]


def stat_folders(folders: list[tuple[Path, list[str]]]) -> list[array]:
    """stat_all of each folder. A stat costs ~2 us here, mostly in the kernel: for many files one forked child
    takes the second half of every folder (the other core), one fork and one wait for all the folders."""
    halves = [len(names) // 2 for _folder, names in folders]
    sizes = [8 * 4 * (len(names) - half) for (_folder, names), half in zip(folders, halves, strict=True)]  # bytes
    if sum(halves) < FORK_FROM or not hasattr(os, "fork"):
        return [stat_names(folder, names) for folder, names in folders]
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child process
        try:  # written once all are taken: the pipe holds 64 KiB, and the parent reads only after its own half
            data = b"".join(stat_names(folder, names[half:]).tobytes()
                            for (folder, names), half in zip(folders, halves, strict=True))
            with os.fdopen(writer, "wb") as out:
                out.write(data)
        finally:
            os._exit(0)
    os.close(writer)
    firsts = [stat_names(folder, names[:half]) for (folder, names), half in zip(folders, halves, strict=True)]
    with os.fdopen(reader, "rb") as incoming:
        seconds = incoming.read()
    os.waitpid(child, 0)
    if len(seconds) != sum(sizes):
        return [stat_names(folder, names) for folder, names in folders]  # the child failed: do it here
    at = 0
    for first, size in zip(firsts, sizes, strict=True):
        first.frombytes(seconds[at:at + size])
        at += size
    return firsts


def stat_names(folder: Path, names: list[str]) -> array:
    flat = array("q")
    if not names:
        return flat  # the folder may not exist
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        stat = os.stat
        for name in names:
            try:
                s = stat(name, dir_fd=descriptor, follow_symlinks=False)  # a link is not its target
                flat.extend((s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino))
            except OSError:
                flat.extend((-1, -1, -1, -1))
    finally:
        os.close(descriptor)
    return flat


def differing(new: array, old: array, block: int = 1024) -> list[int]:
    """Indices of the files whose four numbers differ between two walks of the same names, or are unknown in the
    old one (zeros: a signature not trusted, broadsheet.read.horizon), comparing blocks in C first."""
    found = []
    width = 4 * block
    for start in range(0, len(new), width):
        if new[start:start + width] == old[start:start + width] and 0 not in new[start + 1:start + width:4]:
            continue  # (every fourth number from the second is an mtime: zero only where unknown)
        for i in range(start // 4, min(len(new), start + width) // 4):
            if new[4 * i:4 * i + 4] != old[4 * i:4 * i + 4] or not any(old[4 * i:4 * i + 4]):
                found.append(i)
    return found
