"""Incremental validation: after a full run, a later run re-reads only the files that changed and rechecks only the
key values they touch.

The index (`.broadsheet-cache/index-*.marshal`, under the same configuration key as broadsheet.cache: schemas,
datapackage.json, the tool's source and frictionless' version) holds, after a run that checked every row:

- per record folder, the sorted file names and each file's stat signature (size, mtime, ctime, inode; zeros when
  the file was written too late for the run's horizon, broadsheet.read.horizon), so one stat per file finds
  what changed;
- per file (sharded by path): the sha256 of its bytes, its row counts, and its *key entries*: every value it holds
  in a unique field, a primary key, either side of a foreign key, and the (record, field) pairs its facts need
  cited and its citations supply; entries the file satisfies itself (a child row's link to its own record, a fact
  cited in the same file) are left out, since they hold for as long as the file is unchanged;
- per value shard: every file's key entries, per kind, so "how many files hold this value" is a count in one small
  shard;
- the problems each file yields on its own (parse, cell rules, frictionless' verdicts on its doubtful rows);
- `clean`: the run found no cross-record violation at all (no duplicate, no dangling reference, no uncited fact,
  even one hidden behind another error) and the fast path applied.

Why a warm run cannot hide an error. The incremental path runs only from a clean index. Every cross-record rule
is a statement about the counts of single values (a unique value held once, a referenced value present, a cited
pair supplied), and counts change only for the values the changed files held before or hold now. Those are
exactly the values rechecked; any violation, or anything the index cannot judge (a key value whose cast is not
reproduced, a blank row, an unreadable shard, a shard from another generation), sends the run down the full
path, which recomputes everything from all rows and rewrites the index. So the warm answer is the cold answer:
the per-file problems are the ones the same bytes gave before, and the cross-record problems are none, as in a
full run.

Equivalence test: tests/test_cache.py::test_any_sequence_of_edits_gives_the_uncached_answer (warm and cold runs
after random sequences of edits), and tests/test_rules.py (a newly registered rule, applied by a warm run).

Consistency on disk: every shard carries the random token of the save that wrote it and the main file lists the
token of every shard; it is written last. A crash between writes leaves shards whose generation the main
file does not expect, which counts as no index (full path).
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from broadsheet.atomic import write_cache_file
from broadsheet.check.rules import REGISTRY
from broadsheet.errors import Problem, Report
from broadsheet.package import PackageSpec
from broadsheet.read import horizon
from broadsheet.read.discover import discover
from broadsheet.read.records import read_record
from broadsheet.read.signatures import Taken, differing, stat_folders
from broadsheet.read.tables import FileRows
from broadsheet.speed.cache import Cache
from broadsheet.speed.packing import pack_problem, unpack
from broadsheet.speed.vouch import UNKNOWN, key_value
from broadsheet.speed.workers import OneFile, build_all

FORMAT = 2
VALUE_SHARDS = 1024
FILE_SHARDS = 256

Entry = tuple[int, tuple[Any, ...]]  # (kind number, key value)
# A file's entries, flat: kind, value, kind, value, ... (with a pair tuple per entry the child writing the index
# after a cold validate of 100k records peaked at 1053 MB PSS; flat, 913-919 MB)
Entries = list[Any]
FileInfo = tuple[str, Entries, dict[str, int]]  # (sha256 of bytes, key entries, rows per resource)
ValueShard = list[list[tuple[Any, ...]]]  # per kind number, the values the files hold, once per holding


class Unusable(Exception):
    """The index cannot answer this run: take the full path."""


# --- what a file contributes -------------------------------------------------------------------------------

class Kinds:
    """The cross-record rules of a package, numbered. Each kind is a (role, resource, fields); roles: unique,
    primary, source/target (two sides of one foreign key), demand/supply (facts to cite, citations)."""

    def __init__(self, package: PackageSpec) -> None:
        self.kinds: list[tuple[str, str, tuple[str, ...]]] = []
        self.pair: dict[int, int] = {}  # source -> target, demand -> supply (and back)
        for spec in package.resources.values():
            for f in spec.fields:
                if f.constraints.get("unique"):
                    self.kinds.append(("unique", spec.name, (f.name,)))
            if spec.primary_key:
                self.kinds.append(("primary", spec.name, tuple(spec.primary_key)))
            for fk in spec.foreign_keys:
                target = fk["reference"]["resource"] or spec.name
                self._pair(("source", spec.name, tuple(fk["fields"])),
                           ("target", target, tuple(fk["reference"]["fields"])))
        # the record rules that compare files say which (demand, supply) pairs they count; one that does not
        # leaves the index unable to answer
        self.complete = True
        for rule in REGISTRY.record:
            if rule.scope != "package":
                continue
            if rule.index_kinds is None:
                self.complete = False
                continue
            for demand, supply in rule.index_kinds(package):
                self._pair(demand, supply)
        self.by_resource: dict[str, list[tuple[int, str, Callable[[list[tuple]], list[tuple]]]]] = {}
        for kind, (role, resource, fields) in enumerate(self.kinds):
            self.by_resource.setdefault(resource, []).append((kind, role, _extractor(package, role, resource,
                                                                                      fields)))

    def _pair(self, first: tuple[str, str, tuple[str, ...]], second: tuple[str, str, tuple[str, ...]]) -> None:
        self.kinds += [first, second]
        a, b = len(self.kinds) - 2, len(self.kinds) - 1
        self.pair[a], self.pair[b] = b, a


def _extractor(package: PackageSpec, role: str, resource: str,
               fields: tuple[str, ...]) -> Callable[[list[tuple]], list[tuple[Any, ...]]]:
    """rows -> the kind's values, cast as frictionless compares them (checks.key_value); empty keys left out
    (unique: a None value; others: all None), as the full path leaves them out. Raises Unusable for a value
    whose cast is not reproduced, and for an empty primary key (always an error)."""
    spec = package.resources[resource]
    names = spec.field_names
    if role in ("demand", "supply"):
        return lambda rows: _citation_values(role, [names.index(f) for f in fields], fields, rows)
    columns = [names.index(f) for f in fields]
    casts = [key_value(spec.field_map[f]) for f in fields]
    identity = all(spec.field_map[f].type == "string" and spec.field_map[f].descriptor.get("format", "default")
                   == "default" for f in fields)
    empty = (None,) * len(fields)

    def extract(rows: list[tuple]) -> list[tuple[Any, ...]]:
        if identity:
            values = [tuple(row[c] for c in columns) for row in rows] if len(columns) > 1 else [
                (row[columns[0]],) for row in rows]
        else:
            values = [tuple(cast(row[c]) for c, cast in zip(columns, casts, strict=True)) for row in rows]
            if any(UNKNOWN in value for value in values):
                raise Unusable("key value not reproduced")
        if role == "unique":
            return [v for v in values if v[0] is not None]
        if role == "primary" and empty in values:
            raise Unusable("empty primary key")
        return [v for v in values if v != empty]

    return extract


def file_entries(package: PackageSpec, kinds: Kinds, rows: dict[str, tuple[list[tuple], list]],
                 suspects: dict[str, list[int]]) -> Entries:
    """The key entries of one file (see the module docstring). Raises Unusable where the fast path would not
    apply: a key value whose frictionless cast is not reproduced, an empty primary key, a blank doubtful row."""
    for name, indices in suspects.items():
        table_rows = rows[name][0]
        if any(all(cell is None for cell in table_rows[i]) for i in indices):
            raise Unusable("blank row")
    found: dict[int, list[tuple[Any, ...]]] = {}
    for resource, (table_rows, _origins) in rows.items():
        for kind, _role, extract in kinds.by_resource.get(resource, ()):
            found[kind] = extract(table_rows)
    entries: Entries = []
    for kind, values in found.items():
        role = kinds.kinds[kind][0]
        if role in ("source", "demand") and kinds.pair[kind] in found:  # satisfied inside this file: holds
            own = set(found[kinds.pair[kind]])  # while the file is unchanged
            values = [v for v in values if v not in own]
        flat = [kind, None] * len(values)
        flat[1::2] = values
        entries += flat
    return entries


def pairs(entries: Entries) -> Iterable[Entry]:
    """(kind, value) per entry of a file's flat entries."""
    each = iter(entries)
    return zip(each, each, strict=True)


