"""The site's search index answers exactly what the reference search answers.

`broadsheet_site.forgiving.reference_search` is what a search means, written plainly over SQL (it reads every row a
typed word matches); `SearchIndex.search` is the fast path the site uses (whole sets of records in memory, only the
shown records' rows read). Here both answer the same queries over random search tables written by the build's own
writer: words in Latin and Cyrillic, case forms, typos, prefixes, several typed words, titles and other texts,
records of several tables, many records sharing a word (so the ranking's ties are exercised)."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from broadsheet import words
from broadsheet.export.sqlite import SEARCH, _search
from broadsheet_site import forgiving

WORDS = ["Abai", "Абай", "Abay", "Semey", "Семей", "Семея", "Semei", "Kurchatov", "Курчатов", "Курчатова", "Solar",
         "Solaris", "Plant", "Plants", "Works", "Copper", "Медь", "Меди", "Glass", "Glas", "Ayagoz", "Аягөз",
         "Cement", "Cemento", "Wind", "Windy", "Mining", "Miner", "哈萨克斯坦", "能源", "12", "123", "1234", "A380"]
RESOURCES = ["alpha", "beta", "gamma"]
TABLES = forgiving.Tables(SEARCH, words.WORDS)


def random_table(rng: random.Random, records: int) -> list[tuple[str, str, str | None, str, str]]:
    rows = []
    for number in range(records):
        resource = rng.choice(RESOURCES)
        record_id = f"r{number}"
        label = " ".join(rng.choices(WORDS, k=rng.randint(1, 3))) if rng.random() > 0.05 else None
        if label is not None:
            rows.append((resource, record_id, label, "name", label))
        for field in rng.sample(["place", "note", "sector"], k=rng.randint(0, 3)):
            rows.append((resource, record_id, label, field, " ".join(rng.choices(WORDS, k=rng.randint(1, 4)))))
    rng.shuffle(rows)
    return rows


def random_query(rng: random.Random) -> str:
    words = []
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
        word = rng.choice(WORDS)
        change = rng.random()
        if change < 0.15 and len(word) > 4:  # a typo
            at = rng.randrange(len(word))
            word = word[:at] + word[at + 1:]
        elif change < 0.3 and len(word) > 3:  # the start of a word
            word = word[: rng.randint(3, len(word))]
        elif change < 0.35:
            word = "zzqx"  # matches nothing
        words.append(word)
    return " ".join(words)


@pytest.mark.parametrize("seed", range(12))
def test_the_index_answers_what_the_reference_answers(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    with sqlite3.connect(tmp_path / "search.db") as conn:
        _search(conn, random_table(rng, rng.choice([5, 40, 300])))
        index = forgiving.SearchIndex.load(conn, TABLES)
        vocabulary = forgiving.Vocabulary.load(conn, TABLES)
        for _ in range(40):
            query, limit = random_query(rng), rng.choice([1, 3, 10, 200])
            expected = forgiving.reference_search(conn, TABLES, vocabulary, query, limit)
            assert index.search(conn, query, limit) == expected, query


@pytest.mark.parametrize("bound, all_kept", [(forgiving.REMEMBERED_MEMBERS, True), (12, False)])
@pytest.mark.parametrize("seed", range(4))
def test_remembered_typed_words_answer_what_the_reference_answers(tmp_path: Path, seed: int, bound: int,
                                                                  all_kept: bool,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The index remembers what each typed word matches (REMEMBERED_MEMBERS bounds it): the same searches asked
    again, their words remembered, or some forgotten again under a small bound, answer what the reference does,
    and what is kept stays within the bound."""
    monkeypatch.setattr(forgiving, "REMEMBERED_MEMBERS", bound)
    rng = random.Random(seed)
    with sqlite3.connect(tmp_path / "search.db") as conn:
        _search(conn, random_table(rng, 300))
        index = forgiving.SearchIndex.load(conn, TABLES)
        vocabulary = forgiving.Vocabulary.load(conn, TABLES)
        asked = [(random_query(rng), rng.choice([1, 10, 200])) for _ in range(30)]
        expected = [forgiving.reference_search(conn, TABLES, vocabulary, query, limit) for query, limit in asked]
        for _ in range(2):
            assert [index.search(conn, query, limit) for query, limit in asked] == expected
        assert index.remembered.size <= bound
        if all_kept:  # every word asked again was remembered (a small bound may keep none: each weighs more)
            assert index.remembered.misses == len({(word, len(forgiving.typed_words(query)))
                                                   for query, _ in asked for word in forgiving.typed_words(query)})


