"""Problems are data: every check returns them, only the CLI decides what to print and how to exit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, located as precisely as we can.

    `code` is a stable kebab-case identifier (frictionless codes where they fit); `path` is relative to the
    repository root; `line` and `column` are 1-based; `found` and `expected` are short human-readable texts.
    """

    code: str
    message: str
    path: str = ""
    line: int = 0
    column: int = 0
    resource: str = ""
    record_id: str = ""
    field: str = ""
    found: str = ""
    expected: str = ""
    hint: str = ""
    severity: str = ERROR

    def sort_key(self) -> tuple[Any, ...]:
        return (self.path, self.line, self.column, self.code, self.field, self.message)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Report:
    """Every problem found in one run, in a stable order."""

    problems: list[Problem] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def extend(self, problems: list[Problem]) -> None:
        self.problems.extend(problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def valid(self) -> bool:
        return not self.errors

    def sorted(self) -> list[Problem]:
        return sorted(set(self.problems), key=Problem.sort_key)

    def to_dict(self) -> dict[str, Any]:
        problems = self.sorted()
        return {
            "valid": self.valid,
            "error_count": sum(1 for p in problems if p.severity == ERROR),
            "warning_count": sum(1 for p in problems if p.severity == WARNING),
            "stats": dict(sorted(self.stats.items())),
            "problems": [p.to_dict() for p in problems],
        }


class BroadsheetError(Exception):
    """A tool or configuration is broken (not the data): the CLI exits 2 with this message."""

    def __init__(self, message: str, path: str = "", line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def where(self) -> str:
        """`path:line:col`, or as much of it as is known."""
        where = self.path
        if self.line:
            where += f":{self.line}:{self.column or 1}"
        return where


class ConfigError(BroadsheetError):
    """datapackage.json or a schema is unreadable or inconsistent."""


class RootNotFound(BroadsheetError):
    """No datapackage.json in this folder or any parent."""
