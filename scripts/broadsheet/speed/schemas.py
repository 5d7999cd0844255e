"""Which Table Schemas frictionless must check: the "certainly valid" vouching of a schema descriptor.

Frictionless decides whether a schema is valid (broadsheet.package.check_schemas), but importing it takes ~0.2 s,
over a tenth of a cold validate at 10k records, and a run whose rows are all vouched for needs frictionless for nothing
else. So validation first asks "is this descriptor certainly a valid Table Schema for frictionless?" The answer is
conservative: `True` only for descriptors made of the parts listed below, each of a shape frictionless accepts
(it accepts more: an unknown key, a constraint of the wrong type for its field). Every other descriptor is handed
to frictionless, whose error is the one reported. A schema wrongly called valid would hide an error.

Equivalence test: tests/test_schema_vouching.py (test_a_vouched_schema_is_one_frictionless_accepts over random
descriptors, test_every_schema_in_the_repository_gets_frictionless_verdict) holds this module to frictionless."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _is_bool(value: Any) -> bool:
    return type(value) is bool


def _is_count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _is_int(value: Any) -> bool:
    return type(value) is int


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _is_text(value: Any) -> bool:
    return type(value) is str


def _list_of(test: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: type(value) is list and len(value) > 0 and all(test(item) for item in value)


# The constraints each type takes here (a subset of its field class's `supported_constraints` in frictionless),
# with the test their value must pass; `required` and `unique`, true or false, go with every type.
BOOLEAN = ("required", "unique")
CONSTRAINTS: dict[str, dict[str, Callable[[Any], bool]]] = {
    "string": {"minLength": _is_count, "maxLength": _is_count, "pattern": _is_text, "enum": _list_of(_is_text)},
    "integer": {"minimum": _is_int, "maximum": _is_int, "enum": _list_of(_is_int)},
    "number": {"minimum": _is_number, "maximum": _is_number},
    "boolean": {},
    "date": {},
    "array": {"minLength": _is_count, "maxLength": _is_count},
    "object": {"minLength": _is_count, "maxLength": _is_count},
}
STRING_FORMATS = ("default", "uri", "email", "uuid")


def vouched(descriptor: Any) -> bool:
    """True only when frictionless would accept `descriptor` (without Broadsheet's extension) as a Table Schema."""
    if type(descriptor) is not dict or not _extensions_or(descriptor, ("fields", "primaryKey", "foreignKeys",
                                                                       "title", "description")):
        return False
    fields = descriptor.get("fields")
    if type(fields) is not list or not all(_field_vouched(field) for field in fields):
        return False
    names = [field["name"] for field in fields]
    if len(set(names)) != len(names) or not _texts_of(descriptor.get("title", ""), descriptor.get("description", "")):
        return False
    if "primaryKey" in descriptor and not _names_among(descriptor["primaryKey"], names):
        return False
    foreign_keys = descriptor.get("foreignKeys", [])
    return type(foreign_keys) is list and all(_foreign_key_vouched(fk, names) for fk in foreign_keys)


def _field_vouched(field: Any) -> bool:
    if type(field) is not dict or not _extensions_or(field, ("name", "type", "format", "title", "description",
                                                             "constraints", "categories", "arrayItem")):
        return False
    kind = field.get("type")
    if not _is_text(kind) or kind not in CONSTRAINTS or not _texts_of(field.get("name"), field.get("title", ""),
                                                field.get("description", "")):
        return False
    if field.get("format", "default") not in (STRING_FORMATS if kind == "string" else ("default",)):
        return False
    if "categories" in field and not (kind == "string" and _categories_vouched(field["categories"])):
        return False
    if "arrayItem" in field and not (kind == "array" and _array_item_vouched(field["arrayItem"])):
        return False
    return _constraints_vouched(kind, field.get("constraints", {}))


def _constraints_vouched(kind: str, constraints: Any) -> bool:
    tests = CONSTRAINTS[kind]
    return type(constraints) is dict and all(
        tests[name](value) if name in tests else name in BOOLEAN and _is_bool(value)
        for name, value in constraints.items())


def _array_item_vouched(item: Any) -> bool:
    """An array's item: text, with categories and text constraints."""
    return (type(item) is dict and set(item) <= {"type", "categories", "constraints"} and item.get("type") == "string"
            and ("categories" not in item or _categories_vouched(item["categories"]))
            and _constraints_vouched("string", item.get("constraints", {})))


def _categories_vouched(categories: Any) -> bool:
    return _list_of(lambda c: _is_text(c) or (type(c) is dict and set(c) == {"value", "label"}
                                              and _texts_of(c["value"], c["label"])))(categories)


def _foreign_key_vouched(fk: Any, names: list[str]) -> bool:
    if type(fk) is not dict or set(fk) != {"fields", "reference"} or not _names_among(fk["fields"], names):
        return False
    reference = fk["reference"]
    if type(reference) is not dict or set(reference) != {"resource", "fields"} or not _is_text(reference["resource"]):
        return False
    mine, theirs = _as_list(fk["fields"]), _as_list(reference["fields"])
    return theirs is not None and all(_is_text(name) for name in theirs) and len(mine or []) == len(theirs)


def _names_among(value: Any, names: list[str]) -> bool:
    listed = _as_list(value)
    return listed is not None and len(listed) > 0 and all(_is_text(name) and name in names for name in listed)


def _as_list(value: Any) -> list[Any] | None:
    return [value] if _is_text(value) else value if type(value) is list else None


def _texts_of(*values: Any) -> bool:
    return all(_is_text(value) for value in values)


def _extensions_or(mapping: dict[Any, Any], known: tuple[str, ...]) -> bool:
    """Every key is one of `known` or an `x-` extension (frictionless takes an extension's value as it is)."""
    return all(key in known or (_is_text(key) and key.startswith("x-")) for key in mapping)
