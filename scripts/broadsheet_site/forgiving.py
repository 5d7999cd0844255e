"""Search that forgives: word forms, spellings and typos, over the vocabulary of the build's word table.

The build (broadsheet.words) stores every searchable word folded with its folded Snowball stem. What a visitor
types is folded and stemmed by the same functions (PyStemmer: Russian for Cyrillic words, English for Latin ones).
There is no maintained Snowball stemmer for Kazakh; Kazakh case forms are found by prefix and by the typo
tolerance (a small Levenshtein distance over the vocabulary, with rapidfuzz), which also catches transliteration
variants and misspellings.

What a search answers is written once, as `reference_search`: a record matches when it matches the most typed
words any record matches; its score is, per typed word, the best match among its texts, plus a bonus for each
typed word its title matches; records are ranked by score, then by the shortest title; each is shown by its
text that matches most of what was typed (its title when that ties). `SearchIndex` answers the same in time that
does not grow with the number of texts a word occurs in (it holds each word's records in memory, in rank order,
and works on whole sets); `tests/test_search_index.py` holds it equal to `reference_search` on random databases
and queries."""

from __future__ import annotations

import heapq
import re
import threading
from array import array
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache
from itertools import chain, product
from math import prod
from pathlib import Path
from typing import Any

from rapidfuzz import distance, process

from broadsheet.words import fold, split, stem
from broadsheet_site.cache import LeastRecentlyUsed
from broadsheet_site.config import quote


class Tables:
    """The build's search table (resource, record_id, label, field, text) and its word table (word, stem,
    search_rowid), by the names the generated metadata gives them."""

    def __init__(self, search: str, words: str) -> None:
        self.search, self.words = search, words
        self.search_sql, self.words_sql = quote(search), quote(words)  # as SQL names

CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
DIGIT = re.compile(r"\d")
MAX_QUERY_WORDS = 8
# How well one typed word matches one word of the index, in quarter points so that sums are exact.
SAME, LONGER, SAME_STEM, TYPO = 16, 12, 10, 6
TITLE_BONUS = 6  # per typed word the title matches, divided by the number of typed words (see `Scale`)
TYPO_CANDIDATES = 50  # closest index words kept per typo pass
LONGEST_TYPO_PREFIX = 24  # typed words longer than this are not compared with the starts of longer words
# What a typed word matches and its records' classes are kept per process, bounded by the record numbers they
# hold (~80 bytes each, measured with tracemalloc at 100k records: 500k is ~40 MB): visitors type the same words
# in different searches ("Plant 123", "Plant 456"), and a common word's classes cost ~5 ms of set unions at 100k
# records, its typo pass as much.
REMEMBERED_MEMBERS = 500_000


TYPO_FROM = 4  # typed words shorter than this are matched exactly


def allowed_typos(word: str) -> int:
    return 0 if len(word) < TYPO_FROM else 1 if len(word) < 8 else 2


