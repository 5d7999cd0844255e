"""The plain-lines reader: a faster way to the same Entry tree that broadsheet.read.records builds, for the small corner
of YAML nearly every record is written in.

Nearly every record is written in a small corner of YAML: `key: value` lines, lists of `- key: value` entries
indented by two, one-line `[a, b]` lists, plain or simply quoted values. For those files this reader finds the
same keys, texts, lines and columns as libyaml, at half the cost of composing nodes. It accepts nothing it is
not sure of: any other construct (block scalars, escapes, comments after a value, flow mappings, a value that
starts with a YAML indicator, anything that needs the anchor/tag scan, a duplicate key...) returns None, and the
file goes through broadsheet.read.records. Its output is only a reader's output: the one row builder
(broadsheet.read.tables) turns it into rows, as it does the exact reader's.

Equivalence test: tests/test_differential.py (test_plain_reader_*) compares this reader's rows with the exact
reader's on the fixture, generated and hand-written records, every bad input and random lines; it reads only
files of one record (a file of many goes to broadsheet.read.records), held by tests/test_layouts.py."""

from __future__ import annotations

import re

from broadsheet.layout import MAX_DEPTH
from broadsheet.read.records import NULL_WORDS, Cell, Entry, Seq

SIMPLE_LINE = re.compile(r"( *)(- )?([A-Za-z_][A-Za-z0-9_-]*):(?: (.+))?")  # keys: names, `end-type`
# A plain scalar libyaml reads as exactly these characters: no leading indicator, no tab, no trailing space.
SIMPLE_PLAIN = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@` ](?:[^\t]*[^\t :])?")
SIMPLE_FLOW_ITEM = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@` ](?:[^\t,\[\]{}]*[^\t ,\[\]{}:])?")
# Outside the corner anywhere in a file: anchors, aliases, tags, tabs, CR, escapes, Unicode line breaks, BOM...
NOT_SIMPLE_CHARACTER = re.compile(r"[&*!\t\r\u2028\u2029\ufeff\\]")
DOCUMENT_MARKERS = ("---", "...", "%")  # at a line's start: a document marker or a directive
MARKERS_AFTER_A_BREAK = tuple(f"\n{marker}" for marker in DOCUMENT_MARKERS)
TWO_COLONS = re.compile(r": .*: ")  # a second `: ` on a line: a value that libyaml may read as a mapping
# Every line of a file at once, when each is a simple line (no blank or comment line among them): the same
# corner as SIMPLE_LINE with its value checked as simple_lines checks it — no second `: `, then a quoted text
# without its quote inside, a `[...]` list, or a SIMPLE_PLAIN scalar without ` #` — so a line any check would
# refuse is not matched, the count of matches falls short, and simple_lines takes the file line by line
# (held equal to that by tests/test_differential.py::test_plain_reader_reads_lines_at_once_as_one_by_one).
WHOLE_LINES = re.compile(
    r"^( *)(- )?([A-Za-z_][A-Za-z0-9_-]*):"
    r"(?: (?![^\n]*: )(\"[^\"\n]*\"|'[^'\n]*'|\[[^\n]*\]"
    r"|(?![^\n]* #)[^-?:,\[\]{}#&*!|>'\"%@` \n](?:[^\t\n]*[^\t :\n])?))?$",
    re.MULTILINE)
SCALAR, FLOW, BLOCK = 0, 1, 2
SimpleLine = tuple[int, int, bool, str, int, int, "str | None", int]


def simple_lines(text: str) -> list[SimpleLine] | None:
    """(line, indent, dash, key, key column, kind, value text, value column) per line, or None when the text is
    outside the simple corner. Kinds: SCALAR (text None for a null word), FLOW (text between the brackets),
    BLOCK (`key:` opening a list on the next lines)."""
    if NOT_SIMPLE_CHARACTER.search(text) or text.startswith(DOCUMENT_MARKERS) or any(
            marker in text for marker in MARKERS_AFTER_A_BREAK):
        return None
    matched = WHOLE_LINES.findall(text)
    if len(matched) == text.count("\n") + (not text.endswith("\n")):
        return _whole_lines(matched) or None
    if TWO_COLONS.search(text):
        return None
    return _line_by_line(text)


