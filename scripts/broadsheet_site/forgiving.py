"""Search that forgives: word forms, spellings and typos, over the build's `_search_words` vocabulary.

The build (broadsheet.words) stores every searchable word folded (see `folding`) with its folded Snowball stem.
What a visitor types is folded and stemmed the same way (PyStemmer: Russian for Cyrillic words, English for
Latin ones). There is no maintained Snowball stemmer for Kazakh; Kazakh case forms are found by prefix and by the
typo tolerance (a small Levenshtein distance over the vocabulary, with rapidfuzz), which also catches
transliteration variants and misspellings. A record matches when every typed word matches one of its texts;
records are ranked by how well the words match, matches in the record's own title first."""

from __future__ import annotations

import re
from bisect import bisect_left
from pathlib import Path
from typing import Any

import Stemmer
from rapidfuzz import distance, process

from broadsheet_site.folding import fold

WORDS = "_search_words"
WORD = re.compile(r"\w+", re.UNICODE)
CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
STEMMERS = {"cyrillic": Stemmer.Stemmer("russian"), "latin": Stemmer.Stemmer("english")}
MAX_QUERY_WORDS = 8
# How well one typed word matches one word of the index.
SAME, LONGER, SAME_STEM, TYPO = 4.0, 3.0, 2.5, 1.5
TITLE_BONUS = 1.5


def stem(word: str) -> str:
    lower = word.lower()
    return fold(STEMMERS["cyrillic" if CYRILLIC_LETTER.search(lower) else "latin"].stemWord(lower))


def allowed_typos(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


class Vocabulary:
    """The distinct words of the index with their stems, in memory; loaded once per database file. (A plain
    class: Datasette loads this file without a module of its own, which dataclasses need.)"""

    def __init__(self, words: list[str], stems: dict[str, str], by_stem: dict[str, list[str]]) -> None:
        self.words, self.stems, self.by_stem = words, stems, by_stem

    @classmethod
    def load(cls, conn) -> Vocabulary:  # type: ignore[no-untyped-def]
        pairs = conn.execute(f"select distinct word, stem from {WORDS} order by word").fetchall()
        stems = {word: stemmed for word, stemmed in pairs}
        by_stem: dict[str, list[str]] = {}
        for word, stemmed in pairs:
            by_stem.setdefault(stemmed, []).append(word)
        return cls(list(stems), stems, by_stem)

    def matches(self, typed: str) -> dict[str, float]:
        """The index words one typed word matches, each with how well."""
        folded, stemmed = fold(typed), stem(typed)
        if not folded:
            return {}
        found: dict[str, float] = {}

        def offer(word: str, score: float) -> None:
            if score > found.get(word, 0.0):
                found[word] = score

        if folded in self.stems:
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
                        offer(word, SAME_STEM - 0.25)
        typos = allowed_typos(folded)
        if typos:
            for word, dist, _ in process.extract(folded, self.words, scorer=distance.Levenshtein.distance,
                                                 score_cutoff=typos, limit=50):
                offer(word, TYPO - 0.25 * dist)
            # A typo in the start of a longer word: compare with the word's first letters.
            starts = process.extract(folded, [w[: len(folded) + 1] for w in self.words],
                                     scorer=distance.Levenshtein.distance, score_cutoff=typos, limit=50)
            for _, dist, position in starts:
                offer(self.words[position], TYPO - 0.25 * dist - 0.25)
        return found

    def prefixed(self, folded: str, limit: int = 200) -> list[str]:
        """Index words that begin with the typed word, when it has three letters or more."""
        if len(folded) < 3:
            return []
        found = []
        for word in self.words[bisect_left(self.words, folded):]:
            if not word.startswith(folded) or len(found) >= limit:
                break
            found.append(word)
        return found


def _chunks(items: list[Any], size: int = 500):  # type: ignore[no-untyped-def]
    for start in range(0, len(items), size):
        yield items[start:start + size]


def forgiving_search(conn, vocabulary: Vocabulary, query: str, limit: int) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """One hit per record (resource, record_id), best first: its best-matching row, a title row if it matched."""
    typed = WORD.findall(query)[:MAX_QUERY_WORDS]
    if not typed:
        return []
    per_word = [vocabulary.matches(word) for word in typed]
    scores: dict[int, list[float]] = {}
    for position, matches in enumerate(per_word):
        for part in _chunks(list(matches)):
            marks = ", ".join("?" for _ in part)
            for word, rowid in conn.execute(f"select word, search_rowid from {WORDS} where word in ({marks})", part):
                row_scores = scores.setdefault(rowid, [0.0] * len(typed))
                row_scores[position] = max(row_scores[position], matches[word])
    rows: dict[int, dict[str, Any]] = {}
    for part in _chunks(list(scores)):
        marks = ", ".join("?" for _ in part)
        for row in conn.execute("select rowid, resource, record_id, label, field, text from _search "
                                f"where rowid in ({marks})", part):
            rows[row[0]] = {"resource": row[1], "record_id": row[2], "label": row[3], "field": row[4],
                            "text": row[5]}
    records: dict[tuple[str, str], dict[str, Any]] = {}
    for rowid, row_scores in scores.items():
        row = rows[rowid]
        record = records.setdefault((row["resource"], str(row["record_id"])),
                                    {"best": [0.0] * len(typed), "title": [0.0] * len(typed), "rows": []})
        is_title = row["text"] == row["label"]
        for position, score in enumerate(row_scores):
            record["best"][position] = max(record["best"][position], score)
            if is_title:
                record["title"][position] = max(record["title"][position], score)
        record["rows"].append((is_title, sum(row_scores), -rowid))
    if not records:
        return []
    most = max(sum(1 for s in r["best"] if s) for r in records.values())

    def rank(record: dict[str, Any]) -> tuple[Any, ...]:
        label = rows[-record["rows"][0][2]]["label"] or ""
        score = sum(record["best"]) + TITLE_BONUS * sum(1 for s in record["title"] if s) / len(typed)
        return (-score, len(label), label)

    best = sorted((r for r in records.values() if sum(1 for s in r["best"] if s) == most), key=rank)
    # Each record shown by the row that matches most of what was typed, its title when that ties.
    return [rows[-max(r["rows"], key=lambda row: (row[1], row[0], row[2]))[2]] for r in best[:limit]]


_vocabularies: dict[tuple[str, float], Vocabulary] = {}


async def vocabulary(database) -> Vocabulary:  # type: ignore[no-untyped-def]
    """The database's search vocabulary, loaded once per file (keyed by its path and modification time)."""
    key = (str(database.path), Path(database.path).stat().st_mtime if database.path else 0.0)
    if key not in _vocabularies:
        _vocabularies[key] = await database.execute_fn(Vocabulary.load)
    return _vocabularies[key]


