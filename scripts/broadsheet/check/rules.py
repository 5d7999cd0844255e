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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from broadsheet.errors import Problem
from broadsheet.package import FieldSpec, PackageSpec
from broadsheet.tables import Table, Tables

INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True)
class CellRule:
    """A rule over one present (non-empty) value of the fields it `applies` to. `accepts(text)` is truthy when
    the value passes; otherwise the value is reported with `code`, `expected` and `hint`, as "<field> <text>
    <verdict>". Of a field's rules, the first that rejects a value reports it (registry order)."""

    name: str
    code: str
    applies: Callable[[FieldSpec], bool]
    accepts: Callable[[str], object]
    expected: str
    hint: str
    verdict: str = "is not valid"

    def problem(self, spec_name: str, field_name: str, text: str, path: str, line: int, column: int,
                record_id: str) -> Problem:
        return Problem(self.code, f"{field_name} {text!r} {self.verdict}", path=path, line=line, column=column,
                       resource=spec_name, record_id=record_id, field=field_name, found=text,
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
        return marshal.dumps(code) + b"".join(_describe(cell.cell_contents) for cell in closure)
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


for _rule in (
    CellRule("integer", "type-error", _type_is("integer"), INTEGER.fullmatch, "an integer in plain ASCII digits",
             "write digits only: no `_`, spaces, leading zeros, decimals or exponents"),
    CellRule("number", "type-error", _type_is("number"), NUMBER.fullmatch,
             "a decimal number such as 1568000000 or 1.5",
             "write digits with an optional `.` decimal part; no `_`, commas, NaN or Infinity"),
    CellRule("date", "type-error", _type_is("date"), DATE.fullmatch, "a date YYYY-MM-DD",
             "write the full date, e.g. 2025-05-21"),
    CellRule("partial-date", "type-error", lambda spec: spec.type == "string" and bool(spec.flag("partial-date")),
             _partial_date_ok, "a date YYYY, YYYY-MM or YYYY-MM-DD",
             "give as much of the date as the source states, e.g. 2025 or 2025-05 or 2025-05-21"),
    CellRule("spreadsheet-safe-text", "formula-injection", _type_is("string"), _spreadsheet_safe,
             "text that does not start with = + - @ and has no tab or carriage return",
             "a spreadsheet would run this cell as a formula; reword it or drop the leading character",
             verdict="is unsafe in a spreadsheet"),
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
        for row, origin in zip(table.rows, table.origins, strict=True):
            record_cited = cited.get(row[id_column] or "", nothing)
            for f, value_column in must_cite:
                value = row[value_column]
                if value is not None and f.name not in record_cited:
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
        for row, origin in zip(cited_table.rows, cited_table.origins, strict=True):
            named = row[field_column]
            if named is not None and named not in citable:
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