_KINDS: dict[int, tuple[PackageSpec, Kinds]] = {}


def entries_or_none(package: PackageSpec, result: FileRows) -> Entries | bool:
    """file_entries of a FileRows, or False when the index cannot take the file. Kinds are made once per package
    (per worker process)."""
    known = _KINDS.get(id(package))
    if known is None or known[0] is not package:
        known = _KINDS[id(package)] = (package, Kinds(package))
    try:
        return file_entries(package, known[1], result.rows, result.suspects)
    except Unusable:
        return False


def _citation_values(role: str, columns: list[int], fields: tuple[str, ...],
                     table_rows: list[tuple]) -> list[tuple[Any, ...]]:
    """As checks.citation_problems compares them: (record id or "", field name)."""
    if role == "supply":
        link, named = columns
        return [(row[link] or "", row[named] or "") for row in table_rows]
    id_column = columns[0]
    must = list(zip(fields[1:], columns[1:], strict=True))
    return [(row[id_column] or "", f) for row in table_rows for f, column in must if row[column] is not None]


def value_shard(kind: int, value: tuple[Any, ...]) -> int:
    return (zlib.crc32(str(value[0]).encode("utf-8", "surrogatepass")) + kind) % VALUE_SHARDS


def file_shard(shown: str) -> int:
    return zlib.crc32(shown.encode("utf-8", "surrogatepass")) % FILE_SHARDS


