"""Rules a Table Schema cannot express: stricter cell syntax than frictionless accepts, spreadsheet-safe text,
partial dates, and citations across a record and its citation table."""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator

from broadsheet.errors import Problem
from broadsheet.package import FieldSpec, PackageSpec, ResourceSpec
from broadsheet.tables import Table, Tables

INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)", re.ASCII)
NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?", re.ASCII)
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
PARTIAL_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@")

CellRule = Callable[[str], tuple[str, str, str] | None]  # text -> (code, expected, hint) or None


def integer_rule(text: str) -> tuple[str, str, str] | None:
    if INTEGER.fullmatch(text):
        return None
    return ("type-error", "an integer in plain ASCII digits",
            "write digits only: no `_`, spaces, leading zeros, decimals or exponents")


def number_rule(text: str) -> tuple[str, str, str] | None:
    if NUMBER.fullmatch(text):
        return None
    return ("type-error", "a decimal number such as 1568000000 or 1.5",
            "write digits with an optional `.` decimal part; no `_`, commas, NaN or Infinity")


def date_rule(text: str) -> tuple[str, str, str] | None:
    if DATE.fullmatch(text):
        return None
    return ("type-error", "a date YYYY-MM-DD", "write the full date, e.g. 2025-05-21")


def partial_date_rule(text: str) -> tuple[str, str, str] | None:
    match = PARTIAL_DATE.fullmatch(text)
    if match:
        year, month, day = match.groups()
        if month is None or (1 <= int(month) <= 12 and (
                day is None or 1 <= int(day) <= calendar.monthrange(int(year), int(month))[1])):
            return None
    return ("type-error", "a date YYYY, YYYY-MM or YYYY-MM-DD",
            "give as much of the date as the source states, e.g. 2025 or 2025-05 or 2025-05-21")


def text_rule(text: str) -> tuple[str, str, str] | None:
    if text.startswith(FORMULA_START) or "\t" in text or "\r" in text:
        return ("formula-injection", "text that does not start with = + - @ and has no tab or carriage return",
                "a spreadsheet would run this cell as a formula; reword it or drop the leading character")
    return None


def rules_for(spec: FieldSpec) -> list[CellRule]:
    rules: list[CellRule] = []
    if spec.type == "integer":
        rules.append(integer_rule)
    elif spec.type == "number":
        rules.append(number_rule)
    elif spec.type == "date":
        rules.append(date_rule)
    elif spec.type == "string":
        if spec.flag("partial-date"):
            rules.append(partial_date_rule)
        rules.append(text_rule)
    return rules


_RULES: dict[int, tuple[FieldSpec, list[CellRule]]] = {}


def _rules_for_cached(spec: FieldSpec) -> list[CellRule]:
    known = _RULES.get(id(spec))
    if known is None or known[0] is not spec:
        known = _RULES[id(spec)] = (spec, rules_for(spec))
    return known[1]


def cell_problems(table: Table, indices: list[int] | None = None) -> Iterator[tuple[int, str, Problem]]:
    """Yield (row index, field, problem) for every cell a stricter rule rejects (in the given rows, or all)."""
    spec = table.spec
    for column, field_spec in enumerate(spec.fields):
        rules = _rules_for_cached(field_spec)
        if not rules:
            continue
        for index in range(len(table.rows)) if indices is None else indices:
            text = table.rows[index][column]
            if text is None:
                continue
            for rule in rules:
                verdict = rule(text)
                if verdict is None:
                    continue
                code, expected, hint = verdict
                origin = table.origins[index]
                line, col = origin.position(field_spec.name)
                what = "is not valid" if code == "type-error" else "is unsafe in a spreadsheet"
                yield index, field_spec.name, Problem(
                    code, f"{field_spec.name} {text!r} {what}", path=origin.path, line=line, column=col,
                    resource=spec.name, record_id=origin.record_id, field=field_spec.name, found=text,
                    expected=expected, hint=hint)
                break


def citation_problems(package: PackageSpec, tables: Tables) -> Iterator[Problem]:
    """Every `x-cite` value needs a citation row naming its field; every citation must name a real value."""
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
        citable = {f.name for f in spec.fields} | set(spec.children)
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
        for row, origin in zip(cited_table.rows, cited_table.origins, strict=True):
            named = row[field_column]
            if named is not None and named not in citable:
                line, column = origin.position(citations.cites)
                yield Problem("citation-unknown-field", f"citation names {named!r}, which {spec.name} lacks",
                              path=origin.path, line=line, column=column, resource=citations.name,
                              record_id=origin.record_id, field=citations.cites or "", found=named,
                              expected=f"a field of {spec.name}", hint="cite one of the record's fields")


