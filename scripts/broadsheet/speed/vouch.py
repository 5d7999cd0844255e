"""Which rows frictionless must judge: the "certainly valid" vouching.

Frictionless is the authority on types and constraints, but it costs ~0.2 ms a row. Nearly every row is valid, so
Broadsheet first asks a cheaper question per row: "is this row certainly valid for frictionless?" The answer is
conservative: `True` only for schema features reproduced exactly here (string/integer/number/date/boolean/array
types; required, pattern, enum, minimum, maximum, minLength, maxLength; an array's `arrayItem` of text). Every
other row is handed to frictionless, whose errors are the ones reported. A row wrongly called clean would hide an
error.

Formats are decided by the very calls frictionless' field types make (frictionless/fields/string.py and date.py):
`uri` by rfc3986 (a reference with a scheme), `email` and `uuid` by the validators package, `binary` by
base64.b64decode, a date pattern by datetime.strptime, `any` by dateutil. `wkt` (frictionless' vendored parser,
an optional extra) is left to frictionless. The libraries are imported only for a schema that uses them.

Equivalence test: tests/test_differential.py (test_fast_path_reports_what_frictionless_reports on the bad-input
table, test_random_records_get_the_same_verdict_both_ways on random rows,
test_formats_are_vouched_for_as_frictionless_reads_them value by value and
test_random_formatted_records_get_the_same_verdict_both_ways on records) holds this module to `--full`."""

from __future__ import annotations

import base64
import calendar
import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from broadsheet.check.rules import DATE, INTEGER, MAX_INTEGER_DIGITS, REGISTRY, cell_problems
from broadsheet.errors import Problem
from broadsheet.package import FieldSpec, ResourceSpec
from broadsheet.read.tables import Table

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
    if not text.startswith("["):
        return False
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


def _uri_check() -> CellCheck:
    import rfc3986

    validator = rfc3986.validators.Validator()  # frictionless makes one per cell; validating changes nothing
    validator.require_presence_of("scheme")
    # Such a validator (passwords allowed, no allowed schemes, hosts or ports, no component validated) asks only
    # whether the reference has a scheme, as rfc3986's own URI_MATCHER splits it; building the reference cannot
    # fail for ASCII text (it only percent-encodes). So ASCII text is answered by that regex alone, ~10× faster.
    scheme_only = (validator.allow_password and not (validator.allowed_schemes or validator.allowed_hosts
                   or validator.allowed_ports) and not any(validator.validated_components.values())
                   and [c for c, required in validator.required_components.items() if required] == ["scheme"])
    matcher = rfc3986.misc.URI_MATCHER

    def uri_ok(text: str) -> bool:
        if scheme_only and text.isascii():
            return matcher.match(text)["scheme"] is not None
        try:
            validator.validate(rfc3986.uri_reference(text))
        except Exception:  # noqa: BLE001 - frictionless lets any other exception out: it decides such a cell
            return False
        return True

    return uri_ok


def _validators_check(name: str) -> CellCheck:
    import validators

    test = getattr(validators, name)

    def ok(text: str) -> bool:
        try:
            return bool(test(text))  # a ValidationError is falsy, as frictionless' `if not ...` reads it
        except Exception:  # noqa: BLE001 - raised (RAISE_VALIDATION_ERROR): frictionless decides
            return False

    return ok


def _binary_ok(text: str) -> bool:
    try:
        base64.b64decode(text)
    except ValueError:  # binascii.Error, or text that is not ASCII
        return False
    return True


def _strptime_check(pattern: str) -> CellCheck:
    def ok(text: str) -> bool:
        try:
            datetime.strptime(text, pattern)
        except (ValueError, TypeError):
            return False
        return True

    return ok


def _dateutil_check() -> CellCheck:
    from dateutil import parser

    def ok(text: str) -> bool:
        try:
            parser.parse(text).date()
        except Exception:  # noqa: BLE001 - frictionless takes any exception of dateutil for "not a date"
            return False
        return True

    return ok


# frictionless/fields/string.py: StringField.create_value_reader, format by format
STRING_FORMATS: dict[str, Callable[[], CellCheck]] = {
    "default": lambda: (lambda text: True),
    "uri": _uri_check,
    "email": lambda: _validators_check("email"),
    "uuid": lambda: _validators_check("uuid"),
    "binary": lambda: _binary_ok,
}


def string_format_check(name: Any) -> CellCheck | None:
    """Does frictionless read this text as a string of this format? None for a format not reproduced."""
    make = STRING_FORMATS.get(name) if isinstance(name, str) else None
    return make() if make is not None else None


def _date_check(name: Any) -> CellCheck | None:
    """frictionless/fields/date.py: the default pattern (reproduced without strptime's leniency: zero-padded
    only, which is stricter, never looser), `any` (dateutil) or a strptime pattern."""
    if name == "default":
        return _date_ok
    if name == "any":
        return _dateutil_check()
    if isinstance(name, str):
        return _strptime_check(name)
    return None