# --- storage -----------------------------------------------------------------------------------------------

class Index:
    """The index on disk. `meta` is small enough to read on every run; shards are read when needed."""

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = folder
        self.key = key
        self.meta: dict[str, Any] = {}
        self.shards: dict[tuple[str, int], Any] = {}
        self.dirty: set[tuple[str, int]] = set()

    def load(self) -> None:
        try:
            data = marshal.loads((self.folder / "index-meta.marshal").read_bytes())
        except Exception as error:  # noqa: BLE001 - missing or unreadable: no index
            raise Unusable("no index") from error
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != self.key:
            raise Unusable("index of other schemas or another tool")
        if not data.get("clean"):
            raise Unusable("the last full run found a cross-record problem")
        self.meta = data

    def shard(self, kind: str, number: int) -> Any:
        known = self.shards.get((kind, number))
        if known is None:
            try:
                key, generation, known = marshal.loads(
                    (self.folder / f"index-{kind}-{number:03d}.marshal").read_bytes())
            except Exception as error:  # noqa: BLE001 - any damage: no index
                raise Unusable("unreadable shard") from error
            if key != self.key or generation != self.meta["generations"].get(f"{kind}{number}"):
                raise Unusable("shard from another generation")
            self.shards[kind, number] = known
        return known

    def save(self) -> None:
        """Dirty shards first, then the main file naming their new generation (see the module docstring)."""
        # a random token, not a counter: two runs saving at once cannot produce shards another run's main
        # file takes for its own
        generation = int.from_bytes(os.urandom(8), "big")
        generations = self.meta.setdefault("generations", {})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            for kind, number in sorted(self.dirty):
                _write(self.folder / f"index-{kind}-{number:03d}.marshal",
                       marshal.dumps((self.key, generation, self.shards[kind, number])))
                generations[f"{kind}{number}"] = generation
            _write(self.folder / "index-meta.marshal", marshal.dumps(self.meta))
        except OSError:
            pass  # a read-only checkout still validates
        self.dirty.clear()


def _write(path: Path, data: bytes) -> None:
    write_cache_file(path, data)


def forget(folder: Path) -> None:
    """Make the index unusable before anything else is written (so a crash mid-way cannot leave it half new)."""
    with contextlib.suppress(OSError):
        (folder / "index-meta.marshal").unlink()


# --- the full path writes the index ------------------------------------------------------------------------

