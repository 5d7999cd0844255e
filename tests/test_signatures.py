"""A build compares its record files with the last build's, then validates: `Taken` hands the first walk's stat
signatures to the second, so each file is stat'ed once per build. What the handed-on walk may and may not do:
stand for exactly the folder and names it was taken for, and leave the index so that the next run sees what
happened after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from broadsheet import validate
from broadsheet.layout import Layout
from broadsheet.read import horizon, signatures
from broadsheet.read.discover import discover
from broadsheet.read.signatures import Taken, stat_all
from broadsheet.speed import later
from conftest import write

LOUVRE = "datapackage/museums/louvre.yaml"


def walk(layout: Layout) -> Taken:
    """What reuse._compare hands on: a horizon, then every record folder's signatures."""
    package, _key = validate.configuration(layout)
    taken = Taken(horizon.take(layout.cache_dir, layout.root))
    files, _stray = discover(package)
    taken.take([(Path(folder), names) for folder, _shown, names in files.values()])
    return taken


def located(report) -> set[tuple[str, int, str]]:
    later.wait_all()
    return {(p.path, p.line, p.code) for p in report.problems}


@pytest.mark.parametrize(("asked", "answered_from"), [
    ("the same names", "the walk"),
    ("one name fewer", "a walk now"),
    ("the names reversed", "a walk now"),
    ("another folder", "a walk now"),
])
def test_again_answers_from_the_walk_only_for_what_it_walked(museums, asked, answered_from):
    folder = museums.root / "datapackage/museums"
    names = sorted(p.name for p in folder.iterdir())
    other = museums.root / "datapackage/cities"
    taken = Taken(0)
    [walked] = taken.take([(folder, names)])
    write(museums, LOUVRE, (museums.root / LOUVRE).read_text(encoding="utf-8") + "# longer now\n")
    ask_folder, ask_names = {
        "the same names": (folder, names),
        "one name fewer": (folder, names[1:]),
        "the names reversed": (folder, names[::-1]),
        "another folder": (other, sorted(p.name for p in other.iterdir())),
    }[asked]
    got = taken.again(ask_folder, ask_names)
    expected = walked if answered_from == "the walk" else stat_all(ask_folder, ask_names)
    assert got == expected
    assert got is not walked  # a copy: the index may keep and change what it is handed


def test_a_walk_stands_for_the_files_as_they_were_then_and_the_next_run_sees_the_rest(museums):
    """A record spoilt after the walk: the validation handed the walk answers for the files it compared (the
    build that follows records the write as stale); the run after it, walking itself, reports the error."""
    validate.report(museums, validate.CACHED)
    assert located(validate.report(museums, validate.CACHED)) == set()
    taken = walk(museums)
    text = (museums.root / LOUVRE).read_text(encoding="utf-8")
    write(museums, LOUVRE, text.replace("kind: art", "kind: toys"))
    assert located(validate.report(museums, validate.CACHED, taken=taken)) == set()
    assert located(validate.report(museums, validate.CACHED)) == {(LOUVRE, 4, "constraint-error")}


def signature_of(path: Path) -> tuple[int, int, int, int]:
    try:
        s = path.stat(follow_symlinks=False)
    except OSError:
        return (-1, -1, -1, -1)
    return (s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)


@pytest.mark.parametrize("fork_from", [1, 10**9], ids=["halves in a forked child", "all in this process"])
def test_one_walk_of_many_folders_is_a_stat_of_each_file(tmp_path, monkeypatch, fork_from):
    """Folders of 0, 1, 2 and 7 files, one name that vanished: each file's four numbers, in order, either way."""
    monkeypatch.setattr(signatures, "FORK_FROM", fork_from)
    folders = []
    for count in (0, 1, 2, 7):
        folder = tmp_path / f"folder-{count}"
        folder.mkdir()
        names = [f"record-{i}.yaml" for i in range(count)]
        for i, name in enumerate(names):
            (folder / name).write_text("x" * i, encoding="utf-8")
        folders.append((folder, names))
    folders[3][1].insert(3, "vanished.yaml")
    walked = signatures.stat_folders(folders)
    assert [[tuple(flat[i:i + 4]) for i in range(0, len(flat), 4)] for flat in walked] == [
        [signature_of(folder / name) for name in names] for folder, names in folders]
    assert tuple(walked[3][12:16]) == (-1, -1, -1, -1)
