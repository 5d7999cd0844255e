"""Broadsheet's rules, each written once: every rule a Table Schema cannot express is one object in `REGISTRY`.

Cell rules judge one present value of a field: stricter casts than frictionless accepts, partial dates, text that
a spreadsheet would run as a formula. Record rules judge rows across a record and its child tables (citations).
Everything else derives from these objects: the reference checks below call them, the fast path
(broadsheet.speed.vouch) binds their `accepts` into its generated per-schema check, and the cache key
(broadsheet.speed.cache) includes `REGISTRY.fingerprint()`, so a rule added here alone applies to a cold run,
`--full`, a cached run and an incremental run (tests/test_rules.py)."""

from __future__ import annotations

import calendar
import hashlib
import marshal
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from broadsheet.constraints import PARTIAL_DATE_WORDS, TYPES
from broadsheet.errors import Problem
from broadsheet.package import FieldSpec, PackageSpec
from broadsheet.read.tables import Table, Tables

INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)
SHOWN_CHARACTERS = 60  # of a rejected value, in its problem's message and `found`
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@")

# Limits of numbers (docs/dataset-format.md, "Numbers"). Every value within them is held exactly by SQLite (a
# 64-bit INTEGER or a REAL) and by JSON, and is as cheap to convert as any other; beyond them a value is the
# located error `number-limit`, found on the text before anything makes its digits (a 4,301-digit int cannot
# even be printed; 1e9999999 took a build tens of minutes).
MAX_INTEGER_DIGITS = 18  # |integer| < 10**18 < 2**63
MAX_SIGNIFICANT_DIGITS = 15  # a decimal of up to 15 significant digits round-trips through a double exactly
MAX_ADJUSTED_EXPONENT = 17  # |number| < 1e18, so an integral number is a 64-bit integer too
MIN_ADJUSTED_EXPONENT = -300  # |number| >= 1e-300 unless it is 0: no denormal doubles
NUMBER_LIMITS = (f"at most {MAX_SIGNIFICANT_DIGITS} significant digits (an integral value: up to "
                 f"{MAX_INTEGER_DIGITS} digits) and 0 or a magnitude from 1e{MIN_ADJUSTED_EXPONENT} to below "
                 f"1e{MAX_ADJUSTED_EXPONENT + 1}")
LIMIT_HINT = "see Numbers in docs/dataset-format.md; a figure beyond them belongs in a text field"

# Text as decoded from its escapes (`"\0"`, `"\u200b"`) and block scalars, in every string field.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, LF and CR have rules of their own
# Invisible format characters and separators: zero-width spaces and joiners, direction marks and overrides
# (which reorder what a reader sees), the soft hyphen, word joiners, line and paragraph separators, the BOM.
INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064"
                       "\u2066-\u206f\ufeff\ufff9-\ufffb]")
# What spreadsheets and statistics tools write for "no value": in a required text field they hide a gap.
MISSING_WORDS = frozenset({"NA", "N/A", "n/a", "#N/A", "N.A.", "na", "NaN", "null", "NULL", "Null", "None",
                           "none", "nil", "-", "--", "?", "unknown", "Unknown"})


@dataclass(frozen=True)
class CellRule:
    """A rule over one present (non-empty) value of the fields it `applies` to. `accepts(text)` is truthy when
    the value passes; otherwise the value is reported with `code`, `expected` and `hint`, as "<field> <text>
    <verdict>". Of a field's rules, the first that rejects a value reports it (registry order). `accepts` depends
    on the text alone: the fast path remembers texts every rule of a column accepted (broadsheet.speed.vouch)."""

    name: str
    code: str
    applies: Callable[[FieldSpec], bool]
    accepts: Callable[[str], object]
    expected: str
    hint: str
    verdict: str = "is not valid"

    def problem(self, spec_name: str, field_name: str, text: str, path: str, line: int, column: int,
                record_id: str) -> Problem:
        # invisible and control characters are shown as escapes: printed as they are, they would vanish, or
        # reorder the line they are printed on
        found = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
        if len(found) > SHOWN_CHARACTERS:  # a 4,301-digit number is shown by its start and its length
            found = f"{found[:SHOWN_CHARACTERS]}… ({len(text)} characters)"
            text = found
        return Problem(self.code, f"{field_name} {text!r} {self.verdict}", path=path, line=line, column=column,
                       resource=spec_name, record_id=record_id, field=field_name, found=found,
                       expected=self.expected, hint=self.hint)


