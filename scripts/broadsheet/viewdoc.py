"""A view's documentation, read from the `--` comment lines its SQL file starts with.

    -- What the view is, in as many lines as it takes (its description).
    -- Columns:
    --   some_column: what one value means
    --     (an indented line continues the column above)
    --   other_column: …
    --   status: The latest status. [values: some_resource.status]
    --   amount: The amount. [currency: currency]
    --   countries: Their countries. [values: some_resource.country, list]

Everything before `Columns:` is the description; the column lines give each column's description. A column's
description may end in marks saying how its values are shown: `[values: resource.field]` (the codes of that
schema field, shown with its `categories` labels), `[values: resource.field, list]` (a JSON array of such codes,
as SQLite's json_group_array makes it: each item shown with its label, counted one by one in facets),
`[list]` (a JSON array of plain values) and `[currency: column]` (money, in the currency that column of the same
row names, like a field's `x-currency-field`); the marks are not part of the description. The view's resource
in the package (fields, their types from the rows or `array` for a list, these descriptions, the categories of
the named field) and the site's column descriptions are made from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COLUMNS_MARK = "columns:"
COLUMN_LINE = re.compile(r"^(\s*)([a-z_][a-z0-9_]*):\s+(.*)$")
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
SHOWN_MARK = re.compile(rf"\s*\[(?:values:\s*({NAME}(?:\.{NAME})?)(\s*,\s*list)?|currency:\s*({NAME})|(list))\]")


@dataclass(frozen=True)
class ViewDoc:
    description: str
    columns: dict[str, str] = field(default_factory=dict)
    # column → {"values": "resource.field"}, {"currency_field": "column"}, {"type": "array"} (a JSON array; with
    # `values`, of that field's codes): how its values are shown
    shown: dict[str, dict[str, str]] = field(default_factory=dict)


def leading_comment(sql: str) -> list[str]:
    """The comment lines a view file starts with, without their `--` (indentation after it kept)."""
    lines = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            break
        lines.append(stripped[2:].removeprefix(" "))
    return lines


def view_doc(sql: str) -> ViewDoc:
    lines = leading_comment(sql)
    starts = [i for i, line in enumerate(lines) if line.strip().lower() == COLUMNS_MARK]
    head, tail = (lines[:starts[0]], lines[starts[0] + 1:]) if starts else (lines, [])
    columns: dict[str, str] = {}
    current = None
    for line in tail:
        found = COLUMN_LINE.match(line)
        if found and (current is None or len(found.group(1)) <= 2):
            current = found.group(2)
            columns[current] = found.group(3).strip()
        elif current and line.strip():
            columns[current] = f"{columns[current]} {line.strip()}"
    shown = {name: column_marks(text) for name, text in columns.items()}
    return ViewDoc(" ".join(line.strip() for line in head if line.strip()),
                   {name: SHOWN_MARK.sub("", text).strip() for name, text in columns.items()},
                   {name: marks for name, marks in shown.items() if marks})


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