def _whole_lines(matched: list[tuple[str, str, str, str]]) -> list[SimpleLine]:
    """simple_lines of a file whose every line WHOLE_LINES matched: line numbers are positions."""
    out: list[SimpleLine] = []
    append = out.append
    for number, (indent, dash, key, value) in enumerate(matched, 1):
        width, dashed = len(indent), dash != ""
        key_column = width + 3 if dashed else width + 1  # `- ` is two characters
        if not value:
            append((number, width, dashed, key, key_column, BLOCK, None, 0))
            continue
        first = value[0]
        value_column = key_column + len(key) + 2
        if first == '"' or first == "'":
            append((number, width, dashed, key, key_column, SCALAR, value[1:-1], value_column))
        elif first == "[":
            append((number, width, dashed, key, key_column, FLOW, value[1:-1], value_column))
        else:
            append((number, width, dashed, key, key_column, SCALAR, None if value in NULL_WORDS else value,
                    value_column))
    return out


def _line_by_line(text: str) -> list[SimpleLine] | None:
    """simple_lines of a file with blank or comment lines, or a line outside the corner (then None)."""
    out: list[SimpleLine] = []
    for number, line in enumerate(text.split("\n"), 1):
        stripped = line.lstrip(" ")
        if not stripped or stripped[0] == "#":
            continue
        match = SIMPLE_LINE.fullmatch(line)
        if match is None:
            return None
        indent, dash, key, value = match.groups()
        key_column = match.start(3) + 1
        if value is None:
            out.append((number, len(indent), bool(dash), key, key_column, BLOCK, None, 0))
            continue
        first = value[0]
        value_column = match.start(4) + 1
        if first == '"' or first == "'":
            if len(value) < 2 or value[-1] != first or first in value[1:-1]:
                return None
            out.append((number, len(indent), bool(dash), key, key_column, SCALAR, value[1:-1], value_column))
        elif first == "[":
            if value[-1] != "]":
                return None
            out.append((number, len(indent), bool(dash), key, key_column, FLOW, value[1:-1], value_column))
        elif SIMPLE_PLAIN.fullmatch(value) and " #" not in value and ": " not in value:
            text_value = None if value in NULL_WORDS else value
            out.append((number, len(indent), bool(dash), key, key_column, SCALAR, text_value, value_column))
        else:
            return None
    return out or None


def simple_flow_items(inner: str) -> list[str] | None:
    """The items of a one-line `[a, b]` list of plain values, or None if any item is not that simple."""
    if not inner:
        return []
    items = inner.split(", ")
    for item in items:
        if not SIMPLE_FLOW_ITEM.fullmatch(item) or item in NULL_WORDS or " #" in item:
            return None
    return items




def read(text: str, max_depth: int = MAX_DEPTH) -> Entry | None:
    """The record's Entry, exactly as records.parse_text gives it for the same text, or None when the text is
    outside the simple corner (or holds anything parse_text would report). Its deepest value (a list of
    entries) is at depth 3: a lower `max-depth` leaves the file to the exact reader, which reports it."""
    if max_depth < 3:
        return None
    lines = simple_lines(text)
    if lines is None:
        return None
    first = lines[0]
    entry = Entry(first[0], first[4])
    index, count = 0, len(lines)
    while index < count:
        number, indent, dash, key, key_column, kind, value, value_column = lines[index]
        index += 1
        if indent or dash or key in entry.values:
            return None
        entry.key_positions[key] = (number, key_column)
        if kind == SCALAR:
            entry.values[key] = Cell(value, number, value_column)
        elif kind == FLOW:
            items = simple_flow_items(value or "")
            if items is None:
                return None
            cells: list[Cell | Entry | Seq] = []
            column = value_column + 1
            for item in items:
                cells.append(Cell(item, number, column))
                column += len(item) + 2
            entry.values[key] = Seq(cells, number, value_column)
        else:
            if index >= count or lines[index][1] != 2 or not lines[index][2]:
                return None  # not a list of entries (or an empty `key:`): the exact reader says what it is
            sequence = Seq([], lines[index][0], 3)
            while index < count and lines[index][1] == 2 and lines[index][2]:
                end = index + 1
                while end < count and lines[end][1] == 4 and not lines[end][2]:
                    end += 1
                item = _item(lines[index:end])
                if item is None:
                    return None
                sequence.items.append(item)
                index = end
            entry.values[key] = sequence
    return entry


def _item(lines: list[SimpleLine]) -> Entry | None:
    """One `- key: value` entry of a list and its continuation lines: scalars only."""
    item = Entry(lines[0][0], lines[0][4])
    for number, _indent, _dash, key, key_column, kind, value, value_column in lines:
        if kind != SCALAR or key in item.values:
            return None
        item.key_positions[key] = (number, key_column)
        item.values[key] = Cell(value, number, value_column)
    return item
