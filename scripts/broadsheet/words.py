"""The words of the search table, for the site's search that forgives word forms, spellings and typos.

The build splits every searchable text into words and stores each word folded (lower case, no accents, Cyrillic
transliterated, a few Latin spellings merged: Абай, Abai and Abay meet) beside its folded stem, in `_search_words`
(word, stem, search_rowid). Stems come from the Snowball stemmers (PyStemmer, the Snowball project's C bindings):
Russian for Cyrillic words, English for Latin ones. There is no maintained Snowball stemmer for Kazakh; the site
finds Kazakh case forms by prefix and by its typo tolerance (edit distance over this vocabulary).

The site folds and stems what a visitor types the same way (its `folding` module holds the same tables; a test
holds the two to the same answers).
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable

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


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold(word: str) -> str:
    """A spelling-insensitive key of one word."""
    latin = _strip_marks(word.lower()).translate(CYRILLIC_TABLE)
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


def create_index(conn: sqlite3.Connection, search_table: str) -> None:
    """The word table of a search table (rowid, text): what `Searcher` reads."""
    conn.execute(f"CREATE TABLE {WORDS} (word TEXT NOT NULL, stem TEXT NOT NULL, search_rowid INTEGER NOT NULL)")
    rows = conn.execute(f"SELECT rowid, text FROM {search_table} ORDER BY rowid").fetchall()
    conn.executemany(f"INSERT INTO {WORDS} VALUES (?, ?, ?)", index_rows(rows))
    conn.execute(f"CREATE INDEX idx_search_words_word ON {WORDS} (word)")
