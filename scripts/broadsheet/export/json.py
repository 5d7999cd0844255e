"""JSON downloads: one list of typed objects per table, and the whole package in one document.

Layout: one object per line (`[` and `]` on their own lines), so the files diff, grep and stream line by line.
Each row is encoded by the json module's C encoder (an `indent` would switch it to the pure-Python one, about
ten times slower); keys in schema order and every structural line fixed, so the same rows give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from broadsheet.export.values import Typed

_ENCODE = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def encode(value: object) -> str:
    """One value as compact, single-line JSON (UTF-8 characters as themselves)."""
    return _ENCODE(value)


def rows_text(names: Sequence[str], columns: Sequence[Sequence[Typed]]) -> str:
    """A JSON array of objects, one per line, from typed columns (all of the same length)."""
    return array_text(dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True))


def array_text(objects: Iterable[object]) -> str:
    lines = list(map(_ENCODE, objects))
    return "[\n" + ",\n".join(lines) + "\n]" if lines else "[]"


def document_text(name: str, resources: dict[str, str], views: dict[str, str]) -> str:
    """The whole package: {"name", "resources": {table: rows}, "views": {view: rows}}, from array texts."""
    parts = ["{", f'"name": {encode(name)},', '"resources": {', _members(resources)]
    if views:
        parts += ["},", '"views": {', _members(views)]
    parts += ["}", "}"]
    return "\n".join(p for p in parts if p) + "\n"


def _members(arrays: dict[str, str]) -> str:
    return ",\n".join(f"{encode(key)}: {text}" for key, text in arrays.items())
