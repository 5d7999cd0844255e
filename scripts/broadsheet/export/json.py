"""JSON downloads: one list of typed objects per table, and the whole package in one document."""

from __future__ import annotations

from typing import Any

from broadsheet.export.values import Typed, dumps, typed_row
from broadsheet.package import ResourceSpec


def resource_objects(spec: ResourceSpec, sorted_rows: list[list[str | None]]) -> list[dict[str, Typed]]:
    """Integers as JSON integers, exact numbers, booleans, arrays as arrays, missing as null."""
    return [typed_row(spec, row) for row in sorted_rows]


def json_bytes(value: Any) -> bytes:
    return dumps(value).encode("utf-8")


def package_document(name: str, resources: dict[str, list[dict[str, Any]]],
                     views: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    document: dict[str, Any] = {"name": name, "resources": resources}
    if views:
        document["views"] = views
    return document
