"""A build that keeps the last build (nothing changed, broadsheet.reuse) or updates it (a few records changed,
broadsheet.splice) leaves exactly what a cold build of the same inputs writes: the committed files byte for byte,
every file of out/ byte for byte, the database by `iterdump` (after a splice, the FTS5 index's segment tables by
what they hold: see broadsheet.splice). Held over random sequences of edits, no-ops, touches, hand edits of
outputs and commits, in a real git repository, against a cold build of a copy (no cache, no out/)."""

from __future__ import annotations

import marshal
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import broadsheet
from broadsheet import build, reuse, splice, validate
from broadsheet.export import downloads
from broadsheet.layout import Layout
from broadsheet.speed import incremental, later
from conftest import FIXTURES, write
from test_diff import git

LOUVRE = "datapackage/museums/louvre.yaml"
TATE = "datapackage/museums/tate.yaml"
README = "# Museums\n\nSome prose.\n\n<!-- data-dictionary:start -->\n<!-- data-dictionary:end -->\n"


def repository(root: Path) -> Layout:
    """The museums fixture with a README that holds the dictionary, committed to a new git repository that
    ignores what `broadsheet init` has a dataset ignore: the build and the cache, which a build's child is still
    writing when `git add -A` runs."""
    shutil.copytree(FIXTURES / "museums", root)
    (root / "README.md").write_text(README, encoding="utf-8")
    shutil.copyfile(Path(broadsheet.__file__).parent / "template" / "gitignore", root / ".gitignore")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    return Layout(root)


def outputs(layout: Layout, segments: bool = True) -> dict[str, object]:
    """The committed outputs and the current build: bytes, and the database as SQL. Without `segments`, the FTS5
    indexes' segment tables are replaced by what they hold (every term's instances) and their integrity check."""
    found: dict[str, object] = {}
    for path in sorted([*layout.data_dir.glob("*.csv"), layout.descriptor, layout.readme]):
        if path.is_file():
            found[layout.relative(path)] = path.read_bytes()
    current = (layout.out_dir / "current").resolve()
    for path in sorted(current.rglob("*")):
        if not path.is_file() or path.name == reuse.MANIFEST:
            continue
        if path.suffix == ".db":
            found[path.relative_to(current).as_posix()] = dump(path, segments)
        elif path.name == splice.MANIFEST:  # marshal's bytes depend on which strings are shared: its values
            found[path.relative_to(current).as_posix()] = marshal.loads(path.read_bytes())
        else:
            found[path.relative_to(current).as_posix()] = path.read_bytes()
    return found


def dump(path: Path, segments: bool = True) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        lines = list(connection.iterdump())
        if segments:
            return lines
        shadows = tuple(f'INSERT INTO "{fts}_{kind}"' for fts in splice.FTS_TABLES for kind in ("data", "idx"))
        kept = [line for line in lines if not line.startswith(shadows)]
        for fts in splice.FTS_TABLES:
            connection.execute(f"INSERT INTO {fts} ({fts}) VALUES ('integrity-check')")  # raises when corrupt
            connection.execute(f"CREATE VIRTUAL TABLE temp.v_{fts} USING fts5vocab(main, {fts}, 'instance')")
            kept += [f"{fts}: {row}" for row in connection.execute(f"SELECT * FROM temp.v_{fts} ORDER BY 1, 2, 3, 4")]
        return kept
    finally:
        connection.close()


def cold(layout: Layout, where: Path, segments: bool = True) -> dict[str, object]:
    """The outputs of a cold build of a copy (its git history included; no cache, no out/)."""
    if where.exists():
        later.wait_all()  # the last cold build's child may still be writing its validation cache there
        shutil.rmtree(where)
    shutil.copytree(layout.root, where, ignore=shutil.ignore_patterns("out", ".broadsheet-cache"))
    copy = Layout(where)
    assert build.check(copy).stale == build.check(layout).stale  # --check agrees before the build, too
    assert build.build(copy).built
    return outputs(copy, segments)


def replace(layout: Layout, relative: str, old: str, new: str) -> None:
    path = layout.root / relative
    text = path.read_text(encoding="utf-8")
    if old in text:
        path.write_text(text.replace(old, new, 1), encoding="utf-8")


STEPS = st.sampled_from([
    ("nothing",),
    ("edit", LOUVRE, "name_en: Louvre", "name_en: Louvre Museum"),
    ("edit", LOUVRE, "name_en: Louvre Museum", "name_en: Louvre"),
    ("edit", LOUVRE, "visitors: 8700000", "visitors: 8700001"),
    ("edit", "datapackage/cities/paris.yaml", "name_en: Paris", "name_en: Paris (city)"),
    ("touch", LOUVRE),
    ("rewrite", LOUVRE),
    ("put", TATE, "id: tate\nname_en: Tate\n"),
    ("remove", TATE),
    ("csv",),
    ("readme",),
    ("schema",),
    ("commit",),
    ("download",),
])