def write_full(folder: Path, key: str, package: PackageSpec, clean: bool, listing: dict[str, list[str]],
               folders: dict[str, tuple[Any, list[str]]],
               signatures: dict[str, tuple[int, int, int, int] | None], digests: dict[str, str],
               files: Iterable[tuple[str, FileRows]], problems: list[Problem], stats: dict[str, int],
               trust: int) -> None:
    """Rewrite the whole index after a run that saw every row. `files` yields (shown path, FileRows); `trust` is
    the run's horizon (broadsheet.read.horizon)."""
    index = Index(folder, key)
    forget(folder)
    meta: dict[str, Any] = {"format": FORMAT, "key": key, "clean": False, "generations": {}}
    index.meta = meta
    kinds = Kinds(package)
    if not clean or not kinds.complete:
        index.save()
        return
    value_shards: list[ValueShard] = [[[] for _kind in kinds.kinds] for _ in range(VALUE_SHARDS)]
    file_shards: list[dict[str, FileInfo]] = [{} for _ in range(FILE_SHARDS)]
    for shown, result in files:
        entries = result.entries if result.entries is not None else entries_or_none(package, result)
        if entries is False:
            index.save()
            return
        for kind, value in pairs(entries):
            value_shards[value_shard(kind, value)][kind].append(value)
        counts = {name: len(rows) for name, (rows, _origins) in result.rows.items()}
        file_shards[file_shard(shown)][shown] = (digests.get(shown, ""), entries, counts)
    local: dict[str, list[tuple]] = {}
    recorded = set(signatures)
    for problem in problems:
        if problem.path in recorded:
            local.setdefault(problem.path, []).append(pack_problem(problem))
    meta["listing"] = {folder_name: (names, _signature_array(
        [signatures.get(f"{folder_name}/{name}") for name in names], trust))
        for folder_name, names in listing.items()}
    meta.update(clean=True, local=local, stats=stats, kinds=kinds.kinds, folders=folders)
    for number, shard in enumerate(value_shards):
        index.shards["v", number] = shard
        index.dirty.add(("v", number))
    for number, shard in enumerate(file_shards):
        index.shards["f", number] = shard
        index.dirty.add(("f", number))
    index.save()


def _signature_array(signatures: list[tuple[int, int, int, int] | None], trust: int) -> bytes:
    flat = array("q")
    for signature in signatures:
        flat.extend(_flat(signature, trust))
    return flat.tobytes()


# --- the warm path -----------------------------------------------------------------------------------------

Builder = Callable[[list[tuple[str, str, str]]], list[tuple[str, Any, Any]]]


