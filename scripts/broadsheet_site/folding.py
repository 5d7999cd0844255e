"""Spelling-insensitive text keys: the site's search folds visitors' words and the database's texts alike."""

from __future__ import annotations

import re
import sys
import unicodedata
from typing import Any

# Cyrillic (Russian and Kazakh) to Latin, then a few spellings folded together, so Абай, Abai and Abay meet.
CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r",
                     "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "a", "g",
                     "k", "n", "o", "u", "u", "h", "i"], strict=True))
LATIN_FOLDS = (("kh", "h"), ("q", "k"), ("y", "i"), ("j", "i"), ("w", "v"))


CYRILLIC_TABLE = str.maketrans(CYRILLIC)


def _combining_marks() -> re.Pattern[str]:
    """Every combining code point as one character class, so accents are dropped from a whole text in one pass."""
    ranges, start, previous = [], None, None
    for code in range(0x300, sys.maxunicode + 1):
        if unicodedata.combining(chr(code)):
            if start is None:
                start = code
            elif code != previous + 1:
                ranges.append((start, previous))
                start = code
            previous = code
    if start is not None:
        ranges.append((start, previous))
    return re.compile("[" + "".join(f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges) + "]")


COMBINING = _combining_marks()


def fold(text: Any) -> str:
    """A spelling-insensitive key: lower case, no accents, Cyrillic transliterated, y/i and kh/h merged.

    Whole-string operations only (no loop per character), so a search index folds every searchable text of a
    large database at once in well under a second."""
    if text is None:
        return ""
    plain = COMBINING.sub("", unicodedata.normalize("NFKD", str(text).lower()))
    latin = plain.translate(CYRILLIC_TABLE)
    for spelling, folded in LATIN_FOLDS:
        latin = latin.replace(spelling, folded)
    return latin