@dataclass(frozen=True)
class RecordRule:
    """A rule over whole tables. `scope` "file" means its verdict on a row depends only on the rows of the
    same record file (so it is rerun per changed file by the incremental index); "package" means it compares
    files, and then `index_kinds(package)` gives the incremental index its (demand, supply) pairs, or the rule
    has none and a warm run takes the full path whenever it is registered."""

    name: str
    codes: tuple[str, ...]
    scope: str
    problems: Callable[[PackageSpec, Tables], Iterator[Problem]]
    index_kinds: Callable[[PackageSpec], list[tuple[tuple[str, str, tuple[str, ...]],
                                                    tuple[str, str, tuple[str, ...]]]]] | None = None


@dataclass
class Registry:
    cell: list[CellRule] = field(default_factory=list)
    record: list[RecordRule] = field(default_factory=list)
    generation: int = 0  # bumped on every change: whatever was compiled from the rules is made again

    def register(self, rule: CellRule | RecordRule) -> None:
        (self.cell if isinstance(rule, CellRule) else self.record).append(rule)  # type: ignore[arg-type]
        self.generation += 1

    def unregister(self, rule: CellRule | RecordRule) -> None:
        (self.cell if isinstance(rule, CellRule) else self.record).remove(rule)  # type: ignore[arg-type]
        self.generation += 1

    def cell_rules(self, spec: FieldSpec) -> list[CellRule]:
        return [rule for rule in self.cell if rule.applies(spec)]

    def codes(self) -> set[str]:
        return {r.code for r in self.cell} | {code for r in self.record for code in r.codes}

    def fingerprint(self) -> str:
        """A digest of every rule's data and code, for the cache key."""
        digest = hashlib.sha256()
        for rule in [*self.cell, *self.record]:
            for name, value in vars(rule).items():
                digest.update(name.encode() + b"\0" + _describe(value) + b"\0")
        return digest.hexdigest()


def _describe(value: object) -> bytes:
    code = getattr(value, "__code__", None)
    if code is not None:
        closure = getattr(value, "__closure__", None) or ()
        # version 2: no back-references, whose flags follow the objects' reference counts (a live Problem holding
        # a rule's message made the same code marshal to other bytes, and the cache key change within a process)
        return marshal.dumps(code, 2) + b"".join(_describe(cell.cell_contents) for cell in closure)
    pattern = getattr(value, "__self__", None)
    if isinstance(pattern, re.Pattern):
        return f"{getattr(value, '__name__', '')} {pattern.pattern!r} {pattern.flags}".encode()
    return repr(value).encode()


REGISTRY = Registry()


# --- the cell rules ------------------------------------------------------------------------------------------

def _type_is(name: str) -> Callable[[FieldSpec], bool]:
    return lambda spec: spec.type == name


def _partial_date_ok(text: str) -> bool:
    match = PARTIAL_DATE.fullmatch(text)
    if not match:
        return False
    year, month, day = match.groups()
    return month is None or (1 <= int(month) <= 12 and (
        day is None or 1 <= int(day) <= calendar.monthrange(int(year), int(month))[1]))


def _spreadsheet_safe(text: str) -> bool:
    return not text.startswith(FORMULA_START) and "\t" not in text and "\r" not in text


def _no_tab_or_cr(text: str) -> bool:
    return "\t" not in text and "\r" not in text


def _integer_within_limits(text: str) -> bool:
    return len(text) - text.startswith("-") <= MAX_INTEGER_DIGITS or not INTEGER.fullmatch(text)


def _number_within_limits(text: str) -> bool:
    """Short plain decimals are within the limits at a glance; the others are measured as a Decimal, which holds
    any exponent as a small number (nothing here makes the value's digits). Text the number rule rejects is that
    rule's to report."""
    if len(text) <= MAX_SIGNIFICANT_DIGITS and "e" not in text and "E" not in text:
        return True
    if not NUMBER.fullmatch(text):
        return True
    value = Decimal(text)
    if not value:
        return True
    if not MIN_ADJUSTED_EXPONENT <= value.adjusted() <= MAX_ADJUSTED_EXPONENT:
        return False
    return value == value.to_integral_value() or len(value.normalize().as_tuple().digits) <= MAX_SIGNIFICANT_DIGITS


def _no_control_character(text: str) -> bool:
    return text.isprintable() or CONTROL.search(text) is None


def _no_invisible_character(text: str) -> bool:
    return text.isprintable() or INVISIBLE.search(text) is None


def _nfc(text: str) -> bool:
    return text.isascii() or unicodedata.is_normalized("NFC", text)


