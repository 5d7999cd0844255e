"""A build that keeps the last build (nothing changed, broadsheet.reuse) leaves exactly what a cold build of the
same inputs writes: the committed files byte for byte, every file of out/ byte for byte, the database by
`iterdump`. Held over random sequences of edits, no-ops, touches, hand edits of outputs and commits, in a real
git repository, against a cold build of a copy (no cache, no out/)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet import build, reuse
from broadsheet.layout import Layout
from conftest import FIXTURES, write
from test_diff import git

LOUVRE = "datapackage/museums/louvre.yaml"
TATE = "datapackage/museums/tate.yaml"
README = "# Museums\n\nSome prose.\n\n<!-- data-dictionary:start -->\n<!-- data-dictionary:end -->\n"


def repository(root: Path) -> Layout:
    """The museums fixture with a README that holds the dictionary, committed to a new git repository."""
    shutil.copytree(FIXTURES / "museums", root)
    (root / "README.md").write_text(README, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-m", "first")
    return Layout(root)


def outputs(layout: Layout) -> dict[str, object]:
    """The committed outputs and the current build: bytes, and the database as SQL."""
    found: dict[str, object] = {}
    for path in sorted([*layout.data_dir.glob("*.csv"), layout.descriptor, layout.readme]):
        if path.is_file():
            found[layout.relative(path)] = path.read_bytes()
    current = (layout.out_dir / "current").resolve()
    for path in sorted(current.rglob("*")):
        if not path.is_file() or path.name == reuse.MANIFEST:
            continue
        if path.suffix == ".db":
            connection = sqlite3.connect(path)
            try:
                found[path.relative_to(current).as_posix()] = list(connection.iterdump())
            finally:
                connection.close()
        else:
            found[path.relative_to(current).as_posix()] = path.read_bytes()
    return found


def cold(layout: Layout, where: Path) -> dict[str, object]:
    """The outputs of a cold build of a copy (its git history included; no cache, no out/)."""
    if where.exists():
        shutil.rmtree(where)
    shutil.copytree(layout.root, where, ignore=shutil.ignore_patterns("out", ".broadsheet-cache"))
    copy = Layout(where)
    assert build.check(copy).stale == build.check(layout).stale  # --check agrees before the build, too
    assert build.build(copy).built
    return outputs(copy)


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
        assert outputs(layout) == cold(layout, base / "cold")
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