def _type_check(spec: FieldSpec) -> tuple[CellCheck, Callable[[str], object]] | None:
    """(is the text a valid value, its value) for a type we reproduce exactly; None for any other."""
    descriptor = spec.descriptor
    format_name = descriptor.get("format", "default")
    if "missingValues" in descriptor:
        return None
    if spec.type == "string":
        check = string_format_check(format_name)
        return (check, (lambda text: text)) if check is not None else None
    if spec.type == "date":
        check = _date_check(format_name)
        return (check, (lambda text: text)) if check is not None else None
    if format_name != "default":
        return None
    if spec.type == "integer" and descriptor.get("bareNumber", True) and "groupChar" not in descriptor:
        return (lambda text: INTEGER.fullmatch(text) is not None and len(text) <= MAX_INTEGER_DIGITS), int
    if spec.type == "number" and descriptor.get("bareNumber", True) and not (
            {"groupChar", "decimalChar", "floatNumber"} & set(descriptor)):
        return (lambda text: PLAIN_NUMBER.fullmatch(text) is not None), Decimal
    if spec.type == "boolean":
        truthy = tuple(descriptor.get("trueValues", TRUE_VALUES))
        falsy = tuple(descriptor.get("falseValues", FALSE_VALUES))
        return (lambda text: text in truthy or text in falsy), (lambda text: text in truthy)
    if spec.type == "array":
        item = descriptor.get("arrayItem")
        if not item:
            return _array_ok, (lambda text: text)
        item_check = _item_check(spec.name, item)
        if item_check is None:
            return None
        return (lambda text: _array_ok(text) and all(
            isinstance(v, str) and v != "" and item_check(v) for v in json.loads(text))), (lambda text: text)
    return None


def _item_check(name: str, item: Any) -> CellCheck | None:
    """An array item as frictionless reads it (fields/array.py: a field of `arrayItem`, type `any` by default):
    text items of a text item field only; an empty or null item is left to frictionless."""
    if not isinstance(item, dict) or item.get("type", "any") != "string" or "arrayItem" in item:
        return None
    check = field_check(FieldSpec(name, "string", item))
    return None if check is _never else check


def _bound(value: object) -> object:
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
    if spec.type == "string" and "missingValues" not in spec.descriptor:
        check = string_format_check(spec.descriptor.get("format", "default"))
        if check is not None:  # a text of any format is read as itself
            return lambda text: None if text is None else text if check(text) else UNKNOWN
    if spec.descriptor.get("format", "default") != "default":
        return lambda text: None if text is None else UNKNOWN
    if spec.type == "string":
        return lambda text: text
    if spec.type == "integer":
        return lambda text: None if text is None else int(text) if INTEGER.fullmatch(text) and len(
            text) <= MAX_INTEGER_DIGITS else UNKNOWN  # no int of thousands of digits (number-limit reports it)
    return lambda text: None if text is None else UNKNOWN


def prepare(spec: ResourceSpec) -> None:
    """Compile a schema's checks now (before worker processes fork, so they inherit them and the format
    libraries are imported once)."""
    _row_checks(spec)
    compiled_row_check(spec)


def row_checks(table: Table) -> tuple[list[tuple[int, str, Problem]], list[int]]:
    """Both per-row checks in one pass: the cell rules' problems, and the rows frictionless must judge.

    A generated function per schema answers "certainly fine" for almost every row at the cost of a few
    comparisons; only the other rows go through the reference checks (check.rules.cell_problems, suspect_rows),
    which give the exact answers."""
    clean = compiled_row_check(table.spec)
    doubtful = [index for index, row in enumerate(table.rows) if not clean(row)]
    if not doubtful:
        return [], []
    return list(cell_problems(table, doubtful)), suspect_rows(table, doubtful)


REMEMBERED = 16_384  # texts remembered per column of a compiled check: a bound on memory, not a tuning knob

_COMPILED: dict[int, tuple[ResourceSpec, int, Callable[[list[str | None]], bool]]] = {}


def compiled_row_check(spec: ResourceSpec) -> Callable[[list[str | None]], bool]:
    known = _COMPILED.get(id(spec))
    if known is None or known[0] is not spec or known[1] != REGISTRY.generation:
        known = _COMPILED[id(spec)] = (spec, REGISTRY.generation, _compile_row_check(spec))
    return known[2]


def _compile_row_check(spec: ResourceSpec) -> Callable[[list[str | None]], bool]:
    """Python source for `row_clean(row)`: True only if every registered cell rule accepts, every cell is
    certainly valid for frictionless, and the row is not blank. The cell rules are not restated here: each
    applicable rule's own `accepts` is bound as a name and called. Per column, up to REMEMBERED texts that
    passed every condition are remembered and not judged again (never a text that failed one)."""
    names: dict[str, object] = {"REMEMBERED": REMEMBERED}
    lines = ["def row_clean(row):", "    blank = True"]
    for column, field_spec in enumerate(spec.fields):
        conditions = []
        for number, rule in enumerate(REGISTRY.cell_rules(field_spec)):
            names[f"rule_{column}_{number}"] = rule.accepts
            conditions.append(f"rule_{column}_{number}(v)")
        conditions += _frictionless_conditions(field_spec, column, names)
        lines += [f"    v = row[{column}]", "    if v is None:",
                  f"        {'return False' if field_spec.required else 'pass'}", "    else:", "        blank = False"]
        if conditions:
            # every condition is a function of the text alone, so a text that passed them all once passes
            # again: most cells repeat one of a column's few values (74% of the benchmark's text cells, 61% of
            # the flagship's), and a set lookup costs less than the seven text rules
            names[f"passed_{column}"] = set()
            lines += [f"        if v not in passed_{column}:",
                      f"            if not ({' and '.join(conditions)}): return False",
                      f"            if len(passed_{column}) < REMEMBERED: passed_{column}.add(v)"]
    lines.append("    return not blank")
    exec("\n".join(lines), names)  # noqa: S102 - source built above from schema facts, values bound as names
    return names["row_clean"]  # type: ignore[return-value]


def _frictionless_conditions(spec: FieldSpec, column: int, names: dict[str, object]) -> list[str]:
    check = field_check(spec)
    if check is _never:
        return ["False"]
    plain_string = spec.type == "string" and spec.descriptor.get("format", "default") == "default" and _type_check(
        spec) is not None
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