def _trimmed(text: str) -> bool:
    return not (text[0].isspace() or text[-1].isspace()) or not text.strip()  # blank: the required rule's


def _text(spec: FieldSpec) -> bool:
    return spec.type == "string"


def _missing_words_refused(spec: FieldSpec) -> bool:
    """Required text fields, unless the field allows the words (`x-allow-missing-words`) or lists one."""
    enum = spec.constraints.get("enum") or ()
    return (spec.type == "string" and spec.required and not spec.flag("allow-missing-words")
            and not MISSING_WORDS & set(enum))


for _rule in (
    CellRule("integer", "type-error", _type_is("integer"), INTEGER.fullmatch, "an integer in plain ASCII digits",
             "write digits only: no `_`, spaces, leading zeros, decimals or exponents"),
    CellRule("number", "type-error", _type_is("number"), NUMBER.fullmatch,
             "a decimal number such as 1568000000 or 1.5",
             "write digits with an optional `.` decimal part; no `_`, commas, NaN or Infinity"),
    CellRule("date", "type-error", _type_is("date"), DATE.fullmatch, TYPES["date"],
             "write the full date, e.g. 2025-05-21"),
    CellRule("partial-date", "type-error", lambda spec: spec.type == "string" and bool(spec.flag("partial-date")),
             _partial_date_ok, PARTIAL_DATE_WORDS,
             "give as much of the date as the source states, e.g. 2025 or 2025-05 or 2025-05-21"),
    CellRule("spreadsheet-safe-text", "formula-injection",
             lambda spec: spec.type == "string" and not spec.flag("allow-formula-start"), _spreadsheet_safe,
             "text that does not start with = + - @ and has no tab or carriage return",
             "a spreadsheet would run this cell as a formula; reword it or drop the leading character",
             verdict="is unsafe in a spreadsheet"),
    # a field with `x-allow-formula-start: true` (an E.164 phone number, +4412345678) may start with = + - @;
    # its schema's pattern says what it holds
    CellRule("spreadsheet-safe-text-any-start", "formula-injection",
             lambda spec: spec.type == "string" and bool(spec.flag("allow-formula-start")), _no_tab_or_cr,
             "text without a tab or carriage return", "a spreadsheet would split or run this cell; reword it",
             verdict="is unsafe in a spreadsheet"),
    CellRule("integer-limits", "number-limit", _type_is("integer"), _integer_within_limits,
             f"an integer of at most {MAX_INTEGER_DIGITS} digits", LIMIT_HINT, verdict="is beyond the limits"),
    CellRule("number-limits", "number-limit", _type_is("number"), _number_within_limits, NUMBER_LIMITS,
             LIMIT_HINT, verdict="is beyond the limits"),
    CellRule("no-control-character", "control-character", _text, _no_control_character, "printable text",
             "an escape such as \\0 or \\a wrote an invisible control character: delete it"),
    CellRule("no-invisible-character", "invisible-character", _text, _no_invisible_character,
             "text without invisible characters (zero-width, direction marks, line separators)",
             "delete the invisible character; it usually comes from pasting or an escape such as \\u200b"),
    CellRule("single-line-text", "multiline-text", lambda spec: spec.type == "string" and not spec.flag(
             "multiline"), lambda text: "\n" not in text, "one line of text",
             "write it on one line (a block scalar | or > and \\n make line breaks); a field whose schema has "
             "x-multiline: true may hold several"),
    CellRule("nfc", "not-nfc", _text, _nfc, "text in Unicode NFC form (composed accents)",
             "retype the accented letters, or normalise the text to NFC: é must be one character, not e + ◌́"),
    CellRule("trimmed-text", "surrounding-whitespace", _text, _trimmed, "no space before or after the text",
             "delete the spaces at the start and end of the value"),
    CellRule("no-missing-value-word", "missing-value-word", _missing_words_refused,
             lambda text: text not in MISSING_WORDS, "a value, not a word for no value",
             "leave the field out if the value is not known; a field whose schema has x-allow-missing-words: true "
             "may hold such words", verdict="is a word for no value"),
):
    REGISTRY.register(_rule)


_COMPILED: dict[int, tuple[object, int, list[tuple[int, str, list[CellRule]]]]] = {}


def _columns(table: Table) -> list[tuple[int, str, list[CellRule]]]:
    """(column, field, rules) of the fields some rule applies to; made once per schema and registry state."""
    spec = table.spec
    known = _COMPILED.get(id(spec))
    if known is None or known[0] is not spec or known[1] != REGISTRY.generation:
        columns = [(column, f.name, rules) for column, f in enumerate(spec.fields)
                   for rules in (REGISTRY.cell_rules(f),) if rules]
        known = _COMPILED[id(spec)] = (spec, REGISTRY.generation, columns)
    return known[2]


