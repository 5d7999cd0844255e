"""A rule is written once: registered in broadsheet.check.rules alone, it applies to every way validation runs —
cold, `--full` (frictionless on every row), the reference path, from the per-file cache and from the incremental
index — with no second place to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from broadsheet import validate
from broadsheet.check.rules import REGISTRY, CellRule, RecordRule
from broadsheet.errors import Problem
from broadsheet.layout import Layout
from broadsheet.speed import cache, incremental, later
from conftest import write

LOUVRE = "datapackage/museums/louvre.yaml"
PARIS = "datapackage/cities/paris.yaml"

DOUBLE_SPACE = CellRule("single-spaces", "double-space", lambda spec: spec.type == "string",
                        lambda text: "  " not in text, "text with single spaces between words",
                        "replace the two spaces by one")


@pytest.fixture
def registered(monkeypatch):
    """DOUBLE_SPACE in the registry for one test (no racy window, so the index keeps every file's stat)."""
    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
    REGISTRY.register(DOUBLE_SPACE)
    yield DOUBLE_SPACE
    REGISTRY.unregister(DOUBLE_SPACE)


def located(report) -> set[tuple[str, int, int, str]]:
    return {(p.path, p.line, p.column, p.code) for p in report.problems}


def copied(folder: Path, to: Path) -> Path:
    """`to`, made a copy of `folder` (once the children writing there are done)."""
    later.wait_all()
    shutil.rmtree(to, ignore_errors=True)
    shutil.copytree(folder, to)
    return to


def answered_by_the_index(layout: Layout) -> tuple[bool, set[tuple[str, int, int, str]]]:
    """A cached report(), and whether incremental.answer gave it (the real function, its answer noted)."""
    answers = []
    answer = incremental.answer

    def watched(*args, **kwargs):
        answers.append(answer(*args, **kwargs))
        return answers[-1]

    incremental.answer = watched
    try:
        report = validate.report(layout, validate.CACHED)
    finally:
        incremental.answer = answer
    return answers[0] is not None, located(report)


def test_a_registered_cell_rule_applies_cold_full_cached_and_incremental(museums, monkeypatch):
    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
    text = (museums.root / LOUVRE).read_text(encoding="utf-8")
    write(museums, LOUVRE, text.replace("name_en: Louvre", "name_en: Le  Louvre"))
    assert validate.report(museums, validate.CACHED).valid  # the cache now holds the file as valid
    assert validate.report(museums, validate.CACHED).valid  # and the index too

    REGISTRY.register(DOUBLE_SPACE)
    try:
        expected = {(LOUVRE, 2, 10, "double-space")}
        assert located(validate.report(museums)) == expected  # cold
        assert located(validate.report(museums, validate.Speed(vouch=False))) == expected  # --full
        assert located(validate.report(museums, validate.REFERENCE)) == expected  # no accelerator at all
        before = copied(museums.cache_dir, museums.root.parent / "cache-before")
        assert located(validate.rows(museums, validate.CACHED).report) == expected  # the cache, made before
        assert answered_by_the_index(museums) == (True, expected)  # rows() (a build) left an index of the rule
        copied(before, museums.cache_dir)
        assert answered_by_the_index(museums) == (False, expected)  # the index of before is not used: rewritten
        assert answered_by_the_index(museums) == (True, expected)  # the new index answers
        write(museums, PARIS, (museums.root / PARIS).read_text(encoding="utf-8").replace(
            "name_en: Paris", "name_en: Paris  city"))
        expected.add((PARIS, 2, 10, "double-space"))
        assert answered_by_the_index(museums) == (True, expected)  # the incremental run
        [problem] = [p for p in validate.report(museums).problems if p.path == PARIS]
        assert (problem.message, problem.expected, problem.hint, problem.field) == (
            "name_en 'Paris  city' is not valid", DOUBLE_SPACE.expected, DOUBLE_SPACE.hint, "name_en")
    finally:
        REGISTRY.unregister(DOUBLE_SPACE)
    assert validate.report(museums).valid
    assert answered_by_the_index(museums)[1] == set()


def _no_two_names_alike(package, tables):
    """A record rule of file scope: a record lists each name once."""
    for table in tables:
        if "name" not in table.spec.field_map or not table.spec.parent:
            continue
        seen: set[tuple[str | None, ...]] = set()
        name, link = table.column("name"), [table.column(f) for f in table.spec.parent_link]
        for row, origin in zip(table.rows, table.origins, strict=True):
            key = (*(row[c] for c in link), row[name])
            if key in seen:
                line, column = origin.position("name")
                yield Problem("repeated-name", "the same name twice", path=origin.path, line=line, column=column,
                              resource=table.spec.name, record_id=origin.record_id, field="name")
            seen.add(key)


def test_a_registered_record_rule_applies_cold_full_cached_and_incremental(museums, monkeypatch):
    monkeypatch.setattr(cache, "RACY_WINDOW_NS", 0)
    rule = RecordRule("names-once", ("repeated-name",), "file", _no_two_names_alike)
    assert validate.report(museums, validate.CACHED).valid
    assert validate.report(museums, validate.CACHED).valid
    REGISTRY.register(rule)
    try:
        assert validate.report(museums).valid
        assert answered_by_the_index(museums) == (False, set())  # the cache of before is not used
        assert answered_by_the_index(museums) == (True, set())  # the full run rewrote the index, for this rule
        text = (museums.root / LOUVRE).read_text(encoding="utf-8")
        write(museums, LOUVRE, text.replace("    name: 卢浮宫", "    name: Musée du Louvre"))
        expected = {(LOUVRE, 16, 11, "repeated-name")}
        assert located(validate.report(museums)) == expected
        assert located(validate.report(museums, validate.Speed(vouch=False))) == expected
        assert located(validate.report(museums, validate.REFERENCE)) == expected
        assert located(validate.rows(museums, validate.CACHED).report) == expected
        assert answered_by_the_index(museums) == (True, expected)
    finally:
        REGISTRY.unregister(rule)


def test_a_rules_fingerprint_does_not_follow_reference_counts():
    """The cache key holds the rules' code: the same code gives the same key, however many objects (a report's
    problems, say) hold its constants (marshal's back-references follow reference counts)."""
    rule = RecordRule("names-once", ("repeated-name",), "file", _no_two_names_alike)
    REGISTRY.register(rule)
    try:
        before = REGISTRY.fingerprint()
        held = list(_no_two_names_alike.__code__.co_consts) * 2  # as Problems holding the rule's message would
        assert REGISTRY.fingerprint() == before
        del held
    finally:
        REGISTRY.unregister(rule)
