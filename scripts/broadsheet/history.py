"""Record history from git, never typed by hand: when each record was added and changed, by which commit, and
which of its fields changed.

Two git processes whatever the history's length: one `git log --raw` pass lists, for every commit, the record
files it touched with their old and new blob hashes; one `git cat-file --batch` reads every distinct blob. Each
blob is parsed once (a file's new version in one commit is its old version in the next), and the values are
compared exactly as `broadsheet diff` compares them, so a commit that only re-quotes or reorders a file, or only
edits comments, is not a change of the record.

Outside a git repository (a dataset unpacked from a zip) the history is empty, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from broadsheet.diff import RecordState, compare_records, record_states
from broadsheet.git import GitError, git, in_repository, read_blobs
from broadsheet.layout import DATA_DIR, Layout
from broadsheet.package import PackageSpec, load_package

NO_BLOB = "0" * 40
COMMIT_START, FIELD_SEPARATOR = "\x1e", "\x1f"
LOG_FORMAT = "%x1e%H%x1f%cs%x1f%s"  # full hash, committer date (YYYY-MM-DD), subject


@dataclass(frozen=True)
class FileChange:
    path: str
    old_blob: str  # NO_BLOB when the file was added
    new_blob: str  # NO_BLOB when the file was deleted


@dataclass(frozen=True)
class Commit:
    short: str
    date: str
    subject: str
    files: list[FileChange]


def read_log(layout: Layout) -> list[Commit]:
    """Every commit that touched a file under datapackage/, oldest first (merge commits bring no changes of
    their own: the commits they merge are listed)."""
    out = git(layout.root, "log", "--reverse", "--no-renames", "--raw", "--no-abbrev", "-z", "--relative",
              f"--format={LOG_FORMAT}", "--", f"{DATA_DIR}/")
    # --no-abbrev (full blob hashes) also stops %h abbreviating: shorten as git would for this repository
    short_length = len(git(layout.root, "rev-parse", "--short", "HEAD").strip()) or 7
    return parse_log(out.decode("utf-8", "replace"), short_length)


def parse_log(text: str, short_length: int = 7) -> list[Commit]:
    commits = []
    for chunk in text.split(COMMIT_START)[1:]:
        header, _, body = chunk.partition("\0")
        full, date, subject = (header.split(FIELD_SEPARATOR, 2) + ["", ""])[:3]
        short = full[:short_length]
        tokens = body.lstrip("\n").split("\0")
        files = []
        for meta, path in zip(tokens[0::2], tokens[1::2], strict=False):
            parts = meta.lstrip(":").split()
            if len(parts) >= 5:
                files.append(FileChange(path, parts[2], parts[3]))
        commits.append(Commit(short, date, subject, files))
    return commits


def record_history(layout: Layout, package: PackageSpec | None = None) -> list[dict[str, Any]]:
    """One row per commit that changed a record's values, oldest first.

    Keys: resource, record_id, date (committer date, YYYY-MM-DD), commit (short hash), subject, change (added,
    changed or removed), fields_changed (field names and list keys, in schema order).
    """
    if not in_repository(layout.root):
        return []
    package = package or load_package(layout)
    try:
        commits = read_log(layout)
    except GitError:  # a repository without commits yet
        return []
    for commit in commits:
        commit.files[:] = [f for f in commit.files if package.record_resource(f.path)]
    blobs = sorted({b for c in commits for f in c.files for b in (f.old_blob, f.new_blob) if b != NO_BLOB})
    contents = read_blobs(layout.root, blobs)
    states: dict[tuple[str, str], dict[str, RecordState]] = {}

    def state(blob: str, path: str) -> dict[str, RecordState]:
        """The records of one version of a file, by record_states' keys."""
        if blob == NO_BLOB or contents.get(blob) is None:
            return {}
        if (blob, path) not in states:
            states[(blob, path)] = record_states(package, path, contents[blob] or b"")
        return states[(blob, path)]

    rows: list[dict[str, Any]] = []
    last_good: dict[str, RecordState] = {}  # a record's latest version that parsed, to compare across a broken one
    for commit in commits:
        for change in commit.files:
            old, new = state(change.old_blob, change.path), state(change.new_blob, change.path)
            if any(s.error for s in new.values()):
                continue  # a version that does not parse says nothing about values; the fix will be compared
            if any(s.error for s in old.values()):  # compare with the file's latest version that parsed
                old = {key: s for key, s in last_good.items() if s.path == change.path}
            for key in dict.fromkeys([*old, *new]):
                row = _history_row(package, commit, key, old.get(key), new.get(key), last_good)
                if row is not None:
                    rows.append(row)
    return rows


def _history_row(package: PackageSpec, commit: Commit, key: str, old: RecordState | None,
                 new: RecordState | None, last_good: dict[str, RecordState]) -> dict[str, Any] | None:
    if new is not None and new.error:
        return None  # a version that does not parse says nothing about values; the fix will be compared
    if old is not None and old.error:
        old = last_good.get(key)
    if new is None:
        last_good.pop(key, None)
    else:
        last_good[key] = new
    either = new or old
    if either is None:
        return None
    spec = package.resources[either.resource]
    difference = compare_records(old, new, spec.field_names)
    if difference is None:
        return None
    fields = [f.field for f in difference.fields] + [lc.key.split(".")[0] for lc in difference.lists]
    return {"resource": either.resource, "record_id": either.record_id, "date": commit.date,
            "commit": commit.short, "subject": commit.subject, "change": difference.change,
            "fields_changed": list(dict.fromkeys(fields))}


def record_dates(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, str]]:
    """(resource, record_id) → {"first_added", "last_changed"} (ISO dates) from `record_history` rows."""
    dates: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        key = (row["resource"], row["record_id"])
        entry = dates.setdefault(key, {"first_added": row["date"], "last_changed": row["date"]})
        # min/max rather than first/last: a rebased branch can list an older commit after a newer one
        entry["first_added"] = min(entry["first_added"], row["date"])
        entry["last_changed"] = max(entry["last_changed"], row["date"])
    return dates
