"""A build whose inputs did not change since the last build keeps the last build: `broadsheet build` and
`broadsheet build --check` then read no record and write nothing.

Each complete build leaves `inputs.marshal` in its folder (out/.build-*/, swapped in with it) naming what it was made
from: the key of everything besides the record files that decides validation (broadsheet.validate.configuration: the
tool's source, the schemas and views, datapackage.json but its generated `resources`, frictionless' version), git's HEAD
(the record history comes from git), every record file with its stat signature and the sha256 of its bytes, the record
folders with their signatures and names (`listed`: a folder whose signature is unchanged is not listed again), and the
sha256 of every committed file the build wrote (the CSVs, datapackage.json, README.md: a hand edit of one of them is a
change). The last build is kept when all of that is as it was: the same key and HEAD, the same record files and no stray
entry in datapackage/, each file's signature unchanged (or, where it is unknown because the file changed within the racy
window of the read, or where it differs, the same sha256 of its bytes), every committed file holding exactly what was
written, every file of the build still there with its size, and the build not marked stale. Builds are deterministic, so
a build from the same inputs writes the same bytes: keeping the last one is building it again. When nothing but the
bytes of some record files changed, `compare` says which, and broadsheet.splice updates the last build instead. Anything
else takes the full build.

Equivalence test: tests/test_build_reuse.py::test_any_sequence_of_edits_builds_what_a_cold_build_builds (after
random edits, no-ops, touches, hand edits of outputs, schema and README changes and commits, the build's
committed files and out/ equal those of a cold build of the same inputs: bytes, and `iterdump` for SQLite).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR
from typing import Any

from broadsheet import atomic
from broadsheet.errors import BroadsheetError
from broadsheet.git import GitError, git, in_repository
from broadsheet.layout import CSV_SUFFIX, Layout
from broadsheet.package import PackageSpec
from broadsheet.read import horizon
from broadsheet.read.discover import discover
from broadsheet.read.records import read_record
from broadsheet.read.signatures import Taken, differing
from broadsheet.validate import configuration

FORMAT = 3
MANIFEST = "inputs.marshal"
Signature = tuple[int, int, int, int]
UNKNOWN = (0, 0, 0, 0)  # a signature not trusted, in a flat array


@dataclass
class Kept:
    """The build that stands: its folder and what its build.json says."""

    folder: Path
    build: dict[str, Any]


def head(layout: Layout) -> str:
    """git's HEAD commit, "" outside a repository or before the first commit."""
    if not in_repository(layout.root):
        return ""
    try:
        return git(layout.root, "rev-parse", "HEAD").decode("ascii", "replace").strip()
    except GitError:
        return ""


@dataclass(frozen=True)
class MadeFrom:
    """What a build read: the validation key, each record file's signature and sha256, and the horizon taken
    before its record folders were listed (broadsheet.read.horizon)."""

    package: PackageSpec
    key: str
    read: dict[str, tuple[Signature | None, str]]
    horizon: int


def manifest(made_from: MadeFrom, commit: str, committed: dict[str, bytes], folder: Path) -> bytes:
    """What a build was made from (see the module docstring), and the size of every file of its `folder`."""
    files = {p.relative_to(folder).as_posix(): p.stat().st_size for p in sorted(folder.rglob("*")) if p.is_file()}
    return marshal.dumps({"format": FORMAT, "key": made_from.key, "head": commit, "read": made_from.read,
                          "listed": listed(made_from), "files": files,
                          "committed": {path: hashlib.sha256(data).hexdigest() for path, data in committed.items()}})


Listed = dict[str, tuple[tuple[int, int, int], list[str], bytes]]


def listed(made_from: MadeFrom) -> Listed:
    """The record folders the next comparison need not list (os.listdir of 100k names and sorting them: ~0.2 s),
    each with its stat signature (as broadsheet.read.discover takes it), the record names the build read there and
    their signatures in that order, flat as broadsheet.read.signatures walks them (zeros where not trusted), so
    that the comparison finds the files that changed with a few comparisons of blocks (~0.2 s of a loop per file
    at 100k files)."""
    found = {}
    for folder, (signature, names) in _unchanged_folders(made_from).items():
        flat = array("q")
        for name in names:
            flat.extend(made_from.read[f"{folder}/{name}"][0] or UNKNOWN)
        found[folder] = (signature, names, flat.tobytes())
    return found


def _unchanged_folders(made_from: MadeFrom) -> dict[str, tuple[tuple[int, int, int], list[str]]]:
    """Each record folder with no entry come or gone since the build listed it: its stat signature and the record names
    the build read there. Only a folder whose ctime is before the horizon taken before the build listed it: no entry
    came or went since that listing, so its names are those read, and any later change moves its ctime past the
    signature recorded. A recursive folder is left out (its sub-folders change without it). Its other names need not be
    kept: a build lands only when discovery reported nothing, so they are hidden files, of which discovery says
    nothing."""
    package = made_from.package
    layout = package.layout
    names: dict[str, list[str]] = {}
    for spec in package.top_level:
        form = spec.records or layout.default_records(spec.name)
        if not form.recursive:
            names[form.folder] = []  # one resource per folder, none inside a recursive one (package.py holds it)
    for shown in made_from.read:
        folder, _slash, name = shown.rpartition("/")
        if folder in names:
            names[folder].append(name)
    found = {}
    for folder, records in names.items():
        try:
            stat = os.stat(layout.root / folder, follow_symlinks=False)
        except OSError:
            continue
        if S_ISDIR(stat.st_mode) and stat.st_ctime_ns < made_from.horizon:
            found[folder] = ((stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino), sorted(records))
    return found