def test_the_reference_ranks_by_score_then_title_length(tmp_path: Path) -> None:
    """What the ranking means, on a table small enough to reason about: a record whose title is the typed word comes
    first; of two records that only mention it, the one with the shorter title comes first; a record that matches
    one typed word of two is left out while some record matches both."""
    rows = [
        ("alpha", "long", "Semey Copper Works", "name", "Semey Copper Works"),
        ("alpha", "long", "Semey Copper Works", "place", "Semey"),
        ("alpha", "short", "Glass", "name", "Glass"),
        ("alpha", "short", "Glass", "place", "Semey"),
        ("beta", "exact", "Semey", "name", "Semey"),
        ("beta", "other", "Kurchatov", "name", "Kurchatov"),
    ]
    with sqlite3.connect(tmp_path / "search.db") as conn:
        _search(conn, rows)
        vocabulary = forgiving.Vocabulary.load(conn, TABLES)
        index = forgiving.SearchIndex.load(conn, TABLES)
        for search in (lambda q: forgiving.reference_search(conn, TABLES, vocabulary, q, 10),
                       lambda q: index.search(conn, q, 10)):
            assert [(hit["record_id"], hit["field"]) for hit in search("Semey")] == [
                ("exact", "name"), ("long", "name"), ("short", "place")]
            assert [hit["record_id"] for hit in search("Семея")] == ["exact", "long", "short"]  # a case form
            assert [hit["record_id"] for hit in search("Semey Glass")] == ["short"]
            assert [hit["record_id"] for hit in search("Kurchatov")] == ["other"]
            assert search("zzqx") == []


@pytest.mark.parametrize("seed", range(6))
def test_typos_in_the_start_of_a_longer_word_are_found_as_the_rule_says(seed: int) -> None:
    """`Vocabulary.close_starts` (starts made with the index, words found by a run of the sorted list) against
    the rule written out plainly: every distinct start of `len + 1` letters of a longer word of the typed word's
    digit class within the allowed edits, the TYPO_CANDIDATES closest (alphabetical among equals), with all the
    words that begin so."""
    rng = random.Random(seed)
    letters = "ab" if seed % 2 else "ab1"  # with two letters, long typed words have many equally close starts
    pool = {"".join(rng.choices(letters, k=rng.randint(3, 14))) for _ in range(3000)}
    vocabulary = forgiving.Vocabulary([(word, word[:4]) for word in pool])
    past_the_limit = 0
    for _ in range(40):
        typed = "".join(rng.choices(letters, k=rng.randint(4, 9)))
        typos = forgiving.allowed_typos(typed)
        length, digits = len(typed) + 1, any(c.isdigit() for c in typed)
        longer = [w for w in pool if len(w) > length and any(c.isdigit() for c in w) == digits]
        close = {}
        for word in longer:
            dist = forgiving.distance.Levenshtein.distance(typed, word[:length])
            if dist <= typos:
                close[word[:length]] = dist
        kept = sorted(close, key=lambda start: (close[start], start))[:forgiving.TYPO_CANDIDATES]
        past_the_limit += len(close) > forgiving.TYPO_CANDIDATES
        expected = sorted((w, close[w[:length]]) for w in longer if w[:length] in kept)
        assert sorted(vocabulary.close_starts(typed, typos)) == expected, typed
    assert past_the_limit or letters != "ab"  # the order among equals was exercised