class Vocabulary:
    """The distinct words of the index with their stems, in memory, with the word lists the typo tolerance
    compares with (by length, numbers apart). (A plain class: Datasette loads plugin files in ways that
    dataclasses dislike.)"""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        """From the index's distinct (word, stem) pairs: one folded word can have several stems (Kurchatov and
        Курчатов fold alike but are stemmed by different stemmers), and is found by each."""
        self.words = sorted({word for word, _ in pairs})
        self.known = set(self.words)
        self.by_stem: dict[str, list[str]] = {}
        for word, stemmed in sorted(set(pairs)):
            self.by_stem.setdefault(stemmed, []).append(word)
        self.has_digits = bytearray(1 if DIGIT.search(word) else 0 for word in self.words)  # by position
        self.by_length: dict[tuple[int, bool], list[str]] = {}
        for word, digits in zip(self.words, self.has_digits, strict=True):
            self.by_length.setdefault((len(word), bool(digits)), []).append(word)
        # The distinct starts of the longer words for every length a typed word can be compared by, made with the
        # index: made on first use they cost 40-200 ms of Python each, holding up every request of the process
        # (measured at 100k records: ~0.7 s and ~80 MB for all of them).
        self._starts: dict[tuple[int, bool], list[str]] = {
            (length, digits): self._distinct_starts(length, digits)
            for length in range(TYPO_FROM + 1, LONGEST_TYPO_PREFIX + 2) for digits in (False, True)}

    @classmethod
    def load(cls, conn, tables: Tables) -> Vocabulary:  # type: ignore[no-untyped-def]
        return cls(conn.execute(f"select distinct word, stem from {tables.words_sql}").fetchall())

    def matches(self, typed: str) -> dict[str, int]:
        """The index words one typed word matches, each with how well (in quarter points)."""
        folded, stemmed = fold(typed), stem(typed)
        if not folded:
            return {}
        found: dict[str, int] = {}

        def offer(word: str, score: int) -> None:
            if score > found.get(word, 0):
                found[word] = score

        if folded in self.known:
            offer(folded, SAME)
        for word in self.prefixed(folded):
            offer(word, LONGER)
        if len(stemmed) >= 3:
            for word in self.by_stem.get(stemmed, []):
                offer(word, SAME_STEM)
            # A Russian case form whose stem differs from the nominative's (Семея: stem семе; Семей: сем): an
            # index word whose stem is the typed word less an ending of one or two letters.
            lower = typed.lower()
            if CYRILLIC_LETTER.search(lower):
                for cut in range(max(3, len(lower) - 2), len(lower)):
                    for word in self.by_stem.get(fold(lower[:cut]), []):
                        offer(word, SAME_STEM - 1)
        typos = allowed_typos(folded)
        if typos:
            for word, dist in self.close_words(folded, typos):
                offer(word, TYPO - dist)
            # A typo in the start of a longer word: compare with the word's first letters.
            for word, dist in self.close_starts(folded, typos):
                offer(word, TYPO - dist - 1)
        return found

    def prefixed(self, folded: str, limit: int = 200) -> list[str]:
        """Index words that begin with the typed word, when it has three letters or more."""
        if len(folded) < 3:
            return []
        found: list[str] = []
        for _position, word in self._beginning_with(folded):
            if len(found) >= limit:
                break
            found.append(word)
        return found

    def close_words(self, folded: str, typos: int) -> list[tuple[str, int]]:
        """The closest index words within `typos` edits. Only words whose length is within `typos` of the typed
        word's can be that close, and a number is compared with numbers only (a word with digits with words with
        digits), so only those lists are searched."""
        digits = bool(DIGIT.search(folded))
        candidates = list(chain.from_iterable(self.by_length.get((length, digits), [])
                                              for length in range(len(folded) - typos, len(folded) + typos + 1)))
        return [(word, dist) for word, dist, _ in process.extract(
            folded, candidates, scorer=distance.Levenshtein.distance, score_cutoff=typos, limit=TYPO_CANDIDATES)]

    def close_starts(self, folded: str, typos: int) -> list[tuple[str, int]]:
        """Index words longer than the typed word by two letters or more whose first len+1 letters are within
        `typos` edits of it (shorter words are whole words: `close_words` compares them)."""
        if len(folded) > LONGEST_TYPO_PREFIX:
            return []
        length, digits = len(folded) + 1, bool(DIGIT.search(folded))
        found: list[tuple[str, int]] = []
        for start, dist, _ in process.extract(folded, self.starts(length, digits),
                                              scorer=distance.Levenshtein.distance, score_cutoff=typos,
                                              limit=TYPO_CANDIDATES):
            found += [(word, dist) for word in self.starting_with(start, length, digits)]
        return found

    def starts(self, length: int, digits: bool) -> list[str]:
        """The distinct first `length` letters of the words longer than `length` (with digits, or without), in
        alphabetical order (which decides which of equally close starts are kept when more than TYPO_CANDIDATES
        are)."""
        found = self._starts.get((length, digits))
        return found if found is not None else self._distinct_starts(length, digits)

    def _distinct_starts(self, length: int, digits: bool) -> list[str]:
        # The words are sorted, so their starts are too: dict.fromkeys drops the repeats, in order.
        return list(dict.fromkeys(word[:length] for word, has in zip(self.words, self.has_digits, strict=True)
                                  if has == digits and len(word) > length))

    def starting_with(self, start: str, length: int, digits: bool) -> list[str]:
        """The words longer than `length` (of that digit class) that begin with `start`: one run of the sorted
        word list."""
        return [word for position, word in self._beginning_with(start)
                if len(word) > length and bool(self.has_digits[position]) == digits]

    def _beginning_with(self, start: str) -> Iterator[tuple[int, str]]:
        """(position, word) of every index word that begins with `start`: one run of the sorted list from where
        `start` would go (a slice would copy the list's tail)."""
        words = self.words
        for position in range(bisect_left(words, start), len(words)):
            if not words[position].startswith(start):
                return
            yield position, words[position]


