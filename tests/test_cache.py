"""The validation cache can make a run faster, never different: no cache state hides an error.

Each test brings the cache into some state (stale, corrupt, fooled by a restored mtime, outdated schemas, a
deleted record that others refer to...) and checks that a cached run reports exactly what a run without the
cache reports, and that the expected error is among it.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broadsheet import validate
from broadsheet.layout import Layout
from broadsheet.read import horizon
from broadsheet.read.discover import discover
from broadsheet.speed import cache, incremental, later
from conftest import write

LOUVRE = "datapackage/museums/louvre.yaml"


def problems(layout: Layout, use_cache: bool) -> list[tuple]:
    """The whole report (every field of every problem, and the stats) of a run with or without the cache; with
    it, the incremental index answers whenever it can (rows=False, as `broadsheet validate` asks)."""
    report = validate.report(layout, validate.CACHED) if use_cache else validate.rows(layout).report
    later.wait_all()  # the cache files are whole before a test looks at (or damages) them
    return [*sorted(tuple(p.to_dict().values()) for p in set(report.problems)), sorted(report.stats.items())]


def codes(layout: Layout) -> set[tuple[str, int, str]]:
    """Cached run == uncached run, then the located codes of the cached run."""
    cached = problems(layout, use_cache=True)
    assert cached == problems(layout, use_cache=False)
    return {(p[2], p[3], p[0]) for p in cached[:-1]}


@pytest.fixture
def exact_stat(monkeypatch):
    """No racy window: entries keep their stat signature even for files written just now, so the stat shortcut
    (the riskiest part of the cache) is what each test exercises."""
    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)


def replace_keeping_mtime(layout: Layout, relative: str, old: str, new: str) -> None:
    """Edit a file in place to the same size and put its modification time back, as `touch -r` or a careless
    tool would: only the content (and the ctime, which no user can set) changes."""
    path = layout.root / relative
    before = path.stat()
    text = path.read_text(encoding="utf-8")
    assert len(new) == len(old) and old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_size == before.st_size


def test_a_warm_cache_reports_what_a_cold_run_reports(museums):
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nkind: painting\n")
    assert codes(museums) == {("datapackage/museums/tate.yaml", 3, "constraint-error")}
    assert any(museums.cache_dir.iterdir())
    assert codes(museums) == {("datapackage/museums/tate.yaml", 3, "constraint-error")}


def test_same_size_edit_with_the_old_mtime_is_seen(museums, exact_stat):
    assert codes(museums) == set()
    replace_keeping_mtime(museums, LOUVRE, "kind: art", "kind: atr")
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}


def test_same_size_edit_within_the_racy_window_is_seen(museums):
    """With the default window, a file written moments before the run is re-hashed next time."""
    write(museums, LOUVRE, (museums.root / LOUVRE).read_text(encoding="utf-8"))
    assert codes(museums) == set()
    replace_keeping_mtime(museums, LOUVRE, "kind: art", "kind: atr")
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}


@pytest.mark.parametrize("damage", [b"", b"garbage", b"x\x9c\x01\x02"])
def test_corrupt_cache_files_count_as_empty(museums, exact_stat, damage):
    assert codes(museums) == set()
    for path in museums.cache_dir.iterdir():
        path.write_bytes(damage)
    replace_keeping_mtime(museums, LOUVRE, "kind: art", "kind: atr")
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}


def test_a_truncated_cache_file_counts_as_empty(museums, exact_stat):
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nkind: painting\n")
    codes(museums)
    for path in museums.cache_dir.iterdir():
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    assert codes(museums) == {("datapackage/museums/tate.yaml", 3, "constraint-error")}


def test_a_schema_change_invalidates_every_entry(museums, exact_stat):
    assert codes(museums) == set()
    schema = museums.schema_path("museums")
    schema.write_text(schema.read_text(encoding="utf-8").replace("enum: [art, history, science]",
                                                                 "enum: [history, science]"), encoding="utf-8")
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}


def test_deleting_a_record_others_refer_to_is_seen_in_the_unchanged_files(museums, exact_stat):
    assert codes(museums) == set()
    (museums.root / "datapackage/cities/paris.yaml").unlink()
    assert codes(museums) == {(LOUVRE, 3, "foreign-key")}


def test_a_duplicate_made_in_one_file_is_reported_against_the_unchanged_other(museums, exact_stat):
    assert codes(museums) == set()
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nregistry_code: '050540004455'\n")
    assert codes(museums) == {("datapackage/museums/tate.yaml", 3, "unique-error")}


def test_renaming_a_file_is_seen_although_its_bytes_are_cached(museums, exact_stat):
    assert codes(museums) == set()
    (museums.root / LOUVRE).rename(museums.root / "datapackage/museums/le-louvre.yaml")
    assert ("datapackage/museums/le-louvre.yaml", 1, "id-mismatch") in codes(museums)


def test_a_forged_entry_for_other_bytes_is_not_used(museums, exact_stat):
    """An entry is only trusted for the exact bytes it was made from: copying the cache of a valid state over
    an invalid checkout (as a CI cache restore might) changes nothing."""
    good = Path(museums.root / LOUVRE).read_text(encoding="utf-8")
    assert codes(museums) == set()
    saved = {p.name: p.read_bytes() for p in museums.cache_dir.iterdir()}
    write(museums, LOUVRE, good.replace("kind: art", "kind: toys"))
    for name, data in saved.items():
        (museums.cache_dir / name).write_bytes(data)
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}


def cached_run_is_incremental(layout: Layout) -> bool:
    """Whether the index answered rather than the full path (watching what incremental.answer returns)."""
    answers = []
    answer = incremental.answer

    def watched(*args, **kwargs):  # the real function, its answer noted
        answers.append(answer(*args, **kwargs))
        return answers[-1]

    incremental.answer = watched
    try:
        validate.report(layout, validate.CACHED)
    finally:
        incremental.answer = answer
    later.wait_all()
    return answers[0] is not None


def test_one_changed_file_is_answered_by_the_index_and_errors_still_show(museums, exact_stat):
    assert codes(museums) == set()  # a first run leaves the index to the next one
    assert cached_run_is_incremental(museums)
    replace_keeping_mtime(museums, LOUVRE, "kind: art", "kind: atr")
    assert cached_run_is_incremental(museums)  # a per-file problem: the index answers, with the error
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nregistry_code: '050540004455'\n")
    assert not cached_run_is_incremental(museums)  # a duplicate: the full path words it
    assert (("datapackage/museums/tate.yaml", 3, "unique-error")) in codes(museums)


def test_the_first_run_leaves_the_index_for_the_next(museums, exact_stat):
    """A cold run (no cache at all) writes the per-file cache and the index after its report, in a child; the
    next run waits for the child, is answered by the index, and reports what a run without the cache reports."""
    assert not museums.cache_dir.exists()
    validate.report(museums, validate.CACHED)
    replace_keeping_mtime(museums, LOUVRE, "kind: art", "kind: atr")
    assert cached_run_is_incremental(museums)
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}


def listed_signatures(layout: Layout) -> list[tuple[int, ...]]:
    """Every record file's four numbers in the index's listing (zeros: to be hashed again)."""
    from array import array

    index = incremental.Index(layout.cache_dir, cache.configuration_key(layout, "vouched"))
    index.load()
    found = []
    for _names, flat in index.meta["listing"].values():
        numbers = array("q")
        numbers.frombytes(flat)
        found += [tuple(numbers[i:i + 4]) for i in range(0, len(numbers), 4)]
    return found


def test_files_written_just_before_the_first_run_are_trusted_after_it(museums):
    """A fresh clone validated at once: its files were all written a moment before the run. They changed before
    the run's horizon (a stamp it writes first), so the index keeps their signatures and the next run hashes
    only what changed since. (The old rule, a 2 s window before the run's start, listed them all as racy, and
    the run after re-hashed every file: 0.6 s instead of 0.24 s at 10k files.)"""
    time.sleep(0.05)  # beyond one tick of the kernel's file clock; far below the old 2 s window
    validate.report(museums, validate.CACHED)
    later.wait_all()
    signatures = listed_signatures(museums)
    assert signatures and (0, 0, 0, 0) not in signatures


def test_a_file_written_after_the_horizon_is_never_trusted(tmp_path):
    """The rule itself: a file that changed before the horizon is trusted by its signature; one that changed at
    or after it (it could still change within the same tick of the file clock) is hashed again."""
    before = tmp_path / "before.yaml"
    before.write_text("a: 1\n")
    time.sleep(0.05)
    trust = horizon.take(tmp_path / ".broadsheet-cache", tmp_path)
    after = tmp_path / "after.yaml"
    after.write_text("a: 2\n")
    signature = {path.name: (s.st_size, s.st_mtime_ns, s.st_ctime_ns, s.st_ino)
                 for path in (before, after) for s in [path.stat()]}
    assert horizon.trusted(signature["before.yaml"], trust)
    assert not horizon.trusted(signature["after.yaml"], trust)
    assert horizon.kept(signature["after.yaml"], trust) is None


def test_without_a_stamp_the_horizon_falls_back_to_the_window(tmp_path):
    """A cache folder that cannot be written (here: a file where the folder would be): the run's start minus
    the 2 s window, as before."""
    (tmp_path / ".broadsheet-cache").write_text("not a folder")
    started = time.time_ns()
    trust = horizon.take(tmp_path / ".broadsheet-cache", tmp_path)
    assert started - horizon.RACY_WINDOW_NS <= trust <= time.time_ns() - horizon.RACY_WINDOW_NS


def test_a_schema_edit_costs_one_full_run(museums, exact_stat):
    assert codes(museums) == set()
    schema = museums.schema_path("museums")
    schema.write_text(schema.read_text(encoding="utf-8").replace("enum: [art, history, science]",
                                                                 "enum: [history, science]"), encoding="utf-8")
    assert not cached_run_is_incremental(museums)  # new schemas: every file is read again, once
    replace_keeping_mtime(museums, "datapackage/cities/paris.yaml", "country: FR", "country: fr")
    assert cached_run_is_incremental(museums)
    assert codes(museums) == {(LOUVRE, 4, "constraint-error"), ("datapackage/cities/paris.yaml", 3,
                                                                "constraint-error")}


def test_a_build_leaves_the_cache_and_the_index_valid(museums, exact_stat):
    """The build rewrites datapackage.json's `resources` (and the CSVs): validation does not read them, so the
    next validate is still answered by the index."""
    from broadsheet import build

    assert codes(museums) == set()
    assert build.build(museums).built
    replace_keeping_mtime(museums, LOUVRE, "kind: art", "kind: atr")
    assert cached_run_is_incremental(museums)
    assert codes(museums) == {(LOUVRE, 4, "constraint-error")}


def watch_answers(monkeypatch) -> list[bool]:
    """Record, for every validation asked for the report only, whether the index answered it."""
    answers: list[bool] = []
    answer = incremental.answer

    def watched(*args, **kwargs):  # the real function, its answer noted
        found = answer(*args, **kwargs)
        answers.append(found is not None)
        return found

    monkeypatch.setattr(incremental, "answer", watched)
    return answers


def test_a_first_build_leaves_the_index_for_the_spliced_build(tmp_path, monkeypatch):
    """Clone, build, edit one record, build: the second build (broadsheet.splice) is answered by the index the
    first build left (in a child, after its swap), and so is a validate after it, which reports what a run
    without the cache reports. Then the same with an error made by the edit."""
    from broadsheet import build
    from test_build_reuse import repository

    layout = repository(tmp_path / "museums")
    assert build.build(layout).built  # its child writes the index; the next run waits for it (later.settle)
    answers = watch_answers(monkeypatch)
    replace_keeping_mtime(layout, LOUVRE, "name_en: Louvre", "name_en: Lovure")
    result = build.build(layout)
    assert result.built and result.spliced == 1
    assert answers == [True]  # the splice's validation: from the index
    answers.clear()
    assert codes(layout) == set()
    assert answers == [True]
    replace_keeping_mtime(layout, LOUVRE, "kind: art", "kind: atr")
    answers.clear()
    assert not build.build(layout).built
    assert codes(layout) == {(LOUVRE, 4, "constraint-error")}
    assert answers[-1]


def test_a_cross_record_error_keeps_the_full_path_until_it_is_fixed(museums, exact_stat):
    (museums.root / "datapackage/cities/paris.yaml").rename(museums.root / "paris.yaml")
    assert (LOUVRE, 3, "foreign-key") in codes(museums)
    assert not cached_run_is_incremental(museums)
    (museums.root / "paris.yaml").rename(museums.root / "datapackage/cities/paris.yaml")
    assert codes(museums) == set()
    assert codes(museums) == set()
    assert cached_run_is_incremental(museums)


def test_a_damaged_or_half_written_index_is_not_used(museums, exact_stat):
    assert codes(museums) == set()
    assert codes(museums) == set()
    assert cached_run_is_incremental(museums)
    shards = sorted(museums.cache_dir.glob("index-v-*.marshal"))
    fresh = {p: p.read_bytes() for p in shards}
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nregistry_code: '050540004456'\n")
    assert codes(museums) == set()
    for path, data in fresh.items():  # shards of the generation before, as a crash between writes leaves them
        path.write_bytes(data)
    write(museums, "datapackage/museums/tate.yaml", "id: tate\nname_en: Tate\nregistry_code: '050540004455'\n")
    assert ("datapackage/museums/tate.yaml", 3, "unique-error") in codes(museums)


# --- any sequence of edits ---------------------------------------------------------------------------------

EDITS = st.sampled_from([
    ("write", LOUVRE, "kind: art", "kind: atr"),
    ("write", LOUVRE, "kind: atr", "kind: art"),
    ("write", "datapackage/museums/central-state.yaml", "city_id: almaty", "city_id: almatx"),
    ("write", "datapackage/museums/central-state.yaml", "city_id: almatx", "city_id: almaty"),
    ("write", "datapackage/cities/paris.yaml", "country: FR", "country: fr"),
    ("write", "datapackage/cities/paris.yaml", "country: fr", "country: FR"),
    ("delete", "datapackage/cities/almaty.yaml", "", ""),
    ("restore", "datapackage/cities/almaty.yaml", "", ""),
    ("corrupt", "", "", ""),
])


TATE = "datapackage/museums/tate.yaml"
CITED_TATE = ("id: tate\nname_en: Tate\ncity_id: {city}\nregistry_code: '{code}'\ncitations:\n"
              "  - field: {field}\n    source_id: guide-2024\n    locator: p. 1\n")
WRITES = st.sampled_from([
    (TATE, "id: tate\nname_en: Tate\n"),
    (TATE, "id: tate\nname_en: Tate\nkind: painting\n"),  # a per-file error
    (TATE, CITED_TATE.format(city="paris", code="123456789012", field="city_id")),
    (TATE, CITED_TATE.format(city="paris", code="050540004455", field="city_id")),  # duplicate registry code
    (TATE, CITED_TATE.format(city="london", code="123456789012", field="city_id")),  # dangling reference
    (TATE, CITED_TATE.format(city="paris", code="123456789012", field="kind")),  # uncited city_id
    (TATE, CITED_TATE.format(city="paris", code="123456789012", field="colour")),  # citation of no field
    (TATE, "id: tate\nname_en: Tate\nnames:\n  - museum_id: louvre\n    language: en\n    name: T\n"),
    (TATE, "id: tate\nname_en: Tate\nvisitors: 1e3\n"),  # frictionless judges this row
    (TATE, "id: [tate]\n"),
    (TATE, "id: tate\nname_en: Tate\nname_en: Tate\n"),
    ("datapackage/cities/london.yaml", "id: london\nname_en: London\ncountry: GB\n"),
    ("datapackage/cities/london.yaml", "id: paris\nname_en: London\ncountry: GB\n"),
    ("datapackage/sources/guide-2024.yaml", "id: guide-2024\ntitle: A guide\n"),
    ("datapackage/museums/notes.txt", "not a record"),
])
MOVES = st.sampled_from([
    (LOUVRE, "datapackage/museums/le-louvre.yaml"), ("datapackage/museums/le-louvre.yaml", LOUVRE),
    ("datapackage/cities/paris.yaml", "datapackage/cities/london.yaml"),
    ("datapackage/cities/london.yaml", "datapackage/cities/paris.yaml"),
    (TATE, "datapackage/museums/tate-modern.yaml"),
])
STEPS = st.one_of(
    EDITS,
    st.tuples(st.just("put"), WRITES),
    st.tuples(st.just("move"), MOVES),
    st.tuples(st.just("remove"), st.sampled_from([TATE, "datapackage/cities/london.yaml",
                                                  "datapackage/museums/notes.txt"])),
    st.tuples(st.just("schema"), st.sampled_from(["enum: [art, history, science]", "enum: [art, history]"])),
    st.tuples(st.just("damage"), st.integers(0, 400), st.sampled_from([b"", b"\x00" * 9, None])),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEPS, min_size=1, max_size=8))
def test_any_sequence_of_writes_moves_schema_changes_and_damage_gives_the_uncached_answer(
        tmp_path_factory, monkeypatch, steps):
    """Warm (incremental index, per-file cache) == cold, on the whole report, after every step."""
    layout, original = fresh_museums(tmp_path_factory, monkeypatch, "steps")
    root = layout.root
    for step in steps:
        if step[0] == "put":
            write(layout, *step[1])
        elif step[0] == "move" and (root / step[1][0]).exists() and not (root / step[1][1]).exists():
            (root / step[1][0]).rename(root / step[1][1])
        elif step[0] == "remove" and (root / step[1]).exists():
            (root / step[1]).unlink()
        elif step[0] == "schema":
            schema = layout.schema_path("museums")
            text = schema.read_text(encoding="utf-8")
            for enum in ("enum: [art, history, science]", "enum: [art, history]"):
                text = text.replace(enum, step[1])
            schema.write_text(text, encoding="utf-8")
        elif step[0] == "damage" and layout.cache_dir.is_dir():
            names = sorted(layout.cache_dir.iterdir())
            if names:
                target = names[step[1] % len(names)]
                if step[2] is None:
                    target.unlink()
                else:
                    target.write_bytes(step[2])
        elif step[0] in ("write", "delete", "restore", "corrupt"):
            _edit(layout, step, original)
        codes(layout)


def fresh_museums(tmp_path_factory, monkeypatch, name: str) -> tuple[Layout, bytes]:
    """A new copy of the fixture for one hypothesis example, validated once, with the racy-stat window off."""
    import shutil

    from conftest import FIXTURES

    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
    layout = Layout(Path(tmp_path_factory.mktemp(name)) / "museums")
    shutil.copytree(FIXTURES / "museums", layout.root)
    codes(layout)
    return layout, (layout.root / "datapackage/cities/almaty.yaml").read_bytes()


def _edit(layout: Layout, step: tuple[str, str, str, str], original: bytes) -> None:
    action, relative, old, new = step
    path = layout.root / relative
    if action == "write" and path.exists() and old in path.read_text(encoding="utf-8"):
        replace_keeping_mtime(layout, relative, old, new)
    elif action == "delete" and path.exists():
        path.unlink()
    elif action == "restore" and not path.exists():
        path.write_bytes(original)
    elif action == "corrupt" and layout.cache_dir.is_dir():
        for shard in sorted(layout.cache_dir.iterdir())[::3]:
            shard.write_bytes(b"\x00" * 7)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(EDITS, min_size=1, max_size=6))
def test_any_sequence_of_edits_gives_the_uncached_answer(tmp_path_factory, monkeypatch, steps):
    layout, original = fresh_museums(tmp_path_factory, monkeypatch, "edits")
    for step in steps:
        _edit(layout, step, original)
        codes(layout)


def test_a_released_cache_reads_its_saved_shards_again_and_keeps_unsaved_ones(museums):
    """The child that writes the index lets go of the cache's shards once saved (Cache.release): what a later
    lookup needs is read back from disk, and shards not yet saved are not let go."""
    validate.report(museums, validate.CACHED)
    later.wait_all()
    package, _key = validate.configuration(museums)
    files, _stray = discover(package)
    jobs = [(name, f"{folder}/{file}", f"{shown}/{file}") for name, (folder, shown, names) in files.items()
            for file in names]

    def nothing_to_build(todo: list) -> list:
        assert todo == []
        return []

    opened = cache.Cache.open(museums, "vouched")
    first = opened.file_rows(package, jobs, nothing_to_build)
    opened.dirty.add(0)
    opened.release()
    assert opened.shards != [None] * cache.SHARDS  # one unsaved: all kept
    opened.save()
    opened.release()
    assert opened.shards == [None] * cache.SHARDS
    again = opened.file_rows(package, jobs, nothing_to_build)
    assert (opened.hits, [r.rows for r in again]) == (len(jobs), [r.rows for r in first])
