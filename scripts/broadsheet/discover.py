"""Discovery: which files are records of which resource, and a problem for anything in datapackage/ that would
be ignored."""

from __future__ import annotations

import os
from typing import Any

from broadsheet.errors import Problem
from broadsheet.layout import CSV_SUFFIX, RECORD_SUFFIX
from broadsheet.package import PackageSpec

Folder = tuple[str, str, list[str]]  # (folder path, folder as shown to people, sorted record file names)


def discover(package: PackageSpec, *, folders: dict[str, tuple[Any, list[str]]] | None = None,
             listing: dict[str, tuple[list[str], bytes]] | None = None, started: int = 0,
             racy_window_ns: int = 0) -> tuple[dict[str, Folder], list[Problem]]:
    """The record files of each top-level resource, and a problem for anything in datapackage/ we would ignore.
    Names, not a Path object per file: those cost ~0.15 s at 100k files.

    `folders` (shown folder -> (its stat signature, names other than records)) is filled in for the index; given
    with `listing` (shown folder -> (record names, ...)) from the index, a folder whose signature is unchanged is
    not listed again: adding, removing or renaming an entry changes a directory's mtime and ctime (ctime cannot
    be set by users), the way git's untracked cache relies on it. A folder changed within the racy window of
    `started` gets no signature, so it is listed next time."""
    layout = package.layout
    data_dir = layout.data_dir
    shown_data = layout.relative(data_dir)
    files: dict[str, Folder] = {spec.name: (str(data_dir / spec.name), f"{shown_data}/{spec.name}", [])
                                for spec in package.top_level}
    problems = []
    if not data_dir.is_dir():
        return files, problems
    known = {spec.name for spec in package.top_level}
    for entry in sorted(data_dir.iterdir()):
        if entry.is_symlink() and entry.suffix != CSV_SUFFIX:  # a link may point anywhere on the host: never
            # followed. (A linked CSV is an output: the build replaces it with the file it generates.)
            problems.append(Problem(
                "symlink", f"{entry.name!r} is a symbolic link: records are read only from the repository, and "
                "the link is not followed", path=layout.relative(entry), found="a symbolic link",
                expected="a folder of records" if entry.name in known else "nothing else in this folder",
                hint="replace the link with the folder itself"))
        elif entry.is_dir() and entry.name not in known:
            problems.append(Problem(
                "unknown-resource", f"folder {entry.name!r} matches no schema in schemas/",
                path=layout.relative(entry), found=entry.name, expected=f"one of {', '.join(sorted(known))}",
                hint="rename the folder or add schemas/<name>.yaml"))
        elif entry.is_dir():
            shown_folder = layout.relative(entry)
            stat = entry.stat()
            signature = (stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
            before = folders.get(shown_folder) if folders is not None and listing is not None else None
            if before is not None and before[0] == signature and shown_folder in listing:
                records, others = listing[shown_folder][0], before[1]
            else:
                names = sorted(os.listdir(entry))  # one listing; Path.glob + resolve() per file cost seconds
                records = [n for n in names if n.endswith(RECORD_SUFFIX)]
                others = [n for n in names if not n.endswith(RECORD_SUFFIX)]
            if folders is not None:
                trusted = stat.st_ctime_ns < started - racy_window_ns
                folders[shown_folder] = (signature if trusted else None, others)
            files[entry.name] = (str(entry), shown_folder, records)
            for name in others:
                if not name.startswith("."):
                    stem, dot, suffix = name.rpartition(".")
                    stem, suffix = (stem, dot + suffix) if dot else (name, "")
                    problems.append(Problem(
                        "wrong-extension", f"{name!r} is not read: records end in {RECORD_SUFFIX}",
                        path=f"{shown_folder}/{name}", resource=entry.name, found=suffix or name,
                        expected=RECORD_SUFFIX, hint=f"rename it to {stem}{RECORD_SUFFIX}"))
    if folders is not None:
        present = {shown for _folder, shown, _names in files.values()}
        for name in [name for name in folders if name not in present]:
            del folders[name]  # a record folder that is gone
    return files, problems