def cell_problems(table: Table, indices: list[int] | None = None) -> Iterator[tuple[int, str, Problem]]:
    """Yield (row index, field, problem) for every cell a cell rule rejects (in the given rows, or all)."""
    spec = table.spec
    for column, field_name, rules in _columns(table):
        for index in range(len(table.rows)) if indices is None else indices:
            text = table.rows[index][column]
            if text is None:
                continue
            for rule in rules:
                if rule.accepts(text):
                    continue
                origin = table.origins[index]
                line, col = origin.position(field_name)
                yield index, field_name, rule.problem(spec.name, field_name, text, origin.path, line, col,
                                                      origin.record_id)
                break


def record_problems(package: PackageSpec, tables: Tables, scope: str | None = None) -> Iterator[Problem]:
    """Every record rule's problems (of one scope, or all)."""
    for rule in REGISTRY.record:
        if scope is None or rule.scope == scope:
            yield from rule.problems(package, tables)


# --- the record rules: citations -------------------------------------------------------------------------------

def uncited_facts(package: PackageSpec, tables: Tables) -> Iterator[Problem]:
    """Every `x-cite` value needs a citation row naming its field."""
    for spec in package.top_level:
        citations = package.citation_table(spec.name)
        if citations is None:
            continue
        table, cited_table = tables[spec.name], tables[citations.name]
        link_column = cited_table.column(next(iter(citations.parent_link)))
        field_column = cited_table.column(citations.cites or "")
        cited: dict[str, set[str]] = {}
        for row in cited_table.rows:
            cited.setdefault(row[link_column] or "", set()).add(row[field_column] or "")
        must_cite = [(f, table.column(f.name)) for f in spec.fields if f.flag("cite")]
        id_column = table.column(spec.id_field)
        nothing: set[str] = set()
        for index, row in enumerate(table.rows):
            record_cited = cited.get(row[id_column] or "", nothing)
            for f, value_column in must_cite:
                value = row[value_column]
                if value is not None and f.name not in record_cited:
                    origin = table.origins[index]  # only where a problem is: most rows' origins are never made
                    line, column = origin.position(f.name)
                    yield Problem("uncited-fact", f"{f.name} {value!r} has no citation", path=origin.path,
                                  line=line, column=column, resource=spec.name, record_id=origin.record_id,
                                  field=f.name, found=value, expected=f"a `{citations.key}` entry for {f.name}",
                                  hint=f"add to `{citations.key}`: - {citations.cites}: {f.name} with its source")


def citations_name_fields(package: PackageSpec, tables: Tables) -> Iterator[Problem]:
    """Every citation must name a field (or list) of its record's table."""
    for spec in package.top_level:
        citations = package.citation_table(spec.name)
        if citations is None:
            continue
        cited_table = tables[citations.name]
        field_column = cited_table.column(citations.cites or "")
        citable = {f.name for f in spec.fields} | set(spec.children)
        for index, row in enumerate(cited_table.rows):
            named = row[field_column]
            if named is not None and named not in citable:
                origin = cited_table.origins[index]
                line, column = origin.position(citations.cites)
                yield Problem("citation-unknown-field", f"citation names {named!r}, which {spec.name} lacks",
                              path=origin.path, line=line, column=column, resource=citations.name,
                              record_id=origin.record_id, field=citations.cites or "", found=named,
                              expected=f"a field of {spec.name}", hint="cite one of the record's fields")


def _citation_kinds(package: PackageSpec) -> list[tuple[tuple[str, str, tuple[str, ...]],
                                                        tuple[str, str, tuple[str, ...]]]]:
    """For the incremental index: (record id, field) pairs a record's facts demand and its citations supply."""
    pairs = []
    for spec in package.top_level:
        citations = package.citation_table(spec.name)
        if citations is not None:
            must = tuple(f.name for f in spec.fields if f.flag("cite"))
            pairs.append((("demand", spec.name, (spec.id_field, *must)),
                          ("supply", citations.name, (next(iter(citations.parent_link)), citations.cites or ""))))
    return pairs


REGISTRY.register(RecordRule("cited-facts", ("uncited-fact",), "package", uncited_facts, _citation_kinds))
REGISTRY.register(RecordRule("citations-name-fields", ("citation-unknown-field",), "file", citations_name_fields))