def typed_words(query: str) -> list[str]:
    return split(query)[:MAX_QUERY_WORDS]


def record_score(best: list[int], title: list[int]) -> int:
    """A record's score in units of 1/(4n) points for n typed words: the best match per typed word, plus the
    title bonus (1.5 points shared out over the typed words) for each typed word its title matches."""
    return len(best) * sum(best) + TITLE_BONUS * sum(1 for score in title if score)


def rank_key(label: str | None, resource: str, record_id: str) -> tuple[int, str, str, str]:
    """Among records of equal score: the shortest title first, then alphabetical, then by table and id."""
    return (len(label or ""), label or "", resource, str(record_id))


def _chunks(items: list[Any], size: int = 500) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@lru_cache(maxsize=1 << 16)
def folded_word(word: str) -> str:
    """`fold` of one word of a text, remembered: the rows a search shows repeat the same few words."""
    return fold(word)


def row_words(text: str) -> set[str]:
    """The folded words of one text, as the build indexed them (`broadsheet.words.index_rows`)."""
    return {folded_word(word) for word in split(text)}


def shown_row(rows: list[dict[str, Any]], per_word: list[dict[str, int]]) -> dict[str, Any] | None:
    """The row a record is shown by: the one whose text matches most of what was typed, its title when that ties,
    the first otherwise. Rows matching no typed word are not candidates."""
    best: tuple[Any, ...] | None = None
    shown = None
    for row in rows:
        words = row_words(row["text"])
        scores = [max((matches.get(word, 0) for word in words), default=0) for matches in per_word]
        if not any(scores):
            continue
        key = (sum(scores), row["text"] == row["label"], -row["rowid"])
        if best is None or key > best:
            best, shown = key, row
    return shown


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in ("resource", "record_id", "label", "field", "text")}


def reference_search(conn, tables: Tables, vocabulary: Vocabulary, query: str,  # type: ignore[no-untyped-def]
                     limit: int) -> list[dict[str, Any]]:
    """What a search answers (see the module's docstring), written plainly over SQL: every matching row is read.
    `SearchIndex.search` is the fast path held equal to this."""
    typed = typed_words(query)
    if not typed:
        return []
    per_word = [vocabulary.matches(word) for word in typed]
    rowids: set[int] = set()
    for matches in per_word:
        for part in _chunks(list(matches)):
            rowids.update(rowid for (rowid,) in conn.execute(
                f"select search_rowid from {tables.words_sql} where word in ({', '.join('?' for _ in part)})", part))
    records: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for part in _chunks(sorted(rowids)):
        for row in conn.execute(f"select rowid, resource, record_id, label, field, text from {tables.search_sql} "
                                f"where rowid in ({', '.join('?' for _ in part)})", part):
            record = dict(zip(("rowid", "resource", "record_id", "label", "field", "text"), row, strict=True))
            records.setdefault((record["resource"], str(record["record_id"])), []).append(record)
    scored = []
    for (resource, record_id), rows in records.items():
        best, title = [0] * len(typed), [0] * len(typed)
        for row in rows:
            words = row_words(row["text"])
            for position, matches in enumerate(per_word):
                score = max((matches.get(word, 0) for word in words), default=0)
                best[position] = max(best[position], score)
                if row["text"] == row["label"]:
                    title[position] = max(title[position], score)
        matched = sum(1 for score in best if score)
        scored.append((matched, -record_score(best, title), rank_key(rows[0]["label"], resource, record_id), rows))
    if not scored:
        return []
    most = max(entry[0] for entry in scored)
    ranked = sorted((entry for entry in scored if entry[0] == most), key=lambda entry: entry[1:3])
    return [_public(shown) for *_, rows in ranked[:limit] if (shown := shown_row(rows, per_word))]


