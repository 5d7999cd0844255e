"""Problems are data: every check returns them, only the CLI decides what to print and how to exit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ERROR = "error"
WARNING = "warning"

# Every code a Problem may carry, with what it means: the one list (README's list of codes is generated from it;
# `broadsheet build --check` fails when README differs, and tests/test_architecture.py fails when the toolkit
# emits a code missing here). Frictionless' codes keep frictionless' names.
CODES: dict[str, str] = {
    # the file
    "unreadable-file": "the file cannot be read (permissions, a broken link, a folder named like a record)",
    "file-too-large": "the file is larger than its layout allows (`max-file-bytes`, 1 MB by default)",
    "invalid-utf8": "the bytes are not UTF-8 text",
    "bom-in-file": "a byte-order mark inside the file",
    "control-character": "an invisible control character",
    "tab-indentation": "a tab used for indentation",
    "empty-file": "the file is empty or holds only comments",
    "symlink": "a record file or folder that is a symbolic link: never followed, wherever it points",
    "stray-line-break": "a lone carriage return, U+2028 or U+2029: YAML counts it as a line end, git does not",
    # the YAML
    "yaml-syntax": "the YAML cannot be parsed",
    "multiple-documents": "more than one YAML document (`---`) in one file",
    "not-a-mapping": "the file, a record in it, or an item of a child list is not a mapping of field: value",
    "duplicate-key": "a key appears twice in one mapping",
    "yaml-anchor": "an anchor (`&name`): records do not share values",
    "yaml-alias": "an alias (`*name`) repeating another value",
    "yaml-tag": "an explicit tag (`!tag`): the schema decides each value's type",
    "complex-key": "a key that is not a plain name",
    "too-deep": "nesting deeper than its layout allows (`max-depth`, 8 by default)",
    # the record against its schema
    "unknown-field": "a key the schema does not have",
    "filled-field": "a field the loader fills in from the enclosing record was typed",
    "not-a-list": "a child list's key, or a file of many records, holds something other than a list",
    "id-mismatch": "the record's id differs from its file name (or from the key it is filed under)",
    "unknown-resource": "a folder of datapackage/ that no schema describes",
    "wrong-extension": "a file in a record folder without a suffix its layout accepts (.yaml by default)",
    # frictionless' verdicts, located
    "type-error": "a value that is not of its field's type (Broadsheet's casts are stricter than frictionless')",
    "constraint-error": "a value that breaks a constraint of its field (required, enum, pattern, bounds)",
    "unique-error": "a value of a unique field that another row has",
    "primary-key": "a primary key that another row has, or an empty one",
    "foreign-key": "a reference to a record that does not exist",
    # Broadsheet's rules
    "formula-injection": "text a spreadsheet would run as a formula",
    "uncited-fact": "a fact that must be cited has no citation",
    "citation-unknown-field": "a citation names a field its record's table does not have",
    "number-limit": "a number beyond the documented limits (docs/dataset-format.md, Numbers)",
    "invisible-character": "an invisible character in text (zero-width, direction mark, line separator)",
    "multiline-text": "a line break in a field that holds one line (x-multiline allows them)",
    "not-nfc": "text not in Unicode NFC form (an accent as a separate combining mark)",
    "surrounding-whitespace": "space before or after a text value",
    "missing-value-word": "NA, N/A or another word for no value in a required text field",
    "mass-deletion": "a resource lost more of its records since git's base than the change says is intended",
    # broadsheet build: a fault of the machine while writing (out/ and the committed files stay as they were)
    "disk-full": "no space left on the device while writing an output",
    "file-size-limit": "an output would exceed the file size limit",
    "permission-denied": "an output cannot be written: no permission",
    "read-only-filesystem": "an output cannot be written: the file system is read-only",
    "write-failed": "an output cannot be written (another fault of the machine)",
    # broadsheet fmt
    "not-a-record": "fmt was given a file that is not a record file",
    "fmt-unsafe": "fmt cannot rewrite the file without changing a value, so it leaves it alone",
    # broadsheet describe and init
    "exists": "a file describe, init or new would write is already there: nothing is written over it",
    "no-records": "describe found no YAML record under the path it was given",
    "no-id-field": "describe found no field that identifies every record (a warning: the proposal names one)",
    "mixed-shapes": "describe found a field holding text in one record and a list or mapping in another "
                    "(a warning)",
    "outside-data-folder": "describe read records outside datapackage/: the proposal says the folder inside it "
                           "they belong in (a warning)",
}

CODES_START = "<!-- error-codes:start -->"
CODES_END = "<!-- error-codes:end -->"


def codes_section() -> str:
    """The README's list of codes, generated from CODES."""
    lines = ["_Generated by `broadsheet build` from `broadsheet.errors.CODES`; edit the registry, not this list._", ""]
    lines += [f"- `{code}`: {meaning}" for code, meaning in CODES.items()]
    return "\n".join(lines)


def with_codes(readme: str) -> str | None:
    """README with its list of codes regenerated, or None when it has no list markers."""
    start, end = readme.find(CODES_START), readme.find(CODES_END)
    if start < 0 or end < start:
        return None
    return readme[: start + len(CODES_START)] + "\n\n" + codes_section() + "\n\n" + readme[end:]


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