# --- The fast path: which rows frictionless must judge -------------------------------------------------------
#
# Frictionless is the authority on types and constraints, but it costs ~0.2 ms a row. Nearly every row is valid, so
# Broadsheet first asks a cheaper question per row: "is this row certainly valid for frictionless?" The answer is
# conservative: `True` only for schema features reproduced exactly here (string/integer/number/date/boolean/array
# types without a format; required, pattern, enum, minimum, maximum, minLength, maxLength). Every other row is
# handed to frictionless, whose errors are the ones reported. A row wrongly called clean would hide an error, so
# tests/test_differential.py holds this predicate to frictionless on the bad-input table and on random rows.

TRUE_VALUES = ("true", "True", "TRUE", "1")
FALSE_VALUES = ("false", "False", "FALSE", "0")
PLAIN_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?", re.ASCII)  # no exponent: frictionless decides those
UNKNOWN = object()  # a key value whose frictionless cast we do not reproduce
CellCheck = Callable[[str], bool]


def _never(text: str) -> bool:
    return False


def _date_ok(text: str) -> bool:
    if not DATE.fullmatch(text):
        return False
    year, month, day = int(text[:4]), int(text[5:7]), int(text[8:10])
    return year >= 1 and 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]


def _array_ok(text: str) -> bool:
    import json

    if not text.startswith("["):
        return False
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def _type_check(spec: FieldSpec) -> tuple[CellCheck, Callable[[str], object]] | None:
    """(is the text a valid value, its value) for a type we reproduce exactly; None for any other."""
    from decimal import Decimal

    descriptor = spec.descriptor
    if descriptor.get("format", "default") != "default" or "missingValues" in descriptor:
        return None
    if spec.type == "string":
        return (lambda text: True), (lambda text: text)
    if spec.type == "integer" and descriptor.get("bareNumber", True) and "groupChar" not in descriptor:
        return (lambda text: INTEGER.fullmatch(text) is not None), int
    if spec.type == "number" and descriptor.get("bareNumber", True) and not (
            {"groupChar", "decimalChar", "floatNumber"} & set(descriptor)):
        return (lambda text: PLAIN_NUMBER.fullmatch(text) is not None), Decimal
    if spec.type == "date":
        return _date_ok, (lambda text: text)
    if spec.type == "boolean":
        truthy = tuple(descriptor.get("trueValues", TRUE_VALUES))
        falsy = tuple(descriptor.get("falseValues", FALSE_VALUES))
        return (lambda text: text in truthy or text in falsy), (lambda text: text in truthy)
    if spec.type == "array":
        return _array_ok, (lambda text: text)
    return None


def _bound(value: object) -> object:
    from decimal import Decimal

    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return UNKNOWN
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return UNKNOWN


def _constraint_checks(spec: FieldSpec, value_of: Callable[[str], object]) -> list[CellCheck] | None:
    """One check per constraint, or None when a constraint is outside what we reproduce."""
    checks: list[CellCheck] = []
    for name, constraint in spec.constraints.items():
        if name in ("required", "unique"):
            continue
        if name == "pattern" and spec.type == "string" and isinstance(constraint, str):
            compiled = re.compile(f"^{constraint}$")  # frictionless' own anchoring, with `match`
            checks.append(lambda text, c=compiled: c.match(text) is not None)
        elif name == "enum" and spec.type == "string" and all(isinstance(v, str) for v in constraint):
            allowed = frozenset(constraint)
            checks.append(lambda text, a=allowed: text in a)
        elif name in ("minLength", "maxLength") and spec.type == "string" and isinstance(constraint, int):
            if name == "minLength":
                checks.append(lambda text, c=constraint: len(text) >= c)
            else:
                checks.append(lambda text, c=constraint: len(text) <= c)
        elif name in ("minimum", "maximum") and spec.type in ("integer", "number") \
                and _bound(constraint) is not UNKNOWN:
            bound = _bound(constraint)
            if name == "minimum":
                checks.append(lambda text, b=bound: value_of(text) >= b)
            else:
                checks.append(lambda text, b=bound: value_of(text) <= b)
        else:
            return None
    return checks


def field_check(spec: FieldSpec) -> CellCheck:
    """Is this (present) text certainly valid for frictionless? Unsupported features answer False."""
    typed = _type_check(spec)
    if typed is None:
        return _never
    type_ok, value_of = typed
    constraint_checks = _constraint_checks(spec, value_of)
    if constraint_checks is None:
        return _never
    if not constraint_checks:
        return type_ok
    return lambda text: type_ok(text) and all(check(text) for check in constraint_checks)


_ROW_CHECKS: dict[int, tuple[object, list[CellCheck], list[bool]]] = {}


def _row_checks(spec: ResourceSpec) -> tuple[list[CellCheck], list[bool]]:
    """Compiled once per schema (per process), not once per file."""
    known = _ROW_CHECKS.get(id(spec))
    if known is None or known[0] is not spec:
        known = _ROW_CHECKS[id(spec)] = (spec, [field_check(f) for f in spec.fields], [f.required for f in spec.fields])
    return known[1], known[2]