def step(layout: Layout, action: tuple[str, ...]) -> None:
    root = layout.root
    if action[0] == "edit":
        replace(layout, *action[1:])
    elif action[0] == "touch":
        os.utime(root / action[1])
    elif action[0] == "rewrite":
        path = root / action[1]
        path.write_bytes(path.read_bytes())
    elif action[0] == "put":
        write(layout, action[1], action[2])
    elif action[0] == "remove":
        (root / action[1]).unlink(missing_ok=True)
    elif action[0] == "csv" and layout.csv_path("cities").is_file():  # a hand edit of an output
        with open(layout.csv_path("cities"), "ab") as handle:
            handle.write(b"rome,Rome,IT,\r\n")
    elif action[0] == "readme":
        with open(layout.readme, "a", encoding="utf-8") as handle:
            handle.write("More prose.\n")
    elif action[0] == "schema":
        replace(layout, "schemas/cities.yaml", "Inhabitants.", "Inhabitants, counted.")
    elif action[0] == "commit":
        git(root, "add", "-A")
        git(root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "--allow-empty", "-m",
            "a change")
    elif action[0] == "download":
        downloads = root / "out" / "current" / "downloads"
        if downloads.is_dir():
            next(p for p in sorted(downloads.rglob("*")) if p.is_file()).unlink()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=5))
def test_any_sequence_of_edits_builds_what_a_cold_build_builds(tmp_path_factory, steps):
    base = Path(tmp_path_factory.mktemp("reuse"))
    layout = repository(base / "museums")
    assert build.build(layout).built
    for action in steps:
        step(layout, action)
        assert build.build(layout).built
        assert outputs(layout, segments=False) == cold(layout, base / "cold", segments=False)
        assert build.check(layout).stale == []


def test_a_build_with_nothing_changed_keeps_the_last_one(tmp_path):
    layout = repository(tmp_path / "museums")
    first = build.build(layout)
    assert first.built and not first.kept
    assert build.build(layout).kept
    assert build.check(layout).stale == []
    for action in [("touch", LOUVRE), ("rewrite", LOUVRE), ("nothing",)]:
        step(layout, action)
        assert build.build(layout).kept, action  # same bytes: nothing to do
    for action in [("edit", LOUVRE, "name_en: Louvre", "name_en: Louvre Museum"), ("csv",), ("readme",),
                   ("schema",), ("commit",), ("download",), ("put", TATE, "id: tate\nname_en: Tate\n")]:
        step(layout, action)
        again = build.build(layout)
        assert again.built and not again.kept, action  # a change: built again, in full
        assert build.build(layout).kept, action


# --- a few records changed: the last build updated (broadsheet.splice) ------------------------------------------

VIEW = """-- Museums of each kind and their visitors.
-- Columns:
-- kind: what they show
SELECT kind, count(*) AS museums, sum(visitors) AS visitors FROM museums GROUP BY kind ORDER BY kind
"""
# Edits that keep every table's rows (same keys, same searched values present): values, searched texts (words
# added, removed, changed in form; labels), coded values, numbers, dates, a child row's text, two files at once.
SAME_SHAPE = st.sampled_from([
    (LOUVRE, "name_en: Louvre", "name_en: Louvre Museum Paris"),
    (LOUVRE, "name_en: Louvre Museum Paris", "name_en: Louvres"),
    (LOUVRE, "name_en: Louvres", "name_en: Louvre"),
    (LOUVRE, "visitors: 8700000", "visitors: 8700001"),
    (LOUVRE, "visitors: 8700001", "visitors: 12"),
    (LOUVRE, "kind: art", "kind: history"),
    (LOUVRE, "kind: history", "kind: art"),
    (LOUVRE, "budget: 1.5e8", "budget: 2.25"),
    (LOUVRE, "free_entry: false", "free_entry: true"),
    (LOUVRE, "topics: [painting, sculpture]", "topics: [painting]"),
    (LOUVRE, "name: Musée du Louvre", "name: Musée Louvre Paris"),
    (LOUVRE, "name: 卢浮宫", "name: 卢浮宫博物馆"),
    (LOUVRE, "locator: page 4", "locator: page 5"),
    ("datapackage/cities/paris.yaml", "name_en: Paris", "name_en: Paris Louvre"),
    ("datapackage/museums/central-state.yaml", "kind: history", "kind: science"),
    (LOUVRE, "# nothing", "# nothing"),
    ("datapackage/cities/paris.yaml", "id: paris", "# a comment: no value changes\nid: paris"),
])


def answered(monkeypatch: object, module: object, name: str) -> list[bool]:
    """Record, for every call of the real `module.name`, whether it answered (returned something but None)."""
    calls: list[bool] = []
    original = getattr(module, name)

    def watched(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)
        calls.append(result is not None)
        return result

    monkeypatch.setattr(module, name, watched)  # type: ignore[attr-defined]
    return calls


