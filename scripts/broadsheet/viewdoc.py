"""A view's documentation, read from the `--` comment lines its SQL file starts with.

    -- What the view is, in as many lines as it takes (its description).
    -- Columns:
    --   some_column (Some title): what one value means
    --     (an indented line continues the column above)
    --   other_column: …
    --   status (Latest status): The latest status. [values: some_resource.status]
    --   amount (Amount): The amount. [currency: currency]
    --   countries (Countries): Their countries. [values: some_resource.country, list]

Everything before `Columns:` is the description; the column lines give each column's description. A column's
title, the header a reader sees on the site and the field's `title` in the downloaded package, stands in
parentheses between its name and the colon, like a glossary entry: it is what the column is called, so it sits
beside the name where a curator looks for the column (and a column without one shows at a glance), not among
the marks at the end of a description that may run over several lines. A title holds no parentheses; a column
without one is shown with a title made from its name (broadsheet.display.readable_name).

A column's description may end in marks saying how its values are shown: `[values: resource.field]` (the codes
of that schema field, shown with its `categories` labels), `[values: resource.field, list]` (a JSON array of
such codes, as SQLite's json_group_array makes it: each item shown with its label, counted one by one in
facets), `[list]` (a JSON array of plain values) and `[currency: column]` (money, in the currency that column of
the same row names, like a field's `x-currency-field`); the marks are not part of the description. The view's
resource in the package (fields, their types from the rows or `array` for a list, these titles and
descriptions, the categories of the named field) and the site's column headers and descriptions are made from
it.

What cannot be read is listed in `ViewDoc.faults` (line and column in the SQL text, and what is wrong): a title
not closed or empty, a mark of a known kind (`[values:`, `[currency:`) that does not read as its form, a column
described twice. broadsheet.package refuses a view whose documentation has a fault."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COLUMNS_MARK = "columns:"
COLUMN_LINE = re.compile(r"^(\s*)([a-z_][a-z0-9_]*)(?:\s*\(([^()]*)\))?:(?:\s+(.*))?$")
# A line that starts like a column with a title, whether or not the rest parses
TITLED_START = re.compile(r"^(\s*)([a-z_][a-z0-9_]*)\s*\(")
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
SHOWN_MARK = re.compile(rf"\s*\[(?:values:\s*({NAME}(?:\.{NAME})?)(\s*,\s*list)?|currency:\s*({NAME})|(list))\]")
# The start of a mark of a known kind: what SHOWN_MARK does not take of it is a fault
MARK_START = re.compile(r"\[(values|currency):")
MARK_FORMS = ("[values: resource.field]", "[currency: column]")
COLUMN_INDENT = 2  # a column line is indented at most this much after `--`; deeper lines continue the one above


@dataclass(frozen=True)
class Fault:
    """Something in a view's documentation that cannot be read: where (1-based, in the SQL text) and what."""

    line: int
    column: int
    message: str


@dataclass(frozen=True)
class ViewDoc:
    description: str
    columns: dict[str, str] = field(default_factory=dict)
    # column → {"values": "resource.field"}, {"currency_field": "column"}, {"type": "array"} (a JSON array; with
    # `values`, of that field's codes): how its values are shown
    shown: dict[str, dict[str, str]] = field(default_factory=dict)
    # column → its title, for the columns that give one
    titles: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)


def leading_comment(sql: str) -> list[str]:
    """The comment lines a view file starts with, without their `--` (indentation after it kept)."""
    return [text for _number, _offset, text in _comment_lines(sql)]


def _comment_lines(sql: str) -> list[tuple[int, int, str]]:
    """(line number, offset of the text in the line, text) of each leading comment line."""
    lines = []
    for number, line in enumerate(sql.splitlines(), start=1):
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        offset = len(line) - len(line.lstrip()) + 2
        text = stripped[2:]
        if text.startswith(" "):
            text, offset = text[1:], offset + 1
        lines.append((number, offset, text))
    return lines


def view_doc(sql: str) -> ViewDoc:
    lines = _comment_lines(sql)
    marks = [i for i, (_n, _o, text) in enumerate(lines) if text.strip().lower() == COLUMNS_MARK]
    head, tail = (lines[:marks[0]], lines[marks[0] + 1:]) if marks else (lines, [])
    columns: dict[str, str] = {}
    titles: dict[str, str] = {}
    faults: list[Fault] = []
    current = None
    for number, offset, text in tail:
        found = COLUMN_LINE.match(text)
        column_line = current is None or len(text) - len(text.lstrip()) <= COLUMN_INDENT
        if found and column_line:
            current = found.group(2)
            if current in columns:
                faults.append(Fault(number, offset + len(found.group(1)) + 1, f"column {current!r} is described "
                                    "twice"))
            columns[current] = (found.group(4) or "").strip()
            title = found.group(3)
            if title is not None and not title.strip():
                faults.append(Fault(number, offset + text.index("(") + 1, f"column {current!r}: the title in "
                                    "parentheses is empty"))
            elif title is not None:
                titles[current] = " ".join(title.split())
        elif column_line and TITLED_START.match(text):
            start = TITLED_START.match(text)
            assert start is not None
            faults.append(Fault(number, offset + text.index("(") + 1, f"column {start.group(2)!r}: a title is "
                                "`name (Title): description`, closed before the colon and without parentheses "
                                "inside"))
        elif current and text.strip():
            columns[current] = f"{columns[current]} {text.strip()}"
        faults += _mark_faults(number, offset, text)
    shown = {name: column_marks(text) for name, text in columns.items()}
    return ViewDoc(" ".join(text.strip() for _n, _o, text in head if text.strip()),
                   {name: SHOWN_MARK.sub("", text).strip() for name, text in columns.items()},
                   {name: marks for name, marks in shown.items() if marks}, titles, faults)


def column_marks(text: str) -> dict[str, str]:
    """A column's marks: `[values: …]` keeps its word as the key, `[currency: …]` becomes `currency_field` (as in
    the structure), `, list` or `[list]` says the column holds a JSON array (`type: array`)."""
    found: dict[str, str] = {}
    for values, listed, currency, alone in SHOWN_MARK.findall(text):
        if values:
            found["values"] = values
        if currency:
            found["currency_field"] = currency
        if listed or alone:
            found["type"] = "array"
    return found


def _mark_faults(number: int, offset: int, text: str) -> list[Fault]:
    """Marks of a known kind on one line that do not read as their form: unclosed, empty, `[values: status]`
    without its resource, `[currency: t.c]` naming another table's column."""
    faults = []
    for start in MARK_START.finditer(text):
        whole = SHOWN_MARK.match(text, start.start())
        if whole is not None and (start.group(1) != "values" or "." in whole.group(1)):
            continue
        shown = text[start.start():].split("]")[0] + ("]" if "]" in text[start.start():] else "")
        form = MARK_FORMS[0] if start.group(1) == "values" else MARK_FORMS[-1]
        faults.append(Fault(number, offset + start.start() + 1, f"the mark {shown} does not read as {form}"))
    return faults
