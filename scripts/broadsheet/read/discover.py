"""Discovery: which files are records of which resource (each resource's layout says where they live and what
suffixes they have), and a problem for anything in datapackage/ that would be ignored."""

from __future__ import annotations

import os
from typing import Any

from broadsheet.errors import Problem
from broadsheet.layout import CSV_SUFFIX, RecordLayout
from broadsheet.package import PackageSpec

Folder = tuple[str, str, list[str]]  # (folder path, folder as shown to people, sorted record file names)


def discover(package: PackageSpec, *, folders: dict[str, tuple[Any, list[str]]] | None = None,
             listing: dict[str, list[str]] | None = None,
             horizon: int = 0) -> tuple[dict[str, Folder], list[Problem]]:
    """The record files of each top-level resource, and a problem for anything in datapackage/ we would ignore.
    Names, not a Path object per file: those cost ~0.15 s at 100k files. A record file's name is relative to
    its resource's folder (`sub/x.yml` in a recursive one).

    `folders` (shown folder -> (its stat signature, names other than records)) is filled in for the index; given with
    `listing` (shown folder -> its record names) from the index or the last build, a folder whose signature is unchanged
    is not listed again: adding, removing or renaming an entry changes a directory's mtime and ctime (ctime cannot be
    set by users), the way git's untracked cache relies on it. A folder whose ctime is not before the run's `horizon`
    (broadsheet.read.horizon) gets no signature, so it is listed next time; so does a recursive folder (its sub-folders
    change without it)."""
    layout = package.layout
    data_dir = layout.data_dir
    forms = {spec.name: spec.records or layout.default_records(spec.name) for spec in package.top_level}
    files: dict[str, Folder] = {name: (str(layout.root / form.folder), form.folder, [])
                                for name, form in forms.items()}
    problems: list[Problem] = []
    if not data_dir.is_dir():
        return files, problems
    data_prefix = len(layout.relative(data_dir)) + 1
    tops = {form.folder[data_prefix:].split("/")[0]: name for name, form in forms.items()}
    for entry in sorted(data_dir.iterdir()):
        if entry.is_symlink() and entry.suffix != CSV_SUFFIX:  # a link may point anywhere on the host: never
            # followed. (A linked CSV is an output: the build replaces it with the file it generates.)
            problems.append(Problem(
                "symlink", f"{entry.name!r} is a symbolic link: records are read only from the repository, and "
                "the link is not followed", path=layout.relative(entry), found="a symbolic link",
                expected="a folder of records" if entry.name in tops else "nothing else in this folder",
                hint="replace the link with the folder itself"))
        elif entry.is_dir() and entry.name not in tops:
            problems.append(Problem(
                "unknown-resource", f"folder {entry.name!r} matches no schema in schemas/",
                path=layout.relative(entry), found=entry.name, expected=f"one of {', '.join(sorted(tops))}",
                hint="rename the folder or add schemas/<name>.yaml"))
    for name, form in forms.items():
        folder = layout.root / form.folder
        if folder.is_symlink() or not folder.is_dir():
            continue  # a link is reported above (or by its parent folder); a missing folder holds no records
        shown_folder = form.folder
        stat = folder.stat()
        signature = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
        before = folders.get(shown_folder) if folders is not None and listing is not None else None
        if form.recursive:
            records, others = _walk(str(folder), "", form, shown_folder, name, problems)
        elif before is not None and before[0] == signature and shown_folder in listing:
            records, others = listing[shown_folder], before[1]
        else:
            names = sorted(os.listdir(folder))  # one listing; Path.glob + resolve() per file cost seconds
            records = [n for n in names if form.accepts(n)]
            others = [n for n in names if not form.accepts(n)]
        if folders is not None:
            trusted = stat.st_ctime_ns < horizon and not form.recursive
            folders[shown_folder] = (signature if trusted else None, others)
        files[name] = (str(folder), shown_folder, records)
        for other in others:
            if not other.rsplit("/", 1)[-1].startswith("."):
                problems.append(_wrong_extension(other, shown_folder, name, form))
    if folders is not None:
        present = {shown for _folder, shown, _names in files.values()}
        for shown in [shown for shown in folders if shown not in present]:
            del folders[shown]  # a record folder that is gone
    return files, problems


def _walk(folder: str, prefix: str, form: RecordLayout, shown_folder: str, resource: str,
          problems: list[Problem]) -> tuple[list[str], list[str]]:
    """(record names, other names) of a recursive folder, relative to it, sorted; sub-folders are entered, a
    linked one never (it is reported)."""
    records: list[str] = []
    others: list[str] = []
    with os.scandir(folder) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            name = prefix + entry.name
            if entry.is_symlink() and entry.is_dir():
                problems.append(Problem(
                    "symlink", f"{name!r} is a symbolic link: records are read only from the repository, and the "
                    "link is not followed", path=f"{shown_folder}/{name}", resource=resource,
                    found="a symbolic link", expected="a folder of records",
                    hint="replace the link with the folder itself"))
            elif entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    inner, rest = _walk(entry.path, name + "/", form, shown_folder, resource, problems)
                    records += inner
                    others += rest
            elif form.accepts(entry.name):
                records.append(name)  # a linked file is read through open_record, which reports it
            else:
                others.append(name)
    return sorted(records), others


def _wrong_extension(name: str, shown_folder: str, resource: str, form: RecordLayout) -> Problem:
    base = name.rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    stem, suffix = (stem, dot + suffix) if dot else (base, "")
    accepted = " or ".join(form.suffixes)
    return Problem("wrong-extension", f"{base!r} is not read: records end in {accepted}",
                   path=f"{shown_folder}/{name}", resource=resource, found=suffix or base, expected=accepted,
                   hint=f"rename it to {stem}{form.suffixes[0]}")