class Postings:
    """Each word's record numbers, all in one array, a word's a slice of it found through the sorted word list:
    a few bytes per entry instead of a Python object per word. Filled word by word, in word order."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.flat = array("i")
        self.starts = array("q", [0])

    def add(self, word: str, numbers: set[int]) -> None:
        if self.words and word <= self.words[-1]:
            raise ValueError(f"postings must be added in word order: {word!r} after {self.words[-1]!r}")
        self.words.append(word)
        self.flat.extend(numbers)
        self.starts.append(len(self.flat))

    def get(self, word: str) -> array:
        position = bisect_left(self.words, word)
        if position == len(self.words) or self.words[position] != word:
            return array("i")
        return self.flat[self.starts[position]:self.starts[position + 1]]


class SearchIndex:
    """Each index word's records as sets, the records numbered in rank order (see `rank_key`), in memory: a
    search works on whole sets (C loops) and reads only the rows of the records it shows. Measured at 100k
    records (1.36M indexed words, 162k distinct): 82 MB held, 5 s of CPU to load, once per database file and
    process (at start-up, and before the site switches to a new build)."""

    def __init__(self, tables: Tables, vocabulary: Vocabulary, records: list[tuple[str, str]],
                 anywhere: Postings, in_title: Postings) -> None:
        self.tables, self.vocabulary, self.records = tables, vocabulary, records
        self.anywhere, self.in_title = anywhere, in_title
        self.remembered = LeastRecentlyUsed(REMEMBERED_MEMBERS, REMEMBERED_MEMBERS // 4, _members)
        self.remembering = threading.Lock()  # searches run in Datasette's threads

    @classmethod
    def load(cls, conn, tables: Tables) -> SearchIndex:  # type: ignore[no-untyped-def]
        rows = conn.execute("select rowid, resource, record_id, label, text = label "
                            f"from {tables.search_sql}").fetchall()
        labels = {(resource, str(record_id)): label for _, resource, record_id, label, _ in rows}
        records = sorted(labels, key=lambda record: rank_key(labels[record], *record))
        number = {record: position for position, record in enumerate(records)}
        size = max((row[0] for row in rows), default=0) + 1
        record_of, is_title = array("i", [0]) * size, bytearray(size)
        for rowid, resource, record_id, _, titled in rows:
            record_of[rowid] = number[(resource, str(record_id))]
            is_title[rowid] = 1 if titled else 0
        pairs: list[tuple[str, str]] = []
        anywhere, in_title = Postings(), Postings()
        # One row per word, in word order (SQLite groups them by the word's index, and its byte order of UTF-8 is
        # Python's order of code points); a word's rows become its records with C loops, not Python ones.
        for word, stemmed, joined in conn.execute(f"select word, group_concat(distinct stem), "
                                                  f"group_concat(search_rowid) from {tables.words_sql} group by word "
                                                  "order by word"):
            pairs += [(word, one) for one in stemmed.split(",")]
            rowids = [rowid for rowid in map(int, joined.split(",")) if rowid < size]
            anywhere.add(word, set(map(record_of.__getitem__, rowids)))
            titled = set(map(record_of.__getitem__, filter(is_title.__getitem__, rowids)))
            if titled:
                in_title.add(word, titled)
        return cls(tables, Vocabulary(pairs), records, anywhere, in_title)

    def search(self, conn, query: str, limit: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
        """The same answer as `reference_search`."""
        typed = typed_words(query)
        if not typed:
            return []
        per_word, classes = zip(*(self.typed_word(word, len(typed)) for word in typed), strict=True)
        chosen = self.best_records(list(classes), limit)
        return self.shown(conn, chosen, list(per_word))

    def typed_word(self, word: str, words: int) -> tuple[dict[str, int], list[tuple[int, set[int]]]]:
        """What one typed word matches (`Vocabulary.matches`) and its `classes` in a search of `words` typed
        words, remembered (REMEMBERED_MEMBERS). Nothing downstream changes them: they are shared by searches."""
        key = (word, words)
        with self.remembering:
            found = self.remembered.get(key)
        if found is None:
            matches = self.vocabulary.matches(word)
            found = (matches, self.classes(matches, words))
            with self.remembering:
                self.remembered.put(key, found)
        return found

    def classes(self, matches: dict[str, int], words: int) -> list[tuple[int, set[int]]]:
        """The records one typed word matches, split by what they contribute to a score (best match and title
        bonus, in `record_score`'s units), highest first."""
        by_score: dict[int, set[int]] = {}
        for word, score in matches.items():
            by_score.setdefault(score, set()).update(self.anywhere.get(word))
        titled: set[int] = set().union(*(self.in_title.get(word) for word in matches))
        found: list[tuple[int, set[int]]] = []
        seen: set[int] = set()
        for score in sorted(by_score, reverse=True):
            members = by_score[score] - seen
            seen |= members
            with_title = members & titled
            found += [(words * score + TITLE_BONUS, with_title), (words * score, members - with_title)]
        return [(value, members) for value, members in found if members]

    def best_records(self, classes: list[list[tuple[int, set[int]]]], limit: int) -> list[int]:
        """The `limit` best records (their numbers), best first."""
        if len(classes) == 1:
            return self._best_of_cells(((value, members) for value, members in classes[0]), limit)
        everywhere = set.intersection(*(set().union(*(m for _, m in cls)) for cls in classes))
        if everywhere and prod(len(cls) for cls in classes) <= 4096:
            return self._best_of_cells(self._cells(classes, everywhere), limit)
        return self._best_by_record(classes, limit)

    @staticmethod
    def _cells(classes: list[list[tuple[int, set[int]]]], everywhere: set[int]) -> Iterator[tuple[int, set[int]]]:
        """Records matching every typed word, grouped by the combination of classes they fall in."""
        restricted = [[(value, members & everywhere) for value, members in cls] for cls in classes]
        for combination in product(*restricted):
            members = set.intersection(*(m for _, m in combination))
            if members:
                yield sum(value for value, _ in combination), members

    @staticmethod
    def _best_of_cells(cells: Iterator[tuple[int, set[int]]], limit: int) -> list[int]:
        by_value: dict[int, set[int]] = {}
        for value, members in cells:
            by_value.setdefault(value, set()).update(members)
        chosen: list[int] = []
        for value in sorted(by_value, reverse=True):
            if len(chosen) >= limit:
                break
            chosen += heapq.nsmallest(limit - len(chosen), by_value[value])
        return chosen

    @staticmethod
    def _best_by_record(classes: list[list[tuple[int, set[int]]]], limit: int) -> list[int]:
        """Record by record: when no record matches every typed word, or the words have too many classes."""
        values: list[dict[int, int]] = []
        for cls in classes:
            contribution: dict[int, int] = {}
            for value, members in reversed(cls):
                contribution.update(dict.fromkeys(members, value))
            values.append(contribution)
        matched = Counter(chain.from_iterable(values))
        if not matched:
            return []
        most = max(matched.values())
        candidates = (record for record, count in matched.items() if count == most)
        return [record for _, record in heapq.nsmallest(
            limit, ((-sum(v.get(record, 0) for v in values), record) for record in candidates))]

    def shown(self, conn, chosen: list[int], per_word: list[dict[str, int]]) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
        """Each chosen record by its row that matches best, reading only those records' rows (by the index on
        resource and record id)."""
        wanted: dict[str, list[str]] = {}
        for number in chosen:
            resource, record_id = self.records[number]
            wanted.setdefault(resource, []).append(record_id)
        rows: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for resource, record_ids in wanted.items():
            for part in _chunks(record_ids):
                for row in conn.execute("select rowid, resource, record_id, label, field, text from "
                                        f"{self.tables.search_sql} "
                                        f"where resource = ? and record_id in ({', '.join('?' for _ in part)}) "
                                        "order by rowid", [resource, *part]):
                    record = dict(zip(("rowid", "resource", "record_id", "label", "field", "text"), row,
                                      strict=True))
                    rows.setdefault((resource, str(record["record_id"])), []).append(record)
        found = []
        for number in chosen:
            shown = shown_row(rows.get(self.records[number], []), per_word)
            if shown:
                found.append(_public(shown))
        return found


def _members(remembered: tuple[dict[str, int], list[tuple[int, set[int]]]]) -> int:
    """What one remembered typed word holds, in entries: its matched words and its classes' record numbers."""
    matches, classes = remembered
    return 1 + len(matches) + sum(len(members) for _, members in classes)


_indexes: dict[tuple[str, float], SearchIndex] = {}


async def search_index(database, tables: Tables) -> SearchIndex:  # type: ignore[no-untyped-def]
    """The database's search index, loaded once per file (keyed by its path and modification time)."""
    key = (str(database.path), Path(database.path).stat().st_mtime if database.path else 0.0)
    if key not in _indexes:
        _indexes[key] = await database.execute_fn(lambda conn: SearchIndex.load(conn, tables))
    return _indexes[key]


def forget(path: str) -> None:
    """Drop the indexes of a database file no longer served (a build the site has moved on from)."""
    for key in [key for key in _indexes if key[0] == path]:
        del _indexes[key]