@dataclass
class Compared:
    """The inputs against the last build's, when nothing but the bytes of some record files changed."""

    folder: Path  # the last build (resolved)
    build: dict[str, Any]  # its build.json
    known: dict[str, Any]  # its inputs.marshal
    package: PackageSpec
    key: str
    committed: dict[str, bytes]  # every committed file, holding what the last build wrote
    changed: list[tuple[str, str, str]]  # record files whose bytes differ: (resource, path, path shown)
    read: dict[str, tuple[Signature | None, str]]  # `known`'s, with the sha256 of every file hashed now
    written_after: bool  # a record file was modified at or after `started_ns`
    taken: Taken  # every record file's stat signature, for the validation that follows (it takes no second walk)


def current(layout: Layout) -> Kept | None:
    """The last build, when nothing it was made from has changed; None otherwise."""
    compared = compare(layout)
    return Kept(compared.folder, compared.build) if compared is not None and not compared.changed else None


def compare(layout: Layout, started_ns: int | None = None) -> Compared | None:
    """How the inputs stand against the last build (see the module docstring); None when anything but the bytes
    of existing record files changed, or there is no last build to compare with."""
    folder = layout.out_dir / atomic.CURRENT
    try:
        known = marshal.loads((folder / MANIFEST).read_bytes())
        build = json.loads((folder / "build.json").read_bytes())
    except Exception:  # noqa: BLE001 - no build, or one from before: build in full
        return None
    if not isinstance(known, dict) or known.get("format") != FORMAT or not isinstance(build, dict):
        return None
    try:
        return _compare(layout, known, build, folder, time.time_ns() if started_ns is None else started_ns)
    except (OSError, BroadsheetError, ValueError, KeyError, TypeError, AttributeError):
        return None  # whatever is wrong, the full build finds and reports it


def _compare(layout: Layout, known: dict[str, Any], build: dict[str, Any], folder: Path,
             started_ns: int) -> Compared | None:
    if str(build.get("input_hash", "")).startswith("stale"):
        return None
    for name, size in known["files"].items():  # the build as it was made (a file of it deleted: build anew)
        if os.stat(folder / name, follow_symlinks=False).st_size != size:
            return None
    package, key = configuration(layout)
    if key != known["key"] or head(layout) != known["head"]:
        return None
    committed: dict[str, str] = known["committed"]
    if layout.data_dir.is_dir() and {layout.relative(p) for p in layout.data_dir.glob(f"*{CSV_SUFFIX}")} - set(
            committed):
        return None  # a CSV the build would remove
    trust = horizon.take(layout.cache_dir, layout.root)  # before any record file is read below
    taken = Taken(trust)
    held: dict[str, bytes] = {}
    for path, digest in committed.items():  # a regular file with those bytes (a link, even to them: rewrite it)
        held[path] = read_record(layout.root / path)
        if hashlib.sha256(held[path]).hexdigest() != digest:
            return None
    listed_before: Listed = known["listed"]
    files, stray = discover(package, folders={folder: (signature, []) for folder, (signature, _n, _f) in
                                              listed_before.items()},
                            listing={folder: names for folder, (_signature, names, _f) in listed_before.items()},
                            horizon=trust)
    if stray:
        return None
    before_read: dict[str, tuple[Signature | None, str]] = known["read"]
    read = dict(before_read)
    changed = []
    written_after = False
    count = 0
    walked = taken.take([(Path(folder_path), names) for folder_path, _shown, names in files.values()])
    for (resource, (folder_path, shown_folder, names)), flat in zip(files.items(), walked, strict=True):
        count += len(names)  # (the walk the incremental index takes too)
        candidates: range | list[int] = range(len(names))
        if shown_folder in listed_before and listed_before[shown_folder][1] == names:
            candidates = differing(flat, array("q", listed_before[shown_folder][2]))
            written_after = written_after or max(flat[1::4], default=-1) >= started_ns
        for i in candidates:
            name = names[i]
            shown = f"{shown_folder}/{name}"
            before = before_read.get(shown)
            if before is None:
                return None  # a new file
            signature = tuple(flat[4 * i:4 * i + 4])
            if signature[0] < 0:
                return None  # gone meanwhile
            written_after = written_after or signature[1] >= started_ns
            if before[0] is not None and before[0] == signature:
                continue
            digest = hashlib.sha256(read_record(f"{folder_path}/{name}")).hexdigest()
            if digest != before[1]:
                changed.append((resource, f"{folder_path}/{name}", shown))
                read[shown] = (None, digest)
            elif horizon.trusted(signature, trust):  # the same bytes: trusted from now on
                read[shown] = (signature, digest)
    if count != len(before_read):
        return None  # a file gone
    return Compared(folder.resolve(), build, known, package, key, held, changed, read, written_after, taken)
