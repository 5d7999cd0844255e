"""Per-file validation results, reused while a file's bytes, the schemas and the tool are unchanged.

What is cached: for each record file, what validation learns from that file alone (its parse problems, its rows
with their positions, the stricter cell rules' problems and which rows frictionless must judge). Nothing here
depends on other files: primary keys, unique values, foreign keys and citations are recomputed from all rows
whenever this cache is used. (broadsheet.incremental keeps, under the same key, an index that lets a run after
a clean one recheck only the values changed files touch; its module docstring says why that hides nothing.)

Keys. The whole cache is keyed by a digest of the schemas, datapackage.json (all but its `resources` list, which
`broadsheet build` generates and validation never reads: a build leaves the cache valid), the tool's version, the
source of every module of the tool and the registered rules (broadsheet.check.rules): change any and every entry
is discarded. Each entry is keyed by the
file's path and the sha256 of its bytes. Reading every file to hash it is cheap next to parsing, but at 100k files
it is still the larger part of a warm run, so an entry also remembers the file's stat signature (size, mtime,
ctime, inode): when the signature is unchanged the bytes are taken to be unchanged. ctime cannot be set by a user
(unlike mtime, which editors and `touch -d` set freely), and every write or `utime` moves it. The one hole is a
write within the file system's timestamp granularity of the moment the file was read ("racy git"): a file whose
ctime is not before the run's horizon (broadsheet.read.horizon) is stored without a signature, so the next run
hashes it again.

Storage: `.broadsheet-cache/` (git-ignored). Files are spread over shards by path, so a warm run rewrites only
the shards it changed; each shard is one uncompressed `marshal` blob of builtins (loading it is what a warm run
waits for). A shard that cannot be read (truncated, corrupt, from another Python) counts as empty.

Equivalence test: tests/test_cache.py (warm and cold runs give the same report after random edits, moves,
schema changes and damage) and tests/test_differential.py (cold and warm cache on every bad input).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import marshal
import os
import pickle
import zlib
from collections.abc import Callable
from pathlib import Path

import broadsheet
from broadsheet import __version__
from broadsheet.atomic import write_cache_file
from broadsheet.check.rules import REGISTRY
from broadsheet.layout import Layout
from broadsheet.package import PackageSpec, load_package, read_descriptor
from broadsheet.read import horizon
from broadsheet.read.records import read_record
from broadsheet.read.tables import FileRows
from broadsheet.speed import later
from broadsheet.speed.packing import Packed, unpack

FORMAT = 1
SHARDS = 32
RACY_WINDOW_NS = horizon.RACY_WINDOW_NS  # tests set it to 0: every file written before the run is trusted

Signature = tuple[int, int, int, int]
Entry = tuple[Signature | None, str, Packed]  # (stat signature or None when racy, sha256 of bytes, FileRows)
Job = tuple[str, str, str]  # (resource, file path, path shown to people)


class Cache:
    def __init__(self, layout: Layout, key: str, racy_window_ns: int = RACY_WINDOW_NS) -> None:
        self.layout = layout
        self.folder = layout.cache_dir
        self.key = key
        self.shards: list[dict[str, Entry] | None] = [None] * SHARDS
        self.dirty: set[int] = set()
        self.hits = 0
        self.misses = 0
        # per file of the last file_rows: the stat signature the result is valid for, and the sha256 of its bytes
        self.signatures: dict[str, Signature | None] = {}
        self.digests: dict[str, str] = {}
        # taken before this run reads any record file: files whose ctime is earlier are trusted by signature
        self.horizon = horizon.take(self.folder, layout.root, racy_window_ns)

    @classmethod
    def open(cls, layout: Layout, variant: str = "", racy_window_ns: int | None = None) -> Cache:
        """`variant` names how the cached per-file results were made (validate's per-file step differs with and
        without vouching): another variant, another key."""
        window = RACY_WINDOW_NS if racy_window_ns is None else racy_window_ns  # read now: tests may narrow it
        later.settle(layout.cache_dir)  # an earlier run's child may still be writing the cache: wait for it
        return cls(layout, configuration_key(layout, variant), window)

    # --- the package -----------------------------------------------------------------------------------------

    def package(self, check: bool = True) -> PackageSpec:
        """load_package, skipping the frictionless schema checks when these exact schemas passed them before.
        With `check=False` a package read afresh comes with its checks left undone (PackageSpec.unchecked): the
        caller runs them (package.check_schemas) and then hands it to `keep`."""
        path = self.folder / "package.pickle"
        try:
            key, blob = marshal.loads(path.read_bytes())
            if key == self.key:
                package = pickle.loads(blob)  # written by this tool, in a git-ignored folder of this repository
                if isinstance(package, PackageSpec) and not package.unchecked:
                    package.layout = self.layout
                    # the key leaves out the generated `resources`: the writers get the file as it is now
                    package.descriptor = read_descriptor(self.layout)
                    return package
        except Exception:  # noqa: BLE001 - any unreadable cache is an empty cache
            pass
        package = load_package(self.layout, check=check)  # raises ConfigError for broken schemas: never cached
        self.keep(package)
        return package

    def keep(self, package: PackageSpec) -> None:
        """Remember a package whose schemas passed every check, for the next run."""
        if not package.unchecked:
            self._write(self.folder / "package.pickle",
                        marshal.dumps((self.key, pickle.dumps(package, protocol=pickle.HIGHEST_PROTOCOL))))

    # --- per-file results ------------------------------------------------------------------------------------

    def file_rows(self, package: PackageSpec, jobs: list[Job],
                  build: Callable[[list[Job]], list[tuple[str, Signature | None, Packed]]]) -> list[FileRows]:
        """FileRows per job, in job order: from the cache where the file is unchanged, else from `build`."""
        results: list[FileRows | None] = [None] * len(jobs)
        todo: list[int] = []
        for index, (_resource, path, shown) in enumerate(jobs):
            entry = self._shard(shown).get(shown)
            if entry is None:
                todo.append(index)  # never seen: the worker takes its signature while reading it
                continue
            try:
                stat = os.stat(path, follow_symlinks=False)  # a link is not its target
            except OSError:
                todo.append(index)
                continue
            signature = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
            if entry[0] is not None and entry[0] == signature:
                results[index] = unpack(entry[2], package)
            elif _digest(path) == entry[1]:
                results[index] = unpack(entry[2], package)
                self._store(shown, (horizon.kept(signature, self.horizon), entry[1], entry[2]))
            else:
                todo.append(index)
                continue
            self.signatures[shown], self.digests[shown] = signature, entry[1]
        self.hits = len(jobs) - len(todo)
        self.misses = len(todo)
        built = build([jobs[i] for i in todo])
        for index, (digest, signature, packed) in zip(todo, built, strict=True):
            results[index] = unpack(packed, package)
            self.signatures[jobs[index][2]], self.digests[jobs[index][2]] = signature, digest
            if digest:
                self._store(jobs[index][2], (horizon.kept(signature, self.horizon), digest, packed))
        self._forget_missing({shown for _resource, _path, shown in jobs})
        return results  # type: ignore[return-value]

    def read(self) -> dict[str, tuple[Signature | None, str]]:
        """Per file of the last file_rows: the stat signature that stands for its bytes (None when the file changed
        too late for the run's horizon, broadsheet.read.horizon) and the sha256 of the bytes read."""
        return {shown: (horizon.kept(self.signatures.get(shown), self.horizon), digest)
                for shown, digest in self.digests.items()}

    def save(self) -> None:
        """Write the shards that changed, each atomically (a crash leaves the old shard or the new one)."""
        for number in sorted(self.dirty):
            shard = self.shards[number] or {}
            self._write(self._shard_path(number), marshal.dumps((self.key, shard)))
        self.dirty.clear()

    def release(self) -> None:
        """Let go of the shards in memory once saved: a later lookup reads its shard again. The child that writes
        the index after a cold run calls it, so that the index's key entries reuse what the shards' rows origins
        held instead of new pages (broadsheet.speed.later)."""
        if not self.dirty:
            self.shards = [None] * SHARDS

    # --- internals -------------------------------------------------------------------------------------------

    def _shard_number(self, shown: str) -> int:
        return zlib.crc32(shown.encode("utf-8")) % SHARDS

    def _shard_path(self, number: int) -> Path:
        return self.folder / f"files-{number:02d}.marshal"

    def _shard(self, shown: str) -> dict[str, Entry]:
        number = self._shard_number(shown)
        shard = self.shards[number]
        if shard is None:
            shard = self.shards[number] = self._read_shard(number)
        return shard

    def _read_shard(self, number: int) -> dict[str, Entry]:
        try:
            key, shard = marshal.loads(self._shard_path(number).read_bytes())
        except Exception:  # noqa: BLE001 - missing, truncated or corrupt: start this shard afresh
            return {}
        if key != self.key or not isinstance(shard, dict):
            self.dirty.add(number)  # stale: overwrite it on save
            return {}
        return shard

    def _store(self, shown: str, entry: Entry) -> None:
        self._shard(shown)[shown] = entry
        self.dirty.add(self._shard_number(shown))

    def _forget_missing(self, present: set[str]) -> None:
        """Drop entries of deleted files so the cache does not grow without bound."""
        for number, shard in enumerate(self.shards):
            if shard is None:
                continue
            gone = [shown for shown in shard if shown not in present]
            for shown in gone:
                del shard[shown]
            if gone:
                self.dirty.add(number)

    def _write(self, path: Path, data: bytes) -> None:
        with contextlib.suppress(OSError):  # a read-only checkout still validates; it just does not get faster
            write_cache_file(path, data)


def _digest(path: str) -> str:
    try:
        return hashlib.sha256(read_record(path)).hexdigest()  # a link or a pipe: no digest, so not cached
    except OSError:
        return ""


def configuration_key(layout: Layout, variant: str = "") -> str:
    """A digest of everything besides a record's own bytes that decides what validation makes of it."""
    digest = hashlib.sha256(f"broadsheet {__version__} cache {FORMAT} {variant} {_frictionless_version()}".encode())
    tool = Path(broadsheet.__file__).parent  # every module of the tool: no list of producers to keep up to date
    for path in sorted(tool.rglob("*.py")):
        digest.update(path.relative_to(tool).as_posix().encode() + b"\0" + path.read_bytes())
    digest.update(REGISTRY.fingerprint().encode())  # rules registered from outside the tool's source too
    for path in [layout.descriptor, *sorted(layout.schemas_dir.rglob("*"))]:
        if path.is_file():
            data = path.read_bytes()
            if path == layout.descriptor:
                data = descriptor_basis(data)
            digest.update(layout.relative(path).encode() + b"\0" + data + b"\0")
    return digest.hexdigest()


def descriptor_basis(data: bytes) -> bytes:
    """What validation reads of datapackage.json: all but the `resources` list, which the build writes (and
    nothing validates against). Bytes that are not a JSON object are taken whole (load_package reports them)."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return data
    if not isinstance(parsed, dict):
        return data
    parsed.pop("resources", None)
    return json.dumps(parsed, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _frictionless_version() -> str:
    """Frictionless' verdicts are remembered per file (broadsheet.incremental): another frictionless, another key.
    Read from its installed metadata's folder name, without importing it (0.35 s)."""
    spec = importlib.util.find_spec("frictionless")
    if spec is None or spec.origin is None:
        return "none"
    site = Path(spec.origin).parent.parent
    return " ".join(sorted(p.name for p in site.glob("frictionless-*.dist-info"))) or str(spec.origin)
