"""A view's documentation, read from the `--` comment lines its SQL file starts with.

    -- What the view is, in as many lines as it takes (its description).
    -- Columns:
    --   some_column: what one value means
    --     (an indented line continues the column above)
    --   other_column: …

Everything before `Columns:` is the description; the column lines give each column's description. The view's
resource in the package (fields, their types from the rows, these descriptions) and the site's column
descriptions are made from it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

COLUMNS_MARK = "columns:"
COLUMN_LINE = re.compile(r"^(\s*)([a-z_][a-z0-9_]*):\s+(.*)$")


@dataclass(frozen=True)
class ViewDoc:
    description: str
    columns: dict[str, str] = field(default_factory=dict)


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
    return ViewDoc(" ".join(line.strip() for line in head if line.strip()), columns)
