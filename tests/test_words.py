"""The search table's words: folded and stemmed (Snowball via PyStemmer), written by a real build."""

from __future__ import annotations

import sqlite3
import sys

import pytest

from broadsheet import words
from broadsheet.build import build


@pytest.mark.parametrize(("word", "folded", "stemmed"), [
    ("Семей", "semei", "sem"),
    ("Семее", "semee", "sem"),
    ("Абай", "abai", "aba"),  # Snowball Russian reads the й as an adjective ending
    ("Abay", "abai", "abai"),
    ("Қорғас", "korgas", "korgas"),
    ("Khorgos", "horgos", "horgo"),  # the English stemmer takes the s for a plural
    ("plants", "plants", "plant"),
    ("Ústí", "usti", "usti"),
])
def test_words_fold_and_stem(word, folded, stemmed):
    assert words.fold(word) == folded
    assert words.stem(word) == stemmed


def test_the_accents_fold_removes_are_every_combining_code_point_there_is():
    """fold scans only planes 0 and 1 for combining marks (start-up time); the whole of Unicode has no more."""
    every = words._combining_marks(end=sys.maxunicode + 1)
    assert every.pattern == words.COMBINING.pattern
    assert words.fold("e\u0301\U0001e94a") == "e"  # an accent of plane 0 and an Adlam nukta of plane 1


def test_index_rows_hold_each_word_of_a_text_once():
    assert words.index_rows([(1, "Plants plants, Семей"), (2, "")]) == [
        ("plants", "plant", 1), ("semei", "sem", 1)]


def test_the_build_writes_the_word_table(museums):
    result = build(museums)
    assert result.built, result.report.to_dict()
    with sqlite3.connect(museums.out_dir / "museums-fixture.db") as conn:
        rows = conn.execute("select w.word, w.stem, s.record_id from _search_words w "
                            "join _search s on s.rowid = w.search_rowid order by 1, 3").fetchall()
        texts = conn.execute("select count(*) from _search").fetchone()[0]
    assert texts > 0
    assert ("louvre", "louvr", "louvre") in rows
    assert ("gosudarstvennii", "gosudarstven", "central-state") in rows  # Государственный, stemmed
    assert all(word == words.fold(word) for word, _, _ in rows)