def spliced_builds(monkeypatch: object) -> list[bool]:
    """Record, for every build, whether broadsheet.splice made it."""
    return answered(monkeypatch, splice, "plan")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.lists(SAME_SHAPE, min_size=1, max_size=3), min_size=1, max_size=5))
def test_one_record_edits_splice_what_a_cold_build_builds(tmp_path_factory, monkeypatch, edits):
    monkeypatch.setattr(downloads, "GROUP", 1)  # a zip piece per row: each table spans several
    base = Path(tmp_path_factory.mktemp("splice"))
    layout = repository(base / "museums")
    write(layout, "schemas/views/kinds.sql", VIEW)
    assert build.build(layout).built
    made = spliced_builds(monkeypatch)
    indexed = indexed_validations(monkeypatch)
    for edit in edits:
        before = {path: (layout.root / path).read_bytes() for path, _old, _new in edit}
        for path, old, new in edit:
            replace(layout, path, old, new)
        changed = any((layout.root / path).read_bytes() != data for path, data in before.items())
        made.clear()
        indexed.clear()
        result = build.build(layout)
        assert result.built
        assert indexed in ([], [True]), edit  # the splice validates from the index the builds before left
        assert outputs(layout, segments=False) == cold(layout, base / "cold", segments=False)
        assert build.check(layout).stale == []
        if changed:
            assert result.kept or made == [True], edit  # through the splice (or nothing changed in the rows)
        assert build.build(layout).kept
    indexed.clear()
    assert report(layout, validate.CACHED) == report(layout, validate.REFERENCE)
    assert indexed == [True]  # a validate after the builds: answered by the index, as a run without the cache


def indexed_validations(monkeypatch: object) -> list[bool]:
    """Record, for every validation asked for its report only, whether the incremental index answered it."""
    return answered(monkeypatch, incremental, "answer")


def report(layout: Layout, speed: validate.Speed) -> list[object]:
    """Every problem of a validation (every field) and its counts."""
    found = validate.report(layout, speed)
    later.wait_all()
    return [sorted(tuple(p.to_dict().values()) for p in set(found.problems)), sorted(found.stats.items())]


def test_a_splice_that_does_not_apply_builds_in_full(tmp_path, monkeypatch):
    layout = repository(tmp_path / "museums")
    assert build.build(layout).built
    made = spliced_builds(monkeypatch)
    for action in [("put", TATE, "id: tate\nname_en: Tate\n"), ("remove", TATE),
                   ("edit", LOUVRE, "  - language: zh\n    name: 卢浮宫\n", ""),  # a child row fewer
                   ("schema",), ("commit",)]:
        step(layout, action)
        made.clear()
        assert build.build(layout).built
        assert made in ([], [False]), action
        assert outputs(layout) == cold(layout, tmp_path / "cold")


# --- the record folders' listing, kept by the last build (broadsheet.reuse.listed) ------------------------------

def listed_folders(layout: Layout) -> dict[str, list[str]]:
    known = marshal.loads((layout.out_dir / "current" / reuse.MANIFEST).read_bytes())
    return {folder: names for folder, (_signature, names, _flat) in known["listed"].items()}


@pytest.mark.parametrize(("action", "built", "codes"), [
    (("put", TATE, "id: tate\nname_en: Tate\n"), True, []),  # a record more
    (("remove", LOUVRE), True, []),  # a record fewer
    (("put", "datapackage/museums/notes.txt", "to do\n"), False, [("wrong-extension",
                                                                   "datapackage/museums/notes.txt")]),
    (("put", "datapackage/museums/.hidden", "x\n"), True, []),  # nothing to say: the last build stands
])
def test_a_folder_the_last_build_listed_is_listed_again_once_an_entry_comes_or_goes(tmp_path, action, built,
                                                                                      codes):
    layout = repository(tmp_path / "museums")
    assert build.build(layout).built
    assert listed_folders(layout)["datapackage/museums"] == ["central-state.yaml", "louvre.yaml"]  # taken
    step(layout, action)
    again = build.build(layout)
    assert again.built == built
    assert [(p.code, p.path) for p in again.report.problems] == codes
    if built:
        assert outputs(layout) == cold(layout, tmp_path / "cold")


@pytest.mark.parametrize(("after_the_change_ns", "kept"), [(0, False), (1, True)])
def test_a_folder_is_listed_for_the_next_build_only_when_it_changed_before_the_horizon(tmp_path,
                                                                                       after_the_change_ns, kept):
    """A folder changed at the very tick of the horizon may change again in that tick without a new signature:
    the next build lists it itself."""
    layout = repository(tmp_path / "museums")
    package, key = validate.configuration(layout)
    read = {f"datapackage/museums/{name}": (None, "") for name in ("louvre.yaml", "central-state.yaml")}
    changed = os.stat(layout.root / "datapackage/museums").st_ctime_ns
    found = reuse.listed(reuse.MadeFrom(package, key, read, changed + after_the_change_ns))
    assert ("datapackage/museums" in found) == kept
    if kept:
        assert found["datapackage/museums"][1] == ["central-state.yaml", "louvre.yaml"]
