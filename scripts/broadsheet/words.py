"""The words of the search table, for the site's search that forgives word forms, spellings and typos.

The build splits every searchable text into words and stores each word folded (lower case, no accents, Cyrillic
transliterated, a few Latin spellings merged: Абай, Abai and Abay meet) beside its folded stem, in `_search_words`
(word, stem, search_rowid). Stems come from the Snowball stemmers (PyStemmer, the Snowball project's C bindings):
Russian for Cyrillic words, English for Latin ones. There is no maintained Snowball stemmer for Kazakh; the site
finds Kazakh case forms by prefix and by its typo tolerance (edit distance over this vocabulary).

The site folds and stems what a visitor types with these same functions (it imports this module), so a typed word
and an indexed word meet exactly when the build would have folded them alike.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

import Stemmer

WORDS = "_search_words"
WORD = re.compile(r"\w+", re.UNICODE)
CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
# Cyrillic (Russian and Kazakh) to Latin, then a few spellings folded together.
CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
                     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "a", "g",
                     "k", "n", "o", "u", "u", "h", "i"], strict=True))
CYRILLIC_TABLE = str.maketrans(CYRILLIC)
LATIN_FOLDS = (("kh", "h"), ("q", "k"), ("y", "i"), ("j", "i"), ("w", "v"))
STEMMERS = {"cyrillic": Stemmer.Stemmer("russian"), "latin": Stemmer.Stemmer("english")}


# Where combining code points can be: planes 0 and 1. Every code point past them has combining class 0 in the
# Unicode of this Python (tests/test_words.py scans them all to hold that), and scanning 1.1M code points instead
# of 130k cost every build and every site process ~0.09 s at start-up.
COMBINING_PLANES_END = 0x20000


def _combining_marks(end: int = COMBINING_PLANES_END) -> re.Pattern[str]:
    """Every combining code point below `end` as one character class, so accents leave a whole text in one pass."""
    ranges: list[tuple[int, int]] = []
    start = previous = -2
    for code in range(0x300, end):
        if unicodedata.combining(chr(code)):
            if code != previous + 1:
                if start >= 0:
                    ranges.append((start, previous))
                start = code
            previous = code
    ranges.append((start, previous))
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]")


COMBINING = _combining_marks()


def fold(text: Any) -> str:
    """A spelling-insensitive key of a word or a whole text: lower case, no accents, Cyrillic transliterated, a
    few Latin spellings merged. Whole-string operations only (no loop per character), so the site folds every
    searchable text of a large database at once in well under a second."""
    if text is None:
        return ""
    plain = COMBINING.sub("", unicodedata.normalize("NFKD", str(text).lower()))
    latin = plain.translate(CYRILLIC_TABLE)
    for spelling, folded in LATIN_FOLDS:
        latin = latin.replace(spelling, folded)
    return latin


def stem(word: str) -> str:
    """The folded Snowball stem of one word (Russian for Cyrillic words, English otherwise)."""
    lower = word.lower()
    stemmer = STEMMERS["cyrillic" if CYRILLIC_LETTER.search(lower) else "latin"]
    return fold(stemmer.stemWord(lower))


def split(text: str) -> list[str]:
    return WORD.findall(text or "")


def index_rows(rows: Iterable[tuple[int, str]]) -> list[tuple[str, str, int]]:
    """(folded word, folded stem, search rowid) for every distinct word of every searchable text."""
    found: list[tuple[str, str, int]] = []
    stems: dict[str, tuple[str, str]] = {}
    for rowid, text in rows:
        seen: set[str] = set()
        for word in split(text):
            if word not in stems:
                stems[word] = (fold(word), stem(word))
            folded, stemmed = stems[word]
            if folded and folded not in seen:
                seen.add(folded)
                found.append((folded, stemmed, rowid))
    return found


# Rows are stored SPACING rowids apart, so a build that changed one text can put a word's row in its place between
# two others (update_index) and the table reads in the same order as a table built anew. Only the order shows
# (the site and `iterdump` read rows, not rowids); 2**20 apart leaves room for 20 insertions at one place and for
# 2**43 rows.
SPACING = 1 << 20


def ordered_rows(texts: Iterable[tuple[int, str]]) -> list[tuple[str, str, int]]:
    """The word table's rows for a search table's (rowid, text), in the order `create_index` stores them: word
    order, the rows of one word together in text order (the site then reads each word's texts as one run of the
    table when it loads its search index, instead of one random page read per text)."""
    return sorted(index_rows(texts), key=itemgetter(0))


def create_index(conn: sqlite3.Connection, search_table: str,
                 ordered: list[tuple[str, str, int]] | None = None) -> None:
    """The word table of a search table (rowid, text): what `Searcher` reads. `ordered`: its rows, when another
    process made them from the same texts (`ordered_rows`); otherwise they are made here from the table."""
    conn.execute(f"CREATE TABLE {WORDS} (word TEXT NOT NULL, stem TEXT NOT NULL, search_rowid INTEGER NOT NULL)")
    if ordered is None:
        ordered = ordered_rows(conn.execute(f"SELECT rowid, text FROM {search_table} ORDER BY rowid").fetchall())
    conn.executemany(f"INSERT INTO {WORDS} (rowid, word, stem, search_rowid) VALUES (?, ?, ?, ?)",
                     ((SPACING * (i + 1), *row) for i, row in enumerate(ordered)))
    conn.execute(f"CREATE INDEX idx_search_words_word ON {WORDS} (word)")


def update_index(conn: sqlite3.Connection, rowid: int, old: str, new: str) -> bool:
    """Change the word rows of one search text from those of `old` to those of `new`, each new row in its place
    in (word, search_rowid) order, which is the order create_index writes. False when there is no room left
    between two rows (the caller then builds the table anew); the table is then partly changed."""
    before = {word: stemmed for word, stemmed, _ in index_rows([(rowid, old)])}
    after = {word: stemmed for word, stemmed, _ in index_rows([(rowid, new)])}
    for word, stemmed in before.items():
        if after.get(word) != stemmed:
            conn.execute(f"DELETE FROM {WORDS} WHERE word = ? AND search_rowid = ?", (word, rowid))
    for word, stemmed in after.items():
        if before.get(word) == stemmed:
            continue
        low = conn.execute(f"SELECT max(rowid) FROM {WORDS} WHERE word = ? AND search_rowid < ?",
                           (word, rowid)).fetchone()[0]
        if low is None:
            found = conn.execute(f"SELECT rowid FROM {WORDS} WHERE word < ? ORDER BY word DESC, rowid DESC LIMIT 1",
                                 (word,)).fetchone()
            low = found[0] if found else 0
        high = conn.execute(f"SELECT min(rowid) FROM {WORDS} WHERE word = ? AND search_rowid > ?",
                            (word, rowid)).fetchone()[0]
        if high is None:
            found = conn.execute(f"SELECT rowid FROM {WORDS} WHERE word > ? ORDER BY word, rowid LIMIT 1",
                                 (word,)).fetchone()
            high = found[0] if found else low + 2 * SPACING
        middle = (low + high) // 2
        if not low < middle < high:
            return False
        conn.execute(f"INSERT INTO {WORDS} (rowid, word, stem, search_rowid) VALUES (?, ?, ?, ?)",
                     (middle, word, stemmed, rowid))
    return True
