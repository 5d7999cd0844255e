"""A view's documentation, read from the `--` comment lines its SQL file starts with.

    -- What the view is, in as many lines as it takes (its description).
    -- Columns:
    --   some_column: what one value means
    --     (an indented line continues the column above)
    --   other_column: …
    --   status: The latest status. [values: some_resource.status]
    --   amount: The amount. [currency: currency]

Everything before `Columns:` is the description; the column lines give each column's description. A column's
description may end in marks saying how its values are shown: `[values: resource.field]` (the codes of that
schema field, shown with its `categories` labels) and `[currency: column]` (money, in the currency that column
of the same row names, like a field's `x-currency-field`); the marks are not part of the description. The
view's resource in the package (fields, their types from the rows, these descriptions) and the site's column
descriptions are made from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COLUMNS_MARK = "columns:"
COLUMN_LINE = re.compile(r"^(\s*)([a-z_][a-z0-9_]*):\s+(.*)$")
SHOWN_MARK = re.compile(r"\s*\[(values|currency):\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\]")


@dataclass(frozen=True)
class ViewDoc:
    description: str
    columns: dict[str, str] = field(default_factory=dict)
    # column → {"values": "resource.field"} and/or {"currency_field": "column"}: how its values are shown
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
    marks = [i for i, line in enumerate(lines) if line.strip().lower() == COLUMNS_MARK]
    head, tail = (lines[:marks[0]], lines[marks[0] + 1:]) if marks else (lines, [])
    columns: dict[str, str] = {}
    current = None
    for line in tail:
        found = COLUMN_LINE.match(line)
        if found and (current is None or len(found.group(1)) <= 2):
            current = found.group(2)
            columns[current] = found.group(3).strip()
        elif current and line.strip():
            columns[current] = f"{columns[current]} {line.strip()}"
    # `[values: …]` keeps its word as the key; `[currency: …]` becomes `currency_field`, as in the structure
    shown = {name: {kind if kind == "values" else f"{kind}_field": target for kind, target in SHOWN_MARK.findall(text)}
             for name, text in columns.items()}
    return ViewDoc(" ".join(line.strip() for line in head if line.strip()),
                   {name: SHOWN_MARK.sub("", text).strip() for name, text in columns.items()},
                   {name: marks for name, marks in shown.items() if marks})
