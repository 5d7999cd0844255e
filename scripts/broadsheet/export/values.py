"""From validated cell text to typed values, and the one ordering every output shares.

Numbers never pass through a float silently: a `number` cell is parsed with `decimal.Decimal`; an integral value
becomes a Python int (exact at any size); a fractional one becomes a float only when the float's shortest text
reads back as the same decimal (1.5, 0.1, 12.75), otherwise it stays its exact decimal text.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from broadsheet.package import FieldSpec, ResourceSpec

DEFAULT_TRUE = ("true", "True", "TRUE", "1")
DEFAULT_FALSE = ("false", "False", "FALSE", "0")
INT64 = (-(2**63), 2**63 - 1)

Typed = str | int | float | bool | list | dict | None


def exact_number(text: str) -> int | float | str:
    """`number` text → int if integral, float if that float is exactly this decimal's shortest form, else text."""
    try:
        return int(text)  # the common case, and exactly what the Decimal path below gives for integral text
    except ValueError:
        pass
    try:
        value = Decimal(text)
    except InvalidOperation:
        return text
    if not value.is_finite():
        return text
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) == value:
        return as_float
    return text


def canonical_number(text: str) -> str:
    """The one written form of a `number` value in every output: what JSON writes for it (digits for an integral
    value, 1568000000 for 1.568e9; Python's shortest round-trip form for a fraction, 1.5 for 1.50). CSV, JSON and
    SQLite then hold the same number as the same text. Validated values are always exact (see checks'
    number limits); any other text is returned as it is."""
    value = exact_number(text)
    return value if isinstance(value, str) else repr(value)


def canonical_rows(spec: ResourceSpec, rows: Sequence[Sequence[str | None]]) -> list[list[str | None]]:
    """The rows with every `number` cell in its canonical form (other cells as validated)."""
    numbers = [i for i, field in enumerate(spec.fields) if field.type == "number"]
    if not numbers:
        return [list(row) for row in rows]
    result = []
    for row in rows:
        row = list(row)
        for i in numbers:
            if row[i] is not None:
                row[i] = canonical_number(row[i])  # type: ignore[arg-type]
        result.append(row)
    return result


def cast(field: FieldSpec, text: str | None) -> Typed:
    """A validated cell as the JSON/SQLite value of its schema type. Unknown types stay text."""
    if text is None:
        return None
    kind = field.type
    if kind in ("integer", "year"):
        return int(text)
    if kind == "number":
        return exact_number(text)
    if kind == "boolean":
        trues = field.descriptor.get("trueValues") or DEFAULT_TRUE
        falses = field.descriptor.get("falseValues") or DEFAULT_FALSE
        if text in trues:
            return True
        if text in falses:
            return False
        return text
    if kind in ("array", "object"):
        return json.loads(text)
    return text


def _caster(field: FieldSpec) -> Callable[[str], Typed] | None:
    """The function `cast` applies to a non-missing cell of this field; None when the text is the value."""
    kind = field.type
    if kind in ("integer", "year"):
        return int
    if kind == "number":
        return exact_number
    if kind in ("boolean", "array", "object"):
        return lambda text: cast(field, text)
    return None


def typed_columns(spec: ResourceSpec, rows: Sequence[Sequence[str | None]]) -> list[list[Typed]]:
    """Every cell cast once, column by column (the JSON and SQLite writers share the result)."""
    columns: list[list[Typed]] = [list(column) for column in zip(*rows, strict=True)] if rows else [
        [] for _ in spec.fields]
    for i, field in enumerate(spec.fields):
        convert = _caster(field)
        if convert is not None:
            columns[i] = [None if text is None else convert(text) for text in columns[i]]  # type: ignore[arg-type]
    return columns


def _sort_keys(field: FieldSpec, texts: Sequence[str | None]) -> list[tuple[Any, ...]]:
    # Missing values first; numbers by value (so 10 follows 9), their text breaking ties; everything else by text.
    numeric = field.type in ("integer", "number", "year")
    return [(0,) if text is None else _number_key(text) if numeric else (2, text) for text in texts]


def _number_key(text: str) -> tuple[Any, ...]:
    try:
        return (1, int(text), text)  # int and Decimal compare by value, so either may stand for the number
    except ValueError:
        pass
    try:
        return (1, Decimal(text), text)
    except InvalidOperation:
        return (2, text)


def sort_order(spec: ResourceSpec, rows: Sequence[Sequence[str | None]]) -> list[int]:
    """The positions of `rows` in primary-key order (every field as a tie-breaker when there is none)."""
    names = spec.primary_key or spec.field_names
    positions = [spec.field_names.index(n) for n in names]  # field_names is computed anew on every access
    keys = [_sort_keys(spec.field_map[n], [row[i] for row in rows]) for n, i in zip(names, positions, strict=True)]
    combined = list(zip(*keys, strict=True)) if rows else []
    return sorted(range(len(rows)), key=combined.__getitem__)


def dumps(value: Any) -> str:
    """The house JSON: indent 2, UTF-8 characters as themselves, a trailing newline."""
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"