def suspect_rows(table: Table, indices: list[int] | None = None) -> list[int]:
    """Indices of the rows frictionless must judge: every row not certainly valid."""
    checks, required = _row_checks(table.spec)
    suspects = []
    for index in range(len(table.rows)) if indices is None else indices:
        row = table.rows[index]
        blank = True
        for text, check, needed in zip(row, checks, required, strict=True):
            if text is None:
                if needed:
                    break
            else:
                blank = False
                if not check(text):
                    break
        else:
            if not blank:
                continue
        suspects.append(index)
    return suspects


def key_value(spec: FieldSpec) -> Callable[[str | None], object]:
    """The value frictionless compares in unique, primary and foreign keys; UNKNOWN where we do not reproduce it."""
    if spec.descriptor.get("format", "default") != "default":
        return lambda text: None if text is None else UNKNOWN
    if spec.type == "string":
        return lambda text: text
    if spec.type == "integer":
        return lambda text: None if text is None else int(text) if INTEGER.fullmatch(text) else UNKNOWN
    return lambda text: None if text is None else UNKNOWN


def row_checks(table: Table) -> tuple[list[tuple[int, str, Problem]], list[int]]:
    """Both per-row checks in one pass: the stricter rules' problems, and the rows frictionless must judge.

    A generated function per schema answers "certainly fine" for almost every row at the cost of a few
    comparisons; only the other rows go through the generic checks above, which give the exact answers."""
    clean = compiled_row_check(table.spec)
    doubtful = [index for index, row in enumerate(table.rows) if not clean(row)]
    if not doubtful:
        return [], []
    return list(cell_problems(table, doubtful)), suspect_rows(table, doubtful)


_COMPILED: dict[int, tuple[ResourceSpec, Callable[[list[str | None]], bool]]] = {}


def compiled_row_check(spec: ResourceSpec) -> Callable[[list[str | None]], bool]:
    known = _COMPILED.get(id(spec))
    if known is None or known[0] is not spec:
        known = _COMPILED[id(spec)] = (spec, _compile_row_check(spec))
    return known[1]


def _compile_row_check(spec: ResourceSpec) -> Callable[[list[str | None]], bool]:
    """Python source for `row_clean(row)`: True only if every stricter rule passes, every cell is certainly
    valid for frictionless, and the row is not blank. Conservative: whatever it cannot inline, it calls."""
    names: dict[str, object] = {"INTEGER": INTEGER, "NUMBER": NUMBER, "DATE": DATE, "FORMULA_START": FORMULA_START,
                                "partial_date_rule": partial_date_rule}
    lines = ["def row_clean(row):", "    blank = True"]
    for column, field_spec in enumerate(spec.fields):
        conditions = _strict_conditions(field_spec) + _frictionless_conditions(field_spec, column, names)
        lines += [f"    v = row[{column}]", "    if v is None:",
                  f"        {'return False' if field_spec.required else 'pass'}", "    else:", "        blank = False"]
        if conditions:
            lines.append(f"        if not ({' and '.join(conditions)}): return False")
    lines.append("    return not blank")
    exec("\n".join(lines), names)  # noqa: S102 - source built above from schema facts, values bound as names
    return names["row_clean"]  # type: ignore[return-value]


def _strict_conditions(spec: FieldSpec) -> list[str]:
    if spec.type == "integer":
        return ["INTEGER.fullmatch(v) is not None"]
    if spec.type == "number":
        return ["NUMBER.fullmatch(v) is not None"]
    if spec.type == "date":
        return ["DATE.fullmatch(v) is not None"]
    if spec.type == "string":
        text = ['not v.startswith(FORMULA_START) and "\\t" not in v and "\\r" not in v']
        return (["partial_date_rule(v) is None"] if spec.flag("partial-date") else []) + text
    return []


def _frictionless_conditions(spec: FieldSpec, column: int, names: dict[str, object]) -> list[str]:
    check = field_check(spec)
    if check is _never:
        return ["False"]
    plain_string = spec.type == "string" and _type_check(spec) is not None
    supported = _constraint_checks(spec, lambda text: text) is not None
    if not (plain_string and supported):
        names[f"check_{column}"] = check
        return [f"check_{column}(v)"]
    conditions = []
    for name, constraint in spec.constraints.items():
        if name == "pattern":
            names[f"pattern_{column}"] = re.compile(f"^{constraint}$")
            conditions.append(f"pattern_{column}.match(v) is not None")
        elif name == "enum":
            names[f"enum_{column}"] = frozenset(constraint)
            conditions.append(f"v in enum_{column}")
        elif name == "minLength":
            conditions.append(f"len(v) >= {int(constraint)}")
        elif name == "maxLength":
            conditions.append(f"len(v) <= {int(constraint)}")
    return conditions