class Warm:
    """One incremental run. `run` returns the report's problems and stats, or raises Unusable."""

    def __init__(self, root: Path, folder: Path, key: str, trust: int, taken: Taken | None = None) -> None:
        self.root = root
        self.index = Index(folder, key)
        # the run's horizon (taken when its cache was opened, before any file was read), or the older one taken
        # before the signatures handed in (`taken`), which then stand for this run's walk
        self.trust = trust if taken is None else taken.horizon
        self.taken = taken

    def changes(self, listing: dict[str, list[str]]) -> tuple[list[str], list[str]]:
        """(changed or new files, removed files), as shown paths. Unchanged files whose signature was unknown
        get it recorded."""
        known = self.index.meta["listing"]
        if set(known) != set(listing):
            raise Unusable("other record folders")
        changed: list[str] = []
        removed: list[str] = []
        new_listing = {}
        walked = self._walk(listing)
        for (folder_name, names), stats in zip(listing.items(), walked, strict=True):
            old_names, old_bytes = known[folder_name]
            if names == old_names and stats.tobytes() == old_bytes:
                new_listing[folder_name] = (old_names, old_bytes)
                continue
            old = array("q")
            old.frombytes(old_bytes)
            if names == old_names:
                candidates = differing(stats, old)
                position = None
            else:
                candidates = range(len(names))
                position = {name: i for i, name in enumerate(old_names)}
                present = set(names)
                removed += [f"{folder_name}/{name}" for name in old_names if name not in present]
            for i in candidates:
                name = names[i]
                shown = f"{folder_name}/{name}"
                j = i if position is None else position.get(name)
                now = tuple(stats[4 * i:4 * i + 4])
                if j is not None and now == tuple(old[4 * j:4 * j + 4]) and any(now):
                    continue
                if j is not None and now[0] >= 0 and self._same_bytes(shown):
                    if not horizon.trusted(now, self.trust):
                        stats[4 * i:4 * i + 4] = array("q", (0, 0, 0, 0))
                    continue
                changed.append(shown)
                stats[4 * i:4 * i + 4] = array("q", (0, 0, 0, 0))  # taken again when the file is built
            new_listing[folder_name] = (names, stats)
        self.new_listing = new_listing
        return changed, removed

    def _walk(self, listing: dict[str, list[str]]) -> list[array]:
        """Each folder's signatures: taken now, all folders in one walk, or those handed in."""
        if self.taken is None:
            return stat_folders([(self.root / folder_name, names) for folder_name, names in listing.items()])
        taken = self.taken
        return [taken.again(self.root / folder_name, names) for folder_name, names in listing.items()]

    def _same_bytes(self, shown: str) -> bool:
        info = self.index.shard("f", file_shard(shown)).get(shown)
        if info is None or not info[0]:
            return False
        try:
            return hashlib.sha256(read_record(self.root / shown)).hexdigest() == info[0]  # a link: not the same
        except OSError:
            return False

    def update(self, package: PackageSpec, changed: list[str], removed: list[str],
               built: list[tuple[str, Any, FileRows]], local: dict[str, list[Problem]]) -> None:
        """Replace the changed files' entries, recheck every touched value; Unusable on any violation.
        `built` holds (sha256, stat signature, FileRows) per changed file, `local` its own problems."""
        meta = self.index.meta
        kinds = Kinds(package)
        if kinds.kinds != meta["kinds"]:
            raise Unusable("other rules")
        stats = dict(meta["stats"])
        before: dict[str, Entries] = {}
        for shown in [*changed, *removed]:
            shard = self.index.shard("f", file_shard(shown))
            old = shard.pop(shown, None)
            self.index.dirty.add(("f", file_shard(shown)))
            meta["local"].pop(shown, None)
            if old is None:
                continue
            before[shown] = old[1]
            for name, count in old[2].items():
                stats[f"rows.{name}"] -= count
        after: dict[str, Entries] = {}
        signatures: dict[str, tuple[int, int, int, int] | None] = {}
        for shown, (digest, signature, result) in zip(changed, built, strict=True):
            entries = result.entries if result.entries is not None else entries_or_none(package, result)
            if entries is False:
                raise Unusable("a file the index cannot take")
            counts = {name: len(rows) for name, (rows, _origins) in result.rows.items()}
            for name, count in counts.items():
                stats[f"rows.{name}"] += count
            if not digest:
                raise Unusable("unreadable file")  # never remembered: the full path reports it each time
            self.index.shard("f", file_shard(shown))[shown] = (digest, entries, counts)
            after[shown] = entries
            if local.get(shown):
                meta["local"][shown] = [pack_problem(p) for p in local[shown]]
            signatures[shown] = signature
        gone, added = _entry_changes(before, after)
        for kind, value in gone:
            try:
                self._values(kind, value).remove(value)
            except ValueError as error:  # the shards disagree: never guess
                raise Unusable("entry missing from its shard") from error
        for kind, value in added:
            self._values(kind, value).append(value)
        # an entry a file holds before and after keeps its verdict: its own count and its pair's change only
        # through entries that come or go, and those are checked
        for entry in {*gone, *added}:
            self._check(kinds, entry)
        stats["files"] = sum(len(names) for names, _stats in self.new_listing.values())
        meta["stats"] = stats
        for folder_name, (names, flat) in self.new_listing.items():
            if isinstance(flat, array):
                prefix = folder_name + "/"
                for shown, signature in signatures.items():  # the changed files, not every name (~40 ms)
                    if shown.startswith(prefix):
                        with contextlib.suppress(ValueError):  # a name of another folder below this one
                            i = names.index(shown[len(prefix):])  # (a recursive folder's names are not sorted)
                            flat[4 * i:4 * i + 4] = array("q", _flat(signature, self.trust))
                flat = flat.tobytes()
            meta["listing"][folder_name] = (names, flat)

    def _values(self, kind: int, value: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        number = value_shard(kind, value)
        self.index.dirty.add(("v", number))
        return self.index.shard("v", number)[kind]

    def _count(self, kind: int, value: tuple[Any, ...]) -> int:
        return self.index.shard("v", value_shard(kind, value))[kind].count(value)

    def _check(self, kinds: Kinds, entry: Entry) -> None:
        kind, value = entry
        role = kinds.kinds[kind][0]
        if role in ("unique", "primary"):
            if self._count(kind, value) > 1:
                raise Unusable("duplicate")
        elif role in ("source", "demand"):
            if self._count(kind, value) and not self._count(kinds.pair[kind], value):
                raise Unusable("dangling reference")
        elif not self._count(kind, value) and self._count(kinds.pair[kind], value):
            raise Unusable("reference to a removed value")

    def save(self) -> None:
        self.index.save()


def _entry_changes(before: dict[str, Entries], after: dict[str, Entries]) -> tuple[list[Entry], list[Entry]]:
    """(entries gone, entries added) over the changed files, counted with their repetitions: an edit of one
    value of a file of a hundred records touches the value shards of that value alone, not of all its entries
    (rewriting ~650 shards took ~0.2 s)."""
    gone: list[Entry] = []
    added: list[Entry] = []
    for shown in before.keys() | after.keys():
        old, new = Counter(pairs(before.get(shown, []))), Counter(pairs(after.get(shown, [])))
        gone += (old - new).elements()
        added += (new - old).elements()
    return gone, added


def _flat(signature: tuple[int, int, int, int] | None, trust: int) -> tuple[int, ...]:
    """A file's four numbers in the listing: its signature when trusted, else zeros (hash it next time)."""
    return horizon.kept(signature, trust) or (0, 0, 0, 0)


# --- one warm run, start to end ----------------------------------------------------------------------------

def _resource_of(shown: str, resources: dict[str, str]) -> str:
    """The resource whose record folder holds the file `shown`, in it or (a recursive layout) in a sub-folder of
    it: the nearest enclosing folder that is one (no record folder lies inside another's recursive one)."""
    folder = shown
    while "/" in folder:
        folder = folder.rsplit("/", 1)[0]
        if folder in resources:
            return resources[folder]
    raise Unusable("a file outside every record folder")


def answer(package: PackageSpec, cache: Cache, one: OneFile, local_problems: Callable[[FileRows], list[Problem]],
           workers: int | None, taken: Taken | None = None, checked: Callable[[], None] | None = None) -> Report | None:
    """The report from the index, or None when it cannot answer (then the caller takes the full path).
    `one` is the per-file work of the full path and `local_problems` what a file yields on its own there;
    `taken`, signatures to compare instead of a walk of its own (broadsheet.read.signatures.Taken); `checked`,
    called once an index is there to answer, before it does (the schema checks: the index only answers for a
    package that passes them, and a cold run, with no index, leaves them to overlap with its workers)."""
    layout = package.layout
    warm = Warm(layout.root, layout.cache_dir, cache.key, cache.horizon, taken)
    try:
        warm.index.load()
        if checked is not None:
            checked()
        folders: dict[str, tuple[Any, list[str]]] = dict(warm.index.meta["folders"])
        files, stray = discover(package, folders=folders, horizon=warm.trust, listing={
            shown: names for shown, (names, _signatures) in warm.index.meta["listing"].items()})
        resources = {shown: name for name, (_folder, shown, _names) in files.items()}
        changed, removed = warm.changes({shown: names for _folder, shown, names in files.values()})
        built = []
        local: dict[str, list[Problem]] = {}
        if changed:
            jobs = [(_resource_of(shown, resources), str(layout.root / shown), shown) for shown in changed]
            for (digest, signature, packed), shown in zip(build_all(package, jobs, one, workers), changed,
                                                          strict=True):
                result = unpack(packed, package)
                if result.entries is None:
                    result.entries = entries_or_none(package, result)
                built.append((digest, signature, result))
                local[shown] = local_problems(result)
        if changed or removed or warm.new_listing != warm.index.meta["listing"] \
                or folders != warm.index.meta["folders"]:
            warm.update(package, changed, removed, built, local)
            warm.index.meta["folders"] = folders
            warm.save()
    except Unusable:
        return None
    meta = warm.index.meta
    report = Report()
    report.extend(stray)
    for packed_problems in meta["local"].values():
        report.extend([Problem(*p) for p in packed_problems])
    report.stats = dict(meta["stats"])
    return report
